#!/usr/bin/env bash
# GC and STATUS: GC frees what no valid attachment accounts for (addresses,
# host veths, cached results, endpoint entries) and nothing else; STATUS
# says when ADD cannot be served.
set -u
. "$(dirname "$0")/lib/cni.sh"

node_up
netconf 1.1.0 >"$T_DIR/conf"
for c in c1 c2 c3; do
	cni ADD "$c" "$(pod_ns "$c")" eth0 <"$T_DIR/conf"
	t_is "$CNI_RC" 0 "ADD $c"
done
IP1=$(ip -n "${PFX}c1" -j addr show eth0 | jq -r '.[0].addr_info[0].local')
HOST1=$(jq -r '.interfaces[0].name' "$T_DIR/state/results/testnet/c1:eth0")

# A leak the way a crash makes one: c3's pod is gone, DEL never came; c2 left
# only its allocation behind. Plus a stray veth of ours and one of someone else.
ip netns del "${PFX}c3"
ip -n "${PFX}c2" link del eth0
ip -n "$NODE" link add bhstray000001 type veth peer name strayp
ip -n "$NODE" link set bhstray000001 alias "bulkhead:testnet"
ip -n "$NODE" link add othervethx type veth peer name otherp
ip -n "$NODE" link set othervethx alias "bulkhead:othernet"

cni GC "" "" "" <"$T_DIR/conf"
t_is "$(jget "$CNI_OUT" .code)" 7 "GC without cni.dev/valid-attachments is refused"
t_is "$(allocs)" 3 "... and releases nothing"
jq '. + {"cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}]}' \
	"$T_DIR/conf" >"$T_DIR/conf-gc"
cni GC "" "" "" <"$T_DIR/conf-gc"
t_is "$CNI_RC" 0 "GC succeeds" || t_diag "$CNI_OUT"
t_is "$(grep -v '^#\|^last' "$T_DIR/state/ipam/testnet/allocations" | awk '{print $2}' | tr '\n' ' ')" \
	"c1 " "GC kept c1's address and released c2's and c3's"
t_is "$(links_in "$NODE" | grep -c '^bhstray')" 0 "GC deleted the stray veth of this network"
t_is "$(links_in "$NODE" | grep -c '^othervethx')" 1 "GC left another network's veth alone"
t_is "$(links_in "$NODE" | grep -c "^$HOST1\$")" 1 "GC left the valid pod's veth alone"
t_is "$(ls "$T_DIR/state/results/testnet/" | tr '\n' ' ')" "c1:eth0 " "GC removed stale cached results"
t_is "$(bhdp ep-list | awk '{print $1}' | tr '\n' ' ')" "$IP1 " \
	"GC deleted the endpoint entries of the gone pods and kept the valid one's"
pod_ready "$IP1"
serve "$NODE" 81
t_ok "the valid pod still reaches the host side" reach "${PFX}c1" 10.244.7.1 81
t_is "$(ip -n "$NODE" route show "$IP1" | grep -c "dev $HOST1")" 1 "its host route is still there"

jq '. + {"cni.dev/valid-attachments": [{"containerID": "c/1", "ifname": "eth0"}]}' \
	"$T_DIR/conf" >"$T_DIR/conf-gc-bad"
cni GC "" "" "" <"$T_DIR/conf-gc-bad"
t_is "$(jget "$CNI_OUT" .code)" 4 "GC refuses a malformed attachment"
t_is "$(allocs)" 1 "... and releases nothing"

# STATUS: a /30 has one address to give.
SUBNET=10.244.9.0/30 NETNAME=tiny netconf 1.1.0 >"$T_DIR/conf-tiny"
cni STATUS "" "" "" <"$T_DIR/conf-tiny"
t_is "$CNI_RC" 0 "STATUS is ready while addresses are free"
cni ADD t1 "$(pod_ns t1)" eth0 <"$T_DIR/conf-tiny"
t_is "$CNI_RC" 0 "ADD takes the only address"
cni STATUS "" "" "" <"$T_DIR/conf-tiny"
t_is "$(jget "$CNI_OUT" .code)" 50 "STATUS reports not available when the pool is exhausted"
cni ADD t2 "$(pod_ns t2)" eth0 <"$T_DIR/conf-tiny"
t_is "$(jget "$CNI_OUT" .code)" 11 "ADD on an exhausted pool says try again later"
t_like "$(jget "$CNI_OUT" .msg)" "no free address" "... in words"
t_is "$(links_in "${PFX}t2" | tr '\n' ' ')" "lo " "... and leaves nothing in the pod"
t_done
