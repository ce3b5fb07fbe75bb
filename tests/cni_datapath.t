#!/usr/bin/env bash
# The plugin and the datapath: ADD attaches the pinned programs to the host
# veth and writes the pod's endpoint entry, whose identity holds the pod's
# traffic until policyd knows it; CHECK notices a missing filter; DEL and GC
# take the entry and the pod's conntrack entries away, never another pod's;
# a node without its datapath gets no pods.
set -u
. "$(dirname "$0")/lib/cni.sh"

node_up
netconf 1.1.0 >"$T_DIR/conf"

# host_link NAME FILTER: one field of a node link, through jq.
host_link() { ip -n "$NODE" -j link show "$1" | jq -r "$2"; }
# ep_field IP FIELD: one field of bhdp ep-get's line, "" when no entry.
ep_field() { bhdp ep-get "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# ct_with IP: how many conntrack entries have IP at either end.
ct_with() { bhdp ct-list | grep -c " $1:" || true; }
# add NAME: ADD container NAME in a new pod namespace NAME; sets R, IP, HOST.
add() {
	cni ADD "$1" "$(pod_ns "$1")" eth0 <"${2:-$T_DIR/conf}"
	t_is "$CNI_RC" 0 "ADD $1 succeeds" || t_diag "$CNI_OUT"
	R=$CNI_OUT
	IP=$(jget "$R" '.ips[0].address' | cut -d/ -f1)
	HOST=$(jget "$R" '.interfaces[0].name')
}

# --- ADD: programs attached, endpoint written ----------------------------------
add p1
R1=$R IP1=$IP H1=$HOST
add p2
IP2=$IP
t_like "$(ip netns exec "$NODE" tc filter show dev "$H1" ingress)" 'bpf .*from_container' \
	"the host veth's ingress runs from_container"
t_like "$(ip netns exec "$NODE" tc filter show dev "$H1" egress)" 'bpf .*to_container' \
	"the host veth's egress runs to_container"
t_is "$(ep_field "$IP1" identity)" 5 "the endpoint entry has identity 5 (init) until policyd knows the pod"
t_is "$(ep_field "$IP1" ifindex)" "$(host_link "$H1" '.[0].ifindex')" "... the host veth's ifindex"
t_is "$(ep_field "$IP1" mac)" "$(jget "$R1" '.interfaces[1].mac')" "... the pod's MAC"
t_is "$(ep_field "$IP1" host_mac)" "$(host_link "$H1" '.[0].address')" "... the host veth's MAC"
t_is "$(ep_field "$IP1" flags)" none "... and no policy flags"

# --- traffic: held until the identity is known ---------------------------------
serve "${PFX}p2" 80
reach "${PFX}p1" "$IP2" 80 && got=answered || got=blocked
t_is "$got" blocked "before pod_ready, a probe from the pod is dropped"
t_like "$(bhdp counters)" 'drop drop_endpoint_init ' "... as an endpoint whose identity is not known yet"
pod_ready "$IP1"
pod_ready "$IP2"
t_ok "after pod_ready, the pod reaches a neighbour over TCP" reach "${PFX}p1" "$IP2" 80
t_ok "... and over UDP" reach "${PFX}p1" "$IP2" 80 --udp
n=$(ct_with "$IP1")
[ "$n" -gt 0 ]; t_is $? 0 "the traffic left conntrack entries with the pod's address ($n)"
# The pod network is IPv4: neither end of the veth gets an IPv6 link-local
# address, so neither sends solicitations for the datapath to drop.
t_is "$(ip -n "${PFX}p1" -6 -o addr show dev eth0)" "" "the pod's eth0 has no IPv6 address"
t_is "$(ip -n "$NODE" -6 -o addr show dev "$H1")" "" "nor has its host veth"
no_l3_drops() { ! bhdp counters | grep -q drop_unsupported_l3; }
t_ok "no packet was dropped as an unsupported protocol" no_l3_drops

# --- CHECK ---------------------------------------------------------------------
cni CHECK p1 "/run/netns/${PFX}p1" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "CHECK passes" || t_diag "$CNI_OUT"
ip netns exec "$NODE" tc filter del dev "$H1" ingress
cni CHECK p1 "/run/netns/${PFX}p1" eth0 <"$T_DIR/conf"
t_is "$(jget "$CNI_OUT" .code)" 104 "CHECK fails once the ingress filter is removed"
t_like "$(jget "$CNI_OUT" .msg)" "$H1: .*ingress.*from_container is not attached" "... naming the veth and the program"

# --- DEL -----------------------------------------------------------------------
cni DEL p1 "/run/netns/${PFX}p1" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "DEL succeeds" || t_diag "$CNI_OUT"
t_like "$(bhdp ep-get "$IP1" 2>&1)" "no endpoint $IP1" "DEL deleted the endpoint entry"
t_is "$(ct_with "$IP1")" 0 "DEL deleted the pod's conntrack entries"
t_is "$(ep_field "$IP2" identity)" 256 "DEL left the neighbour's entry alone"
cni DEL p1 "" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "a second DEL, without netns, succeeds" || t_diag "$CNI_OUT"

# --- a late DEL after the address went to another pod ------------------------
# A /30 has one address: the second pod gets the first one's.
SUBNET=10.244.9.0/30 NETNAME=tiny netconf 1.1.0 >"$T_DIR/conf-tiny"
add a1 "$T_DIR/conf-tiny"
jq --argjson prev "$R" '. + {prevResult: $prev}' "$T_DIR/conf-tiny" >"$T_DIR/conf-tiny-a1"
cni DEL a1 "/run/netns/${PFX}a1" eth0 <"$T_DIR/conf-tiny-a1"
add b1 "$T_DIR/conf-tiny"
t_is "$IP" 10.244.9.2 "the address is handed out again"
cni DEL a1 "/run/netns/${PFX}a1" eth0 <"$T_DIR/conf-tiny-a1"
t_is "$CNI_RC" 0 "a late DEL of its former pod succeeds" || t_diag "$CNI_OUT"
t_is "$(ep_field "$IP" ifindex)" "$(host_link "$HOST" '.[0].ifindex')" \
	"... and leaves the new pod's endpoint entry alone"
cni DEL b1 "/run/netns/${PFX}b1" eth0 <"$T_DIR/conf-tiny"

# --- GC ------------------------------------------------------------------------
add p3
IP3=$IP
ip -n "$NODE" link del "$HOST"
t_like "$(bhdp ep-get "$IP3")" "identity=5" "a veth deleted behind the plugin's back leaves its entry"
jq '. + {"cni.dev/valid-attachments": [{"containerID": "p2", "ifname": "eth0"},
	{"containerID": "p3", "ifname": "eth0"}]}' "$T_DIR/conf" >"$T_DIR/conf-gc"
