/* status: is the datapath loaded and how (config), on which interfaces it
 * runs, how full its maps are, what it decided (counters), and whether the
 * daemon answers, how far it has applied the cluster's state and how its
 * watches fare. metrics: the daemon's page. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bulkhead/counters.h"
#include "bulkhead/pin.h"
#include "bulkhead/tunnel.h"
#include "ctl/ctl.h"
#include "datapath/loader.h"
#include "datapath/names.h"

/* Keys of any map, by walking it; bounded at twice the capacity, as a
 * hash map's walk may restart when keys go under it. -1 on failure. */
static long long count_keys(int fd, size_t key_size, long long cap)
{
	unsigned char key[64], next[64];
	long long n = 0;

	if (key_size > sizeof(key))
		return -1;
	while (bpf_map_get_next_key(fd, n ? key : NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (++n > 2 * cap)
			return -1;
	}
	return errno == ENOENT ? n : -1;
}

static json_t *fill(int fd, size_t key_size, long long cap)
{
	long long n = count_keys(fd, key_size, cap);

	return json_pack("{s:o, s:I}", "entries", n < 0 ? json_null() : json_integer(n),
			 "capacity", (json_int_t)cap);
}

static json_t *maps_fill(const struct ctl *c)
{
	const struct dp_maps *m = &c->maps;

	return json_pack("{s:o, s:o, s:o, s:o, s:o}",
		BH_MAP_ENDPOINTS, fill(m->endpoints, sizeof(struct bh_endpoint_key), BH_MAX_ENDPOINTS),
		BH_MAP_IPCACHE, fill(m->ipcache, sizeof(struct bh_ipcache_key), BH_MAX_IPCACHE),
		BH_MAP_POLICY, fill(m->policy, sizeof(struct bh_policy_key), BH_MAX_POLICY),
		BH_MAP_CONNTRACK, fill(m->conntrack, sizeof(struct bh_ct_key), BH_MAX_CONNTRACK),
		BH_MAP_TUNNEL, fill(m->tunnel, sizeof(struct bh_tunnel_key), BH_MAX_NODES));
}

static json_t *datapath_config(const struct bh_config *cfg)
{
	return json_pack("{s:b, s:I, s:b, s:b, s:I, s:I, s:o}",
			 "loaded", (cfg->flags & BH_CFG_F_LOADED) != 0,
			 "version", (json_int_t)cfg->datapath_version,
			 "audit", (cfg->flags & BH_CFG_F_AUDIT) != 0,
			 "trace", (cfg->flags & BH_CFG_F_TRACE) != 0,
			 "policy_rev", (json_int_t)cfg->policy_rev,
			 "tunnel_ifindex", (json_int_t)cfg->tunnel_ifindex,
			 "node_ip", out_ip(cfg->node_ip));
}

/* {"ifname":..,"ifindex":N,"ok":true,"error":..?}: whether ROOT's
 * programs run on ifindex (the overlay program on the VXLAN device). */
static json_t *attached_one(const struct ctl *c, unsigned int ifindex, bool overlay)
{
	char name[IF_NAMESIZE];
	struct dp_err err = { 0 };
	int rc = overlay ? dp_check_overlay(c->root, (int)ifindex, &err) :
			   dp_check_attached(c->root, (int)ifindex, &err);

	return json_pack("{s:s?, s:I, s:b, s:s?}",
			 "ifname", if_indextoname(ifindex, name),
			 "ifindex", (json_int_t)ifindex, "ok", rc == 0,
			 "error", rc ? err.msg : NULL);
}

static int by_ifindex(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The endpoints' host interfaces, sorted, each once; bounded like
 * count_keys. -ENOMEM or -EIO (the walk did not end). */
static int endpoint_ifindexes(const struct ctl *c, __u32 **out, size_t *n)
{
	struct bh_endpoint_key key, next;
	struct bh_endpoint ep;
	size_t cap = 0, walked = 0;
	__u32 *v = NULL;

	*n = 0;
	while (bpf_map_get_next_key(c->maps.endpoints, walked ? &key : NULL, &next) == 0) {
		key = next;
		if (++walked > 2 * BH_MAX_ENDPOINTS)
			break;
		if (bpf_map_lookup_elem(c->maps.endpoints, &key, &ep) < 0 || !ep.ifindex)
			continue;
		if (*n == cap) {
			__u32 *grown = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
		}
		v[(*n)++] = ep.ifindex;
	}
	if (walked > 2 * BH_MAX_ENDPOINTS) {
		free(v);
		return -EIO;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), by_ifindex);
	*out = v;
	return 0;
}

/* [{"ifname","ifindex","ok"}]: every endpoint's host veth, then the
 * VXLAN device when this namespace has one; names are looked up where
 * bulkhead-ctl runs (the node's namespace). null when the map walk
 * failed. */
static json_t *attached(const struct ctl *c)
{
	__u32 *ifx = NULL;
	size_t n = 0;
	unsigned int vxlan = if_nametoindex(BH_VXLAN_DEV);
	json_t *arr;

	if (endpoint_ifindexes(c, &ifx, &n) < 0)
		return json_null();
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if ((i == 0 || ifx[i] != ifx[i - 1]) && out_append(arr, attached_one(c, ifx[i], false))) {
			json_decref(arr);
			arr = NULL;
		}
	if (arr && vxlan && out_append(arr, attached_one(c, vxlan, true))) {
		json_decref(arr);
		arr = NULL;
	}
	free(ifx);
	return arr;
}

/* {"allow":{"allow_policy":N,...},"drop":{...}}: packets by verdict and
 * reason, both directions together. */
static json_t *verdicts(const struct bh_counter *cnt)
{
	json_t *out = json_object();

	for (unsigned int v = 0; out && v < BH_VERDICT_MAX; v++) {
		json_t *by_reason = json_object();

		for (unsigned int r = 0; by_reason && r < BH_REASON_MAX; r++) {
			unsigned long long n = 0;

			for (unsigned int d = 0; d < BH_DIR_MAX; d++)
				n += cnt[BH_COUNTER_INDEX(v, r, d)].packets;
			if (n && dp_reason_name(r))
				json_object_set_new(by_reason, dp_reason_name(r),
						    json_integer((json_int_t)n));
		}
		if (!by_reason || json_object_set_new(out, dp_verdict_name(v), by_reason) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* {"reachable":..,"address":..,"healthy":..,"ready":..,"applied":{..}} */
static json_t *daemon_state(const struct ctl *c)
{
	json_t *st = daemon_get_json(c, "/status");
	char *health = NULL;
	size_t len = 0;
	bool healthy = daemon_get(c, "/healthz", &health, &len) == 0;
	json_t *out;

	free(health);
	out = json_pack("{s:b, s:s, s:b, s:O*, s:O*, s:O*, s:O*}", "reachable", st != NULL,
			"address", c->daemon, "healthy", healthy,
			"ready", json_object_get(st, "ready"),
			"node", json_object_get(st, "node"),
			"applied", json_object_get(st, "applied"),
			"watch", json_object_get(st, "watch"));
	json_decref(st);
	return out;
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	static struct bh_counter cnt[BH_MAX_COUNTERS];
	struct dp_err err = { 0 };
	struct bh_config cfg;
	int rc;

	(void)argc; (void)argv;
	if ((rc = ctl_open_maps(c)))
		return rc;
	if (dp_config_get(&c->maps, &cfg, &err) < 0 ||
	    dp_counters_read(&c->maps, cnt, &err) < 0)
		return ctl_fail(CTL_FAIL, "%s", err.msg);
	return out_object(c, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
				       "bpffs_root", c->root,
				       "datapath", datapath_config(&cfg),
				       "attached", attached(c),
				       "maps", maps_fill(c),
				       "packets", verdicts(cnt),
				       "daemon", daemon_state(c)));
}

int cmd_metrics(struct ctl *c, int argc, char **argv)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	(void)argc; (void)argv;
	rc = daemon_get(c, "/metrics", &body, &len);
	if (rc < 0)
		return ctl_fail(CTL_FAIL, "GET http://%s/metrics: %s", c->daemon,
				rc == -EPROTO ? "not a 200 answer" : strerror(-rc));
	fwrite(body, 1, len, stdout);
	free(body);
	return CTL_OK;
}
