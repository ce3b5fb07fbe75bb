/* The one way out of a program: every verdict is counted by reason and
 * direction, drops and new flows are reported through a rate-limited
 * event, and only then does the packet pass or die. */
#ifndef BH_DP_LIB_VERDICT_H
#define BH_DP_LIB_VERDICT_H

#include "lib/common.h"
#include "lib/maps.h"

static __always_inline void count_verdict(const struct pkt *p)
{
	__u32 idx = BH_COUNTER_INDEX(p->verdict, p->reason, p->dir);
	struct bh_counter *c;

	if (idx >= BH_MAX_COUNTERS)
		return;
	c = bpf_map_lookup_elem(&counters, &idx);
	if (!c)
		return;
	/* Per-CPU: no other writer, no atomics needed. */
	c->packets++;
	c->bytes += p->skb->len;
}

/* Token bucket per CPU: a flood of drops costs a bounded share of the ring
 * buffer, so the events of everything else still get through. */
static __always_inline bool event_budget_take(const struct bh_config *cfg)
{
	__u32 zero = 0, rate = cfg->events_per_sec ? cfg->events_per_sec : 1;
	__u64 now = bpf_ktime_get_ns(), interval = NSEC_PER_SEC / rate, add;
	struct bh_event_budget *b = bpf_map_lookup_elem(&event_budget, &zero);

	if (!b)
		return false;
	add = (now - b->last_ns) / interval;
	if (add) {
		b->tokens += add;
		b->last_ns = now;
	}
	/* Always, so a burst lowered at run time applies at once. */
	if (b->tokens > cfg->events_burst)
		b->tokens = cfg->events_burst;
	if (!b->tokens) {
		b->suppressed++;
		return false;
	}
	b->tokens--;
	return true;
}

static __always_inline void event_emit(const struct pkt *p,
				       const struct bh_config *cfg)
{
	__u32 zero = 0;
	struct bh_event_budget *b;
	struct bh_event ev = {
		.ts_ns = bpf_ktime_get_ns(),
		.src_id = p->src_id,
		.dst_id = p->dst_id,
		.saddr = p->flow.saddr,
		.daddr = p->flow.daddr,
		.sport = p->flow.sport,
		.dport = p->flow.dport,
		.proto = p->flow.proto,
		.dir = p->dir,
		.verdict = p->verdict,
		.reason = p->reason,
		.rule_id = p->rule_id,
		.ifindex = p->skb->ifindex,
		.len = p->skb->len,
	};

	if (!event_budget_take(cfg))
		return;
	b = bpf_map_lookup_elem(&event_budget, &zero);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0) < 0) {
		if (b)
			b->lost++;
		return;
	}
	if (b)
		b->emitted++;
}

/* Which verdicts are worth an event: every drop, every policy decision
 * that audit mode passed, allowed decisions as sampled, and everything
 * while tracing. Packets of known connections are only counted. */
static __always_inline bool event_wanted(const struct pkt *p,
					 const struct bh_config *cfg)
{
	if (!cfg)
		return false;
	if (p->verdict == BH_VERDICT_DROP || (cfg->flags & BH_CFG_F_TRACE))
		return true;
	if (!p->decided)
		return false;
	if (p->verdict == BH_VERDICT_AUDIT)
		return true;
	if (!cfg->allow_sample)
		return false;
	return cfg->allow_sample == 1 ||
	       bpf_get_prandom_u32() % cfg->allow_sample == 0;
}

/* The exit: pass returns `pass` (TC_ACT_OK or a redirect) for allowed and
 * audited packets, TC_ACT_SHOT for drops. */
static __always_inline int verdict_exit(struct pkt *p,
					const struct bh_config *cfg, int pass)
{
	count_verdict(p);
	if (event_wanted(p, cfg))
		event_emit(p, cfg);
	return p->verdict == BH_VERDICT_DROP ? TC_ACT_SHOT : pass;
}

/* The only way to drop: `return DROP(p, cfg, REASON);`, or with a reason
 * computed at run time, `return drop_for(p, cfg, reason);`. */
static __always_inline int drop_for(struct pkt *p, const struct bh_config *cfg,
				    __u8 reason)
{
	p->verdict = BH_VERDICT_DROP;
	p->reason = reason;
	return verdict_exit(p, cfg, TC_ACT_SHOT);
}

#define DROP(p, cfg, why)	drop_for((p), (cfg), BH_REASON_##why)

#define PASS(p, cfg, why, action)					\
	({								\
		(p)->verdict = BH_VERDICT_ALLOW;			\
		(p)->reason = BH_REASON_##why;				\
		verdict_exit((p), (cfg), (action));			\
	})

#endif
