#!/usr/bin/env bash
# Two nodes joined by VXLAN, end to end: network namespaces for a fabric
# (a bridge), two nodes on it and their pods, each node with a datapath of
# its own (bpffs root, VXLAN device in external mode, overlay program), the
# pods wired by the real plugin, the maps filled by bhdp as policyd would.
# Cross-node TCP and UDP reach; the VNI on the wire is the sending pod's
# identity; the receiving node's ingress policy judges by that VNI even
# with no ipcache entry for the sender; a forged VXLAN packet from an
# address that is not a node is dropped and counted; a large transfer
# fits the pod MTU the plugin chose.
set -u
. "$(dirname "$0")/lib/datapath.sh"

command -v python3 >/dev/null || t_skip_all "needs python3 for the underlay capture and forgery"

FAB=${PFX}fab
NET=192.168.91		# the underlay, inside the fabric only
FORGER=$NET.66		# on the fabric, not a node
ID_X=1001 ID_Y=1002 ID_B=2001

# nd N: node N's namespace; root N: its bpffs root; ul N: its underlay address.
nd() { echo "${PFX}n$1"; }
root() { echo "$BPFFS/n$1"; }
ul() { echo "$NET.$1"; }
# on N CMD...: CMD in node N's network namespace (nsenter: see in_node).
on() { local n=$1; shift; nsenter --net="/run/netns/$(nd "$n")" "$@"; }
# dp N ARGS...: bhdp on node N's datapath.
dp() { local n=$1; shift; on "$n" "$BHDP" "$(root "$n")" "$@"; }
# ncounter N REASON DIR: node N's drop counter for REASON in DIR.
ncounter() {
	dp "$1" counters | awk -v r="$2" -v d="$3" \
		'$1 == "drop" && $2 == r && (d == "any" || $3 == d) { n += $4 } END { print n + 0 }'
}

for n in 1 2; do T_CLEANUP+=("on $n \"\$BHDP\" \"\$(root $n)\" unload >/dev/null 2>&1"); done

# --- the fabric and the nodes -----------------------------------------------
fabric_up() {
	ip netns add "$FAB" && ip -n "$FAB" link set lo up &&
		ip -n "$FAB" link add br0 type bridge &&
		ip -n "$FAB" addr add "$FORGER/24" dev br0 &&
		ip -n "$FAB" link set br0 up
}

# node_up_n N: node N on the fabric with its VXLAN device and datapath,
# the device's overlay program attached and named in the config.
node_up_n() {
	local n=$1 ns ifindex
	ns=$(nd "$n")
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$FAB" link add "fu$n" type veth peer name ul0 netns "$ns" &&
		ip -n "$FAB" link set "fu$n" master br0 up &&
		ip -n "$ns" addr add "$(ul "$n")/24" dev ul0 &&
		ip -n "$ns" link set ul0 up &&
		ip -n "$ns" link add "$BH_VXLAN" type vxlan external dstport 4789 nolearning &&
		ip -n "$ns" link set "$BH_VXLAN" up &&
		dp "$n" load >/dev/null &&
		dp "$n" attach-overlay "$BH_VXLAN" || return 1
	ifindex=$(ip -n "$ns" -j link show "$BH_VXLAN" | jq '.[0].ifindex')
	dp "$n" config "tunnel=$ifindex" "node=$(ul "$n")"
}
BH_VXLAN=bh_vxlan

fabric_up && node_up_n 1 && node_up_n 2 ||
	{ echo "Bail out! cannot build the fabric and two nodes under $PFX"; exit 1; }
dp 1 tunnel-set "$(ul 2)"
dp 2 tunnel-set "$(ul 1)"
t_is "$(dp 1 tunnel-list)" "$(ul 2) flags=0x0" "node 1's tunnel map holds node 2"
t_like "$(dp 2 config)" "tunnel_ifindex=[1-9][0-9]*.*node_ip=$(ul 2)" \
	"node 2's config names its VXLAN device and its underlay address"
