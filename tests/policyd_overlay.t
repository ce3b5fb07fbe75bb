#!/usr/bin/env bash
# bulkhead-policyd's side of the overlay, in manifest mode on one simulated
# node (n1) that knows of a second one (n2): the VXLAN device in external
# mode with the overlay program, the tunnel map holding the other node
# only, the ipcache carrying n2's pod CIDR and pods behind n2's address; a
# node removed or moved takes all of it along; a restart rewrites nothing;
# /status; a device of our name but of the wrong kind is refused.
set -u
. "$(dirname "$0")/lib/policyd.sh"

node_ns
ID_A=1000
ID_B=1001

# node NAME ADDR CIDR: a Node document.
node() {
	cat <<YAML
---
apiVersion: v1
kind: Node
metadata: {name: $1}
spec: {podCIDR: $3}
status: {addresses: [{type: Hostname, address: $1}, {type: InternalIP, address: $2}]}
YAML
}

# identity N KEY=VAL...: a BulkheadIdentity document, as the node that
# allocated it would have made it (in namespace x).
identity() {
	local n=$1
	shift
	printf -- '---\napiVersion: bulkhead.io/v1\nkind: BulkheadIdentity\nmetadata: {name: "%s"}\nlabels:\n' "$n"
	yaml_labels '  ' "$@" "ns:kubernetes.io/metadata.name=x" "ns:team=x"
}

# remote_pod NS/NAME IP KEY=VAL...: a pod on n2 with its address in status.
remote_pod() {
	local p=$1 ip=$2
	shift 2
	PD_NODE=n2 yaml_pod "$p" "$@"
	printf 'status: {phase: Running, podIP: %s}\n' "$ip"
}

# nodes [N2-ADDR]: n1 (us) and, with an address, n2.
nodes() {
	node n1 192.168.77.1 10.244.1.0/24
	[ -n "${1:-}" ] && node n2 "$1" 10.244.2.0/24
	return 0
}

{
	yaml_ns x team=x
	identity "$ID_A" app=a
	identity "$ID_B" app=b
	remote_pod x/r1 10.244.2.11 app=a
	remote_pod x/r2 10.244.2.12 app=b
} | manifest_put cluster.yaml
nodes 192.168.77.2 | manifest_put nodes.yaml

# ipcache_of PREFIX: "IDENTITY TUNNEL" of one ipcache entry, "" when absent.
ipcache_of() { bhdp ipcache-list | awk -v p="$1" '$1 == p { print $2, $3 }'; }
# vxlan_ifindex: bh_vxlan's ifindex in the node namespace (its /sys is
# the machine's: ask netlink).
vxlan_ifindex() { in_node ip -o link show bh_vxlan 2>/dev/null | cut -d: -f1; }
# config_of FIELD: one field of the datapath's config.
config_of() { bhdp config | sed -n "s/^$1=//p"; }
# tunnels: the tunnel map's node addresses, one line.
tunnels() { bhdp tunnel-list | awk '{ print $1 }' | sort | paste -sd' '; }
ipcache_n2() {
	echo "$(ipcache_of 10.244.2.0/24)|$(ipcache_of 10.244.2.11/32)|$(ipcache_of 10.244.2.12/32)"
}

# --- 1. the device, the program, the maps -----------------------------
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts on the manifests and says it is ready"
link=$(in_node ip -d link show bh_vxlan 2>&1)
t_like "$link" 'vxlan external' "bh_vxlan exists in the node namespace, a vxlan in external mode"
t_like "$link" 'dstport 4789' "on UDP port 4789"
t_like "$link" 'nolearning' "without learning"
t_like "$(in_node ip link show bh_vxlan)" '[<,]UP[,>]' "and up"
t_like "$(in_node tc filter show dev bh_vxlan ingress)" 'bpf .*overlay' \
	"the overlay program is attached to its tc ingress"
ifindex=$(vxlan_ifindex)
t_is "$(config_of tunnel_ifindex)" "$ifindex" "the config names the device ($ifindex)"
t_is "$(config_of node_ip)" 192.168.77.1 "and n1's InternalIP as the node's address"
t_is "$(tunnels)" "192.168.77.2" "the tunnel map holds n2's address and not ours"
t_is "$(ipcache_n2)" "0 192.168.77.2|$ID_A 192.168.77.2|$ID_B 192.168.77.2" \
	"ipcache: n2's pod CIDR as unknown and each n2 pod with its identity, behind n2"
