// SPDX-License-Identifier: GPL-2.0
/* from-container: TC ingress on a pod's host-side veth, so every packet the
 * pod sends. Anti-spoofing, conntrack, the pod's egress policy and, for a
 * pod on this node, its ingress policy and direct delivery. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/identity.h"
#include "lib/verdict.h"
#include "lib/flow.h"
#include "lib/deliver.h"

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

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	struct pkt p = { .skb = skb, .dir = BH_DIR_EGRESS };
	struct bh_endpoint *src, *dst;
	struct bh_config *cfg;
	struct ethhdr *eth;
	int action;
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
	flow_decide(&p, cfg, src, dst);
	if (p.verdict == BH_VERDICT_DROP)
		return verdict_exit(&p, cfg, TC_ACT_SHOT);
	if (!dst)
		return verdict_exit(&p, cfg, TC_ACT_OK);
	action = deliver_local(skb, dst);
	if (action < 0)
		return DROP(&p, cfg, DROP_MALFORMED);
	return verdict_exit(&p, cfg, action);
}

char LICENSE[] SEC("license") = "GPL";
