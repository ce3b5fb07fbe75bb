/* The address pool of a netconf's "ipam" object: subnet, range and gateway,
 * checked against each other so the store can trust them. */
#include <arpa/inet.h>
#include <string.h>

#include "ipam/ipam.h"

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/* The string value of ipam.<key>; NULL with *s = NULL when absent. */
static int get_string(const json_t *ipam, const char *key, const char **s,
		      struct cni_err *err)
{
	const json_t *v = json_object_get(ipam, key);

	*s = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.%s: expected a string, got %s", key,
				  json_type_name(v));
	*s = json_string_value(v);
	return 0;
}

static int check_keys(const json_t *ipam, struct cni_err *err)
{
	static const char *const known[] = {
		"type", "dataDir", "subnet", "rangeStart", "rangeEnd", "gateway",
	};
	const char *key;
	const json_t *v;
	const char *s;

	json_object_foreach((json_t *)ipam, key, v) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return cni_errorf(err, CNI_ERR_UNSUPPORTED_FIELD,
					  "ipam.%s: unknown field (supported: type, dataDir, subnet, rangeStart, rangeEnd, gateway)",
					  key);
	}
	/* Read by the caller, but a wrong type is still this object's error. */
	if (get_string(ipam, "type", &s, err) < 0 ||
	    get_string(ipam, "dataDir", &s, err) < 0)
		return -1;
	return 0;
}

static int parse_subnet(const json_t *ipam, struct ip_prefix *subnet,
			struct cni_err *err)
{
	char want[IP_PREFIX_STRLEN];
	struct ip_prefix canon;
	unsigned max;
	const char *s;

	if (get_string(ipam, "subnet", &s, err) < 0)
		return -1;
	if (!s)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.subnet is required (e.g. \"10.244.1.0/24\")");
	if (ip_prefix_parse(s, subnet) < 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.subnet \"%s\" is not a CIDR (e.g. \"10.244.1.0/24\" or \"fd00:10:244:1::/64\")",
				  s);
	if (!ip_prefix_is_canonical(subnet)) {
		canon = *subnet;
		ip_prefix_first(subnet, &canon.addr);
		ip_prefix_format(&canon, want, sizeof(want));
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.subnet \"%s\" is not a network address (did you mean %s?)",
				  s, want);
	}
	/* A gateway and at least one pod address, besides the IPv4 network and
	 * broadcast addresses. */
	max = subnet->addr.family == AF_INET ? 30 : 126;
	if (subnet->len > max)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.subnet \"%s\" is too small: the prefix length may be at most /%u",
				  s, max);
	return 0;
}

/* True for an address that can never be a pod's or gateway's: the network
 * address, and for IPv4 the broadcast address. */
static bool is_reserved(const struct ip_prefix *subnet, const struct ip_addr *a)
{
	struct ip_addr x;

	ip_prefix_first(subnet, &x);
	if (ip_addr_eq(a, &x))
		return true;
	ip_prefix_last(subnet, &x);
	return subnet->addr.family == AF_INET && ip_addr_eq(a, &x);
}

/* Reads ipam.<key> as an address of the subnet; leaves *a alone if absent. */
static int parse_member(const json_t *ipam, const char *key,
			const struct ip_prefix *subnet, struct ip_addr *a,
			struct cni_err *err)
{
	char net[IP_PREFIX_STRLEN];
	struct ip_addr v;
	const char *s;

	if (get_string(ipam, key, &s, err) < 0)
		return -1;
	if (!s)
		return 0;
	ip_prefix_format(subnet, net, sizeof(net));
	if (ip_addr_parse(s, &v) < 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.%s \"%s\" is not an IP address", key, s);
	if (v.family != subnet->addr.family)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.%s %s is %s but ipam.subnet %s is %s", key,
				  s, v.family == AF_INET ? "IPv4" : "IPv6", net,
				  v.family == AF_INET ? "IPv6" : "IPv4");
	if (!ip_prefix_contains(subnet, &v))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.%s %s is outside ipam.subnet %s", key, s,
				  net);
	if (is_reserved(subnet, &v))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.%s %s is the %s address of %s", key, s,
				  ip_addr_eq(&v, &subnet->addr) ? "network"
								 : "broadcast",
				  net);
	*a = v;
	return 0;
}

static void default_range(struct ipam_pool *p)
{
	ip_prefix_first(&p->subnet, &p->gateway);
	/* Cannot wrap: the subnet holds at least 4 addresses. */
	(void)ip_addr_add(&p->gateway, 1);
	p->start = p->gateway;
	ip_prefix_last(&p->subnet, &p->end);
	if (p->subnet.addr.family == AF_INET)
		(void)ip_addr_add(&p->end, -1);
}

int ipam_pool_from_json(const json_t *ipam, struct ipam_pool *pool,
			struct cni_err *err)
{
	char a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];
	struct ipam_pool p = { 0 };

	if (!json_is_object(ipam))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam: expected an object, got %s",
				  ipam ? json_type_name(ipam) : "nothing");
	if (check_keys(ipam, err) < 0 || parse_subnet(ipam, &p.subnet, err) < 0)
		return -1;
	default_range(&p);
	if (parse_member(ipam, "rangeStart", &p.subnet, &p.start, err) < 0 ||
	    parse_member(ipam, "rangeEnd", &p.subnet, &p.end, err) < 0 ||
	    parse_member(ipam, "gateway", &p.subnet, &p.gateway, err) < 0)
		return -1;
	ip_addr_format(&p.start, a, sizeof(a));
	ip_addr_format(&p.end, b, sizeof(b));
	if (ip_addr_cmp(&p.start, &p.end) > 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.rangeStart %s is after ipam.rangeEnd %s",
				  a, b);
	if (ipam_pool_capacity(&p) == 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam: range %s-%s holds no address but the gateway",
				  a, b);
	*pool = p;
	return 0;
}

/* b - a for a <= b of one family, saturating at UINT64_MAX. */
static uint64_t distance(const struct ip_addr *a, const struct ip_addr *b)
{
	size_t n = ip_addr_bytes(a);
	uint8_t d[16];
	unsigned borrow = 0;
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;) {
		int x = (int)b->b[i] - (int)a->b[i] - (int)borrow;

		borrow = x < 0;
		d[i] = (uint8_t)(x & 0xff);
	}
	for (size_t i = 0; i < n; i++) {
		if (i + 8 < n && d[i])
			return UINT64_MAX;
		v = v << 8 | d[i];
	}
	return v;
}

static bool in_range(const struct ipam_pool *p, const struct ip_addr *a)
{
	return ip_addr_cmp(a, &p->start) >= 0 && ip_addr_cmp(a, &p->end) <= 0;
}

uint64_t ipam_pool_capacity(const struct ipam_pool *pool)
{
	uint64_t n = distance(&pool->start, &pool->end);
	struct ip_addr x;

	if (ip_addr_cmp(&pool->start, &pool->end) > 0)
		return 0;
	if (n == UINT64_MAX)
		return UINT64_MAX;	/* 2^64 or more, less 3 at most */
	n++;
	/* The range checks in ipam_pool_from_json keep the network and
	 * broadcast addresses out, but a pool built by hand may not. */
	if (in_range(pool, &pool->gateway))
		n--;
	ip_prefix_first(&pool->subnet, &x);
	if (in_range(pool, &x) && !ip_addr_eq(&x, &pool->gateway))
		n--;
	ip_prefix_last(&pool->subnet, &x);
	if (pool->subnet.addr.family == AF_INET && in_range(pool, &x) &&
	    !ip_addr_eq(&x, &pool->gateway))
		n--;
	return n;
}