t_is "$(ipcache_of 10.244.1.0/24)" "" "our own pod CIDR is not in the ipcache"
t_is "$(metric bulkhead_nodes)" 2 "/metrics: 2 nodes"
t_is "$(metric bulkhead_map_entries 'map="tunnel"')" 1 "/metrics: 1 tunnel map entry"
status=$(http /status)
t_is "$(jq -c '{ready, node}' <<<"$status" 2>&1)" '{"ready":true,"node":"n1"}' \
	"/status: ready, node n1"
t_is "$(jq -c '.applied | type' <<<"$status" 2>&1)" '"object"' \
	"/status: applied is an object (manifests carry no resourceVersions)"

# --- 2. n2 goes, then comes back at another address -------------------
nodes | manifest_apply nodes.yaml
t_is "$(metric bulkhead_nodes)" 1 "n2 removed from the manifests: 1 node"
t_is "$(tunnels)" "" "the tunnel map is empty"
t_is "$(ipcache_n2)" "|$ID_A 0.0.0.0|$ID_B 0.0.0.0" \
	"n2's pod CIDR left the ipcache; its pods keep their identity with no tunnel"

nodes 192.168.77.3 | manifest_apply nodes.yaml
t_is "$(tunnels)" "192.168.77.3" "n2 back at 192.168.77.3: the tunnel map has the new address"
t_is "$(ipcache_n2)" "0 192.168.77.3|$ID_A 192.168.77.3|$ID_B 192.168.77.3" \
	"the pod CIDR and the pods are behind the new address"

nodes 192.168.77.2 | manifest_apply nodes.yaml
t_is "$(tunnels)" "192.168.77.2" "n2 moved back: the old address is gone from the tunnel map"
t_is "$(ipcache_n2)" "0 192.168.77.2|$ID_A 192.168.77.2|$ID_B 192.168.77.2" \
	"and everything is behind 192.168.77.2 again"

# --- 3. a restart rewrites nothing -------------------------------------
before="$(tunnels) / $(bhdp ipcache-list | sort | paste -sd,) / $(bhdp config)"
policyd_stop
t_is "$?" 0 "the daemon stops cleanly on TERM"
t_is "$(vxlan_ifindex)" "$ifindex" "the device stays"
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "a second daemon starts with the device in place"
t_is "$(metric bulkhead_ipcache_writes_total)" 0 "it writes no ipcache entry"
t_is "$(metric bulkhead_tunnel_writes_total)" 0 "nor a tunnel entry"
after="$(tunnels) / $(bhdp ipcache-list | sort | paste -sd,) / $(bhdp config)"
t_is "$after" "$before" "tunnel map, ipcache and config are as they were"
t_is "$(in_node tc filter show dev bh_vxlan ingress | grep -c ' handle .*overlay')" 1 \
	"one overlay filter on the device, not two"
policyd_stop
t_is "$?" 0 "it stops cleanly"

# --- 4. a bh_vxlan that is not ours ------------------------------------
# run_once: the daemon as policyd_start runs it, expected to refuse to start.
run_once() {
	timeout 20 "${PD_NET[@]}" "$POLICYD" --manifests "$PD_MANIFESTS" \
		--bpffs-root "$BPFFS" --state-dir "$PD_STATE" --socket "$PD_SOCK" \
		--metrics-addr "$PD_METRICS" --flow-log "" --node n1 2>&1
}
in_node ip link del bh_vxlan
in_node ip link add bh_vxlan type vxlan id 42 dstport 4789 nolearning
out=$(run_once)
t_is "$?" 1 "a bh_vxlan with a fixed VNI (not external): the daemon does not start"
t_like "$out" 'bh_vxlan exists but is not in external mode' "and says why: $(tail -n 1 <<<"$out")"
in_node ip link del bh_vxlan
in_node ip link add bh_vxlan type veth peer name "${PFX}peer"
out=$(run_once)
t_is "$?" 1 "a bh_vxlan that is a veth: the daemon does not start"
t_like "$out" 'bh_vxlan exists but is a veth device' "and says why"
in_node ip link del bh_vxlan

# --- 5. --no-overlay ---------------------------------------------------
policyd_start --manifests "$PD_MANIFESTS" --no-overlay --node-ip 192.168.77.9
t_is "$?" 0 "--no-overlay --node-ip: the daemon starts"
t_is "$(in_node ip link show bh_vxlan 2>/dev/null)" "" "no VXLAN device is made"
t_is "$(config_of tunnel_ifindex)" 0 "the config says there is none"
t_is "$(config_of node_ip)" 192.168.77.9 "and has the address of --node-ip"
policyd_stop
t_is "$?" 0 "it stops cleanly"

if [ "$T_FAILED" -gt 0 ]; then
	t_diag "the daemon's log:"
	sed 's/^/#   /' "$PD_LOG" | tail -n 40
fi
t_done
