#!/usr/bin/env bash
# The plugin's life cycle in real namespaces: ADD wires a pod that reaches the
# host side and a neighbour; CHECK passes, then fails once a route is gone;
# DEL leaves nothing, however often and however late it comes.
set -u
. "$(dirname "$0")/lib/cni.sh"

node_up
P1=$(pod_ns p1)
P2=$(pod_ns p2)
netconf 1.1.0 >"$T_DIR/conf"
netconf 1.1.0 '"mtu": 1400' >"$T_DIR/conf-mtu"

# --- ADD -------------------------------------------------------------------
cni ADD c1 "$P1" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "ADD c1 succeeds" || t_diag "$CNI_OUT"
R1=$CNI_OUT
IP1=$(jget "$R1" '.ips[0].address' | cut -d/ -f1)
GW=$(jget "$R1" '.ips[0].gateway')
t_like "$(jget "$R1" '.ips[0].address')" '^10\.244\.7\.[0-9]+/24$' "address from the pool, with the subnet's length"
t_is "$GW" 10.244.7.1 "gateway is the subnet's first address"
t_is "$(jget "$R1" '.interfaces[.ips[0].interface].name')" eth0 "ips[0] points at the pod interface"
t_is "$(jget "$R1" '.interfaces[.ips[0].interface].sandbox')" "$P1" "pod interface carries the sandbox"
t_is "$(jget "$R1" '.routes[0].dst + " " + .routes[0].gw')" "0.0.0.0/0 10.244.7.1" "default route via the gateway"
t_is "$(ip -n "${PFX}p1" -j link show eth0 | jq '.[0].mtu')" 1450 "default MTU leaves room for VXLAN (1500 - 50)"
t_like "$(ip -n "${PFX}p1" -j link show lo | jq -r '.[0].flags | join(",")')" 'UP' "loopback is up in the pod"

cni ADD c2 "$P2" eth0 <"$T_DIR/conf-mtu"
t_is "$CNI_RC" 0 "ADD c2 with mtu 1400 succeeds" || t_diag "$CNI_OUT"
R2=$CNI_OUT
IP2=$(jget "$R2" '.ips[0].address' | cut -d/ -f1)
t_is "$(ip -n "${PFX}p2" -j link show eth0 | jq '.[0].mtu')" 1400 "netconf mtu is applied"
[ "$IP1" != "$IP2" ]; t_is $? 0 "two pods, two addresses ($IP1, $IP2)"

# --- traffic ---------------------------------------------------------------
# The datapath holds a pod's traffic until its identity is known.
pod_ready "$IP1"
pod_ready "$IP2"
serve "$NODE" 81
serve "${PFX}p2" 80
t_ok "pod reaches the host side (TCP to the gateway)" reach "${PFX}p1" "$GW" 81
t_ok "pod reaches a neighbour over TCP" reach "${PFX}p1" "$IP2" 80
t_ok "pod reaches a neighbour over UDP" reach "${PFX}p1" "$IP2" 80 --udp

# --- CHECK -----------------------------------------------------------------
with_prev() { jq --argjson prev "$1" '. + {prevResult: $prev}' "$T_DIR/conf"; }
with_prev "$R1" >"$T_DIR/conf-check"
cni CHECK c1 "$P1" eth0 <"$T_DIR/conf-check"
t_is "$CNI_RC" 0 "CHECK with prevResult passes" || t_diag "$CNI_OUT"
cni CHECK c1 "$P1" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "CHECK against the cached result passes" || t_diag "$CNI_OUT"
ip -n "${PFX}p1" route del default
cni CHECK c1 "$P1" eth0 <"$T_DIR/conf-check"
t_is "$CNI_RC" 1 "CHECK fails once the pod's default route is deleted"
t_is "$(jget "$CNI_OUT" .code)" 104 "... with the plugin's check code"
t_like "$(jget "$CNI_OUT" .msg)" "default route via 10.244.7.1 dev eth0" "... naming the missing route"
ip -n "${PFX}p1" route add default via "$GW" dev eth0 proto 190
ip -n "$NODE" link set "$(jget "$R1" '.interfaces[0].name')" down
cni CHECK c1 "$P1" eth0 <"$T_DIR/conf-check"
t_like "$(jget "$CNI_OUT" .msg)" "host interface bh[0-9a-f]+ is down" "CHECK notices a host veth that is down"
ip -n "$NODE" link set "$(jget "$R1" '.interfaces[0].name')" up

