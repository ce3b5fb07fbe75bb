/* Crafted frames for the datapath's packet tests: Ethernet with IPv4 and
 * TCP, UDP, SCTP or ICMP (echo and errors quoting a packet), ARP, and the
 * deliberately broken ones (truncated, fragments, IPv6 ethertype). Built
 * byte by byte, network order on the wire; the IPv4 header checksum is
 * right, L4 checksums are left 0 (the programs never check them). */
#ifndef BH_TESTS_PKT_UTIL_H
#define BH_TESTS_PKT_UTIL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX		256
#define PKT_ETH_LEN	14
#define PKT_ETH_P_IP	0x0800
#define PKT_ETH_P_ARP	0x0806
#define PKT_ETH_P_IPV6	0x86dd
#define PKT_TCP_FIN	0x01
#define PKT_TCP_SYN	0x02
#define PKT_TCP_RST	0x04
#define PKT_TCP_ACK	0x10
#define PKT_IP_MF	0x2000

/* What one IPv4 frame says; zero fields take the defaults noted. */
struct pkt_desc {
	const uint8_t *smac, *dmac;
	uint32_t saddr, daddr;		/* network order */
	uint8_t proto;			/* IPPROTO_* */
	uint16_t sport, dport;		/* host order; ICMP echo: dport unused */
	uint8_t tcp_flags;		/* 0: SYN */
	uint8_t ttl;			/* 0: 64 */
	uint16_t frag;			/* host order: flags | offset in 8-byte units */
	uint8_t ip_opt_words;		/* IPv4 options, in 4-byte words (NOPs) */
	uint8_t icmp_type, icmp_code;	/* ICMP: type ICMP_ECHO etc.; sport = echo id */
	const struct pkt_desc *quote;	/* ICMP error: the packet it quotes */
	size_t truncate;		/* nonzero: cut the frame to this length */
};

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum of len bytes (RFC 1071): over a header that
 * carries its checksum, 0 means it is right. */
static inline uint16_t pkt_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += pkt_get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline size_t pkt_eth(uint8_t *p, const uint8_t *dmac,
			     const uint8_t *smac, uint16_t ethertype)
{
	static const uint8_t zero[6];

	memcpy(p, dmac ? dmac : zero, 6);
	memcpy(p + 6, smac ? smac : zero, 6);
	pkt_put16(p + 12, ethertype);
	return PKT_ETH_LEN;
}

static inline size_t pkt_ipv4(uint8_t *p, const struct pkt_desc *d);

/* The transport header (and, for ICMP errors, the quoted packet) at p;
 * returns its length. */
static inline size_t pkt_l4(uint8_t *p, const struct pkt_desc *d)
{
	switch (d->proto) {
	case IPPROTO_TCP:
		memset(p, 0, 20);
		pkt_put16(p, d->sport);
		pkt_put16(p + 2, d->dport);
		p[4] = 0x10;			/* some sequence number */
		p[12] = 5 << 4;			/* data offset: 20 bytes */
		p[13] = d->tcp_flags ? d->tcp_flags : PKT_TCP_SYN;
		pkt_put16(p + 14, 64240);	/* window */
		return 20;
	case IPPROTO_UDP:
		pkt_put16(p, d->sport);
		pkt_put16(p + 2, d->dport);
		pkt_put16(p + 4, 8 + 4);	/* length: header and 4 bytes */
		pkt_put16(p + 6, 0);
		memcpy(p + 8, "ping", 4);
		return 12;
	case IPPROTO_SCTP:		/* common header only: ports, tag, crc */
		memset(p, 0, 12);
		pkt_put16(p, d->sport);
		pkt_put16(p + 2, d->dport);
		p[4] = 0xab;			/* verification tag */
		return 12;
	case IPPROTO_ICMP: {
		size_t n = 8;

		memset(p, 0, 8);
		p[0] = d->icmp_type;
		p[1] = d->icmp_code;
		if (d->quote) {
			/* Unreachable/time exceeded: 4 unused bytes (frag
			 * needed: the next-hop MTU in the last two), then the
			 * quoted header and its first 8 bytes. */
			if (d->icmp_code == 4)
				pkt_put16(p + 6, 1400);
			n += pkt_ipv4(p + 8, d->quote);
			if (n > 8 + 20 + 8)
				n = 8 + 20 + 8;
		} else {
			pkt_put16(p + 4, d->sport);	/* echo id */
			pkt_put16(p + 6, 1);		/* sequence */
			memcpy(p + 8, "abcdefgh", 8);
			n += 8;
		}
		pkt_put16(p + 2, pkt_csum(p, n));
		return n;
	}
	}
	return 0;
}

/* IPv4 header with its options and payload at p; returns the length. */
static inline size_t pkt_ipv4(uint8_t *p, const struct pkt_desc *d)
{
	size_t hlen = 20 + 4 * (size_t)d->ip_opt_words, l4;

	memset(p, 0, hlen);
	p[0] = (uint8_t)(4 << 4 | hlen / 4);
	pkt_put16(p + 4, 0x4242);		/* id */
	pkt_put16(p + 6, d->frag);
	p[8] = d->ttl ? d->ttl : 64;
	p[9] = d->proto;
	memcpy(p + 12, &d->saddr, 4);
	memcpy(p + 16, &d->daddr, 4);
	memset(p + 20, 1, hlen - 20);		/* options: NOPs */
	l4 = pkt_l4(p + hlen, d);
	pkt_put16(p + 2, (uint16_t)(hlen + l4));
	pkt_put16(p + 10, pkt_csum(p, hlen));
	return hlen + l4;
}

/* The whole frame into buf (PKT_MAX bytes); returns its length. */
static inline size_t pkt_build(uint8_t *buf, const struct pkt_desc *d)
{
	size_t n = pkt_eth(buf, d->dmac, d->smac, PKT_ETH_P_IP);

	n += pkt_ipv4(buf + n, d);
	return d->truncate && d->truncate < n ? d->truncate : n;
}

/* An ARP request (op 1) or reply (op 2) for IPv4 over Ethernet. */
static inline size_t pkt_arp(uint8_t *buf, const uint8_t *eth_src,
			     uint16_t op, const uint8_t *sha, uint32_t spa,
			     uint32_t tpa)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = buf + pkt_eth(buf, bcast, eth_src, PKT_ETH_P_ARP);

	pkt_put16(a, 1);			/* Ethernet */
	pkt_put16(a + 2, PKT_ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	pkt_put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &tpa, 4);
	return PKT_ETH_LEN + 28;
}

/* A minimal IPv6 frame (header only, no next header): the programs must
 * refuse the ethertype before looking further. */
static inline size_t pkt_ipv6(uint8_t *buf, const uint8_t *smac,
			      const uint8_t *dmac)
{
	uint8_t *ip = buf + pkt_eth(buf, dmac, smac, PKT_ETH_P_IPV6);

	memset(ip, 0, 40);
	ip[0] = 6 << 4;
	ip[6] = 59;				/* no next header */
	ip[7] = 64;
	ip[23] = 1;				/* ::1 → ::2 */
	ip[39] = 2;
	return PKT_ETH_LEN + 40;
}

/* Offsets into a built IPv4 frame without options. */
#define PKT_OFF_TTL	(PKT_ETH_LEN + 8)
#define PKT_IP_HLEN(buf) (((buf)[PKT_ETH_LEN] & 0x0f) * 4u)

#endif