t_like "$(on 2 tc filter show dev "$BH_VXLAN" ingress)" 'bpf .*overlay' \
	"the VXLAN device's ingress runs the overlay program"

# --- pods, wired by the plugin ------------------------------------------------
for n in 1 2; do
	BPFFS=$(root "$n") SUBNET="10.244.$n.0/24" netconf 1.1.0 |
		jq --arg d "$T_DIR/state-n$n" '.stateDir = $d' >"$T_DIR/conf-n$n"
done

# pod N NAME ID: a pod on node N with identity ID; sets POD_IP.
pod() {
	local n=$1 name=$2 id=$3 ns
	ns=$(pod_ns "$name")
	NODE=$(nd "$n") BPFFS=$(root "$n") cni ADD "c$name" "$ns" eth0 <"$T_DIR/conf-n$n"
	t_is "$CNI_RC" 0 "ADD $name on node $n" || t_diag "$CNI_OUT"
	POD_IP=$(jget "$CNI_OUT" '.ips[0].address' | cut -d/ -f1)
	dp "$n" ep-set "$POD_IP" "id=$id" >/dev/null
}
pod 1 a "$ID_X"; A=${PFX}a A_IP=$POD_IP
pod 1 y "$ID_Y"; Y=${PFX}y Y_IP=$POD_IP
pod 2 b "$ID_B"; B=${PFX}b B_IP=$POD_IP
t_is "$(ip -n "$A" -j link show eth0 | jq '.[0].mtu')" 1450 \
	"the pod MTU leaves the 50 bytes VXLAN needs on a 1500-byte underlay"
pod_serve "$A"
pod_serve "$B"

# Each node's ipcache: the other node's pod CIDR (identity not known) and
# the other node's pods, all carried by that node.
dp 1 ipcache-set 10.244.2.0/24 id=0 "tunnel=$(ul 2)"
dp 1 ipcache-set "$B_IP/32" "id=$ID_B" "tunnel=$(ul 2)"
dp 2 ipcache-set 10.244.1.0/24 id=0 "tunnel=$(ul 1)"
dp 2 ipcache-set "$A_IP/32" "id=$ID_X" "tunnel=$(ul 1)"
dp 2 ipcache-set "$Y_IP/32" "id=$ID_Y" "tunnel=$(ul 1)"

# --- across the nodes, no policy ---------------------------------------------
reaches "$A" "$B_IP" 81 "a (node 1) -> b (node 2) TCP"
reaches "$A" "$B_IP" 81 "a (node 1) -> b (node 2) UDP" --udp
reaches "$B" "$A_IP" 81 "b (node 2) -> a (node 1) TCP"
reaches "$B" "$A_IP" 81 "b (node 2) -> a (node 1) UDP" --udp
reaches "$Y" "$B_IP" 81 "y (node 1) -> b (node 2) TCP"

# --- the VNI on the wire --------------------------------------------------------
# A raw socket on the fabric's port of node 1 reads the VXLAN packets node
# 1 sends and prints "VNI inner-source" of the first one from a.
cat >"$T_DIR/capture.py" <<'PY'
import socket, struct, sys, time
ifname, outer_src, inner_src, out, ready = sys.argv[1:6]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.settimeout(0.2)
open(ready, "w").close()
deadline = time.time() + 10
while time.time() < deadline:
    try:
        f = s.recv(65535)
    except socket.timeout:
        continue
    if len(f) < 14 + 20 + 8 + 8 + 14 + 20 or f[12:14] != b"\x08\x00":
        continue
    ip = f[14:]
    hl = (ip[0] & 0x0f) * 4
    if ip[9] != 17 or socket.inet_ntoa(ip[12:16]) != outer_src:
        continue
    udp = ip[hl:]
    if struct.unpack("!H", udp[2:4])[0] != 4789:
        continue
    vx = udp[8:]
    vni = struct.unpack("!I", vx[4:8])[0] >> 8
    inner = vx[8 + 14:]
    if socket.inet_ntoa(inner[12:16]) != inner_src:
        continue
    open(out, "w").write("%d %s\n" % (vni, socket.inet_ntoa(inner[12:16])))
    sys.exit(0)
