/* The verdict for one packet of a connection: conntrack first (one lookup,
 * either direction), policy only for a new connection or one whose cached
 * verdict predates the current policy revision. */
#ifndef BH_DP_LIB_FLOW_H
#define BH_DP_LIB_FLOW_H

#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/identity.h"
#include "lib/maps.h"
#include "lib/policy.h"

/* Identities matter only when policy is consulted or a packet is
 * reported; an established packet takes them from its conntrack entry. */
static __always_inline void flow_resolve_ids(struct pkt *p,
					     const struct bh_endpoint *src,
					     const struct bh_endpoint *dst)
{
	p->src_id = identity_of(p, src, p->flow.saddr);
	p->dst_id = identity_of(p, dst, p->flow.daddr);
}

/* An ICMP error about a connection we let through is part of it, when it
 * comes from the connection's other end or from a router on the way (not
 * a pod: a pod cannot forge another's address, so a third pod cannot
 * inject errors into a connection it is not part of). A connection whose
 * verdict is stale still counts: it is decided again on its own next
 * packet, and dropping its errors meanwhile would break path MTU
 * discovery after every policy change. */
static __always_inline bool flow_related(struct pkt *p, __u64 now)
{
	struct bh_ct_key k;
	struct bh_ct_value *ct;

	if (p->related.addr_b != p->flow.saddr &&
	    p->src_id >= BH_ID_CLUSTER_MIN && p->src_id < BH_ID_LOCAL_MIN)
		return false;
	ct_key_make(&k, p->related.addr_a, p->related.port_a,
		    p->related.addr_b, p->related.port_b, p->related.proto);
	ct = bpf_map_lookup_elem(&conntrack, &k);
	if (!ct || ct->expires_ns <= now)
		return false;
	p->rule_id = ct->rule_id;
	p->verdict = ct->flags & BH_CT_F_AUDIT ? BH_VERDICT_AUDIT : BH_VERDICT_ALLOW;
	p->reason = BH_REASON_ALLOW_ESTABLISHED;
	return true;
}

/* Decides again a connection whose cached verdict predates the policy
 * revision, the way it was opened; false when it is now denied (the entry
 * is then gone, so no later packet of it passes either). */
static __always_inline bool flow_redecide(struct pkt *p,
					  const struct bh_config *cfg,
					  const struct bh_endpoint *src,
					  const struct bh_endpoint *dst,
					  struct bh_ct_value *ct, bool reply)
{
	const struct flow *f = &p->flow;

	if (reply) {
		struct flow orig = {
			.saddr = f->daddr, .daddr = f->saddr,
			.sport = f->dport, .dport = f->sport,
			.proto = f->proto,
		};

		policy_decide(p, cfg, dst, src, p->dst_id, p->src_id, &orig);
	} else {
		policy_decide(p, cfg, src, dst, p->src_id, p->dst_id, f);
	}
	if (p->verdict == BH_VERDICT_DROP)
		return false;
	ct->policy_rev = cfg->policy_rev;
	ct->rule_id = p->rule_id;
	ct->flags = (ct->flags & ~BH_CT_F_AUDIT) |
		    (p->verdict == BH_VERDICT_AUDIT ? BH_CT_F_AUDIT : 0);
	return true;
}

/* Fills p->verdict, reason, rule_id and both identities (and dir when a
 * policy decided). src and dst are the local endpoints at the packet's two
 * ends (NULL when not local). */
static __always_inline void flow_decide(struct pkt *p,
					const struct bh_config *cfg,
					const struct bh_endpoint *src,
					const struct bh_endpoint *dst)
{
	struct flow *f = &p->flow;
	struct bh_ct_value *ct;
	struct bh_ct_key k;
	__u64 now = clock_coarse_ns();
	bool src_a, reply;

	if (f->icmp_error) {
		flow_resolve_ids(p, src, dst);
		if (flow_related(p, now))
			return;
	}
	src_a = ct_key_make(&k, f->saddr, f->sport, f->daddr, f->dport, f->proto);
	ct = bpf_map_lookup_elem(&conntrack, &k);
	if (ct && ct_live(ct, f, now)) {
		reply = src_a != !!(ct->flags & BH_CT_F_ORIG_A);
		if (ct->policy_rev == cfg->policy_rev) {
			p->src_id = reply ? ct->dst_id : ct->src_id;
			p->dst_id = reply ? ct->src_id : ct->dst_id;
			p->verdict = ct->flags & BH_CT_F_AUDIT ? BH_VERDICT_AUDIT
							      : BH_VERDICT_ALLOW;
			p->reason = BH_REASON_ALLOW_ESTABLISHED;
			p->rule_id = ct->rule_id;
			ct_refresh(ct, reply, f, p->skb->len, cfg, now);
			return;
		}
		p->decided = 1;
		flow_resolve_ids(p, src, dst);
		if (!flow_redecide(p, cfg, src, dst, ct, reply)) {
			bpf_map_delete_elem(&conntrack, &k);
			return;
		}
		ct->src_id = reply ? p->dst_id : p->src_id;
		ct->dst_id = reply ? p->src_id : p->dst_id;
		ct_refresh(ct, reply, f, p->skb->len, cfg, now);
		return;
	}
	p->decided = 1;
	flow_resolve_ids(p, src, dst);
	policy_decide(p, cfg, src, dst, p->src_id, p->dst_id, f);
	if (p->verdict == BH_VERDICT_DROP)
		return;
	if (!ct_create(&k, src_a, p, cfg, now)) {
		p->verdict = BH_VERDICT_DROP;
		p->reason = BH_REASON_DROP_CT_FULL;
	}
}

#endif
