#!/usr/bin/env bash
# Bench part: pod to pod across two nodes. A pod on node 1 talks TCP to a
# pod on node 2 through Bulkhead's VXLAN (external-mode bh_vxlan, the VNI
# carrying the client's identity, ingress policy on node 2 deciding every
# new connection), against the same namespaces joined by plain kernel VXLAN
# (one `type vxlan id 42` device per node, static fdb, neighbour and route
# entries, pods on veth pairs with plain routes, no BPF anywhere). Stream
# throughput, request/response rate with p50/p99 latency and connection
# rate (rrbench), the two setups interleaved run by run.
# Everything runs in per-run namespaces (a fabric with a bridge per setup,
# four nodes, four pods) and per-run bpffs roots, all removed on exit
# (success, failure or Ctrl-C). QUICK=1 runs fewer and shorter rounds. Exit
# 0 when the measurement ran, whatever the verdicts; non-zero only when it
# could not run.
set -euo pipefail
shopt -s inherit_errexit

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
PLUGIN=$BUILD/bulkhead
BHDP=$BUILD/tests/tools/bhdp
RRBENCH=$BUILD/tests/tools/rrbench

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=3 SECS=1		# runs per setup and figure, seconds per run
else
	RUNS=5 SECS=3
fi
# Targets: bulkhead / baseline, at least.
STREAM_MIN_RATIO=1.00
RR_MIN_RATIO=1.00
CRR_MIN_RATIO=1.00

# The benchmark flow: identities, the server's port, and the one CPU that
# runs client and server. The two pods sit in different node namespaces
# but in one kernel, so the bench-datapath reason holds: a wakeup across
# CPUs costs tens of microseconds on a VM.
ID_CLIENT=1000
ID_SERVER=1001
PORT=5201
CPU_TRAFFIC=0
# The underlay's MTU, and the pods' on both setups: room for VXLAN's 50
# bytes, as the plugin leaves it.
UL_MTU=1500
MTU=$((UL_MTU - 50))
VNI_REF=42
VXLAN_PORT=4789
BH_VXLAN=bh_vxlan	# the name policyd gives the device (BH_VXLAN_DEV)

PFX="bho$$x"
FAB=${PFX}fab		# the fabric: bridge brb (bulkhead), brr (baseline)
BPFFS=/sys/fs/bpf/$PFX	# node N's datapath: $BPFFS/nN
WORK=
PIDS=()

die() { echo "bench-overlay: $*" >&2; exit 1; }
# failed RC WHAT: a step failed; interrupted (status 130, Ctrl-C) is not an
# error to report but a reason to stop.
failed() { [ "$1" -ne 130 ] || exit 130; die "$2"; }

# Names. Setup S is b(ulkhead) or r(eference); node N is 1 or 2.
node_ns() { echo "${PFX}$1$2"; }	# node_ns S N
ul_net() { [ "$1" = b ] && echo 192.168.93 || echo 192.168.94; }
ul_ip() { echo "$(ul_net "$1").$2"; }	# ul_ip S N: node N's underlay address
root() { echo "$BPFFS/n$1"; }		# root N: bulkhead node N's bpffs root