sys.exit(1)
PY
ip netns exec "$FAB" python3 "$T_DIR/capture.py" fu1 "$(ul 1)" "$A_IP" \
	"$T_DIR/vni" "$T_DIR/capture.ready" &
cap_pid=$!
T_PIDS+=("$cap_pid")
wait_for 5 test -e "$T_DIR/capture.ready"
reaches "$A" "$B_IP" 81 "a -> b TCP while the underlay is captured"
wait "$cap_pid"
t_is "$(cat "$T_DIR/vni" 2>/dev/null)" "$ID_X $A_IP" \
	"the VXLAN packet from node 1 carries a's identity ($ID_X) as its VNI"

# --- a large transfer -----------------------------------------------------------
# 5 MB over one TCP connection: full-size segments must fit the tunnel.
cat >"$T_DIR/bulk.py" <<'PY'
import socket, sys
mode = sys.argv[1]
if mode == "sink":
    port, out, ready = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(1)
    l.settimeout(30)
    open(ready, "w").close()
    c, _ = l.accept()
    c.settimeout(30)
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    open(out, "w").write("%d\n" % n)
else:
    ip, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    c = socket.create_connection((ip, port), timeout=30)
    c.sendall(b"x" * size)
    c.close()
PY
ip netns exec "$B" python3 "$T_DIR/bulk.py" sink 5001 "$T_DIR/bulk" "$T_DIR/bulk.ready" &
sink_pid=$!
T_PIDS+=("$sink_pid")
wait_for 5 test -e "$T_DIR/bulk.ready"
t_ok "a sends 5 MB to b across the nodes" \
	timeout 60 ip netns exec "$A" python3 "$T_DIR/bulk.py" send "$B_IP" 5001 5242880
wait "$sink_pid"
t_is "$(cat "$T_DIR/bulk" 2>/dev/null)" 5242880 "... and b receives all of it"

# --- node 2's ingress policy judges by the VNI -------------------------------------
dp 2 ep-set "$B_IP" flags=ingress
dp 2 rule-add dir=ingress local=$ID_B remote=$ID_X proto=tcp port=81 rule=21

