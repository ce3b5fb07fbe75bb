/* Userspace access to the pinned maps: opening them by name under a root,
 * and one small function per read or write the plugin, daemon and tools do. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/limits.h>

#include "bulkhead/pin.h"
#include "datapath/maps.h"

/* What userspace assumes about each map: opening one pinned by an
 * incompatible build fails here, with the sizes, instead of as garbage
 * later. A size of 0 is not checked (the ring buffer has no key/value). */
struct map_spec {
	const char *name;
	size_t off;			/* of its fd in struct dp_maps */
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
};

static const struct map_spec map_specs[] = {
	{ BH_MAP_ENDPOINTS, offsetof(struct dp_maps, endpoints),
	  BPF_MAP_TYPE_HASH, sizeof(struct bh_endpoint_key),
	  sizeof(struct bh_endpoint) },
	{ BH_MAP_IPCACHE, offsetof(struct dp_maps, ipcache),
	  BPF_MAP_TYPE_LPM_TRIE, sizeof(struct bh_ipcache_key),
	  sizeof(struct bh_ipcache_value) },
	{ BH_MAP_POLICY, offsetof(struct dp_maps, policy),
	  BPF_MAP_TYPE_LPM_TRIE, sizeof(struct bh_policy_key),
	  sizeof(struct bh_policy_value) },
	{ BH_MAP_CONNTRACK, offsetof(struct dp_maps, conntrack),
	  BPF_MAP_TYPE_LRU_HASH, sizeof(struct bh_ct_key),
	  sizeof(struct bh_ct_value) },
	{ BH_MAP_CONFIG, offsetof(struct dp_maps, config),
	  BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct bh_config) },
	{ BH_MAP_COUNTERS, offsetof(struct dp_maps, counters),
	  BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(struct bh_counter) },
	{ BH_MAP_EVENTS, offsetof(struct dp_maps, events),
	  BPF_MAP_TYPE_RINGBUF, 0, 0 },
	{ BH_MAP_EVENT_BUDGET, offsetof(struct dp_maps, event_budget),
	  BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
	  sizeof(struct bh_event_budget) },
	{ BH_MAP_TUNNEL, offsetof(struct dp_maps, tunnel),
	  BPF_MAP_TYPE_HASH, sizeof(struct bh_tunnel_key),
	  sizeof(struct bh_tunnel_value) },
};

#define N_MAPS (sizeof(map_specs) / sizeof(map_specs[0]))

static int *map_fd(struct dp_maps *m, const struct map_spec *s)
{
	return (int *)((char *)m + s->off);
}

static const char *ip_str(__be32 ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static int check_spec(int fd, const char *path, const struct map_spec *s,
		      struct dp_err *err)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return dp_errorf(err, -errno, "inspect map %s: %s", path,
				 strerror(errno));
	if (info.type == s->type && info.key_size == s->key_size &&
	    info.value_size == s->value_size)
		return 0;
	return dp_errorf(err, -EPROTO,
			 "map %s is type %u with %u-byte keys and %u-byte "
			 "values; this build expects type %u, %u and %u "
			 "(pinned by another build: unload and load again)",
			 path, info.type, info.key_size, info.value_size,
			 s->type, s->key_size, s->value_size);
}

static int open_one(const char *root, const struct map_spec *s, int *fd,
		    struct dp_err *err)
{
	char path[PATH_MAX];
	int rc;

	rc = dp_pin_path(path, sizeof(path), root, BH_PIN_MAPS_DIR, s->name);
	if (rc < 0)
		return dp_errorf(err, rc, "map path under %s: name too long",
				 root);
	*fd = bpf_obj_get(path);
	if (*fd < 0 && errno == ENOENT)
		return dp_errorf(err, -ENOENT,
				 "datapath not loaded under %s (no map %s): %s",
				 root, s->name, strerror(errno));
	if (*fd < 0)
		return dp_errorf(err, -errno, "open pinned map %s: %s", path,
				 strerror(errno));
	if (s->type == BPF_MAP_TYPE_RINGBUF)
		return 0;
	return check_spec(*fd, path, s, err);
}

int dp_maps_open(const char *root, struct dp_maps *m, struct dp_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < N_MAPS; i++)
		*map_fd(m, &map_specs[i]) = -1;
	for (i = 0; i < N_MAPS; i++) {
		rc = open_one(root, &map_specs[i], map_fd(m, &map_specs[i]),
			      err);
		if (rc < 0) {
			dp_maps_close(m);
			return rc;
		}
	}
	return 0;
}