cleanup() {
	local pid ns n
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	# Programs off the VXLAN devices and the pinned objects gone while
	# the node namespaces still exist; pods, then nodes, then the fabric.
	for n in 1 2; do
		if [ -e "$(root "$n")" ] && [ -e "/run/netns/$(node_ns b "$n")" ]; then
			nsenter --net="/run/netns/$(node_ns b "$n")" "$BHDP" "$(root "$n")" unload \
				>/dev/null 2>&1 || true
		fi
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$PFX"[br][ab]) ip netns del "$ns" 2>/dev/null ;; esac
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$PFX"*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	# Unpinning is enough for anything left: nothing runs it any more.
	[ -e "$BPFFS" ] && rm -rf "$BPFFS"
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'echo "bench-overlay: interrupted" >&2; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
for f in "$PLUGIN" "$BUILD/bulkhead-ipam" "$BHDP" "$RRBENCH"; do
	[ -x "$f" ] || die "$f is missing: run make bench"
done
for c in jq bridge nsenter taskset; do
	command -v "$c" >/dev/null || die "$c missing"
done

WORK=$(mktemp -d /tmp/bulkhead-bench-ov.XXXXXX)

# in_node S N CMD...: CMD in node N of setup S. nsenter, not `ip netns
# exec`: that mounts a /sys of its own, hiding /sys/fs/bpf.
in_node() { local ns; ns=$(node_ns "$1" "$2"); shift 2; nsenter --net="/run/netns/$ns" "$@"; }
# dp N ARGS...: bhdp on bulkhead node N's datapath.
dp() { local n=$1; shift; in_node b "$n" "$BHDP" "$(root "$n")" "$@"; }
# sh_do WHAT CMD...: CMD, or the bench stops saying what it was doing.
sh_do() { local what=$1 out; shift; out=$("$@" 2>&1) || die "$what: $out"; }

# ---- the fabric and the nodes ---------------------------------------------------

sh_do "make the fabric $FAB" ip netns add "$FAB"
ip -n "$FAB" link set lo up
for s in b r; do
	sh_do "bridge br$s" ip -n "$FAB" link add "br$s" type bridge
	ip -n "$FAB" link set "br$s" up
done

# node_up S N: node N of setup S, on the fabric's bridge brS with its
# underlay address, forwarding on (the baseline routes; bulkhead's plugin
# would turn it on too).
node_up() {
	local s=$1 n=$2 ns
	ns=$(node_ns "$s" "$n")
	sh_do "make node $ns" ip netns add "$ns"
	ip -n "$ns" link set lo up
	sh_do "underlay of $ns" ip -n "$FAB" link add "f$s$n" mtu $UL_MTU type veth \
		peer name ul0 mtu $UL_MTU netns "$ns"
	ip -n "$FAB" link set "f$s$n" master "br$s" up
	ip -n "$ns" addr add "$(ul_ip "$s" "$n")/24" dev ul0
	ip -n "$ns" link set ul0 up
	in_node "$s" "$n" sysctl -qw net.ipv4.ip_forward=1
}

# bh_node_up N: bulkhead node N: the VXLAN device as policyd makes it
# (external, dstport 4789, no learning, no IPv6 link-local address), its
# datapath, the overlay program on the device, named in the config.
bh_node_up() {
	local n=$1 ns ifindex
	ns=$(node_ns b "$n")
	node_up b "$n"
	sh_do "$BH_VXLAN in $ns" ip -n "$ns" link add "$BH_VXLAN" type vxlan external \
		dstport $VXLAN_PORT nolearning
	ip -n "$ns" link set "$BH_VXLAN" addrgenmode none up
	sh_do "load the datapath under $(root "$n")" dp "$n" load
	sh_do "attach the overlay program in $ns" dp "$n" attach-overlay "$BH_VXLAN"
	ifindex=$(ip -n "$ns" -j link show "$BH_VXLAN" | jq '.[0].ifindex')
	sh_do "config of node $n" dp "$n" config "tunnel=$ifindex" "node=$(ul_ip b "$n")"
}

# ref_node_up N: baseline node N: a plain VXLAN device (VNI 42, the same
# port, no learning, no IPv6 link-local address) with a fixed MAC, and
# nothing else yet.
ref_mac() { echo "02:00:00:00:94:0$1"; }
ref_node_up() {
	local n=$1 ns
	ns=$(node_ns r "$n")
	node_up r "$n"
	sh_do "vx in $ns" ip -n "$ns" link add vx address "$(ref_mac "$n")" type vxlan \
		id $VNI_REF local "$(ul_ip r "$n")" dev ul0 dstport $VXLAN_PORT nolearning
	ip -n "$ns" link set vx addrgenmode none up
}

# ref_peer N M: baseline node N reaches node M's pods (10.97.M.0/24)
# through vx: route via M's tunnel address, its MAC fixed in the neighbour
# table, the MAC's VTEP fixed in the fdb. No ARP, no flooding.
ref_peer() {
	local n=$1 m=$2 ns
	ns=$(node_ns r "$n")
	sh_do "neighbour on $ns" ip -n "$ns" neigh add "10.97.255.$m" lladdr "$(ref_mac "$m")" \
		dev vx nud permanent
	sh_do "fdb on $ns" in_node r "$n" bridge fdb add "$(ref_mac "$m")" dev vx \
		dst "$(ul_ip r "$m")" self permanent
	sh_do "route on $ns" ip -n "$ns" route add "10.97.$m.0/24" via "10.97.255.$m" \
		dev vx onlink
}

bh_node_up 1
bh_node_up 2
ref_node_up 1
ref_node_up 2
ref_peer 1 2
ref_peer 2 1
dp 1 tunnel-set "$(ul_ip b 2)" >/dev/null
dp 2 tunnel-set "$(ul_ip b 1)" >/dev/null

# ---- the pods -------------------------------------------------------------------

# A pod of either setup gets many short connections from one client: every
# port, and no TIME_WAIT. A CRR run closes thousands of connections a
# second, and their 60 s TIME_WAIT timers would all fire in the middle of
# a later run, of either setup.
pod_tune() {
	ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_max_tw_buckets=0
}

# bh_pod N NAME: a pod on bulkhead node N, wired by the plugin as a
# runtime would (run in the node); prints its address.
bh_pod() {
	local n=$1 pod=$2 out
	cat >"$WORK/conf-n$n.json" <<JSON
{
  "cniVersion": "1.0.0", "name": "benchov", "type": "bulkhead", "mtu": $MTU,
  "stateDir": "$WORK/state-n$n", "logFile": "$WORK/bulkhead-n$n.log", "bpffsRoot": "$(root "$n")",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.96.$n.0/24" }
}
JSON
	ip netns add "$PFX$pod"
	out=$(in_node b "$n" timeout --foreground 30 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		CNI_COMMAND=ADD CNI_CONTAINERID="$PFX-$pod" CNI_NETNS="/run/netns/$PFX$pod" \
		CNI_IFNAME=eth0 CNI_PATH="$BUILD" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$pod" \
		"$PLUGIN" <"$WORK/conf-n$n.json") || failed $? "ADD $pod on bulkhead node $n failed: $out"
	pod_tune "$PFX$pod"
	jq -r '.ips[0].address | split("/")[0]' <<<"$out"
}

# ref_pod N NAME: a pod on baseline node N at 10.97.N.2, on a veth pair
# of the same MTU; the node's side answers as its gateway 10.97.N.1.
ref_pod() {
	local n=$1 pod=$2 ns
	ns=$(node_ns r "$n")
	ip netns add "$PFX$pod"
	sh_do "veth of $pod" ip -n "$ns" link add "v$pod" mtu $MTU type veth \
		peer name eth0 mtu $MTU netns "$PFX$pod"
	ip -n "$ns" addr add "10.97.$n.1/32" dev "v$pod"
	ip -n "$ns" link set "v$pod" up
	ip -n "$ns" route add "10.97.$n.2/32" dev "v$pod" scope link
	ip -n "$PFX$pod" link set lo up
	ip -n "$PFX$pod" addr add "10.97.$n.2/32" dev eth0
	ip -n "$PFX$pod" link set eth0 up
	ip -n "$PFX$pod" route add "10.97.$n.1/32" dev eth0 scope link
	ip -n "$PFX$pod" route add default via "10.97.$n.1" dev eth0
	pod_tune "$PFX$pod"
	echo "10.97.$n.2"
}

IP_BA=$(bh_pod 1 ba)	# the client, bulkhead node 1
IP_BB=$(bh_pod 2 bb)	# the server, bulkhead node 2
ref_pod 1 ra >/dev/null	# the client, 10.97.1.2
IP_RB=$(ref_pod 2 rb)
got=$(ip -n "${PFX}ba" -j link show eth0 | jq '.[0].mtu')
[ "$got" = "$MTU" ] || die "bulkhead's pod has MTU $got, not $MTU"

# What policyd will do: identities for the two pods, their addresses in
# the other node's ipcache behind that node, policy enforced both ways on
# both pods, and the rules that allow the benchmark's flow: the client's
# egress to the server's port on node 1, the server's ingress from the
# client's identity (the VNI) on node 2. Every new connection is judged on
# both nodes.
dp 1 ep-set "$IP_BA" id=$ID_CLIENT flags=egress,ingress >/dev/null
dp 2 ep-set "$IP_BB" id=$ID_SERVER flags=egress,ingress >/dev/null
dp 1 ipcache-set 10.96.2.0/24 id=0 "tunnel=$(ul_ip b 2)" >/dev/null
dp 1 ipcache-set "$IP_BB/32" id=$ID_SERVER "tunnel=$(ul_ip b 2)" >/dev/null
dp 2 ipcache-set 10.96.1.0/24 id=0 "tunnel=$(ul_ip b 1)" >/dev/null
dp 2 ipcache-set "$IP_BA/32" id=$ID_CLIENT "tunnel=$(ul_ip b 1)" >/dev/null
dp 1 rule-add dir=egress local=$ID_CLIENT remote=$ID_SERVER proto=tcp port=$PORT rule=1 >/dev/null
dp 2 rule-add dir=ingress local=$ID_SERVER remote=$ID_CLIENT proto=tcp port=$PORT rule=2 >/dev/null

# serve POD PORT CPU: an rrbench server in the pod, pinned; returns once it
# listens.
serve() {
	local ready="$WORK/ready.$1.$2" i
	ip netns exec "$PFX$1" taskset -c "$3" "$RRBENCH" serve "$2" --ready-file "$ready" &
	PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do [ -e "$ready" ] && return 0; sleep 0.05; done
	die "rrbench server in pod $1 on port $2 did not start"
}
serve bb $PORT $CPU_TRAFFIC
serve rb $PORT $CPU_TRAFFIC

# measure SUBJECT MODE SECONDS: one rrbench client run, b(ulkhead) or
# r(eference); prints its line.
measure() {
	local ns ip
	case $1 in
	b) ns=${PFX}ba ip=$IP_BB ;;
	r) ns=${PFX}ra ip=$IP_RB ;;
	esac
	timeout --foreground $(($3 + 30)) ip netns exec "$ns" taskset -c $CPU_TRAFFIC "$RRBENCH" "$2" "$ip" $PORT \
		--seconds "$3" || failed $? "rrbench $2 from pod $ns to $ip:$PORT failed (see above)"
}

