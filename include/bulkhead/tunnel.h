/* The tunnel map: the cluster's nodes by underlay address, written by the
 * daemon from Node objects. The overlay program believes a VXLAN packet's
 * VNI (the sender's identity) only when its outer source is in here: a
 * forged VNI from anywhere else must not buy an identity. */
#ifndef BH_INCLUDE_TUNNEL_H
#define BH_INCLUDE_TUNNEL_H

#include <linux/types.h>

#define BH_MAX_NODES		4096
#define BH_VXLAN_PORT		4789	/* IANA; the device's dstport */
#define BH_VXLAN_DEV		"bh_vxlan"	/* one per node, external mode */

struct bh_tunnel_key {
	__be32 node_ip;		/* the node's underlay (InternalIP) address */
};

struct bh_tunnel_value {
	__u32 flags;		/* none yet */
	__u32 pad;
};

_Static_assert(sizeof(struct bh_tunnel_key) == 4, "tunnel key ABI");
_Static_assert(sizeof(struct bh_tunnel_value) == 8, "tunnel value ABI");

#endif
