/* Local delivery: a packet for a pod on this node goes straight into the
 * pod's namespace with bpf_redirect_peer, skipping the host stack, as the
 * router it replaces would have sent it (MACs rewritten, TTL spent). */
#ifndef BH_DP_LIB_DELIVER_H
#define BH_DP_LIB_DELIVER_H

#include <stddef.h>

#include "lib/common.h"
#include "lib/verdict.h"

/* TC_ACT_REDIRECT on success; TC_ACT_OK hands the packet to the host stack
 * instead (TTL running out: let the kernel send time-exceeded); -1 when the
 * packet could not be rewritten, for the caller to drop. */
static __always_inline int deliver_local(struct __sk_buff *skb,
					 const struct bh_endpoint *dst)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__be16 old, new;

	if ((void *)(ip + 1) > end || ip->ttl <= 1)
		return TC_ACT_OK;
	/* TTL shares a 16-bit word with the protocol: the checksum update is
	 * over that word. */
	old = *(__be16 *)&ip->ttl;
	ip->ttl--;
	new = *(__be16 *)&ip->ttl;
	if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check),
				old, new, sizeof(new)) < 0 ||
	    bpf_skb_store_bytes(skb, 0, dst->mac, ETH_ALEN, 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, dst->host_mac, ETH_ALEN, 0) < 0)
		return -1;
	return bpf_redirect_peer(dst->ifindex, 0);
}

/* The end of a decided packet for the local endpoint dst, from a pod of
 * this node or from the tunnel: dropped, or delivered, through the one
 * exit. */
static __always_inline int deliver_decided(struct pkt *p,
					   const struct bh_config *cfg,
					   const struct bh_endpoint *dst)
{
	int action;

	if (p->verdict == BH_VERDICT_DROP)
		return verdict_exit(p, cfg, TC_ACT_SHOT);
	action = deliver_local(p->skb, dst);
	if (action < 0)
		return DROP(p, cfg, DROP_MALFORMED);
	return verdict_exit(p, cfg, action);
}

#endif
