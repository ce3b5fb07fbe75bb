# Fixtures for the datapath's end-to-end tests, on top of cni.sh: probes
# with exit-status checks, verdict counters, pods that serve, connections
# held open to see them cut, the tc filters on a host veth.
. "$(dirname "${BASH_SOURCE[0]}")/cni.sh"

HOLDCONN=$BUILD/tests/tools/holdconn

# probe NS IP PORT TIMEOUT-MS [--udp]: netprobe's exit status (0 reached,
# 1 blocked, 2 the probe failed). Blocked probes get a short timeout and
# reaching ones a long one, so a slow machine can only make a test slower.
probe() {
	local ns=$1 ip=$2 port=$3 ms=$4 rc
	shift 4
	ip netns exec "$ns" "$NETPROBE" connect "$ip" "$port" --timeout-ms "$ms" "$@" \
		2>/dev/null && rc=0 || rc=$?
	echo "$rc"
}
reaches() { t_is "$(probe "$1" "$2" "$3" 3000 "${@:5}")" 0 "$4"; }
blocked() { t_is "$(probe "$1" "$2" "$3" 1000 "${@:5}")" 1 "$4"; }

# counter REASON DIR [VERDICT]: packets the datapath gave VERDICT (drop
# unless said) for REASON in DIR (egress, ingress or any).
counter() {
	bhdp counters | awk -v r="$1" -v d="$2" -v v="${3:-drop}" \
		'$1 == v && $2 == r && (d == "any" || $3 == d) { n += $4 } END { print n + 0 }'
}
# counter_above REASON DIR N [VERDICT]
counter_above() { [ "$(counter "$1" "$2" "${4:-}")" -gt "$3" ]; }

# pod_serve NS: holdconn's echo on TCP 80 (a connection that can be held
# open, greeting first so netprobe counts it as an answer) and netprobe on
# UDP 80 and TCP and UDP 81.
pod_serve() {
	local r1="$T_DIR/ready.$RANDOM$RANDOM" r2="$T_DIR/ready.$RANDOM$RANDOM"
	ip netns exec "$1" "$HOLDCONN" serve 80 --ready-file "$r1" &
	T_PIDS+=("$!")
	ip netns exec "$1" "$NETPROBE" serve --udp 80 --tcp 81 --udp 81 --ready-file "$r2" &
	T_PIDS+=("$!")
	wait_for 5 test -e "$r1" -a -e "$r2"
}

# hold NAME NS IP PORT [ARGS]: a TCP connection from NS exchanging a line
# every 100 ms; its state is in hold_state NAME.
hold() {
	local name=$1 ns=$2 ip=$3 port=$4
	shift 4
	ip netns exec "$ns" "$HOLDCONN" hold "$ip" "$port" --interval-ms 100 \
		--timeout-ms 2000 --status-file "$T_DIR/hold.$name" "$@" &
	T_PIDS+=("$!")
	HOLD_PID[$name]=$!
}
declare -A HOLD_PID
hold_state() { cat "$T_DIR/hold.$1" 2>/dev/null; }
# hold_up NAME N: the connection has made at least N exchanges.
hold_up() {
	local s
	s=$(hold_state "$1")
	[[ $s =~ ^up\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge "$2" ]
}
hold_count() {
	local s
	s=$(hold_state "$1")
	[[ $s =~ ^up\ ([0-9]+)$ ]] && echo "${BASH_REMATCH[1]}" || echo 0
}
hold_cut() { [[ $(hold_state "$1") =~ ^(cut|blocked) ]]; }
hold_stop() { kill "${HOLD_PID[$1]}" 2>/dev/null; wait "${HOLD_PID[$1]}" 2>/dev/null; }

# ip_in NS: IPv4 packets that NS's stack received, however it then fared.
ip_in() {
	ip netns exec "$1" awk '/^Ip: [0-9]/ { print $4 }' /proc/net/snmp
}

# filters VETH: the tc filters on a host veth, with their program ids.
filters() {
	tc -n "$NODE" filter show dev "$1" ingress
	tc -n "$NODE" filter show dev "$1" egress
}

if [ ! -x "$BHDP" ] || [ ! -x "$HOLDCONN" ]; then
	echo "Bail out! build the tools first: $BHDP, $HOLDCONN"
	exit 1
fi

# add_pod NAME: ADD for pod NAME; sets POD_IP and POD_VETH (host side).
add_pod() {
	local ns
	ns=$(pod_ns "$1")
	cni ADD "c$1" "$ns" eth0 <"$T_DIR/conf"
	t_is "$CNI_RC" 0 "ADD $1 attaches the datapath" || t_diag "$CNI_OUT"
	POD_IP=$(jget "$CNI_OUT" '.ips[0].address' | cut -d/ -f1)
	POD_VETH=$(jget "$CNI_OUT" '.interfaces[0].name')
}
