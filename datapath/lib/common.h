/* What every program includes: kernel headers, the shared contracts, and
 * the per-packet context the lib/ headers pass around. */
#ifndef BH_DP_LIB_COMMON_H
#define BH_DP_LIB_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bulkhead/config.h"
#include "bulkhead/conntrack.h"
#include "bulkhead/counters.h"
#include "bulkhead/endpoint.h"
#include "bulkhead/event.h"
#include "bulkhead/identity.h"
#include "bulkhead/ipcache.h"
#include "bulkhead/policy.h"
#include "bulkhead/reason.h"
#include "bulkhead/tunnel.h"

#define NSEC_PER_SEC	1000000000ull

/* Set by the loader before loading: whether the kernel has
 * bpf_ktime_get_coarse_ns (5.11). Conntrack expiry needs seconds, not
 * nanoseconds, and on a VM reading the precise clock costs more than a map
 * lookup. A constant to the verifier, so the branch not taken is never
 * checked (and a 5.10 kernel never sees the helper it lacks). */
const volatile bool have_coarse_clock = false;

/* CLOCK_MONOTONIC, to within a tick: for expiry, not for event times. */
static __always_inline __u64 clock_coarse_ns(void)
{
	return have_coarse_clock ? bpf_ktime_get_coarse_ns() : bpf_ktime_get_ns();
}

/* The five-tuple and what else the verdict needs from one packet. ICMP
 * echo carries its id in both ports; other ICMP carries none. */
struct flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_error;	/* ICMP error: the quoted packet's key is in ct_related */
	__u8 pad;
};

/* One packet's way through a program: filled as it goes, read by the one
 * exit path (verdict.h) that counts it and reports it. */
struct pkt {
	struct __sk_buff *skb;
	struct flow flow;
	struct bh_ct_key related;	/* ICMP errors: the connection quoted */
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
	/* The identity of the end that is not a local endpoint, when the
	 * program already has it: the VNI a tunnel packet came with (the
	 * sender's word, which the receiving node's ipcache may not know
	 * yet), or the ipcache entry it looked up to find the tunnel. */
	__u32 peer_id;
	__u8 peer_known;
	__u8 dir;		/* of the deciding endpoint */
	__u8 verdict;
	__u8 reason;
	__u8 decided;		/* policy was consulted for this packet */
};

#endif
