/* Address allocation from a node's pod CIDR: the pool (what may be handed
 * out) and the store (what has been, persisted under a lock). */
#ifndef BH_IPAM_H
#define BH_IPAM_H

#include <stdbool.h>
#include <jansson.h>

#include "ipam/addr.h"
#include "cni/error.h"

#define IPAM_DEFAULT_DATA_DIR "/var/lib/bulkhead/ipam"
/* Longest container ID we accept: runtimes use 64 hex digits; the limit
 * keeps "ID:IFNAME.tmp" within a file name's 255 bytes. */
#define IPAM_MAX_ID 224
#define IPAM_MAX_IFNAME 15		/* IFNAMSIZ - 1 */

/* What may be handed out: [start, end] within subnet, minus the gateway, and
 * for IPv4 minus the network and broadcast addresses. */
struct ipam_pool {
	struct ip_prefix subnet;
	struct ip_addr start;
	struct ip_addr end;
	struct ip_addr gateway;
};

/* One (container ID, ifname) attachment; the key of an allocation. */
struct ipam_attachment {
	const char *container_id;
	const char *ifname;
};

struct ipam_store;

/* Reads the "ipam" object of a netconf: subnet (required), rangeStart,
 * rangeEnd, gateway (default: first address after the network address).
 * Any bad field fails with CNI_ERR_INVALID_NETCONF naming the field. */
int ipam_pool_from_json(const json_t *ipam, struct ipam_pool *pool,
			struct cni_err *err);
/* How many addresses the pool can hand out in all. */
uint64_t ipam_pool_capacity(const struct ipam_pool *pool);

/* Opens (creating) <data_dir>/<network>/, takes its exclusive file lock (so
 * concurrent plugin processes serialize here) and loads the allocations.
 * The lock is held until ipam_store_close(). */
int ipam_store_open(const char *data_dir, const char *network,
		    struct ipam_store **out, struct cni_err *err);
/* Writes the allocations back if they changed (atomically: temp file +
 * rename), drops the lock and frees. Returns -1 if the write failed. */
int ipam_store_close(struct ipam_store *s, struct cni_err *err);

/* Returns the address held by the attachment, or allocates the next free one
 * in the pool (round-robin after the last one handed out, so a released
 * address is not reused at once). *fresh tells whether it is new.
 * Exhausted pool: CNI_ERR_TRY_AGAIN with a message saying so. */
int ipam_alloc(struct ipam_store *s, const struct ipam_pool *pool,
	       const struct ipam_attachment *att, struct ip_addr *out,
	       bool *fresh, struct cni_err *err);
/* Finds the attachment's address; returns 1 found, 0 not found. */
int ipam_lookup(struct ipam_store *s, const struct ipam_attachment *att,
		struct ip_addr *out);
/* Releases the attachment's address; 0 whether or not it had one. */
int ipam_release(struct ipam_store *s, const struct ipam_attachment *att);
/* Releases every allocation whose attachment is not in valid[0..n). Returns
 * the number released. */
int ipam_gc(struct ipam_store *s, const struct ipam_attachment *valid,
	    size_t n);
/* Number of allocations held. */
size_t ipam_count(const struct ipam_store *s);
/* Calls fn for each allocation (for GC of host-side leftovers, listings). */
void ipam_foreach(const struct ipam_store *s,
		  void (*fn)(const struct ip_addr *ip,
			     const struct ipam_attachment *att, void *arg),
		  void *arg);

#endif
