#!/usr/bin/env bash
# The policy datapath end to end: pods in network namespaces on one node,
# wired by the real plugin, the maps filled by bhdp as policyd would fill
# them. Default allow; deny by default once a pod is selected, TCP and UDP,
# both ways; an allow rule opens exactly its identity, protocol and port,
# its replies pass and the reverse stays shut; revoking it cuts an
# established connection; policy changes apply to the next connection with
# nothing re-attached; drops are reported as events; audit mode passes and
# counts them; a pod posing as another, by IP or by MAC, is dropped.
set -u
. "$(dirname "$0")/lib/datapath.sh"

ID1=1000
ID2=2000
ID3=3000

node_up
netconf 1.1.0 >"$T_DIR/conf"

add_pod p1
P1=${PFX}p1 IP1=$POD_IP VETH1=$POD_VETH
add_pod p2
P2=${PFX}p2 IP2=$POD_IP VETH2=$POD_VETH
pod_serve "$P1"
pod_serve "$P2"

# --- identity not yet known -----------------------------------------------
old=$(counter drop_endpoint_init egress)
blocked "$P1" "$IP2" 81 "a pod whose identity is not known yet reaches nothing"
t_ok "... counted as drop_endpoint_init" counter_above drop_endpoint_init egress "$old"
pod_ready "$IP1" "$ID1"
pod_ready "$IP2" "$ID2"
t_like "$(bhdp ep-get "$IP1")" "identity=$ID1 flags=none" "p1 has identity $ID1, no policy"

# --- default allow ---------------------------------------------------------
reaches "$P1" "$IP2" 81 "default allow: p1 -> p2 TCP"
reaches "$P1" "$IP2" 81 "default allow: p1 -> p2 UDP" --udp
reaches "$P2" "$IP1" 81 "default allow: p2 -> p1 TCP"
reaches "$P2" "$IP1" 81 "default allow: p2 -> p1 UDP" --udp

# --- deny by default -------------------------------------------------------
# A connection made while nothing selected the pods must not outlive the
# policy that now selects them.
hold h0 "$P1" "$IP2" 80
wait_for 5 hold_up h0 3
t_like "$(hold_state h0)" '^up [0-9]+$' "a connection p1 -> p2:80 is exchanging under default allow"
bhdp ep-set "$IP1" flags=egress,ingress
bhdp ep-set "$IP2" flags=egress,ingress
wait_for 8 hold_cut h0
t_like "$(hold_state h0)" '^cut' "selecting both pods cuts that connection" ||
	t_diag "policy_rev: $(bhdp config | grep policy_rev)"
hold_stop h0
old_e=$(counter drop_policy_default egress)
blocked "$P1" "$IP2" 81 "deny by default: p1 -> p2 TCP blocked"
blocked "$P1" "$IP2" 81 "deny by default: p1 -> p2 UDP blocked" --udp
blocked "$P2" "$IP1" 81 "deny by default: p2 -> p1 TCP blocked"
blocked "$P2" "$IP1" 81 "deny by default: p2 -> p1 UDP blocked" --udp
t_ok "drop_policy_default (egress) counts the blocked probes" \
	counter_above drop_policy_default egress "$((old_e + 3))"

# --- an allow rule for one identity and port -------------------------------
# p1's egress alone is not enough: p2's ingress still decides.
bhdp rule-add dir=egress local=$ID1 remote=$ID2 proto=tcp port=80 rule=11
old_i=$(counter drop_policy_default ingress)
blocked "$P1" "$IP2" 80 "egress allowed, ingress not: p1 -> p2:80 TCP still blocked"
t_ok "... by p2's ingress (drop_policy_default ingress)" \
	counter_above drop_policy_default ingress "$old_i"
bhdp rule-add dir=ingress local=$ID2 remote=$ID1 proto=tcp port=80 rule=12
t_like "$(bhdp policy-list | sort | tr '\n' ';')" \
	"^$ID1 $ID2 egress tcp 80 allow 11 [0-9]+;$ID2 $ID1 ingress tcp 80 allow 12 [0-9]+;\$" \
	"the policy map holds the two rules"
reaches "$P1" "$IP2" 80 "allowed: p1 -> p2:80 TCP reaches (and its replies come back)"
blocked "$P1" "$IP2" 81 "not allowed: p1 -> p2:81 TCP"
blocked "$P1" "$IP2" 80 "not allowed: p1 -> p2:80 UDP" --udp
blocked "$P2" "$IP1" 80 "the reverse direction stays blocked: p2 -> p1:80 TCP"
blocked "$P2" "$IP1" 80 "... and p2 -> p1:80 UDP" --udp