void dp_maps_close(struct dp_maps *m)
{
	size_t i;

	for (i = 0; i < N_MAPS; i++) {
		int *fd = map_fd(m, &map_specs[i]);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* Maps keyed by one IPv4 address (endpoints, tunnel): one writer and one
 * deleter serve both. what names the entry in messages. */
static int ip_keyed_put(int fd, __be32 ip, const void *val, const char *what,
			const char *map, struct dp_err *err)
{
	char a[INET_ADDRSTRLEN];

	if (bpf_map_update_elem(fd, &ip, val, BPF_ANY) == 0)
		return 0;
	/* E2BIG: the map is full. */
	return dp_errorf(err, -errno, "write %s %s to map %s: %s", what,
			 ip_str(ip, a), map, strerror(errno));
}

/* Succeeds when the entry is already gone. */
static int ip_keyed_del(int fd, __be32 ip, const char *what, const char *map,
			struct dp_err *err)
{
	char a[INET_ADDRSTRLEN];

	if (bpf_map_delete_elem(fd, &ip) == 0 || errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "delete %s %s from map %s: %s", what,
			 ip_str(ip, a), map, strerror(errno));
}

_Static_assert(sizeof(struct bh_endpoint_key) == sizeof(__be32) &&
	       sizeof(struct bh_tunnel_key) == sizeof(__be32),
	       "endpoint and tunnel keys are one address");

/* Endpoints: one entry per local pod address. */

int dp_endpoint_put(const struct dp_maps *m, __be32 ip,
		    const struct bh_endpoint *ep, struct dp_err *err)
{
	return ip_keyed_put(m->endpoints, ip, ep, "endpoint", BH_MAP_ENDPOINTS, err);
}

int dp_endpoint_get(const struct dp_maps *m, __be32 ip, struct bh_endpoint *ep)
{
	struct bh_endpoint_key key = { .ip4 = ip };

	if (bpf_map_lookup_elem(m->endpoints, &key, ep) < 0)
		return -errno;
	return 0;
}

int dp_endpoint_del(const struct dp_maps *m, __be32 ip, struct dp_err *err)
{
	return ip_keyed_del(m->endpoints, ip, "endpoint", BH_MAP_ENDPOINTS, err);
}

/* ipcache: an LPM trie. The kernel compares only the first prefixlen bits,
 * but a key with host bits set would still be a distinct entry to delete
 * and list, so they are cleared before every write. */

static int ipcache_key(struct bh_ipcache_key *key, __be32 ip,
		       unsigned int plen, struct dp_err *err)
{
	char a[INET_ADDRSTRLEN];
	__u32 mask;

	if (plen > 32)
		return dp_errorf(err, -EINVAL,
				 "ipcache %s/%u: prefix length over 32",
				 ip_str(ip, a), plen);
	mask = plen ? ~0u << (32 - plen) : 0;	/* << 32 is undefined */
	memset(key, 0, sizeof(*key));
	key->prefixlen = plen;
	key->ip4 = ip & htonl(mask);
	return 0;
}

int dp_ipcache_put(const struct dp_maps *m, __be32 ip, unsigned int plen,
		   const struct bh_ipcache_value *v, struct dp_err *err)
{
	struct bh_ipcache_key key;
	char a[INET_ADDRSTRLEN];
	int rc;

	rc = ipcache_key(&key, ip, plen, err);
	if (rc < 0)
		return rc;
	if (bpf_map_update_elem(m->ipcache, &key, v, BPF_ANY) == 0)
		return 0;
	return dp_errorf(err, -errno, "write %s/%u to map %s: %s",
			 ip_str(key.ip4, a), plen, BH_MAP_IPCACHE,
			 strerror(errno));
}

/* Like dp_endpoint_del, succeeds when the prefix is absent. */
int dp_ipcache_del(const struct dp_maps *m, __be32 ip, unsigned int plen,
		   struct dp_err *err)
{
	struct bh_ipcache_key key;
	char a[INET_ADDRSTRLEN];
	int rc;

	rc = ipcache_key(&key, ip, plen, err);
	if (rc < 0)
		return rc;
	if (bpf_map_delete_elem(m->ipcache, &key) == 0 || errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "delete %s/%u from map %s: %s",
			 ip_str(key.ip4, a), plen, BH_MAP_IPCACHE,
			 strerror(errno));
}

/* Calls fn for every prefix until it returns nonzero. The trie is small
 * next to conntrack and written by one daemon, so a plain walk suffices. */
int dp_ipcache_foreach(const struct dp_maps *m,
		       int (*fn)(const struct bh_ipcache_key *,
				 const struct bh_ipcache_value *, void *),
		       void *arg, struct dp_err *err)
{
	struct bh_ipcache_key key, next;
	const struct bh_ipcache_key *prev = NULL;
	struct bh_ipcache_value val;
	int rc;

	while (bpf_map_get_next_key(m->ipcache, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->ipcache, &key, &val) < 0) {
			if (errno == ENOENT)
				continue;
			return dp_errorf(err, -errno, "read map %s: %s",
					 BH_MAP_IPCACHE, strerror(errno));
		}
		rc = fn(&key, &val, arg);
		if (rc)
			return rc;
	}
	if (errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "walk map %s: %s", BH_MAP_IPCACHE,
			 strerror(errno));
}

/* Tunnel: the cluster's nodes. */

int dp_tunnel_put(const struct dp_maps *m, __be32 node_ip,
		  const struct bh_tunnel_value *v, struct dp_err *err)
{
	return ip_keyed_put(m->tunnel, node_ip, v, "node", BH_MAP_TUNNEL, err);
}

int dp_tunnel_del(const struct dp_maps *m, __be32 node_ip, struct dp_err *err)
{
	return ip_keyed_del(m->tunnel, node_ip, "node", BH_MAP_TUNNEL, err);
}

/* A hash walk restarts when the key it continues from goes; bounded like
 * the conntrack walks, though only the daemon writes this map. */
int dp_tunnel_foreach(const struct dp_maps *m,
		      int (*fn)(__be32 node_ip, const struct bh_tunnel_value *,
				void *),
		      void *arg, struct dp_err *err)
{
	struct bh_tunnel_key key, next;
	const struct bh_tunnel_key *prev = NULL;
	struct bh_tunnel_value val;
	unsigned int steps = 0;
	int rc;

	while (bpf_map_get_next_key(m->tunnel, prev, &next) == 0) {
		if (++steps > 2u * BH_MAX_NODES)
			return dp_errorf(err, -EAGAIN,
					 "walk map %s: did not end after %u "
					 "keys", BH_MAP_TUNNEL,
					 2u * BH_MAX_NODES);
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->tunnel, &key, &val) < 0) {
			if (errno == ENOENT)
				continue;
			return dp_errorf(err, -errno, "read map %s: %s",
					 BH_MAP_TUNNEL, strerror(errno));
		}
		rc = fn(key.node_ip, &val, arg);
		if (rc)
			return rc;
	}
	if (errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "walk map %s: %s", BH_MAP_TUNNEL,
			 strerror(errno));
}