# --- DEL -------------------------------------------------------------------
cni DEL c1 "$P1" eth0 <"$T_DIR/conf-check"
t_is "$CNI_RC" 0 "DEL c1 succeeds"
t_is "$(links_in "$NODE" | grep -c "$(jget "$R1" '.interfaces[0].name')")" 0 "DEL removed the host veth"
t_is "$(links_in "${PFX}p1" | tr '\n' ' ')" "lo " "DEL removed the pod interface"
t_is "$(ip -n "$NODE" route show "$IP1" | wc -l)" 0 "DEL removed the host route"
t_is "$(grep -c "^$IP1 " "$T_DIR/state/ipam/testnet/allocations")" 0 "DEL released the address"
t_is "$(ls "$T_DIR/state/results/testnet/" | grep -c '^c1:')" 0 "DEL removed the cached result"
cni DEL c1 "" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "second DEL without netns or prevResult succeeds (containerd)"
cni DEL never-added "" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "DEL of an unknown container succeeds"

# The pod's namespace is gone before DEL (the runtime lost it): DEL with the
# dangling path must still release everything.
ip netns del "${PFX}p2"
cni DEL c2 "$P2" eth0 <"$T_DIR/conf"
t_is "$CNI_RC" 0 "DEL with a vanished netns succeeds" || t_diag "$CNI_OUT"
t_is "$(allocs)" 0 "no allocation is left"
t_is "$(links_in "$NODE" | tr '\n' ' ')" "lo " "no veth is left on the node"
t_is "$(ip -n "$NODE" route | grep -c 'proto 190')" 0 "no host route of ours is left"

# --- one address per attachment --------------------------------------------
P3=$(pod_ns p3)
cni ADD c3 "$P3" eth0 <"$T_DIR/conf"
A=$(jget "$CNI_OUT" '.ips[0].address')
cni ADD c3 "$P3" eth0 <"$T_DIR/conf"
t_is "$(jget "$CNI_OUT" .code)" 106 "a repeated ADD is refused: the interface exists"
t_is "$(links_in "${PFX}p3" | grep -c eth0)" 1 "... and the existing interface is untouched"
t_is "$(grep -c "^${A%/*} c3 eth0" "$T_DIR/state/ipam/testnet/allocations")" 1 "... and it keeps its address"
# A crash between creating the pair and naming it leaves a veth with no
# alias: its derived name still marks it as this attachment's.
H3=$(jq -r '.interfaces[0].name' "$T_DIR/state/results/testnet/c3:eth0")
ip -n "$NODE" link set "$H3" alias ""
cni DEL c3 "$P3" eth0 <"$T_DIR/conf"
t_is "$(links_in "$NODE" | grep -c "^$H3\$")" 0 "DEL removes a host veth that lost its alias"

# --- every spec version ----------------------------------------------------
for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	P=$(pod_ns "v${v//./}")
	netconf "$v" >"$T_DIR/conf-$v"
	cni ADD "cv${v//./}" "$P" eth0 <"$T_DIR/conf-$v"
	t_is "$CNI_RC/$(jget "$CNI_OUT" .cniVersion)" "0/$v" "ADD answers in $v"
	case $v in
	0.*) want=4 ;;
	*) want=null ;;
	esac
	t_is "$(jget "$CNI_OUT" '.ips[0].version')" "$want" "$v: ips[].version is $want"
	[ "$v" = 1.1.0 ] && want=1450 || want=null
	t_is "$(jget "$CNI_OUT" '.interfaces[1].mtu')" "$want" "$v: interface mtu is $want"
	cni DEL "cv${v//./}" "$P" eth0 <"$T_DIR/conf-$v"
	t_is "$CNI_RC" 0 "DEL in $v"
done
VER=$(echo '{"cniVersion":"0.4.0"}' | cni_exec "$PLUGIN" VERSION "" "" "")
t_is "$(jget "$VER" '.cniVersion + " " + (.supportedVersions | join(","))')" \
	"0.4.0 0.3.0,0.3.1,0.4.0,1.0.0,1.1.0" "VERSION lists the versions, in the asked version"
t_is "$(allocs)" 0 "nothing allocated at the end"
t_done