# --- an established connection: kept by unrelated changes, cut by revoking -
hold h1 "$P1" "$IP2" 80
wait_for 5 hold_up h1 3
t_like "$(hold_state h1)" '^up [0-9]+$' "a connection p1 -> p2:80 is exchanging under the allow"
# Its entry, found by the ends the kernel gave it.
h1_src=$(ip netns exec "$P1" ss -Htn state established dst "$IP2:80" | awk '{ print $3 }')
t_is "$(bhdp ct-list | awk -v a="$h1_src" -v b="$IP2:80" \
	'$1 == "tcp" && (($2 == a && $3 == b) || ($2 == b && $3 == a)) { print $5, $7, $8 }')" \
	"established $ID1 $ID2" "conntrack has it established, from $ID1 to $ID2 ($h1_src)"
rev=$(bhdp config | sed -n 's/^policy_rev=//p')
bhdp rule-add dir=egress local=$ID1 remote=$ID2 proto=udp port=53 rule=13
t_is "$(bhdp config | sed -n 's/^policy_rev=//p')" "$((rev + 1))" "a rule change bumps the policy revision"
n=$(hold_count h1)
wait_for 5 hold_up h1 "$((n + 5))"
t_like "$(hold_state h1)" '^up [0-9]+$' "an unrelated rule change re-decides the connection and keeps it"
bhdp rule-del dir=egress local=$ID1 remote=$ID2 proto=udp port=53 rule=13
before=$(filters "$VETH1"; filters "$VETH2")
from_id=$(bpftool -j prog show pinned "$BPFFS/progs/from_container" | jq .id)
to_id=$(bpftool -j prog show pinned "$BPFFS/progs/to_container" | jq .id)
t_like "$before" "id $from_id name from_container.*id $to_id name to_container.*id $from_id name from_container.*id $to_id name to_container" \
	"both host veths run the pinned programs (ingress $from_id, egress $to_id)"
bhdp rule-del dir=ingress local=$ID2 remote=$ID1 proto=tcp port=80 rule=12
bhdp rule-del dir=egress local=$ID1 remote=$ID2 proto=tcp port=80 rule=11
t_is "$(bhdp policy-list)" "" "the rules are gone from the map"
wait_for 8 hold_cut h1
t_like "$(hold_state h1)" '^cut after [0-9]+: ' "removing the allow cuts the established connection"
hold_stop h1
blocked "$P1" "$IP2" 80 "a new connection p1 -> p2:80 is blocked again"

# --- the next connection, nothing re-attached ------------------------------
bhdp rule-add dir=egress local=$ID1 remote=$ID2 proto=tcp port=80 rule=11
bhdp rule-add dir=ingress local=$ID2 remote=$ID1 proto=tcp port=80 rule=12
reaches "$P1" "$IP2" 80 "the rule added back: the next connection p1 -> p2:80 reaches"
hold h2 "$P1" "$IP2" 80
wait_for 5 hold_up h2 3
t_like "$(hold_state h2)" '^up [0-9]+$' "... and holds"
hold_stop h2
t_is "$(filters "$VETH1"; filters "$VETH2")" "$before" \
	"the tc filters and program ids on both host veths are unchanged"

# --- drop events -----------------------------------------------------------
# The ring buffer keeps what no reader took: empty it, then start a live
# reader and look among what it prints for the blocked probe's event (a
# pod's own noise, IPv6 dropped as unsupported, may come first).
ev_match() {
	jq -c --arg s "$IP1" --arg d "$IP2" \
		'select(.saddr == $s and .daddr == $d and .dport == 81 and .proto == 6)' \
		"$T_DIR/events" 2>/dev/null | head -n 1
}
ev_seen() { [ -n "$(ev_match)" ]; }
bhdp events --timeout-ms 0 >/dev/null
nsenter --net="/run/netns/$NODE" "$BHDP" "$BPFFS" events --timeout-ms 20000 \
	>"$T_DIR/events" 2>/dev/null &
ev_pid=$!
T_PIDS+=("$ev_pid")
wait_for 5 grep -q epoll "/proc/$ev_pid/wchan" ||
	t_diag "the events reader is not seen polling: $(cat "/proc/$ev_pid/wchan" 2>&1)"
blocked "$P1" "$IP2" 81 "p1 -> p2:81 TCP is blocked while the events reader runs"
wait_for 5 ev_seen
kill "$ev_pid" 2>/dev/null
wait "$ev_pid" 2>/dev/null
ev=$(ev_match)
t_is "$(jq -r '[.verdict, .reason, .dir, .src_id, .dst_id, .dport, .rule] | join(" ")' <<<"${ev:-null}" 2>/dev/null)" \
	"drop drop_policy_default egress $ID1 $ID2 81 0" \
	"a drop event names verdict, reason, direction, identities and port" ||
	t_diag "events: $(tr '\n' ' ' <"$T_DIR/events" | cut -c1-800)"
