/* Reading and writing the pinned maps from userspace: endpoints, ipcache,
 * tunnel, config, counters and conntrack. Used by the plugin, the daemon and the
 * tools; every writer goes through here. */
#ifndef BH_DATAPATH_MAPS_H
#define BH_DATAPATH_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bulkhead/config.h"
#include "bulkhead/conntrack.h"
#include "bulkhead/counters.h"
#include "bulkhead/endpoint.h"
#include "bulkhead/event.h"
#include "bulkhead/ipcache.h"
#include "bulkhead/policy.h"
#include "bulkhead/tunnel.h"
#include "datapath/dp.h"

struct dp_maps {
	int endpoints;
	int ipcache;
	int policy;
	int conntrack;
	int config;
	int counters;
	int events;
	int event_budget;
	int tunnel;
};

/* Opens every pinned map under ROOT; fds are -1 on failure and all are
 * closed again. -ENOENT names the root when the datapath is not loaded. */
int dp_maps_open(const char *root, struct dp_maps *m, struct dp_err *err);
void dp_maps_close(struct dp_maps *m);

/* Writes an endpoint entry. Changing an existing entry's identity or flags
 * changes verdicts of connections already cached: the writer must then
 * call dp_policy_rev_bump (a new entry, as ADD writes, has none). */
int dp_endpoint_put(const struct dp_maps *m, __be32 ip,
		    const struct bh_endpoint *ep, struct dp_err *err);
/* -ENOENT (no message) when absent. */
int dp_endpoint_get(const struct dp_maps *m, __be32 ip, struct bh_endpoint *ep);
/* Succeeds when absent. */
int dp_endpoint_del(const struct dp_maps *m, __be32 ip, struct dp_err *err);

int dp_ipcache_put(const struct dp_maps *m, __be32 ip, unsigned int plen,
		   const struct bh_ipcache_value *v, struct dp_err *err);
int dp_ipcache_del(const struct dp_maps *m, __be32 ip, unsigned int plen,
		   struct dp_err *err);

/* Calls fn for every prefix until it returns nonzero. */
int dp_ipcache_foreach(const struct dp_maps *m,
		       int (*fn)(const struct bh_ipcache_key *,
				 const struct bh_ipcache_value *, void *),
		       void *arg, struct dp_err *err);

/* The cluster's nodes, by underlay address (network order): the overlay
 * takes a tunnel packet's VNI for an identity only from one of them. */
int dp_tunnel_put(const struct dp_maps *m, __be32 node_ip,
		  const struct bh_tunnel_value *v, struct dp_err *err);
/* Succeeds when absent. */
int dp_tunnel_del(const struct dp_maps *m, __be32 node_ip, struct dp_err *err);
/* Calls fn for every node until it returns nonzero. */
int dp_tunnel_foreach(const struct dp_maps *m,
		      int (*fn)(__be32 node_ip, const struct bh_tunnel_value *,
				void *),
		      void *arg, struct dp_err *err);

int dp_config_get(const struct dp_maps *m, struct bh_config *cfg,
		  struct dp_err *err);
int dp_config_put(const struct dp_maps *m, const struct bh_config *cfg,
		  struct dp_err *err);
/* Bumps policy_rev so every cached conntrack verdict is decided again. */
int dp_policy_rev_bump(const struct dp_maps *m, struct dp_err *err);
/* The defaults from bulkhead/config.h with BH_CFG_F_LOADED set. */
void dp_config_defaults(struct bh_config *cfg);

/* Sums the per-CPU counters into out[BH_MAX_COUNTERS]. */
int dp_counters_read(const struct dp_maps *m, struct bh_counter *out,
		     struct dp_err *err);
/* Sums the per-CPU event budgets (last_ns and tokens: of CPU 0). */
int dp_event_budget_read(const struct dp_maps *m, struct bh_event_budget *out,
			 struct dp_err *err);

/* Builds the canonical conntrack key for a packet src:sport → dst:dport;
 * *src_is_a tells whether src became side a. */
void dp_ct_key(struct bh_ct_key *key, __be32 src, __be16 sport, __be32 dst,
	       __be16 dport, __u8 proto, bool *src_is_a);
/* Deletes every conntrack entry with ip at either end; *removed counts
 * them (may be NULL). */
int dp_ct_purge_ip(const struct dp_maps *m, __be32 ip, unsigned int *removed,
		   struct dp_err *err);
/* Calls fn for every entry until it returns nonzero. */
int dp_ct_foreach(const struct dp_maps *m,
		  int (*fn)(const struct bh_ct_key *, const struct bh_ct_value *,
			    void *),
		  void *arg, struct dp_err *err);

#endif
