/* endpoint list / get: the endpoints map (address, veth, MAC, identity,
 * what is enforced), named with the daemon's /endpoints when it answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bulkhead/pin.h"
#include "ctl/ctl.h"
#include "datapath/format.h"

int ctl_parse_ip(const char *what, const char *s, __be32 *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return ctl_fail(CTL_USAGE, "%s: '%s' is not an IPv4 address", what, s);
	*ip = a.s_addr;
	return 0;
}

/* The daemon's record of the endpoint at ip, or NULL. */
static json_t *named(json_t *daemon_eps, const char *ip)
{
	size_t i;
	json_t *e;

	json_array_foreach(daemon_eps, i, e)
		if (json_is_string(json_object_get(e, "ip")) &&
		    strcmp(json_string_value(json_object_get(e, "ip")), ip) == 0)
			return e;
	return NULL;
}

const char *ctl_enforcement(__u32 flags, __u32 bit)
{
	if (!(flags & bit))
		return "open";
	return flags & BH_EP_F_AUDIT ? "audit" : "enforced";
}

static json_t *endpoint_row(__be32 ip, const struct bh_endpoint *ep,
			    json_t *daemon_eps, json_t *ids)
{
	char mac[18], fl[64];
	json_t *row = json_pack("{s:o, s:I, s:s, s:I, s:s, s:s, s:s}",
				"ip", out_ip(ip), "ifindex", (json_int_t)ep->ifindex,
				"mac", dp_mac_str(ep->mac, mac, sizeof(mac)),
				"identity", (json_int_t)ep->identity,
				"egress", ctl_enforcement(ep->flags, BH_EP_F_ENFORCE_EGRESS),
				"ingress", ctl_enforcement(ep->flags, BH_EP_F_ENFORCE_INGRESS),
				"flags", dp_ep_flags_str(ep->flags, fl, sizeof(fl)));
	json_t *d, *l;
	static const char *const names[] = {
		"namespace", "pod", "containerID", "ifname", "hostIfname", NULL
	};

	if (!row)
		return NULL;
	d = named(daemon_eps, json_string_value(json_object_get(row, "ip")));
	for (size_t i = 0; names[i]; i++) {
		json_t *v = d ? json_object_get(d, names[i]) : NULL;

		json_object_set_new(row, names[i], v ? json_incref(v) : json_null());
	}
	l = ctl_identity_labels(ids, ep->identity);
	json_object_set_new(row, "labels", l ? json_incref(l) : json_null());
	return row;
}

static int row_cmp(const void *a, const void *b)
{
	__u32 x = ntohl(*(const __be32 *)a), y = ntohl(*(const __be32 *)b);

	return x < y ? -1 : x > y;
}

/* Every key of the endpoints map, sorted by address. A hash map's walk
 * restarts when its current key goes: bounded by twice the capacity. */
static int endpoint_keys(struct ctl *c, __be32 **out, size_t *n)
{
	struct bh_endpoint_key key, last;
	size_t cap = 0, steps = 0;
	__be32 *ips = NULL;

	*n = 0;
	while (bpf_map_get_next_key(c->maps.endpoints, steps ? &last : NULL, &key) == 0) {
		last = key;
		if (++steps > 2u * BH_MAX_ENDPOINTS)
			goto fail_walk;
		if (*n == cap) {
			__be32 *p = realloc(ips, (cap = cap ? 2 * cap : 64) * sizeof(*ips));

			if (!p) {
				free(ips);
				return ctl_fail(CTL_FAIL, "out of memory");
			}
			ips = p;
		}
		ips[(*n)++] = key.ip4;
	}
	if (errno != ENOENT)
		goto fail_walk;
	if (*n > 1)
		qsort(ips, *n, sizeof(*ips), row_cmp);
	*out = ips;
	return 0;
fail_walk:
	free(ips);
	return ctl_fail(CTL_FAIL, "walk map %s: %s", BH_MAP_ENDPOINTS,
			steps > 2u * BH_MAX_ENDPOINTS ? "does not end" : strerror(errno));
}

