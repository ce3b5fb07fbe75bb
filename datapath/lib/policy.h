/* Policy verdicts for one connection: egress of the local source, ingress
 * of the local destination, each two LPM lookups whatever the number of
 * rules, a deny from either lookup winning, audit mode turning would-be
 * drops into reports. */
#ifndef BH_DP_LIB_POLICY_H
#define BH_DP_LIB_POLICY_H

#include "lib/common.h"
#include "lib/maps.h"

/* Plain adds, not atomic ones: an LPM trie value sits right after a
 * 12-byte key, so these counters are not 8-byte aligned and can straddle a
 * cache line, where a locked add becomes a bus lock that stalls every CPU.
 * A hit lost to a race between CPUs is an acceptable price for a
 * statistic. */
static __always_inline void policy_hit(struct bh_policy_value *v, __u32 len)
{
	v->packets++;
	v->bytes += len;
}

/* One direction of one endpoint: the reason, and the deciding rule in
 * *rule. */
static __always_inline __u8 policy_check_dir(const struct bh_endpoint *ep,
					     __u8 dir, __u32 remote_id,
					     const struct flow *f, __u32 len,
					     __u32 *rule)
{
	__u32 enforce = dir == BH_DIR_EGRESS ? BH_EP_F_ENFORCE_EGRESS
					     : BH_EP_F_ENFORCE_INGRESS;
	struct bh_policy_key key = {
		.prefixlen = BH_POLICY_PLEN_PORT,
		.local_id = ep->identity,
		.remote_id = remote_id,
		.dir = dir,
		.proto = f->proto,
		/* ICMP has no port to match; its echo id is not one. */
		.dport = f->proto == IPPROTO_ICMP ? 0 : f->dport,
	};
	struct bh_policy_value *exact, *any;

	*rule = 0;
	if (ep->identity == BH_ID_INIT)
		return BH_REASON_DROP_ENDPOINT_INIT;
	if (!(ep->flags & enforce))
		return BH_REASON_ALLOW_NO_POLICY;
	exact = bpf_map_lookup_elem(&policy, &key);
	if (exact && exact->action == BH_POLICY_DENY)
		goto deny_exact;
	key.remote_id = BH_POLICY_ANY_ID;
	any = bpf_map_lookup_elem(&policy, &key);
	if (any && any->action == BH_POLICY_DENY) {
		exact = any;
		goto deny_exact;
	}
	if (!exact)
		exact = any;
	if (exact && exact->action == BH_POLICY_ALLOW) {
		*rule = exact->rule_id;
		policy_hit(exact, len);
		return BH_REASON_ALLOW_POLICY;
	}
	return remote_id == BH_ID_UNKNOWN ? BH_REASON_DROP_UNKNOWN_IDENTITY
					  : BH_REASON_DROP_POLICY_DEFAULT;
deny_exact:
	*rule = exact->rule_id;
	policy_hit(exact, len);
	return BH_REASON_DROP_POLICY_DENY;
}

static __always_inline bool audited(const struct bh_endpoint *ep,
				    const struct bh_config *cfg)
{
	return (cfg->flags & BH_CFG_F_AUDIT) || (ep->flags & BH_EP_F_AUDIT);
}

/* Decides a connection opened from src to dst (either may be a local
 * endpoint or NULL) into p->verdict, reason, dir and rule_id; ids are the
 * identities of the opening and the answering side. p->dir is only moved
 * to the direction whose policy said something, so an egress rule is not
 * reported as ingress because the destination happens to be local. */
static __always_inline void policy_decide(struct pkt *p,
					  const struct bh_config *cfg,
					  const struct bh_endpoint *src,
					  const struct bh_endpoint *dst,
					  __u32 src_id, __u32 dst_id,
					  const struct flow *f)
{
	__u32 len = p->skb->len, rule = 0;
	__u32 audit_rule = 0;
	__u8 r, audit_reason = 0, audit_dir = 0;

	p->verdict = BH_VERDICT_ALLOW;
	p->reason = BH_REASON_ALLOW_NO_POLICY;
	p->rule_id = 0;
	if (src) {
		r = policy_check_dir(src, BH_DIR_EGRESS, dst_id, f, len, &rule);
		if (BH_REASON_IS_DROP(r)) {
			p->dir = BH_DIR_EGRESS;
			p->rule_id = rule;
			p->reason = r;
			if (!audited(src, cfg)) {
				p->verdict = BH_VERDICT_DROP;
				return;
			}
			audit_reason = r;
			audit_dir = BH_DIR_EGRESS;
			audit_rule = rule;
		} else if (r == BH_REASON_ALLOW_POLICY) {
			p->dir = BH_DIR_EGRESS;
			p->reason = r;
			p->rule_id = rule;
		}
	}
	if (dst) {
		r = policy_check_dir(dst, BH_DIR_INGRESS, src_id, f, len, &rule);
		if (BH_REASON_IS_DROP(r)) {
			p->dir = BH_DIR_INGRESS;
			p->rule_id = rule;
			p->reason = r;
			if (!audited(dst, cfg)) {
				p->verdict = BH_VERDICT_DROP;
				return;
			}
			audit_reason = r;
			audit_dir = BH_DIR_INGRESS;
			audit_rule = rule;
		} else if (r == BH_REASON_ALLOW_POLICY) {
			p->dir = BH_DIR_INGRESS;
			p->reason = r;
			p->rule_id = rule;
		}
	}
	if (audit_reason) {
		p->verdict = BH_VERDICT_AUDIT;
		p->reason = audit_reason;
		p->dir = audit_dir;
		p->rule_id = audit_rule;
	}
}

#endif
