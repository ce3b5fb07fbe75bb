// SPDX-License-Identifier: GPL-2.0
/* overlay: TC ingress on the node's VXLAN device (external mode), so every
 * packet another node tunnels here for one of this node's pods. The outer
 * source must be a node, the VNI is the sending pod's identity, and the
 * destination pod's ingress policy judges the packet by that identity
 * before it is delivered straight into the pod. */
#include <linux/if_packet.h>

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/identity.h"
#include "lib/verdict.h"
#include "lib/flow.h"
#include "lib/deliver.h"
#include "lib/encap.h"

SEC("tc")
int overlay(struct __sk_buff *skb)
{
	struct pkt p = { .skb = skb, .dir = BH_DIR_INGRESS };
	struct bh_endpoint *dst;
	struct bh_config *cfg;
	__be32 node;
	__u32 vni;
	__u8 r;

	cfg = config_get();
	if (!cfg)
		return DROP(&p, NULL, DROP_NO_CONFIG);
	if (!tunnel_sender(skb, &node, &vni))
		return DROP(&p, cfg, DROP_NO_TUNNEL);
	/* The inner packet first, so that a drop's event names what it
	 * carried; parsing believes nothing. */
	r = parse_packet(&p);
	if (r != PARSE_OK && r != PARSE_ARP)
		return drop_for(&p, cfg, r);
	/* A VNI is an identity only on a node's word: anyone else could
	 * claim any identity with one UDP packet. */
	if (!node_known(node))
		return DROP(&p, cfg, DROP_UNKNOWN_NODE);
	p.src_id = vni;
	if (!vni_valid(vni))
		return DROP(&p, cfg, DROP_BAD_VNI);
	/* Nodes tunnel IPv4 only; they resolve nothing through the tunnel. */
	if (r == PARSE_ARP)
		return DROP(&p, cfg, DROP_UNSUPPORTED_L3);
	dst = endpoint_lookup(p.flow.daddr);
	if (!dst)
		return DROP(&p, cfg, DROP_NO_ENDPOINT);
	p.dst_id = dst->identity;
	p.peer_id = vni;
	p.peer_known = 1;
	flow_decide(&p, cfg, NULL, dst);
	/* The device's receive path took the inner frame as for another
	 * host (its MAC is not the device's). Older kernels do not scrub a
	 * packet redirected to a peer, and the pod's stack, like the
	 * host's, would discard it as such. */
	bpf_skb_change_type(skb, PACKET_HOST);
	return deliver_decided(&p, cfg, dst);
}

char LICENSE[] SEC("license") = "GPL";