static const char *const columns[] = {
	"ip", "namespace", "pod", "identity", "ifindex", "mac", "egress", "ingress", NULL
};

int cmd_endpoint_list(struct ctl *c, int argc, char **argv)
{
	json_t *rows = NULL, *daemon_eps = NULL, *ids = NULL;
	__be32 *ips = NULL;
	size_t n = 0;
	int rc;

	(void)argc; (void)argv;
	if ((rc = ctl_open_maps(c)) || (rc = endpoint_keys(c, &ips, &n)))
		return rc;
	daemon_eps = daemon_get_json(c, "/endpoints");
	ids = daemon_get_json(c, "/identities");
	rows = json_array();
	for (size_t i = 0; rows && i < n; i++) {
		struct bh_endpoint ep;

		/* Gone since the walk: not an endpoint any more. */
		if (dp_endpoint_get(&c->maps, ips[i], &ep) < 0)
			continue;
		if ((rc = out_append(rows, endpoint_row(ips[i], &ep, daemon_eps, ids))))
			goto out;
	}
	rc = out_rows(c, rows, columns);
	rows = NULL;
out:
	json_decref(rows);
	json_decref(daemon_eps);
	json_decref(ids);
	free(ips);
	return rc;
}

/* NS/POD: the address the daemon has for it. */
static int pod_ip(struct ctl *c, const char *name, json_t *daemon_eps, __be32 *ip)
{
	const char *slash = strchr(name, '/');
	size_t i;
	json_t *e;

	if (!daemon_eps)
		return ctl_fail(CTL_FAIL, "%s: pod names need the daemon, and it does not answer at %s; give the pod's IP",
				name, c->daemon);
	json_array_foreach(daemon_eps, i, e) {
		const char *ns = json_string_value(json_object_get(e, "namespace"));
		const char *pod = json_string_value(json_object_get(e, "pod"));
		const char *a = json_string_value(json_object_get(e, "ip"));

		if (ns && pod && a && strlen(ns) == (size_t)(slash - name) &&
		    strncmp(ns, name, strlen(ns)) == 0 && strcmp(pod, slash + 1) == 0)
			return ctl_parse_ip("daemon's endpoint address", a, ip) ? CTL_FAIL : 0;
	}
	return ctl_fail(CTL_FAIL, "no endpoint for pod %s on this node", name);
}

int ctl_endpoint_addr(struct ctl *c, const char *arg, json_t *daemon_eps, __be32 *ip)
{
	if (!strchr(arg, '/'))
		return ctl_parse_ip("endpoint", arg, ip);
	return pod_ip(c, arg, daemon_eps, ip);
}

int ctl_endpoint_find(struct ctl *c, const char *arg, json_t *daemon_eps,
		      __be32 *ip, struct bh_endpoint *ep)
{
	int rc = ctl_endpoint_addr(c, arg, daemon_eps, ip);

	if (rc)
		return rc;
	rc = dp_endpoint_get(&c->maps, *ip, ep);
	if (rc == -ENOENT)
		return ctl_fail(CTL_FAIL, "no endpoint %s in map %s", arg, BH_MAP_ENDPOINTS);
	if (rc < 0)
		return ctl_fail(CTL_FAIL, "read endpoint %s: %s", arg, strerror(-rc));
	return 0;
}

int cmd_endpoint_get(struct ctl *c, int argc, char **argv)
{
	json_t *daemon_eps = NULL, *ids = NULL;
	struct bh_endpoint ep;
	__be32 ip = 0;
	int rc;

	(void)argc;
	/* A bad address is a usage error even where no datapath is. */
	if (!strchr(argv[0], '/') && (rc = ctl_parse_ip("endpoint", argv[0], &ip)))
		return rc;
	if ((rc = ctl_open_maps(c)))
		return rc;
	daemon_eps = daemon_get_json(c, "/endpoints");
	ids = daemon_get_json(c, "/identities");
	if (!(rc = ctl_endpoint_find(c, argv[0], daemon_eps, &ip, &ep)))
		rc = out_object(c, endpoint_row(ip, &ep, daemon_eps, ids));
	json_decref(daemon_eps);
	json_decref(ids);
	return rc;
}