cni GC "" "" "" <"$T_DIR/conf-gc"
t_is "$CNI_RC" 0 "GC succeeds" || t_diag "$CNI_OUT"
t_like "$(bhdp ep-get "$IP3" 2>&1)" "no endpoint $IP3" "GC deleted the entry whose veth is gone"
t_is "$(ep_field "$IP2" identity)" 256 "GC left the live pod's entry, identity and all"
cni DEL p3 "/run/netns/${PFX}p3" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "DEL of the pod whose veth is gone succeeds" || t_diag "$CNI_OUT"

# --- no datapath -----------------------------------------------------------------
mkdir "$T_DIR/no-datapath"
jq --arg d "$T_DIR/no-datapath" '.bpffsRoot = $d' "$T_DIR/conf" >"$T_DIR/conf-nodp"
links=$(links_in "$NODE" | sort | tr '\n' ' ') held=$(allocs) eps=$(bhdp ep-list)
cni ADD p4 "$(pod_ns p4)" eth0 <"$T_DIR/conf-nodp"
t_is "$(jget "$CNI_OUT" .code)" 11 "ADD without a loaded datapath says try again later"
t_is "$(jget "$CNI_OUT" .msg)" "datapath not loaded under $T_DIR/no-datapath: start bulkhead-policyd" \
	"... in words"
t_is "$(links_in "$NODE" | sort | tr '\n' ' ')" "$links" "... and makes no veth on the node"
t_is "$(links_in "${PFX}p4" | tr '\n' ' ')" "lo " "... nor in the pod"
t_is "$(allocs)" "$held" "... takes no address"
t_is "$(bhdp ep-list)" "$eps" "... and writes no endpoint entry"
cni STATUS "" "" "" <"$T_DIR/conf-nodp"
t_is "$(jget "$CNI_OUT" .code)" 50 "STATUS without a loaded datapath: not available"
t_like "$(jget "$CNI_OUT" .msg)" "datapath not loaded" "... in words"
cni STATUS "" "" "" <"$T_DIR/conf"
t_is "$CNI_RC" 0 "STATUS with the datapath loaded: ready" || t_diag "$CNI_OUT"
cni CHECK p2 "/run/netns/${PFX}p2" eth0 <"$T_DIR/conf-nodp"
t_like "$(jget "$CNI_OUT" '"\(.code) \(.msg)"')" "^104 datapath not loaded" "CHECK without the datapath fails, saying so"
cni DEL p2 "/run/netns/${PFX}p2" eth0 <"$T_DIR/conf-nodp"
t_is "$CNI_RC" 0 "DEL without the datapath still succeeds" || t_diag "$CNI_OUT"
t_like "$(cat "$T_DIR/cni.log")" "warn DEL p2/eth0: datapath not loaded" "... with a warning in the log"
# The entry it could not delete points at a veth that is gone now.
jq '. + {"cni.dev/valid-attachments": []}' "$T_DIR/conf" >"$T_DIR/conf-gc-none"
cni GC "" "" "" <"$T_DIR/conf-gc-none"
t_is "$(bhdp ep-list)" "" "GC deleted the entry that DEL could not"
t_is "$(allocs)" 0 "nothing is left allocated"
t_done
