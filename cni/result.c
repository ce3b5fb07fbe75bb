/* Rendering and reading CNI results across spec versions 0.3.0 to 1.1.0. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cni/result.h"

void mac_format(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

static json_t *json_prefix(const struct ip_prefix *p)
{
	char buf[IP_PREFIX_STRLEN];

	ip_prefix_format(p, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *json_addr(const struct ip_addr *a)
{
	char buf[IP_ADDR_STRLEN];

	ip_addr_format(a, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *render_ip(const struct result_ip *ip, enum cni_version v,
			 int ifindex)
{
	json_t *o = json_object();

	if (cni_version_ips_versioned(v))
		json_object_set_new(o, "version",
				    json_string(ip->addr.addr.family == AF_INET6 ? "6" : "4"));
	json_object_set_new(o, "address", json_prefix(&ip->addr));
	json_object_set_new(o, "gateway", json_addr(&ip->gw));
	if (ifindex >= 0)
		json_object_set_new(o, "interface", json_integer(ifindex));
	return o;
}

static json_t *render_route(const struct ip_prefix *dst, const struct ip_addr *gw)
{
	json_t *o = json_object();

	json_object_set_new(o, "dst", json_prefix(dst));
	if (gw->family)
		json_object_set_new(o, "gw", json_addr(gw));
	return o;
}

/* The default route per IP via its gateway, then the IPAM's own routes. */
static void render_ipam(const struct ipam_result *r, enum cni_version v,
			int ifindex, json_t *ips, json_t *routes)
{
	for (size_t i = 0; i < r->n_ips; i++) {
		struct ip_prefix any = { .addr = { .family = r->ips[i].gw.family } };

		json_array_append_new(ips, render_ip(&r->ips[i], v, ifindex));
		json_array_append_new(routes, render_route(&any, &r->ips[i].gw));
	}
	for (size_t i = 0; i < r->n_routes; i++)
		json_array_append_new(routes, render_route(&r->routes[i].dst,
							   &r->routes[i].gw));
}

static json_t *render_iface(const char *name, const uint8_t mac[6],
			    const char *sandbox, unsigned int mtu,
			    enum cni_version v)
{
	char buf[18];
	json_t *o = json_object();

	mac_format(mac, buf, sizeof(buf));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "mac", json_string(buf));
	if (cni_version_has_if_mtu(v) && mtu)
		json_object_set_new(o, "mtu", json_integer(mtu));
	if (sandbox)
		json_object_set_new(o, "sandbox", json_string(sandbox));
	return o;
}

/* A copy of prev's array `key`, or a new empty array. */
static json_t *prev_array(const json_t *prev, const char *key)
{
	json_t *a = json_object_get(prev, key);

	return json_is_array(a) ? json_deep_copy(a) : json_array();
}

json_t *result_render(const struct pod_result *r, enum cni_version v,
		      const json_t *prev)
{
	json_t *res = json_object();
	json_t *ifs = prev_array(prev, "interfaces");
	json_t *ips = prev_array(prev, "ips");
	json_t *routes = prev_array(prev, "routes");
	const json_t *dns = r->ipam.dns ? r->ipam.dns : json_object_get(prev, "dns");
	int pod_index;

	json_array_append_new(ifs, render_iface(r->host_ifname, r->host_mac,
						NULL, r->mtu, v));
	pod_index = (int)json_array_size(ifs);
	json_array_append_new(ifs, render_iface(r->pod_ifname, r->pod_mac,
						r->sandbox, r->mtu, v));
	render_ipam(&r->ipam, v, pod_index, ips, routes);
	json_object_set_new(res, "cniVersion", json_string(cni_version_str(v)));
	json_object_set_new(res, "interfaces", ifs);
	json_object_set_new(res, "ips", ips);
	json_object_set_new(res, "routes", routes);
	if (dns)
		json_object_set_new(res, "dns", json_deep_copy(dns));
	return res;
}

json_t *result_render_ipam(const struct ipam_result *r, enum cni_version v)
{
	json_t *res = json_object();
	json_t *ips = json_array();
	json_t *routes = json_array();

	render_ipam(r, v, -1, ips, routes);
	json_object_set_new(res, "cniVersion", json_string(cni_version_str(v)));
	json_object_set_new(res, "ips", ips);
	json_object_set_new(res, "routes", routes);
	if (r->dns)
		json_object_set_new(res, "dns", json_deep_copy(r->dns));
	return res;
}

/* Results come from a delegate (its fault: 105) or from a prevResult that
 * CHECK compares against (a mismatch: 104). */
static int bad_result(const char *who, const char *what, struct cni_err *err)
{
	return cni_errorf(err, strcmp(who, "prevResult") == 0 ? BH_ERR_CHECK :
			  BH_ERR_DELEGATE, "%s returned a bad result: %s", who, what);
}

static int parse_ip(const json_t *o, const char *who, struct result_ip *ip,
		    struct cni_err *err)
{
	const char *addr = json_string_value(json_object_get(o, "address"));
	const char *gw = json_string_value(json_object_get(o, "gateway"));

