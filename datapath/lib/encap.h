/* Encapsulation: from-container hands a packet for a pod on another node
 * to the node's VXLAN device, and the overlay program reads back who sent
 * what arrives there. The device is in external (collect-metadata) mode:
 * it takes the outer destination and the VNI from the tunnel key set on
 * each packet, and sets one on each packet it receives. The VNI carries
 * the sender's identity, so it must be a cluster identity: 24 bits, and
 * not a reserved one a node could claim for its pods. */
#ifndef BH_DP_LIB_ENCAP_H
#define BH_DP_LIB_ENCAP_H

#include <stddef.h>

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/verdict.h"

/* The key up to the flow label, which VXLAN does not use: a size every
 * kernel takes. The struct grew since (local addresses, 6.0), and an
 * older kernel refuses any size it does not know. */
#define TUNNEL_KEY_SIZE	offsetof(struct bpf_tunnel_key, tunnel_label)
#define TUNNEL_TTL	64

static __always_inline bool vni_valid(__u32 id)
{
	return id >= BH_ID_CLUSTER_MIN && id <= BH_ID_CLUSTER_MAX;
}

/* Sends p, allowed, to the node at underlay address node with vni (the
 * sending endpoint's identity), through the one exit. An identity that
 * does not fit the VNI is refused here: the device would cut it to 24
 * bits, and the receiver would judge the packet as somebody else's. */
static __always_inline int encap_exit(struct pkt *p, const struct bh_config *cfg,
				      __u32 vni, __be32 node)
{
	struct bpf_tunnel_key key = {
		.tunnel_id = vni,
		.remote_ipv4 = bpf_ntohl(node),	/* the helper wants host order */
		.tunnel_ttl = TUNNEL_TTL,
	};

	if (!vni_valid(vni))
		return DROP(p, cfg, DROP_BAD_VNI);
	/* No outer UDP checksum: the inner packet carries its own. */
	if (bpf_skb_set_tunnel_key(p->skb, &key, TUNNEL_KEY_SIZE,
				   BPF_F_ZERO_CSUM_TX) < 0)
		return DROP(p, cfg, DROP_NO_TUNNEL);
	return verdict_exit(p, cfg, bpf_redirect(cfg->tunnel_ifindex, 0));
}

/* The sender of a packet the VXLAN device received: its outer source
 * (network order) and VNI. False when the packet carries no tunnel key,
 * which only a packet that did not come through the device's receive path
 * lacks. */
static __always_inline bool tunnel_sender(struct __sk_buff *skb, __be32 *node,
					  __u32 *vni)
{
	struct bpf_tunnel_key key;

	if (bpf_skb_get_tunnel_key(skb, &key, TUNNEL_KEY_SIZE, 0) < 0)
		return false;
	*node = bpf_htonl(key.remote_ipv4);
	*vni = key.tunnel_id;
	return true;
}

/* Whether ip is a node of the cluster (the tunnel map). */
static __always_inline bool node_known(__be32 ip)
{
	struct bh_tunnel_key key = { .node_ip = ip };

	return bpf_map_lookup_elem(&tunnel, &key) != NULL;
}

#endif