# ev_y FILE: "reason src_id dir" of the first drop of y's probe to b:81
# among the events in FILE.
ev_y() {
	jq -r --arg s "$Y_IP" --arg d "$B_IP" \
		'select(.saddr == $s and .daddr == $d and .dport == 81 and .verdict == "drop") | "\(.reason) \(.src_id) \(.dir)"' \
		"$1" 2>/dev/null | head -n 1
}
# y_drop_event NAME: probes y -> b:81 (blocked, test NAME) with a live
# reader of node 2's events started on an emptied ring; Y_EVENT gets what
# ev_y finds.
y_drop_event() {
	local ev="$T_DIR/events.$RANDOM" pid try
	dp 2 events --timeout-ms 0 >/dev/null
	on 2 "$BHDP" "$(root 2)" events --timeout-ms 15000 >"$ev" 2>/dev/null &
	pid=$!
	T_PIDS+=("$pid")
	wait_for 5 grep -q epoll "/proc/$pid/wchan"
	blocked "$Y" "$B_IP" 81 "$1"
	# Events are best effort (rate-limited, and the reader may attach
	# just after the first SYN): a denied retry gives another chance.
	for try in 1 2 3; do
		wait_for 5 test -n "$(ev_y "$ev")" && break
		probe "$Y" "$B_IP" 81 1000 >/dev/null
	done
	Y_EVENT=$(ev_y "$ev")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

reaches "$A" "$B_IP" 81 "rule 21: a (identity $ID_X) reaches b:81 across the nodes"
old=$(ncounter 2 drop_policy_default ingress)
y_drop_event "y (identity $ID_Y) is dropped at b:81 on node 2"
t_is "$Y_EVENT" "drop_policy_default $ID_Y ingress" \
	"node 2's drop event names y's identity $ID_Y"
t_ok "... and node 2 counts it (drop_policy_default ingress)" \
	test "$(ncounter 2 drop_policy_default ingress)" -gt "$old"

dp 2 ipcache-del "$Y_IP/32"
dp 2 ipcache-del "$A_IP/32"
t_is "$(dp 2 ipcache-list | grep -c "^10\.244\.1\.")" 1 \
	"node 2's ipcache knows node 1's pods only by their CIDR (identity 0)"
y_drop_event "without its ipcache entry, y is still dropped at b:81"
t_is "$Y_EVENT" "drop_policy_default $ID_Y ingress" \
	"... by its VNI: the event names $ID_Y, not the unknown identity"
reaches "$A" "$B_IP" 81 "without its ipcache entry, a still reaches b:81 by its VNI"

# --- a forged VXLAN packet -------------------------------------------------------
# From the fabric: VNI $ID_X (allowed at b:81) wrapping a's SYN to b:81,
# sent from an address that is not a node.
cat >"$T_DIR/forge.py" <<'PY'
import socket, struct, sys
node, vni, src, dst, dport, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
tcp = struct.pack("!HHIIBBHHH", 40404, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex("02aabbccdd01" "02aabbccdd02" "0800")
vxlan = struct.pack("!II", 0x08000000, vni << 8)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(count):
    s.sendto(vxlan + eth + ip + tcp, (node, 4789))
PY
old=$(ncounter 2 drop_unknown_node ingress)
t_ok "the fabric ($FORGER) sends 5 forged VXLAN packets to node 2" \
	ip netns exec "$FAB" python3 "$T_DIR/forge.py" "$(ul 2)" "$ID_X" "$A_IP" "$B_IP" 81 5
wait_for 5 test "$(ncounter 2 drop_unknown_node ingress)" -ge "$((old + 5))"
t_is "$(( $(ncounter 2 drop_unknown_node ingress) - old ))" 5 \
	"node 2 drops all 5 as drop_unknown_node"
# The same packets from node 1's address are believed: the check is the
# node, not the packet.
dp 2 tunnel-del "$(ul 1)"
old=$(ncounter 2 drop_unknown_node ingress)
blocked "$A" "$B_IP" 81 "node 1 removed from node 2's tunnel map: a no longer reaches b"
t_ok "... counted as drop_unknown_node on node 2" \
	test "$(ncounter 2 drop_unknown_node ingress)" -gt "$old"
dp 2 tunnel-set "$(ul 1)"
reaches "$A" "$B_IP" 81 "node 1 back in the map: a reaches b again"

# --- an upgrade switches the VXLAN device too -----------------------------------
# overlay_id N: the id of the program pinned as node N's overlay; on_dev N:
# the one node N's VXLAN device runs.
overlay_id() { on "$1" bpftool -j prog show pinned "$(root "$1")/progs/overlay" | jq .id; }
on_dev() {
	on "$1" tc filter show dev "$BH_VXLAN" ingress | sed -n 's/.* id \([0-9]*\).*/\1/p'
}
old=$(overlay_id 2)
dp 2 config version=1
t_is "$(dp 2 load)" loaded "node 2's datapath of another version is replaced by load"
t_ok "... with a new overlay program pinned" test "$(overlay_id 2)" != "$old"
t_is "$(on_dev 2)" "$(overlay_id 2)" "... which the VXLAN device now runs"
reaches "$A" "$B_IP" 81 "after the upgrade, a reaches b:81"
blocked "$Y" "$B_IP" 81 "... and y is still dropped"
t_done