	if (!addr || ip_prefix_parse(addr, &ip->addr) < 0)
		return bad_result(who, "ips[].address is not an address/prefix", err);
	if (ip->addr.addr.family != AF_INET)
		return cni_errorf(err, BH_ERR_DELEGATE,
				  "%s returned %s: only IPv4 pod addresses are supported yet",
				  who, addr);
	if (gw) {
		if (ip_addr_parse(gw, &ip->gw) < 0 || ip->gw.family != AF_INET)
			return bad_result(who, "ips[].gateway is not an IPv4 address", err);
	} else {
		/* The IPAM convention: the subnet's first host address. */
		ip_prefix_first(&ip->addr, &ip->gw);
		if (ip->addr.len > 30 || ip_addr_add(&ip->gw, 1) < 0)
			return bad_result(who, "no gateway, and none can be derived from a /31 or /32", err);
	}
	if (ip_addr_eq(&ip->gw, &ip->addr.addr))
		return bad_result(who, "the gateway is the pod's own address", err);
	return 0;
}

static int parse_route(const json_t *o, const char *who, struct result_route *r,
		       struct cni_err *err)
{
	const char *dst = json_string_value(json_object_get(o, "dst"));
	const char *gw = json_string_value(json_object_get(o, "gw"));

	memset(r, 0, sizeof(*r));
	if (!dst || ip_prefix_parse(dst, &r->dst) < 0)
		return bad_result(who, "routes[].dst is not an address/prefix", err);
	if (gw && ip_addr_parse(gw, &r->gw) < 0)
		return bad_result(who, "routes[].gw is not an address", err);
	return 0;
}

int ipam_result_parse(const json_t *res, const char *who,
		      struct ipam_result *out, struct cni_err *err)
{
	const json_t *ips = json_object_get(res, "ips");
	const json_t *routes = json_object_get(res, "routes");
	const json_t *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(ips) || json_array_size(ips) == 0)
		return bad_result(who, "no ips", err);
	if (json_array_size(ips) > RESULT_MAX_IPS)
		return bad_result(who, "too many ips", err);
	json_array_foreach(ips, i, v)
		if (parse_ip(v, who, &out->ips[out->n_ips++], err) < 0)
			return -1;
	if (routes && (!json_is_array(routes) ||
		       json_array_size(routes) > RESULT_MAX_ROUTES))
		return bad_result(who, "routes is not an array of at most 32", err);
	json_array_foreach(routes, i, v) {
		struct result_route *r = &out->routes[out->n_routes];

		if (parse_route(v, who, r, err) < 0)
			return -1;
		/* The default route is ours to make, via the gateway. */
		if (r->dst.len != 0)
			out->n_routes++;
	}
	v = json_object_get(res, "dns");
	if (json_is_object(v))
		out->dns = json_incref((json_t *)v);
	return 0;
}

void ipam_result_free(struct ipam_result *r)
{
	json_decref(r->dns);
	r->dns = NULL;
}

static int find_iface(const json_t *ifs, const char *ifname, const char *sandbox)
{
	const json_t *v;
	size_t i;

	json_array_foreach(ifs, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *sb = json_string_value(json_object_get(v, "sandbox"));

		if (name && sb && strcmp(name, ifname) == 0 &&
		    (!sandbox || strcmp(sb, sandbox) == 0))
			return (int)i;
	}
	return -1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2],
			 &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

int result_find_pod(const json_t *prev, const char *ifname,
		    const char *sandbox, struct pod_result *out,
		    struct cni_err *err)
{
	const json_t *ifs = json_object_get(prev, "interfaces");
	const json_t *ips = json_object_get(prev, "ips");
	const json_t *v;
	int idx;
	size_t i;

	memset(out, 0, sizeof(*out));
	idx = find_iface(ifs, ifname, sandbox);
	if (idx < 0)
		return cni_errorf(err, BH_ERR_CHECK,
				  "prevResult has no interface %s in %s", ifname,
				  sandbox ? sandbox : "any sandbox");
	v = json_array_get(ifs, idx);
	snprintf(out->pod_ifname, sizeof(out->pod_ifname), "%s", ifname);
	if (parse_mac(json_string_value(json_object_get(v, "mac")), out->pod_mac) < 0)
		return cni_errorf(err, BH_ERR_CHECK,
				  "prevResult: interface %s has no valid mac", ifname);
	json_array_foreach(ips, i, v) {
		const json_t *at = json_object_get(v, "interface");

		if (!json_is_integer(at) || json_integer_value(at) != idx)
			continue;
		if (out->ipam.n_ips == RESULT_MAX_IPS)
			break;
		if (parse_ip(v, "prevResult", &out->ipam.ips[out->ipam.n_ips++],
			     err) < 0)
			return -1;
	}
	if (out->ipam.n_ips == 0)
		return cni_errorf(err, BH_ERR_CHECK,
				  "prevResult has no address for interface %s", ifname);
	return 0;
}
