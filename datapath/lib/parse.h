/* Packet parsing: Ethernet, ARP, IPv4 and the ports of TCP, UDP, SCTP and
 * ICMP echo, bounds-checked for the verifier. Returns a reason on failure
 * so the caller can drop through the one exit. */
#ifndef BH_DP_LIB_PARSE_H
#define BH_DP_LIB_PARSE_H

#include <linux/tcp.h>
#include <linux/udp.h>

#include "lib/common.h"

#define PARSE_OK	255	/* not a reason: an IPv4 packet, parsed */
#define PARSE_ARP	254	/* not a reason: an ARP packet */

/* linux/icmp.h drags in libc's socket headers, which a BPF build lacks. */
#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_ECHO		8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

struct icmp4 {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;		/* echo only */
	__be16 seq;
};
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

/* ARP for IPv4 over Ethernet, as the pod's kernel sends it (linux/if_arp.h
 * has the same problem as icmp.h). */
#define ARPHRD_ETHER	1

struct arp_eth4 {
	__be16 ar_hrd;
	__be16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__be16 ar_op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

static __always_inline struct ethhdr *parse_eth(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return NULL;
	return eth;
}

static __always_inline struct arp_eth4 *parse_arp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct arp_eth4 *arp = data + ETH_HLEN;

	if ((void *)(arp + 1) > end)
		return NULL;
	if (arp->ar_hrd != bpf_htons(ARPHRD_ETHER) ||
	    arp->ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->ar_hln != ETH_ALEN || arp->ar_pln != 4)
		return NULL;
	return arp;
}

/* Ports of a transport header at l4; TCP also gives its flags. */
static __always_inline __u8 parse_ports(void *l4, void *end, __u8 proto,
					struct flow *f)
{
	switch (proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end)
			return BH_REASON_DROP_MALFORMED;
		f->sport = th->source;
		f->dport = th->dest;
		f->tcp_flags = ((__u8 *)th)[13];
		return PARSE_OK;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* Both open with source and destination port. */
		__be16 *ports = l4;

		if ((void *)(ports + 2) > end)
			return BH_REASON_DROP_MALFORMED;
		f->sport = ports[0];
		f->dport = ports[1];
		return PARSE_OK;
	}
	}
	return PARSE_OK;
}

/* ICMP: the echo id is the request's source port and the reply's
 * destination port, so a reply meets its request in one conntrack entry
 * while a request from the other side with the same id is a connection of
 * its own. An error quoting a connection gets that connection's tuple in
 * p->related (path MTU discovery needs those errors to pass). */
static __always_inline __u8 parse_icmp(struct pkt *p, void *l4, void *end)
{
	struct icmp4 *ih = l4;
	struct iphdr *inner;
	__be16 *ports;

	if ((void *)(ih + 1) > end)
		return BH_REASON_DROP_MALFORMED;
	if (ih->type == ICMP_ECHO) {
		p->flow.sport = ih->id;
		return PARSE_OK;
	}
	if (ih->type == ICMP_ECHOREPLY) {
		p->flow.dport = ih->id;
		return PARSE_OK;
	}
	if (ih->type != ICMP_DEST_UNREACH && ih->type != ICMP_TIME_EXCEEDED &&
	    ih->type != ICMP_PARAMETERPROB)
		return PARSE_OK;
	inner = (void *)(ih + 1);
	ports = (void *)(inner + 1);
	if ((void *)(ports + 2) > end || inner->ihl != 5)
		return PARSE_OK;	/* nothing quoted we can match: a plain ICMP packet */
	/* Only the sender of the quoted packet may be told about it. */
	if (inner->saddr != p->flow.daddr)
		return PARSE_OK;
	p->flow.icmp_error = 1;
	p->related.proto = inner->protocol;
	/* The quoted packet went the other way; the canonical key does not
	 * care which way. */
	p->related.addr_a = inner->saddr;
	p->related.addr_b = inner->daddr;
	p->related.port_a = ports[0];
	p->related.port_b = ports[1];
	return PARSE_OK;
}

/* IPv4 header and ports into p->flow. Non-first fragments carry no ports
 * and are refused rather than guessed about. */
static __always_inline __u8 parse_ipv4(struct pkt *p)
{
	void *data = (void *)(long)p->skb->data;
	void *end = (void *)(long)p->skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__u32 hlen;
	void *l4;

	if ((void *)(ip + 1) > end)
		return BH_REASON_DROP_MALFORMED;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return BH_REASON_DROP_MALFORMED;
	p->flow.saddr = ip->saddr;
	p->flow.daddr = ip->daddr;
	p->flow.proto = ip->protocol;
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return BH_REASON_DROP_FRAGMENT;
	l4 = (void *)ip + hlen;
	if (l4 > end)
		return BH_REASON_DROP_MALFORMED;
	if (ip->protocol == IPPROTO_ICMP)
		return parse_icmp(p, l4, end);
	return parse_ports(l4, end, ip->protocol, &p->flow);
}

/* What every program does first: PARSE_ARP, PARSE_OK with p->flow
 * filled, or the reason to drop. */
static __always_inline __u8 parse_packet(struct pkt *p)
{
	struct ethhdr *eth = parse_eth(p->skb);

	if (!eth)
		return BH_REASON_DROP_MALFORMED;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return PARSE_ARP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return BH_REASON_DROP_UNSUPPORTED_L3;
	return parse_ipv4(p);
}

#endif
