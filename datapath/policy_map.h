/* From rules to policy map entries and back: port ranges become prefixes,
 * deny precedence is resolved, and the map is brought to the wanted
 * contents by difference, never by a flush. */
#ifndef BH_DATAPATH_POLICY_MAP_H
#define BH_DATAPATH_POLICY_MAP_H

#include <stddef.h>
#include <linux/types.h>

#include "bulkhead/policy.h"
#include "datapath/maps.h"

/* One rule as the compiler states it, ports in host order: port_lo ==
 * port_hi == 0 is any port; proto 0 is any protocol (ports must then be 0). */
struct dp_rule {
	__u32 local_id;
	__u32 remote_id;	/* BH_POLICY_ANY_ID for any identity */
	__u8 dir;		/* enum bh_dir */
	__u8 proto;
	__u8 action;		/* enum bh_policy_action */
	__u16 port_lo;
	__u16 port_hi;
	__u32 rule_id;
};

struct dp_policy_entry {
	struct bh_policy_key key;
	struct bh_policy_value val;
};

/* Largest number of entries one rule expands into (a range of ports costs
 * at most 2*16 - 2 prefixes). */
#define DP_RULE_MAX_ENTRIES	30

/* Validates r and writes its entries into out (room for
 * DP_RULE_MAX_ENTRIES); returns how many, or -EINVAL with a message. */
int dp_rule_expand(const struct dp_rule *r, struct dp_policy_entry *out,
		   struct dp_err *err);

/* Applies deny precedence in place: an allow whose key lies inside a deny
 * of the same (local, remote, dir) becomes a deny flagged
 * BH_POLICY_F_PROJECTED; a projected deny no deny covers any longer becomes
 * an allow again. Entries with the same key: deny wins, then the lower
 * rule_id; the duplicates are removed. Returns the new count. */
size_t dp_policy_resolve(struct dp_policy_entry *e, size_t n);

/* Reads the whole policy map, sorted by key, each key once (*out
 * malloc'd, caller frees). */
int dp_policy_read(const struct dp_maps *m, struct dp_policy_entry **out,
		   size_t *n, struct dp_err *err);

/* Makes the map hold exactly want[0..n) (already resolved): updates what
 * differs (keeping hit counters of entries that stay), deletes what is no
 * longer wanted, then bumps the policy revision once if anything changed.
 * *changed (may be NULL) counts the writes. */
int dp_policy_sync(const struct dp_maps *m, const struct dp_policy_entry *want,
		   size_t n, size_t *changed, struct dp_err *err);

/* The daemon's sync: against cur[0..ncur), the sorted entries it wrote
 * last (no map read), in two steps so that changing what an endpoint is
 * never opens a moment with neither the old nor the new allows: ADD writes
 * what appears or changes, the caller then moves endpoints and ipcache,
 * REMOVE deletes what went. No revision bump: *changed tells the caller
 * whether to bump once at the end. */
enum dp_policy_step {
	DP_POLICY_ADD,
	DP_POLICY_REMOVE,
};
int dp_policy_apply(const struct dp_maps *m, const struct dp_policy_entry *cur,
		    size_t ncur, const struct dp_policy_entry *want, size_t n,
		    enum dp_policy_step step, size_t *changed, struct dp_err *err);

#endif
