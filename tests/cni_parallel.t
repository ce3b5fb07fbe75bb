#!/usr/bin/env bash
# Fifty ADDs at once, as a node full of starting pods makes them: every one
# succeeds, no address is handed out twice, and fifty DELs leave nothing.
set -u
. "$(dirname "$0")/lib/cni.sh"

N=50
node_up
netconf 1.1.0 >"$T_DIR/conf"
for i in $(seq 1 $N); do pod_ns "p$i" >/dev/null; done

# all_at_once CMD: CMD for every pod in parallel; prints how many failed.
all_at_once() {
	local i pid fails=0 pids=()
	for i in $(seq 1 $N); do
		cni_exec "$PLUGIN" "$1" "c$i" "/run/netns/${PFX}p$i" eth0 <"$T_DIR/conf" >"$T_DIR/out.$i" &
		pids+=("$!")
	done
	for pid in "${pids[@]}"; do wait "$pid" || fails=$((fails + 1)); done
	echo "$fails"
}

fails=$(all_at_once ADD)
t_is "$fails" 0 "$N parallel ADDs all succeed"
ips=$(for i in $(seq 1 $N); do jq -r '.ips[0].address' "$T_DIR/out.$i"; done | sort)
t_is "$(sort -u <<<"$ips" | grep -c '^10\.244\.7\.')" "$N" "$N distinct addresses"
t_is "$(allocs)" "$N" "the store holds $N allocations"
t_is "$(links_in "$NODE" | grep -c '^bh')" "$N" "$N host veths"
t_is "$(ip -n "$NODE" route | grep -c 'proto 190')" "$N" "$N host routes"

fails=$(all_at_once DEL)
t_is "$fails" 0 "$N parallel DELs all succeed"
t_is "$(allocs)" 0 "no allocation left"
t_is "$(links_in "$NODE" | tr '\n' ' ')" "lo " "no veth left"
t_done
