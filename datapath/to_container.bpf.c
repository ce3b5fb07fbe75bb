// SPDX-License-Identifier: GPL-2.0
/* to-container: TC egress on a pod's host-side veth, so every packet the
 * host stack sends into the pod (from the node, from outside, later from
 * the tunnel). Pods on this node deliver to each other directly and never
 * pass here; what does pass gets the pod's ingress policy. */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/identity.h"
#include "lib/verdict.h"
#include "lib/flow.h"

SEC("tc")
int to_container(struct __sk_buff *skb)
{
	struct pkt p = { .skb = skb, .dir = BH_DIR_INGRESS };
	struct bh_endpoint *src, *dst;
	struct bh_config *cfg;
	__u8 r;

	cfg = config_get();
	if (!cfg)
		return DROP(&p, NULL, DROP_NO_CONFIG);
	r = parse_packet(&p);
	/* The node resolving the pod's MAC, or answering the pod's query. */
	if (r == PARSE_ARP)
		return PASS(&p, cfg, ALLOW_ARP, TC_ACT_OK);
	if (r != PARSE_OK)
		return drop_for(&p, cfg, r);
	dst = endpoint_lookup(p.flow.daddr);
	if (!dst || dst->ifindex != skb->ifindex)
		return DROP(&p, cfg, DROP_NO_ENDPOINT);
	p.dst_id = dst->identity;
	src = endpoint_lookup(p.flow.saddr);
	flow_decide(&p, cfg, src, dst);
	return verdict_exit(&p, cfg, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "GPL";