# record SUBJECT LINE: the line's figures as "SUBJECT NAME VALUE".
record() {
	awk -v s="$1" '{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "rate") print s, $1, kv[2]
			else if (kv[1] ~ /^p[0-9]+_us$/) print s, $1 "_" kv[1], kv[2]
		}
	}' <<<"$2" >>"$WORK/results.txt"
}

# tx_packets S N DEV: packets DEV on node N of setup S has sent.
tx_packets() { ip -n "$(node_ns "$1" "$2")" -j -s link show "$3" | jq '.[0].stats64.tx.packets'; }
# bh_count N VERDICT REASON DIR: bulkhead node N's counter.
bh_count() {
	dp "$1" counters | awk -v v="$2" -v r="$3" -v d="$4" \
		'$1 == v && $2 == r && $3 == d { n += $4 } END { print n + 0 }'
}

# Before any figure: both setups carry the flow through their tunnels,
# bulkhead's connections are allowed by policy on both nodes (not merely
# unpoliced), and the baseline runs no BPF.
measure b crr 1 >/dev/null
measure r crr 1 >/dev/null
for s in b r; do
	dev=$([ "$s" = b ] && echo "$BH_VXLAN" || echo vx)
	for n in 1 2; do
		[ "$(tx_packets "$s" "$n" "$dev")" -gt 100 ] ||
			die "$dev on node $(node_ns "$s" "$n") sent almost nothing: the flow is not tunnelled"
	done