/* Config: entry 0 of an array, so it always exists; an all-zero entry
 * (no BH_CFG_F_LOADED) means the loader has not written it yet. */

int dp_config_get(const struct dp_maps *m, struct bh_config *cfg,
		  struct dp_err *err)
{
	__u32 key = 0;

	if (bpf_map_lookup_elem(m->config, &key, cfg) == 0)
		return 0;
	return dp_errorf(err, -errno, "read map %s: %s", BH_MAP_CONFIG,
			 strerror(errno));
}

int dp_config_put(const struct dp_maps *m, const struct bh_config *cfg,
		  struct dp_err *err)
{
	__u32 key = 0;

	if (bpf_map_update_elem(m->config, &key, cfg, BPF_ANY) == 0)
		return 0;
	return dp_errorf(err, -errno, "write map %s: %s", BH_MAP_CONFIG,
			 strerror(errno));
}

/* Read, increment, write: not atomic against another writer. The daemon is
 * the one writer of the config on a live node (tools only before it runs),
 * so two bumps never race. */
int dp_policy_rev_bump(const struct dp_maps *m, struct dp_err *err)
{
	struct bh_config cfg;
	int rc;

	rc = dp_config_get(m, &cfg, err);
	if (rc < 0)
		return rc;
	cfg.policy_rev++;
	return dp_config_put(m, &cfg, err);
}

