/* The policy map: what a local identity may exchange with a remote one.
 * One LPM trie holds exact ports, port ranges (as prefixes of the port),
 * any port and any protocol; the datapath looks it up twice per direction,
 * first with the exact remote identity, then with BH_POLICY_ANY_ID, so a
 * lookup costs the same with 10 rules or 10,000. */
#ifndef BH_INCLUDE_POLICY_H
#define BH_INCLUDE_POLICY_H

#include <linux/types.h>

#define BH_MAX_POLICY		262144
#define BH_POLICY_ANY_ID	0u
/* bh_policy_value.flags: the entry was written as an allow and turned into
 * a deny because a deny of the same remote identity covers it. */
#define BH_POLICY_F_PROJECTED	(1u << 0)

/* Field order is the match order of the trie: the identities and the
 * direction are always matched in full; then the protocol (0 = any, when
 * the prefix stops before it), then the port, big-endian, so that the
 * first k bits of the port are a range of 2^(16-k) ports. */
struct bh_policy_key {
	__u32 prefixlen;	/* bits after this field that must match */
	__u32 local_id;		/* identity of the local endpoint */
	__u32 remote_id;	/* peer identity, or BH_POLICY_ANY_ID */
	__u8 dir;		/* enum bh_dir */
	__u8 proto;		/* IPPROTO_*, 0 with BH_POLICY_PLEN_ANY_PROTO */
	__be16 dport;		/* destination port of the connection */
};

#define BH_POLICY_PLEN_ANY_PROTO	72	/* local, remote, dir */
#define BH_POLICY_PLEN_ANY_PORT		80	/* ... and proto */
#define BH_POLICY_PLEN_PORT		96	/* ... and all 16 port bits */

/* Deny beats allow. Within one lookup the longest prefix wins, so whoever
 * writes the map turns an allow that lies inside a deny of the same remote
 * identity into a deny (datapath/policy_map.c does); across the two lookups
 * the datapath itself lets a deny from either one win. */
enum bh_policy_action {
	BH_POLICY_ALLOW = 1,
	BH_POLICY_DENY = 2,
};

struct bh_policy_value {
	__u8 action;		/* enum bh_policy_action */
	__u8 flags;
	__u16 pad;
	__u32 rule_id;		/* the daemon's name for the rule; 0: none */
	__u64 packets;		/* connections decided by this entry */
	__u64 bytes;
};

_Static_assert(sizeof(struct bh_policy_key) == 16, "policy key ABI");
_Static_assert(sizeof(struct bh_policy_value) == 24, "policy value ABI");

#endif