done
[ "$(bh_count 1 allow allow_policy egress)" -gt 100 ] ||
	die "node 1 did not allow the client's connections by policy: $(dp 1 counters | paste -sd';')"
[ "$(bh_count 2 allow allow_policy ingress)" -gt 100 ] ||
	die "node 2 did not allow the client's connections by policy: $(dp 2 counters | paste -sd';')"
for n in 1 2; do
	for dev in vx ul0 vra vrb; do
		ip -n "$(node_ns r "$n")" link show "$dev" >/dev/null 2>&1 || continue
		! tc -n "$(node_ns r "$n")" filter show dev "$dev" ingress | grep -q bpf ||
			die "the baseline's $dev on node $n runs BPF"
	done
done

# ---- the runs -------------------------------------------------------------------

for ((run = 1; run <= RUNS; run++)); do
	for mode in stream rr crr; do
		# A B, then B A on the next run: order effects fall on both.
		if [ $((run % 2)) = 1 ]; then order="b r"; else order="r b"; fi
		for s in $order; do
			line=$(measure "$s" "$mode" "$SECS") || exit $?
			record "$s" "$line"
		done
	done
done

# ---- the table --------------------------------------------------------------------

echo "Overlay: kernel $(uname -r), $(nproc) CPUs"
echo "Cross-node pod-to-pod TCP over VXLAN: bulkhead (external-mode $BH_VXLAN, VNI = the client's"
echo "identity, policy enforced both ways: egress rule on node 1, ingress rule on node 2 by the VNI)"
echo "vs plain kernel VXLAN (VNI $VNI_REF, static fdb/neighbour/routes, veth pods, no BPF). Two node"
echo "namespaces per setup on a bridge each in one fabric namespace; underlay MTU $UL_MTU, pod MTU $MTU."
echo "$RUNS runs each, interleaved, $SECS s per run (after 0.2 s warm-up); median (min-max)."
echo "Client (node 1) and server (node 2) are in different node namespaces but one kernel: both"
echo "pinned to CPU $CPU_TRAFFIC (taskset -c $CPU_TRAFFIC), as in the same-node part. RR and CRR: 1-byte request"
echo "and answer; CRR: a connection per request. Stream: 128 KiB writes."
LC_ALL=C awk -v smin="$STREAM_MIN_RATIO" -v rmin="$RR_MIN_RATIO" -v cmin="$CRR_MIN_RATIO" \
	-v GE="≥" -v X="×" -v D="–" '
