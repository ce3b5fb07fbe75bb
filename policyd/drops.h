/* The most frequent dropped (source identity, destination identity,
 * protocol, port) pairs, counted from the verdict events the daemon reads;
 * bounded, for bulkhead-ctl drops. */
#ifndef BH_POLICYD_DROPS_H
#define BH_POLICYD_DROPS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <jansson.h>

#include "bulkhead/event.h"

#define DROP_PAIRS_MAX	1024
#define DROP_PAIRS_TOP	50

struct drop_pair {
	__u32 src_id;
	__u32 dst_id;
	__u16 dport;		/* host order; 0 for protocols without ports */
	__u8 proto;
	__u8 last_reason;	/* enum bh_reason */
	__u8 last_dir;		/* enum bh_dir */
	uint64_t count;
	uint64_t last_ns;	/* the last event's bpf_ktime_get_ns() */
};

/* Space-saving counting: when all DROP_PAIRS_MAX slots are taken, a new
 * pair takes the slot of the smallest count and starts from that count
 * plus one, so a pair that is frequent overall cannot be pushed out by
 * a stream of rare ones (counts may then overstate, never understate). */
struct drop_table {
	struct drop_pair pairs[DROP_PAIRS_MAX];
	size_t n;
};

/* Counts ev when it is a drop; other verdicts are ignored. */
void drop_table_count(struct drop_table *t, const struct bh_event *ev);

/* {"source":"sampled events","tracked":N,"capacity":N,"pairs":[{
 * "src_identity","dst_identity","proto","dport","count","last_reason",
 * "last_direction","last_seen_s_ago"}]}: at most top pairs, by count,
 * largest first. now_ns: CLOCK_MONOTONIC, the clock of event stamps.
 * NULL when out of memory. */
json_t *drop_table_json(const struct drop_table *t, size_t top,
			uint64_t now_ns);

#endif
