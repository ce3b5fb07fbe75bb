// SPDX-License-Identifier: GPL-2.0
/* noop: a TC program that passes every packet untouched. The datapath
 * benchmark runs it beside the real programs through BPF_PROG_TEST_RUN, so
 * what the harness itself costs per run (the floor) is measured in the same
 * run and can be taken off the datapath's figures. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int noop(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
