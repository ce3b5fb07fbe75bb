/* The node's maps. Every program declares all of them pinned by name, so
 * the loader's objects share one set and a reload reuses it. */
#ifndef BH_DP_LIB_MAPS_H
#define BH_DP_LIB_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BH_MAX_ENDPOINTS);
	__type(key, struct bh_endpoint_key);
	__type(value, struct bh_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BH_MAX_IPCACHE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bh_ipcache_key);
	__type(value, struct bh_ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BH_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bh_policy_key);
	__type(value, struct bh_policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BH_MAX_CONNTRACK);
	__type(key, struct bh_ct_key);
	__type(value, struct bh_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bh_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BH_MAX_COUNTERS);
	__type(key, __u32);
	__type(value, struct bh_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BH_EVENTS_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bh_event_budget);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_budget SEC(".maps");

/* The cluster's nodes by underlay address: the overlay believes a VNI only
 * from one of them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BH_MAX_NODES);
	__type(key, struct bh_tunnel_key);
	__type(value, struct bh_tunnel_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tunnel SEC(".maps");

/* The node's configuration, or NULL until the loader has written it: the
 * programs refuse to guess at timeouts and revisions. */
static __always_inline struct bh_config *config_get(void)
{
	__u32 zero = 0;
	struct bh_config *cfg = bpf_map_lookup_elem(&config, &zero);

	return cfg && (cfg->flags & BH_CFG_F_LOADED) ? cfg : NULL;
}

#endif