t_is "$(jq -r .ifindex <<<"${ev:-null}" 2>/dev/null)" \
	"$(ip -n "$NODE" -j link show "$VETH1" | jq '.[0].ifindex')" \
	"... and the host veth it happened on"

# --- audit mode --------------------------------------------------------------
# Would-be drops pass and are counted as such; leaving audit mode decides
# what it let through again.
old=$(counter drop_policy_default any audit)
bhdp config audit=on
reaches "$P2" "$IP1" 80 "audit mode: the blocked p2 -> p1:80 TCP passes"
t_ok "... counted as an audited drop_policy_default" \
	counter_above drop_policy_default any "$old" audit
hold h3 "$P2" "$IP1" 80
wait_for 5 hold_up h3 3
t_like "$(hold_state h3)" '^up [0-9]+$' "a connection p2 -> p1:80 is exchanging under audit"
bhdp config audit=off
wait_for 8 hold_cut h3
t_like "$(hold_state h3)" '^cut' "leaving audit mode cuts it"
hold_stop h3
blocked "$P2" "$IP1" 80 "p2 -> p1:80 TCP is blocked again"

# --- spoofing --------------------------------------------------------------
# A third pod to talk to, so that p1 can pose as p2 towards it. Policy is
# off everywhere: what drops now is anti-spoofing.
add_pod p3
P3=${PFX}p3 IP3=$POD_IP
pod_ready "$IP3" "$ID3"
pod_serve "$P3"
bhdp ep-set "$IP1" flags=none
bhdp ep-set "$IP2" flags=none
reaches "$P1" "$IP3" 81 "p1 -> p3 TCP reaches under default allow"
in3=$(ip_in "$P3")
ip netns exec "$P1" "$HOLDCONN" send-udp "$IP3" 81 --count 5
wait_for 5 test "$(ip_in "$P3")" -ge "$((in3 + 5))"
t_ok "p3 counts the datagrams p1 sends from its own address" \
	test "$(ip_in "$P3")" -ge "$((in3 + 5))"

ip -n "$P1" addr add "$IP2/32" dev eth0
old=$(counter drop_spoofed_ip egress)
in3=$(ip_in "$P3")
t_ok "p1 sends 5 datagrams to p3 from p2's address" \
	ip netns exec "$P1" "$HOLDCONN" send-udp "$IP3" 81 --from "$IP2" --count 5
wait_for 5 counter_above drop_spoofed_ip egress "$((old + 4))"
t_ok "... all counted as drop_spoofed_ip" counter_above drop_spoofed_ip egress "$((old + 4))"
t_is "$(ip_in "$P3")" "$in3" "... and none reached p3 (whose answers would go to p2)"
old=$(counter drop_spoofed_ip egress)
ip netns exec "$P1" "$HOLDCONN" hold "$IP3" 80 --from "$IP2" --timeout-ms 1000 \
	--status-file "$T_DIR/hold.spoof"
t_like "$(hold_state spoof)" '^blocked' "a TCP connection from p2's address gets no answer"
t_ok "... its SYNs counted as drop_spoofed_ip" counter_above drop_spoofed_ip egress "$old"
t_is "$(ip_in "$P3")" "$in3" "... and p3 saw none of them"
ip -n "$P1" addr del "$IP2/32" dev eth0

MAC1=$(ip -n "$P1" -j link show eth0 | jq -r '.[0].address')
HMAC1=$(ip -n "$NODE" -j link show "$VETH1" | jq -r '.[0].address')
GW=$(ip -n "$P1" -j route show default | jq -r '.[0].gateway')
ip -n "$P1" link set eth0 address 02:42:de:ad:be:ef
# The new MAC's ARP would be dropped as spoofed first; with the gateway's
# entry pinned, the IP packets themselves leave with the new source MAC.
ip -n "$P1" neigh replace "$GW" lladdr "$HMAC1" dev eth0 nud permanent
old=$(counter drop_spoofed_mac egress)
blocked "$P1" "$IP2" 81 "p1 with another MAC reaches nothing"
t_ok "... counted as drop_spoofed_mac" counter_above drop_spoofed_mac egress "$old"
ip -n "$P1" link set eth0 address "$MAC1"
ip -n "$P1" neigh del "$GW" dev eth0 2>/dev/null
reaches "$P1" "$IP2" 81 "p1 with its own MAC again reaches p2"
t_done
