/* bulkhead-policyd's state and its parts: options, the loop, the sources
 * of objects, the identity and endpoint tables, the datapath maps. */
#ifndef BH_POLICYD_DAEMON_H
#define BH_POLICYD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "datapath/maps.h"
#include "datapath/policy_map.h"
#include "policyd/drops.h"
#include "policyd/endpoint.h"
#include "policyd/identity.h"
#include "policyd/labels.h"
#include "policyd/loop.h"
#include "policyd/prom.h"
#include "policyd/store.h"

struct kube_client;
struct kube_queue;
struct kube_watch;
struct reg_server;
struct http_server;
struct event_reader;
struct flowlog;

struct daemon_opts {
	const char *node;		/* this node's name */
	const char *kubeconfig;		/* API mode with a kubeconfig */
	bool in_cluster;		/* API mode with the service account */
	const char *manifests;		/* standalone mode: a directory */
	const char *bpffs_root;
	const char *state_dir;
	const char *socket;
	const char *metrics_addr;	/* "" or NULL: no HTTP endpoint */
	const char *flow_log;		/* "" or NULL: no flow log */
	size_t flow_log_max_bytes;
	int flow_log_keep;
	const char *label_filter;	/* NULL: the default filter */
	uint64_t identity_gc_grace_ms;
	bool allow_host;
	bool audit;
	int watch_timeout_s;
	__be32 node_ip;			/* underlay address; 0: the Node object's */
	bool no_overlay;		/* no VXLAN device (a single node) */
};

struct daemon_stats {
	uint64_t reconciles;
	uint64_t reconcile_errors;
	uint64_t policy_writes;
	uint64_t ipcache_writes;
	uint64_t tunnel_writes;
	uint64_t endpoint_writes;
	uint64_t identity_allocs;
	uint64_t identity_gcs;
	uint64_t flow_events;
	uint64_t flow_log_errors;
	uint64_t reg_add;
	uint64_t reg_del;
	uint64_t reg_fail;
	struct prom_hist propagation;	/* watch line read -> maps written, s */
	struct prom_hist reconcile_time;	/* s */
	struct prom_hist add_wait;	/* ADD received -> answered, s */
};

/* One prefix the daemon wrote into the ipcache: the identity it gave and
 * the node that carries it. */
struct ipc_entry {
	__be32 ip;
	__u8 plen;
	__u8 local;		/* a local endpoint's: wins over a pod status */
	__u32 id;
	__be32 tunnel;		/* the owning node's address; 0: this node or none */
};

struct daemon {
	struct daemon_opts o;
	struct loop *loop;
	struct dp_maps maps;
	bool maps_open;
	struct store store;
	struct identity_table ids;
	struct endpoint_table eps;
	struct label_filter filter;

	struct kube_client *kube;
	struct kube_queue *queue;
	struct kube_watch *watch[STORE_NKINDS];
	bool synced[STORE_NKINDS];	/* first list complete */
	int manifest_fd;
	uint64_t manifest_timer;

	struct reg_server *reg;
	struct http_server *http;
	int tunnel_ifindex;		/* the VXLAN device; 0: none */
	__be32 node_ip;			/* as the config holds it */

	struct event_reader *events;
	struct flowlog *flowlog;
	int64_t mono_to_real_ns;
	struct drop_table drops;	/* top dropped pairs, for /drops */

	/* What the daemon last wrote, to apply changes as differences. */
	struct dp_policy_entry *policy;
	size_t npolicy;
	struct ipc_entry *ipcache;	/* sorted by (ip, plen) */
	size_t nipcache;
	__be32 *tunnels;		/* the tunnel map's nodes, sorted */
	size_t ntunnels;
	struct strmap cidr_ids;		/* "a.b.c.d/n" -> id (uintptr_t) */
	__u32 next_cidr_id;
	struct strmap rule_names;	/* policy id -> "ns/name" (for tools) */

	/* The largest metadata.resourceVersion per kind among the events
	 * read since the last successful reconcile, and among those it
	 * applied: how far this node has enforced what the API server said. */
	uint64_t seen_rv[STORE_NKINDS];
	uint64_t applied_rv[STORE_NKINDS];

	bool dirty;			/* something changed: reconcile */
	uint64_t dirty_since_ns;	/* oldest unapplied watch line */
	uint64_t gc_timer;
	uint64_t retry_timer;		/* a failed reconcile's next try */
	int retry_ms;
	bool ready;
	bool stop;
	struct daemon_stats st;
};

int daemon_init(struct daemon *d, const struct daemon_opts *o,
		struct dp_err *err);
int daemon_run(struct daemon *d);
void daemon_fini(struct daemon *d);

/* reconcile.c: brings endpoints, ipcache and policy map to what the store
 * says, answers ADDs that are now ready. */
int daemon_reconcile(struct daemon *d, struct dp_err *err);
/* Reads what the maps hold into the shadows (at start, and after a
 * failed update left them unknown). */
int daemon_shadow_load(struct daemon *d, struct dp_err *err);
/* The identity an endpoint should have now; 0 when its pod or namespace is
 * not known yet. May allocate (API call). */
int daemon_endpoint_identity(struct daemon *d, const struct endpoint *ep,
			     __u32 *id, struct dp_err *err);

/* metrics.c: the /healthz, /metrics and /status pages. */
int daemon_http(void *ctx, const char *path, FILE *body, const char **ctype);

void daemon_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
