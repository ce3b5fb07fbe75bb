/* The ipcache: every address the node may talk to, as CIDR → identity (and,
 * for pods on other nodes, the node that carries them). A miss is world. */
#ifndef BH_INCLUDE_IPCACHE_H
#define BH_INCLUDE_IPCACHE_H

#include <linux/types.h>

#define BH_MAX_IPCACHE		524288

struct bh_ipcache_key {
	__u32 prefixlen;	/* LPM trie: bits of ip4 that matter */
	__be32 ip4;
};

struct bh_ipcache_value {
	__u32 identity;
	__be32 tunnel_ip;	/* underlay address of the owning node; 0: local or none */
};

_Static_assert(sizeof(struct bh_ipcache_key) == 8, "ipcache key ABI");
_Static_assert(sizeof(struct bh_ipcache_value) == 8, "ipcache value ABI");

#endif
