/* Connection tracking: one LRU entry per connection, found from either
 * direction with one lookup, because the key orders the two ends. */
#ifndef BH_INCLUDE_CONNTRACK_H
#define BH_INCLUDE_CONNTRACK_H

#include <linux/types.h>

#define BH_MAX_CONNTRACK	262144

/* Canonical order: (addr_a, port_a) is the smaller end, comparing the
 * address first as a host-order number, then the port. ICMP echo uses the
 * echo id as both ports, so request and reply meet in one entry. */
struct bh_ct_key {
	__be32 addr_a;
	__be32 addr_b;
	__be16 port_a;
	__be16 port_b;
	__u8 proto;
	__u8 pad[3];
};

enum bh_ct_state {
	BH_CT_NEW = 0,		/* only the opening side seen */
	BH_CT_ESTABLISHED = 1,	/* both sides seen */
	BH_CT_CLOSING = 2,	/* TCP FIN or RST seen */
};

#define BH_CT_F_ORIG_A		(1u << 0)	/* the connection was opened by side a */
#define BH_CT_F_AUDIT		(1u << 1)	/* passed only because of audit mode */

/* The verdict is cached with the policy revision it was made under
 * (bh_config.policy_rev); any policy change makes it stale and the next
 * packet of the connection, either direction, is decided again, so
 * revoking an allow cuts established connections too. */
struct bh_ct_value {
	__u64 expires_ns;	/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 packets[2];	/* [0] opening direction, [1] reply */
	__u64 bytes[2];
	__u32 policy_rev;
	__u32 src_id;		/* identities of the opening side ... */
	__u32 dst_id;		/* ... and of the side it opened to */
	__u32 rule_id;		/* the rule that allowed it */
	__u8 flags;		/* BH_CT_F_* */
	__u8 state;		/* enum bh_ct_state */
	__u8 tcp_seen[2];	/* TCP flags seen per direction */
	__u32 pad;
};

_Static_assert(sizeof(struct bh_ct_key) == 16, "conntrack key ABI");
_Static_assert(sizeof(struct bh_ct_value) == 64, "conntrack value ABI");

#endif
