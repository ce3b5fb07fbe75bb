/* Who is at an address: a local endpoint (endpoints map) or, for anything
 * else, the ipcache's longest prefix; what neither knows is the world. */
#ifndef BH_DP_LIB_IDENTITY_H
#define BH_DP_LIB_IDENTITY_H

#include "lib/common.h"
#include "lib/maps.h"

static __always_inline struct bh_endpoint *endpoint_lookup(__be32 ip)
{
	struct bh_endpoint_key key = { .ip4 = ip };

	return bpf_map_lookup_elem(&endpoints, &key);
}

/* The longest prefix holding ip; NULL: the world. */
static __always_inline struct bh_ipcache_value *ipcache_lookup(__be32 ip)
{
	struct bh_ipcache_key key = { .prefixlen = 32, .ip4 = ip };

	return bpf_map_lookup_elem(&ipcache, &key);
}

static __always_inline __u32 ipcache_identity(__be32 ip)
{
	struct bh_ipcache_value *v = ipcache_lookup(ip);

	return v ? v->identity : BH_ID_WORLD;
}

/* One end of p's flow: the local endpoint's identity, else what the
 * program already knows of the peer (see struct pkt), else the ipcache's. */
static __always_inline __u32 identity_of(const struct pkt *p,
					 const struct bh_endpoint *ep, __be32 ip)
{
	if (ep)
		return ep->identity;
	return p->peer_known ? p->peer_id : ipcache_identity(ip);
}

static __always_inline bool mac_equal(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

#endif
