/* Verdict events: what the datapath tells userspace through the ring
 * buffer, and the per-CPU budget that keeps a flood from filling it. */
#ifndef BH_INCLUDE_EVENT_H
#define BH_INCLUDE_EVENT_H

#include <linux/types.h>

#define BH_EVENTS_RING_BYTES	(1u << 20)

/* One decision about one packet. Addresses and ports are as on the wire
 * (network order); identities and counts in host order. */
struct bh_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 src_id;
	__u32 dst_id;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;		/* enum bh_dir, relative to the deciding endpoint */
	__u8 verdict;		/* enum bh_verdict */
	__u8 reason;		/* enum bh_reason */
	__u32 rule_id;		/* 0: no rule decided */
	__u32 ifindex;		/* interface the program ran on */
	__u32 len;		/* packet length */
	__u32 pad;
};

/* Token bucket per CPU; suppressed counts what the budget held back and
 * lost what the ring buffer had no room for. */
struct bh_event_budget {
	__u64 last_ns;
	__u64 tokens;
	__u64 emitted;
	__u64 suppressed;
	__u64 lost;
};

_Static_assert(sizeof(struct bh_event) == 48, "event ABI");
_Static_assert(sizeof(struct bh_event_budget) == 40, "event budget ABI");

#endif
