/* Connection tracking: the canonical key, the cached verdict and its
 * revision, per-state timeouts. An entry is only ever created for a
 * connection policy allowed (or audit mode passed). */
#ifndef BH_DP_LIB_CONNTRACK_H
#define BH_DP_LIB_CONNTRACK_H

#include "lib/common.h"
#include "lib/maps.h"

#define TCP_FIN	0x01
#define TCP_SYN	0x02
#define TCP_RST	0x04
#define TCP_ACK	0x10

/* The same rule as dp_ct_key() in userspace: the smaller (address, port)
 * end, as host-order numbers, is side a. Returns whether src is side a. */
static __always_inline bool ct_key_make(struct bh_ct_key *k, __be32 src,
					__be16 sport, __be32 dst, __be16 dport,
					__u8 proto)
{
	__u32 s = bpf_ntohl(src), d = bpf_ntohl(dst);
	bool src_a = s < d || (s == d && bpf_ntohs(sport) <= bpf_ntohs(dport));

	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->addr_a = src_a ? src : dst;
	k->addr_b = src_a ? dst : src;
	k->port_a = src_a ? sport : dport;
	k->port_b = src_a ? dport : sport;
	return src_a;
}

static __always_inline __u64 ct_timeout_ns(const struct bh_config *cfg,
					   __u8 proto, __u8 state)
{
	__u32 s;

	if (proto == IPPROTO_TCP)
		s = state == BH_CT_ESTABLISHED ? cfg->ct_tcp_est_s :
		    state == BH_CT_CLOSING ? cfg->ct_tcp_close_s :
		    cfg->ct_tcp_syn_s;
	else if (proto == IPPROTO_UDP || proto == IPPROTO_SCTP)
		s = cfg->ct_udp_s;
	else
		s = cfg->ct_other_s;
	return (__u64)s * NSEC_PER_SEC;
}

/* A packet of a known connection: counts it, moves the state on, and
 * pushes the expiry out (written at most once a second: the entry is
 * shared by every CPU the connection's packets land on). */
static __always_inline void ct_refresh(struct bh_ct_value *ct, bool reply,
				       const struct flow *f, __u32 len,
				       const struct bh_config *cfg, __u64 now)
{
	__u8 state = ct->state, idx = reply ? 1 : 0;
	__u64 exp;

	/* Plain adds: these are statistics, and a locked add on a line every
	 * CPU of the connection writes costs each packet more than a count
	 * lost now and then to a race is worth. */
	ct->packets[idx]++;
	ct->bytes[idx] += len;
	if (f->proto == IPPROTO_TCP) {
		ct->tcp_seen[idx] |= f->tcp_flags;
		if (f->tcp_flags & TCP_RST)
			state = BH_CT_CLOSING;
		else if ((ct->tcp_seen[0] & TCP_FIN) && (ct->tcp_seen[1] & TCP_FIN))
			state = BH_CT_CLOSING;
		else if (reply && state == BH_CT_NEW)
			state = BH_CT_ESTABLISHED;
	} else if (reply && state == BH_CT_NEW) {
		state = BH_CT_ESTABLISHED;
	}
	exp = now + ct_timeout_ns(cfg, f->proto, state);
	if (state != ct->state || exp > ct->expires_ns + NSEC_PER_SEC) {
		ct->state = state;
		ct->expires_ns = exp;
	}
}

/* A live entry: not expired, and not a closed TCP connection that a new
 * SYN is reopening on the same ports (that one is decided afresh). */
static __always_inline bool ct_live(const struct bh_ct_value *ct,
				    const struct flow *f, __u64 now)
{
	if (ct->expires_ns <= now)
		return false;
	if (ct->state == BH_CT_CLOSING && f->proto == IPPROTO_TCP &&
	    (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return false;
	return true;
}

/* Records an allowed new connection; false when the table cannot take it
 * (the caller drops: a connection we cannot track we cannot let back in). */
static __always_inline bool ct_create(const struct bh_ct_key *k, bool src_a,
				      const struct pkt *p,
				      const struct bh_config *cfg, __u64 now)
{
	struct bh_ct_value v = {
		.policy_rev = cfg->policy_rev,
		.src_id = p->src_id,
		.dst_id = p->dst_id,
		.rule_id = p->rule_id,
		.flags = (src_a ? BH_CT_F_ORIG_A : 0) |
			 (p->verdict == BH_VERDICT_AUDIT ? BH_CT_F_AUDIT : 0),
		.state = BH_CT_NEW,
	};

	v.packets[0] = 1;
	v.bytes[0] = p->skb->len;
	v.tcp_seen[0] = p->flow.tcp_flags;
	v.expires_ns = now + ct_timeout_ns(cfg, p->flow.proto, BH_CT_NEW);
	return bpf_map_update_elem(&conntrack, k, &v, BPF_ANY) == 0;
}

#endif