void dp_config_defaults(struct bh_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->flags = BH_CFG_F_LOADED;
	cfg->allow_sample = BH_CFG_DEFAULT_ALLOW_SAMPLE;
	cfg->events_per_sec = BH_CFG_DEFAULT_EVENTS_PER_SEC;
	cfg->events_burst = BH_CFG_DEFAULT_EVENTS_BURST;
	cfg->ct_tcp_syn_s = BH_CFG_DEFAULT_CT_TCP_SYN;
	cfg->ct_tcp_est_s = BH_CFG_DEFAULT_CT_TCP_EST;
	cfg->ct_tcp_close_s = BH_CFG_DEFAULT_CT_TCP_CLOSE;
	cfg->ct_udp_s = BH_CFG_DEFAULT_CT_UDP;
	cfg->ct_other_s = BH_CFG_DEFAULT_CT_OTHER;
}

/* Per-CPU maps: a lookup returns one value per possible CPU, each padded
 * to a multiple of 8 bytes. */

static size_t percpu_stride(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

/* *buf gets room for one per-CPU lookup of size-byte values; *ncpu the
 * number of values it returns. */
static int percpu_buf(size_t size, void **buf, int *ncpu, const char *map,
		      struct dp_err *err)
{
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return dp_errorf(err, *ncpu < 0 ? *ncpu : -EINVAL,
				 "read map %s: cannot count possible CPUs",
				 map);
	*buf = calloc(*ncpu, percpu_stride(size));
	if (!*buf)
		return dp_errorf(err, -ENOMEM, "read map %s: out of memory",
				 map);
	return 0;
}

int dp_counters_read(const struct dp_maps *m, struct bh_counter *out,
		     struct dp_err *err)
{
	size_t stride = percpu_stride(sizeof(struct bh_counter));
	void *buf;
	__u32 key;
	int ncpu, cpu, rc;

	rc = percpu_buf(sizeof(struct bh_counter), &buf, &ncpu,
			BH_MAP_COUNTERS, err);
	if (rc < 0)
		return rc;
	memset(out, 0, BH_MAX_COUNTERS * sizeof(*out));
	for (key = 0; key < BH_MAX_COUNTERS; key++) {
		if (bpf_map_lookup_elem(m->counters, &key, buf) < 0) {
			rc = dp_errorf(err, -errno, "read map %s entry %u: %s",
				       BH_MAP_COUNTERS, key, strerror(errno));
			goto out;
		}
		for (cpu = 0; cpu < ncpu; cpu++) {
			const struct bh_counter *c =
				(const void *)((char *)buf + cpu * stride);

			out[key].packets += c->packets;
			out[key].bytes += c->bytes;
		}
	}
out:
	free(buf);
	return rc;
}

int dp_event_budget_read(const struct dp_maps *m, struct bh_event_budget *out,
			 struct dp_err *err)
{
	size_t stride = percpu_stride(sizeof(struct bh_event_budget));
	void *buf;
	__u32 key = 0;
	int ncpu, cpu, rc;

	rc = percpu_buf(sizeof(struct bh_event_budget), &buf, &ncpu,
			BH_MAP_EVENT_BUDGET, err);
	if (rc < 0)
		return rc;
	if (bpf_map_lookup_elem(m->event_budget, &key, buf) < 0) {
		rc = dp_errorf(err, -errno, "read map %s: %s",
			       BH_MAP_EVENT_BUDGET, strerror(errno));
		goto out;
	}
	/* The bucket state is per CPU and means nothing summed; CPU 0's is
	 * shown as a sample. */
	memcpy(out, buf, sizeof(*out));
	for (cpu = 1; cpu < ncpu; cpu++) {
		const struct bh_event_budget *b =
			(const void *)((char *)buf + cpu * stride);

		out->emitted += b->emitted;
		out->suppressed += b->suppressed;
		out->lost += b->lost;
	}
out:
	free(buf);
	return rc;
}

/* Conntrack. */

/* Whether end (a, ap) sorts before or equal to (b, bp): the address as a
 * host-order number first, then the port. The BPF side orders keys by the
 * same rule (include/bulkhead/conntrack.h). */
static bool ct_end_first(__be32 a, __be16 ap, __be32 b, __be16 bp)
{
	if (ntohl(a) != ntohl(b))
		return ntohl(a) < ntohl(b);
	return ntohs(ap) <= ntohs(bp);
}

void dp_ct_key(struct bh_ct_key *key, __be32 src, __be16 sport, __be32 dst,
	       __be16 dport, __u8 proto, bool *src_is_a)
{
	bool a = ct_end_first(src, sport, dst, dport);

	memset(key, 0, sizeof(*key));
	key->addr_a = a ? src : dst;
	key->port_a = a ? sport : dport;
	key->addr_b = a ? dst : src;
	key->port_b = a ? dport : sport;
	key->proto = proto;
	if (src_is_a)
		*src_is_a = a;
}

/* A key walk on a hash map restarts from the first bucket when the key it
 * continues from has gone (the datapath evicts and deletes at any time), so
 * a walk is bounded to twice the table size; past that it gives up rather
 * than loop while the table churns. */
#define CT_WALK_MAX (2u * BH_MAX_CONNTRACK)

struct key_list {
	struct bh_ct_key *keys;
	size_t n, cap;
};

static int key_list_add(struct key_list *l, const struct bh_ct_key *k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->keys, cap * sizeof(*l->keys));

		if (!p)
			return -ENOMEM;
		l->keys = p;
		l->cap = cap;
	}
	l->keys[l->n++] = *k;
	return 0;
}

