// SPDX-License-Identifier: GPL-2.0
/* tunnel_shim: what the VXLAN device's receive path does before the
 * overlay program runs, for BPF_PROG_TEST_RUN, which cannot give a packet
 * tunnel metadata: sets the tunnel key the test asks for (the outer
 * source goes in local_ipv4, which the receive-side read returns as the
 * remote end; 6.0 and later), then tail-calls the program under test. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define SHIM_SET_FAILED		1000	/* not a TC_ACT_* */
#define SHIM_TAIL_FAILED	1001

/* Entry 0: what the next packet's tunnel key says. */
struct shim_key {
	__u32 vni;
	__u32 outer_src;	/* host order, as the helper has it */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shim_key);
} shim_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} shim_next SEC(".maps");

SEC("tc")
int tunnel_shim(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = { .remote_ipv4 = 0x7f000001 };
	__u32 zero = 0;
	struct shim_key *k = bpf_map_lookup_elem(&shim_key, &zero);

	if (!k)
		return SHIM_SET_FAILED;
	key.tunnel_id = k->vni;
	key.local_ipv4 = k->outer_src;
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), 0) < 0)
		return SHIM_SET_FAILED;
	bpf_tail_call(skb, &shim_next, 0);
	return SHIM_TAIL_FAILED;
}

char LICENSE[] SEC("license") = "GPL";
