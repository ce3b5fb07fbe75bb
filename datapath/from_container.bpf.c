// SPDX-License-Identifier: GPL-2.0
/* from-container: TC ingress on a pod's host-side veth, so every packet the
 * pod sends. Anti-spoofing, conntrack, the pod's egress policy and, for a
 * pod on this node, its ingress policy and direct delivery; for a pod on
 * another node, the tunnel to that node. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/identity.h"
#include "lib/verdict.h"
#include "lib/flow.h"
#include "lib/deliver.h"
#include "lib/encap.h"

/* ARP is let through only when it speaks for this pod's own address. */
static __always_inline int handle_arp(struct pkt *p, const struct bh_config *cfg)
{
	struct arp_eth4 *arp = parse_arp(p->skb);
	struct ethhdr *eth = parse_eth(p->skb);
	struct bh_endpoint *ep;

	if (!arp || !eth)
		return DROP(p, cfg, DROP_MALFORMED);
	ep = endpoint_lookup(arp->spa);
	if (!ep || ep->ifindex != p->skb->ifindex || !mac_equal(arp->sha, ep->mac) ||
	    !mac_equal(eth->h_source, ep->mac))
		return DROP(p, cfg, DROP_SPOOFED_ARP);
	p->src_id = ep->identity;
	return PASS(p, cfg, ALLOW_ARP, TC_ACT_OK);
}

/* The peer of a destination that is not a local endpoint: its identity
 * for the verdict and the node that carries it (0: none, the host stack
 * routes the packet), in one ipcache lookup. */
static __always_inline __be32 peer_resolve(struct pkt *p)
{
	struct bh_ipcache_value *v = ipcache_lookup(p->flow.daddr);

	p->peer_known = 1;
	p->peer_id = v ? v->identity : BH_ID_WORLD;
	return v ? v->tunnel_ip : 0;
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	struct pkt p = { .skb = skb, .dir = BH_DIR_EGRESS };
	struct bh_endpoint *src, *dst;
	struct bh_config *cfg;
	struct ethhdr *eth;
	__be32 node = 0;
	__u8 r;

	cfg = config_get();
	if (!cfg)
		return DROP(&p, NULL, DROP_NO_CONFIG);
	r = parse_packet(&p);
	if (r == PARSE_ARP)
		return handle_arp(&p, cfg);
	if (r != PARSE_OK)
		return drop_for(&p, cfg, r);
	src = endpoint_lookup(p.flow.saddr);
	if (!src || src->ifindex != skb->ifindex)
		return DROP(&p, cfg, DROP_SPOOFED_IP);
	p.src_id = src->identity;
	eth = parse_eth(skb);
	if (!eth || !mac_equal(eth->h_source, src->mac))
		return DROP(&p, cfg, DROP_SPOOFED_MAC);
	dst = endpoint_lookup(p.flow.daddr);
	if (!dst)
		node = peer_resolve(&p);
	flow_decide(&p, cfg, src, dst);
	if (dst)
		return deliver_decided(&p, cfg, dst);
	if (p.verdict == BH_VERDICT_DROP)
		return verdict_exit(&p, cfg, TC_ACT_SHOT);
	/* A pod of another node, when this node has an overlay. A carrier
	 * that is this very node (an ipcache written alike for every node's
	 * pod CIDR) would loop through the tunnel: the host stack has it. */
	if (node && cfg->tunnel_ifindex && node != cfg->node_ip)
		return encap_exit(&p, cfg, src->identity, node);
	return verdict_exit(&p, cfg, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";