/* Collects the keys with ip at either end. */
static int ct_collect(int fd, __be32 ip, struct key_list *l,
		      struct dp_err *err)
{
	struct bh_ct_key key, next;
	const struct bh_ct_key *prev = NULL;
	unsigned int steps = 0;
	char a[INET_ADDRSTRLEN];

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (++steps > CT_WALK_MAX)
			return dp_errorf(err, -EAGAIN,
					 "purge %s from map %s: the walk did "
					 "not end after %u keys (table "
					 "changing too fast)", ip_str(ip, a),
					 BH_MAP_CONNTRACK, CT_WALK_MAX);
		if ((next.addr_a == ip || next.addr_b == ip) &&
		    key_list_add(l, &next) < 0)
			return dp_errorf(err, -ENOMEM, "purge %s from map %s: "
					 "out of memory", ip_str(ip, a),
					 BH_MAP_CONNTRACK);
		key = next;
		prev = &key;
	}
	if (errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "purge %s: walk map %s: %s",
			 ip_str(ip, a), BH_MAP_CONNTRACK, strerror(errno));
}

/* Keys are collected first and deleted after: deleting while walking
 * would remove the key the walk continues from and restart it. */
int dp_ct_purge_ip(const struct dp_maps *m, __be32 ip, unsigned int *removed,
		   struct dp_err *err)
{
	struct key_list l = { 0 };
	char a[INET_ADDRSTRLEN];
	unsigned int n = 0;
	size_t i;
	int rc;

	rc = ct_collect(m->conntrack, ip, &l, err);
	/* Even after a failed walk, what was found is deleted. */
	for (i = 0; i < l.n; i++) {
		if (bpf_map_delete_elem(m->conntrack, &l.keys[i]) == 0) {
			n++;
			continue;
		}
		if (errno == ENOENT)	/* expired or evicted meanwhile */
			continue;
		if (rc == 0)
			rc = dp_errorf(err, -errno,
				       "purge %s: delete from map %s: %s",
				       ip_str(ip, a), BH_MAP_CONNTRACK,
				       strerror(errno));
	}
	free(l.keys);
	if (removed)
		*removed = n;
	return rc;
}

/* Returns 0, or fn's nonzero value when it stopped the walk. */
int dp_ct_foreach(const struct dp_maps *m,
		  int (*fn)(const struct bh_ct_key *, const struct bh_ct_value *,
			    void *),
		  void *arg, struct dp_err *err)
{
	struct bh_ct_key key, next;
	const struct bh_ct_key *prev = NULL;
	struct bh_ct_value val;
	unsigned int steps = 0;
	int rc;

	while (bpf_map_get_next_key(m->conntrack, prev, &next) == 0) {
		if (++steps > CT_WALK_MAX)
			return dp_errorf(err, -EAGAIN,
					 "walk map %s: did not end after %u "
					 "keys (table changing too fast)",
					 BH_MAP_CONNTRACK, CT_WALK_MAX);
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(m->conntrack, &key, &val) < 0) {
			if (errno == ENOENT)	/* gone since the walk saw it */
				continue;
			return dp_errorf(err, -errno, "read map %s: %s",
					 BH_MAP_CONNTRACK, strerror(errno));
		}
		rc = fn(&key, &val, arg);
		if (rc)
			return rc;
	}
	if (errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "walk map %s: %s", BH_MAP_CONNTRACK,
			 strerror(errno));
}
