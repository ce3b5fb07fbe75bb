/* Node-wide datapath configuration: one entry of an array map, read by
 * every packet, written by the daemon (and the test tools). */
#ifndef BH_INCLUDE_CONFIG_H
#define BH_INCLUDE_CONFIG_H

#include <linux/types.h>

#define BH_CFG_F_AUDIT		(1u << 0)	/* audit mode for every endpoint */
#define BH_CFG_F_TRACE		(1u << 1)	/* an event for every packet (on demand) */
#define BH_CFG_F_LOADED		(1u << 31)	/* set by the loader once valid */

struct bh_config {
	__u32 flags;			/* BH_CFG_F_* */
	__u32 policy_rev;		/* bumped after every policy or identity change */
	__u32 allow_sample;		/* an event for 1 new flow in N; 0: none */
	__u32 events_per_sec;		/* per CPU, token bucket rate ... */
	__u32 events_burst;		/* ... and depth */
	__u32 ct_tcp_syn_s;		/* conntrack timeouts, seconds */
	__u32 ct_tcp_est_s;
	__u32 ct_tcp_close_s;
	__u32 ct_udp_s;
	__u32 ct_other_s;
	__u32 datapath_version;		/* loader's fingerprint of the programs */
	/* Encapsulation: the node's VXLAN device (external mode) and its own
	 * underlay address, the tunnel's source. tunnel_ifindex 0: this node
	 * has no overlay, and traffic for other nodes goes to the host stack. */
	__u32 tunnel_ifindex;
	__be32 node_ip;
	__u32 pad;
};

#define BH_CFG_DEFAULT_ALLOW_SAMPLE	1
#define BH_CFG_DEFAULT_EVENTS_PER_SEC	1000
#define BH_CFG_DEFAULT_EVENTS_BURST	2000
#define BH_CFG_DEFAULT_CT_TCP_SYN	60
#define BH_CFG_DEFAULT_CT_TCP_EST	21600
#define BH_CFG_DEFAULT_CT_TCP_CLOSE	10
#define BH_CFG_DEFAULT_CT_UDP		60
#define BH_CFG_DEFAULT_CT_OTHER		30

_Static_assert(sizeof(struct bh_config) == 56, "config ABI");

#endif