# pad counts characters, not the bytes of ≥, ×, – and µ.
function pad(s, w,   t, n) {
	t = s; n = length(s) - gsub(/[\200-\277]/, "", t)
	while (n++ < w) s = s " "
	return s
}
function stats(key, out,   n, i, j, t, v) {
	n = split(vals[key], v, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
		t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
	}
	out["min"] = v[1]; out["max"] = v[n]
	out["med"] = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	return n
}
function cell(st, dec) {
	return sprintf("%." dec "f (%." dec "f" D "%." dec "f)", st["med"], st["min"], st["max"])
}
function row(label, fig, dec, min_ratio,   b, r, ratio, target, verdict) {
	if (!stats("b " fig, b) || !stats("r " fig, r)) return
	ratio = b["med"] / r["med"]
	target = "-"; verdict = "-"
	if (min_ratio != "") {
		target = GE sprintf("%.2f", min_ratio) X
		verdict = ratio >= min_ratio + 0 ? "met" : "missed"
	}
	printf "%s%s%s%s%s%s\n", pad(label, 22), pad(cell(b, dec), 24), pad(cell(r, dec), 24),
		pad(sprintf("%.3f", ratio) X, 8), pad(target, 9), verdict
}
{ vals[$1 " " $2] = vals[$1 " " $2] " " $3 }
END {
	printf "%s%s%s%s%s%s\n", pad("figure", 22), pad("bulkhead", 24), pad("kernel VXLAN", 24),
		pad("ratio", 8), pad("target", 9), "verdict"
	row("stream, Gbit/s", "stream", 2, smin)
	row("RR, trans/s", "rr", 0, rmin)
	row("RR p50 latency, " "\302\265" "s", "rr_p50_us", 1, "")
	row("RR p99 latency, " "\302\265" "s", "rr_p99_us", 1, "")
	row("CRR, conn/s", "crr", 0, cmin)
	row("CRR p50 latency, " "\302\265" "s", "crr_p50_us", 1, "")
	row("CRR p99 latency, " "\302\265" "s", "crr_p99_us", 1, "")
}' "$WORK/results.txt"
echo "note: ratio = bulkhead median / kernel VXLAN median (for latencies, lower is better). Both"
echo "      VXLAN devices and all veths keep the kernel's default offloads; no outer UDP checksum"
echo "      on either. The bulkhead nodes run the datapath's default config, with nobody reading"
echo "      the event ring (as while policyd is down)."
[ "$QUICK" = 1 ] && echo "note: QUICK=1: fewer and shorter runs than the targets are meant for."
exit 0
