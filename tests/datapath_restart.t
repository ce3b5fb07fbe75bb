#!/usr/bin/env bash
# Restart safety: loading the datapath again while pods talk. The same
# build reuses everything and loads nothing; a different build is loaded
# against the same pinned maps and swapped in on every attached veth, while
# an established connection keeps exchanging, policy keeps being enforced
# and the user's configuration survives. Unloading and loading again (a
# reboot of the daemon's state) is not a restart and is not tested here.
set -u
. "$(dirname "$0")/lib/datapath.sh"

ID1=1000
ID2=2000

# prog_ids VETH: the program ids on VETH's ingress and egress filters.
prog_ids() { filters "$1" | grep -o ' id [0-9]*' | awk '{print $2}' | paste -sd,; }
# pinned_ids: the ids of the programs pinned under this run's root.
pinned_ids() {
	local p ids=()
	for p in from_container to_container; do
		ids+=("$(bpftool -j prog show pinned "$BPFFS/progs/$p" | jq -r .id)")
	done
	local IFS=,
	echo "${ids[*]}"
}
# rules: the policy entries without their hit counters.
rules() { bhdp policy-list | awk '{ $NF = ""; print }'; }
cfg() { bhdp config | awk -F= -v k="$1" '$1 == k { print $2 }'; }

node_up
netconf 1.1.0 >"$T_DIR/conf"
add_pod p1
P1=${PFX}p1 IP1=$POD_IP VETH1=$POD_VETH
add_pod p2
P2=${PFX}p2 IP2=$POD_IP VETH2=$POD_VETH
pod_ready "$IP1" "$ID1"
pod_ready "$IP2" "$ID2"
pod_serve "$P2"

# p2 takes only p1 on TCP 80; the user has tuned the event sampling.
bhdp ep-set "$IP2" flags=ingress
bhdp rule-add dir=ingress local=$ID2 remote=$ID1 proto=tcp port=80 rule=5 >/dev/null
bhdp config sample=7
rules_before=$(rules)
hold h1 "$P1" "$IP2" 80
wait_for 5 hold_up h1 3
t_like "$(hold_state h1)" '^up [0-9]+$' "a connection p1 -> p2:80 is exchanging"
ids_before=$(prog_ids "$VETH1")
t_is "$ids_before" "$(pinned_ids)" "p1's veth runs the pinned programs"
ct_before=$(bhdp ct-count)
rev_before=$(cfg policy_rev)

# --- the same build: nothing loaded ------------------------------------------
t_is "$(bhdp load)" reused "loading the same build again reuses what is pinned"
t_is "$(prog_ids "$VETH1")" "$ids_before" "... p1's veth keeps its programs"
t_is "$(cfg policy_rev)" "$rev_before" "... and the policy revision is untouched"
n=$(hold_count h1)
wait_for 5 hold_up h1 "$((n + 5))"
t_like "$(hold_state h1)" '^up [0-9]+$' "... and the connection keeps exchanging"

# --- another build: loaded against the same maps, swapped in -----------------
# A fingerprint that is not this build's is what an upgrade looks like.
bhdp config version=1
t_is "$(bhdp load)" loaded "a different build is loaded"
ids_after=$(prog_ids "$VETH1")
t_is "$ids_after" "$(pinned_ids)" "p1's veth now runs the newly pinned programs"
t_ok "... which are not the old ones" test "$ids_after" != "$ids_before"
t_is "$(prog_ids "$VETH2")" "$ids_after" "p2's veth was switched too"
t_is "$(rules)" "$rules_before" "the policy map kept its entries"
t_ok "the conntrack entries are still there" test "$(bhdp ct-count)" -ge "$ct_before"
t_is "$(cfg sample)" 7 "the user's configuration survived"
t_ok "the policy revision moved on, so connections are decided again" \
	test "$(cfg policy_rev)" -gt "$rev_before"
n=$(hold_count h1)
wait_for 5 hold_up h1 "$((n + 5))"
t_like "$(hold_state h1)" '^up [0-9]+$' "the established connection kept exchanging through the swap"
hold_stop h1
reaches "$P1" "$IP2" 80 "a new allowed connection reaches"
blocked "$P1" "$IP2" 81 "a port the policy does not allow is still blocked"

# --- a pod added after the swap gets the new programs -------------------------
add_pod p3
t_is "$(prog_ids "$POD_VETH")" "$ids_after" "a pod added afterwards runs the new programs"

t_done
