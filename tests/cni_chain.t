#!/usr/bin/env bash
# bulkhead first in a conflist, the reference portmap and bandwidth plugins
# after it, run the way a runtime runs a list: each ADD gets the previous
# result as prevResult, DEL goes in reverse.
set -u
. "$(dirname "$0")/lib/cni.sh"

for p in portmap bandwidth; do
	[ -x "$REF_PLUGINS/$p" ] || t_skip_all "$REF_PLUGINS/$p missing (package containernetworking-plugins)"
done
node_up
P1=$(pod_ns p1)
P2=$(pod_ns p2)
cat >"$T_DIR/list" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "chainnet",
  "plugins": [
    $(NETNAME=chainnet netconf 1.0.0 | jq -c 'del(.cniVersion, .name)'),
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "bandwidth", "capabilities": { "bandwidth": true } }
  ]
}
JSON
# Ingress rates only: bandwidth shapes a pod's egress through an ingress
# qdisc on the host veth, and the datapath's clsact qdisc holds that slot
# (containernetworking/plugins issue 894).
RUNTIME_CONFIG='{"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
                 "bandwidth": {"ingressRate": 100000000, "ingressBurst": 1000000}}'

# plugin_conf INDEX [PREV]: the list's INDEXth plugin as the runtime hands it.
plugin_conf() {
	jq --argjson i "$1" --argjson rc "$RUNTIME_CONFIG" --argjson prev "${2:-null}" '
		.plugins[$i] as $p
		| $p + {cniVersion: .cniVersion, name: .name}
		+ (if $p.capabilities then {runtimeConfig: ($rc | with_entries(select($p.capabilities[.key] == true)))} else {} end)
		+ (if $prev != null then {prevResult: $prev} else {} end)
		| del(.capabilities)' "$T_DIR/list"
}

# run_list CMD CID NETNS [PREV]: the whole list; prints the last result.
run_list() {
	local cmd=$1 cid=$2 ns=$3 prev=${4:-null} order="0 1 2" i out type
	[ "$cmd" = DEL ] && order="2 1 0"
	for i in $order; do
		type=$(jq -r ".plugins[$i].type" "$T_DIR/list")
		local bin=$PLUGIN
		[ "$type" = bulkhead ] || bin=$REF_PLUGINS/$type
		out=$(plugin_conf "$i" "$prev" | cni_exec "$bin" "$cmd" "$cid" "$ns" eth0) || {
			echo "$type $cmd failed: $out" >&2; return 1; }
		[ "$cmd" = ADD ] && prev=$out
	done
	[ "$cmd" = ADD ] && echo "$prev"
	return 0
}

RES=$(run_list ADD c1 "$P1")
t_is $? 0 "ADD through bulkhead, portmap and bandwidth succeeds"
IP1=$(jget "$RES" '.ips[0].address' | cut -d/ -f1)
HOSTIF=$(jget "$RES" '.interfaces[0].name')
t_like "$IP1" '^10\.244\.7\.' "the list's result still carries bulkhead's address"
t_like "$(ip netns exec "$NODE" iptables -t nat -S 2>/dev/null)" "$IP1:80" "portmap installed its DNAT to the pod"
t_like "$(ip netns exec "$NODE" tc qdisc show dev "$HOSTIF")" 'qdisc tbf' \
	"bandwidth shaped the host veth bulkhead reported"

RES2=$(run_list ADD c2 "$P2")
pod_ready "$IP1"
pod_ready "$(jget "$RES2" '.ips[0].address' | cut -d/ -f1)"
serve "${PFX}p1" 80
t_ok "a pod reaches another through the host port (gateway:8080 → pod:80)" \
	reach "${PFX}p2" 10.244.7.1 8080

# CHECK of bulkhead against the list's final result, which carries the
# other plugins' additions. (Debian's portmap 1.1.1 fails its own CHECK on a
# node without ip6tables chains: a list with it would set disableCheck.)
check_bulkhead() { plugin_conf 0 "$RES" | cni_exec "$PLUGIN" CHECK c1 "$P1" eth0; }
t_ok "bulkhead's CHECK passes with the list's result as prevResult" check_bulkhead
t_ok "DEL through the list in reverse order" run_list DEL c1 "$P1" "$RES"
t_is "$(ip netns exec "$NODE" iptables -t nat -S 2>/dev/null | grep -c "$IP1")" 0 "portmap's rules are gone"
t_is "$(links_in "$NODE" | grep -c "^$HOSTIF\$")" 0 "bulkhead's veth is gone"
run_list DEL c2 "$P2" "$RES2" >/dev/null
t_is "$(allocs chainnet)" 0 "no address is left allocated"
t_done
