/* The endpoints map: one entry per local pod address, written by the CNI
 * plugin on ADD (identity BH_ID_INIT until the daemon knows the labels),
 * updated by the daemon, removed on DEL. */
#ifndef BH_INCLUDE_ENDPOINT_H
#define BH_INCLUDE_ENDPOINT_H

#include <linux/types.h>

#define BH_MAX_ENDPOINTS	65536

/* Which directions a policy selects the endpoint for; unselected directions
 * allow everything (Kubernetes semantics). */
#define BH_EP_F_ENFORCE_EGRESS	(1u << 0)
#define BH_EP_F_ENFORCE_INGRESS	(1u << 1)
#define BH_EP_F_AUDIT		(1u << 2)	/* report would-be drops, pass */

struct bh_endpoint_key {
	__be32 ip4;
};

/* Everything the programs need to verify a pod's packets and deliver to it
 * without the host stack: the host veth it hangs off (anti-spoofing and
 * bpf_redirect_peer), the pod's MAC (anti-spoofing, rewrite on delivery)
 * and the host veth's MAC (source of delivered frames). */
struct bh_endpoint {
	__u32 ifindex;		/* host-side veth, in the node's namespace */
	__u32 identity;
	__u32 flags;		/* BH_EP_F_* */
	__u8 mac[6];		/* pod side */
	__u8 host_mac[6];	/* host side */
};

_Static_assert(sizeof(struct bh_endpoint_key) == 4, "endpoint key ABI");
_Static_assert(sizeof(struct bh_endpoint) == 24, "endpoint value ABI");

#endif
