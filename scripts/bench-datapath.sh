#!/usr/bin/env bash
# Bench part: the datapath.
#  1. Cost per packet of the real programs through BPF_PROG_TEST_RUN, next
#     to a no-op TC program timed the same way in the same run (pktbench).
#  2. Same-node pod-to-pod TCP: stream throughput, request/response rate
#     with p50/p99 latency, connection rate. Two pods wired by bulkhead
#     with a policy enforced both ways, against two pods wired by Debian's
#     ptp + host-local (kernel routing, no BPF), interleaved run by run
#     (rrbench).
#  3. Connection and request/response rate with 0 to 10,000 policy rules,
#     against as many iptables rules in the reference node's FORWARD chain.
# Everything runs in per-run "node" and pod namespaces and a per-run bpffs
# root, all removed on exit (success, failure or Ctrl-C); the machine's own
# namespace is never touched. QUICK=1 runs fewer and shorter rounds. Exit 0
# when the measurement ran, whatever the verdicts; non-zero only when it
# could not run.
set -euo pipefail

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
PLUGIN=$BUILD/bulkhead
BHDP=$BUILD/tests/tools/bhdp
PKTBENCH=$BUILD/tests/tools/pktbench
RRBENCH=$BUILD/tests/tools/rrbench
NOOP=$BUILD/tests/bpf/noop.bpf.o
REF_DIR=/usr/lib/cni

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	PKT_ARGS=(--rounds 2 --batches 100 --flows 1000)
	RUNS=2 SECS=1		# part 2: runs per plugin and figure, seconds per run
	RULE_RUNS=1 RULE_SECS=1	# part 3
else
	PKT_ARGS=(--rounds 5 --batches 300 --flows 3000)
	RUNS=3 SECS=3
	RULE_RUNS=7 RULE_SECS=1
fi
RULE_COUNTS=(0 10 100 1000 10000)
# Targets. Part 1: ns above the no-op floor. Part 2: bulkhead / reference,
# at least. Part 3: bulkhead within this many percent of its 0-rule rate.
EST_MAX_NS=40
NEW_MAX_NS=120
STREAM_MIN_RATIO=1.00
RR_MIN_RATIO=1.10
CRR_MIN_RATIO=1.00
FLAT_MAX_PCT=3

# The benchmark flow: identities, the server's port, and the one CPU that
# runs client and server (a wakeup across CPUs costs tens of microseconds
# on a VM and makes the stream swing by a third from run to run).
ID_CLIENT=1000
ID_SERVER=1001
PORT=5201
CPU_TRAFFIC=0
CPU_PKT=$(($(nproc) - 1))
MTU=1450

PFX="bhd$$x"
NODE_B=${PFX}nb		# the bulkhead node
NODE_R=${PFX}nr		# the reference node
BPFFS=/sys/fs/bpf/$PFX
BPFFS_PKT=/sys/fs/bpf/${PFX}pkt
WORK=
PIDS=()

die() { echo "bench-datapath: $*" >&2; exit 1; }
# failed RC WHAT: a step failed; interrupted (status 130, Ctrl-C) is not an
# error to report but a reason to stop.
failed() { [ "$1" -ne 130 ] || exit 130; die "$2"; }

cleanup() {
	local pid ns root
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	# Pods first, then the nodes: host veths go with them, and with the
	# veths the programs attached to them.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$NODE_B" | "$NODE_R") ;; "$PFX"*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	for ns in "$NODE_B" "$NODE_R"; do ip netns del "$ns" 2>/dev/null || true; done
	for root in "$BPFFS" "$BPFFS_PKT"; do
		if [ -e "$root" ]; then
			"$BHDP" "$root" unload >/dev/null 2>&1 || true
			rm -rf "$root"
		fi
	done
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'echo "bench-datapath: interrupted" >&2; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
for f in "$PLUGIN" "$BHDP" "$PKTBENCH" "$RRBENCH"; do
	[ -x "$f" ] || die "$f is missing: run make bench"
done
[ -f "$NOOP" ] || die "$NOOP is missing: run make bench"
if [ ! -x "$REF_DIR/ptp" ] || [ ! -x "$REF_DIR/host-local" ]; then
	die "reference plugins missing from $REF_DIR: apt-get install containernetworking-plugins"
fi
command -v iptables-restore >/dev/null || die "iptables-restore missing: apt-get install iptables"

WORK=$(mktemp -d /tmp/bulkhead-bench-dp.XXXXXX)

# in_node NODE CMD...: CMD in a node's network namespace. nsenter, not
# `ip netns exec`: that mounts a /sys of its own, hiding /sys/fs/bpf.
in_node() { local n=$1; shift; nsenter --net="/run/netns/$n" "$@"; }
bhdp() { in_node "$NODE_B" "$BHDP" "$BPFFS" "$@"; }

# ---- part 1: cost per packet ----------------------------------------------

taskset -c "$CPU_PKT" timeout --foreground 120 "$PKTBENCH" run "$BPFFS_PKT" "$NOOP" "${PKT_ARGS[@]}" \
	>"$WORK/pkt.txt" || failed $? "pktbench failed (see above)"

# Byte-wise awk (LC_ALL=C) for the tables; pad() counts characters, not the
# bytes of ≤, ≥, ×, – and µ.
AWK_PAD='
function pad(s, w,   t, n) {
	t = s; n = length(s) - gsub(/[\200-\277]/, "", t)
	while (n++ < w) s = s " "
	return s
}'

pkt_table() {
	LC_ALL=C awk -v est="$EST_MAX_NS" -v new="$NEW_MAX_NS" -v LE="≤" "$AWK_PAD"'
	/^cpu=/ { split($0, kv, /[ =]/); cpu = kv[2] }
	/^policy / { sub(/rules=/, "", $2); rules = $2
		while (rules ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", rules) }
	$1 == "figure" {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); f[$2, kv[1]] = kv[2] }
	}
	function row(name, label, max,   d, target, verdict) {
		if (!((name, "diff") in f)) return
		d = f[name, "diff"]
		if (max == "") { target = "-"; verdict = "-" }
		else { target = LE "+" max " ns"; verdict = d <= max + 0 ? "met" : "missed" }
		printf "%s%s%s%s%s%s\n", pad(label, 36), pad(sprintf("%.0f ns", f[name, "bh"]), 11),
			pad(sprintf("%.0f ns", f[name, "noop"]), 8),
			pad(sprintf("%+.0f ns (%+.0f to %+.0f)", d, f[name, "diff_min"], f[name, "diff_max"]), 36),
			pad(target, 11), verdict
	}
	END {
		printf "Cost per packet: BPF_PROG_TEST_RUN, the kernel'"'"'s duration per run, pinned to CPU %s,\n", cpu
		print "each run next to a no-op TC program on the same packet (the floor); median over all"
		print "runs, the range over rounds in brackets."
		printf "%s%s%s%s%s%s\n", pad("figure", 36), pad("bulkhead", 11), pad("no-op", 8),
			pad("above floor (rounds)", 36), pad("target", 11), "verdict"
		row("est_local", "established, pod to pod here", est)
		row("est_remote", "established, pod to off-node", est)
		row("new_local", "new flow, pod to pod here", new)
		row("new_remote", "new flow, pod to off-node", new)
		row("new_local_rules", sprintf("new flow, pod to pod, %s rules", rules), new)
		row("new_local_reported", "new flow, pod to pod, event read", "")
		row("denied_local", "denied, pod to pod (no rule)", "")
		printf "note: established flows and denied packets run in batches of %s repeats (kernel mean per\n", f["est_local", "repeat"]
		print "      run); a new flow is one run of a packet with a source port of its own, whose"
		print "      conntrack entry is verified and deleted afterwards (untimed); the floor is timed the"
		print "      same way, so batch and single-run floors differ. Default config: the event budget"
		print "      is spent, so allowed new flows and drops are counted, not written; \"event read\" gives"
		print "      every new flow an event and drains the ring buffer between runs."
	}' "$WORK/pkt.txt"
}

# ---- the nodes and pods ------------------------------------------------------

cat >"$WORK/bulkhead.json" <<JSON
{
  "cniVersion": "1.0.0", "name": "benchdp", "type": "bulkhead", "mtu": $MTU,
  "stateDir": "$WORK/state", "logFile": "$WORK/bulkhead.log", "bpffsRoot": "$BPFFS",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.98.1.0/24" }
}
JSON
cat >"$WORK/reference.json" <<JSON
{
  "cniVersion": "1.0.0", "name": "benchdpref", "type": "ptp", "mtu": $MTU,
  "ipam": { "type": "host-local", "subnet": "10.98.2.0/24", "dataDir": "$WORK/host-local" }
}
JSON

# add NODE PLUGIN NETCONF POD: ADD as a runtime would, run in the node;
# prints the pod's address.
add() {
	local node=$1 plugin=$2 conf=$3 pod=$4 out
	ip netns add "$PFX$pod"
	out=$(in_node "$node" timeout --foreground 30 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		CNI_COMMAND=ADD CNI_CONTAINERID="$PFX-$pod" CNI_NETNS="/run/netns/$PFX$pod" \
		CNI_IFNAME=eth0 CNI_PATH="$BUILD:$REF_DIR" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$pod" \
		"$plugin" <"$conf") || failed $? "ADD $pod with $plugin failed: $out"
	jq -r '.ips[0].address | split("/")[0]' <<<"$out"
	# Many short connections from one client: every port, and no
	# TIME_WAIT. A CRR run closes ~30,000 connections a second, and their
	# 60 s TIME_WAIT timers would all fire in the middle of a later run,
	# of either setup.
	ip netns exec "$PFX$pod" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_max_tw_buckets=0
}

# serve POD PORT CPU: an rrbench server in the pod, pinned; returns once it
# listens.
serve() {
	local ready="$WORK/ready.$1.$2" i
	ip netns exec "$PFX$1" taskset -c "$3" "$RRBENCH" serve "$2" --ready-file "$ready" &
	PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do [ -e "$ready" ] && return 0; sleep 0.05; done
	die "rrbench server in pod $1 on port $2 did not start"
}

for n in "$NODE_B" "$NODE_R"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
out=$(bhdp load 2>&1) || die "load the datapath under $BPFFS: $out"
IP_BA=$(add "$NODE_B" "$PLUGIN" "$WORK/bulkhead.json" ba)
IP_BB=$(add "$NODE_B" "$PLUGIN" "$WORK/bulkhead.json" bb)
IP_RA=$(add "$NODE_R" "$REF_DIR/ptp" "$WORK/reference.json" ra)
IP_RB=$(add "$NODE_R" "$REF_DIR/ptp" "$WORK/reference.json" rb)
# What policyd will do: identities for the two pods, a policy selecting
# both in both directions, and the rules that allow the benchmark's ports.
bhdp ep-set "$IP_BA" id=$ID_CLIENT flags=egress,ingress >/dev/null
bhdp ep-set "$IP_BB" id=$ID_SERVER flags=egress,ingress >/dev/null
# bh_rules N: N filler rules in the bulkhead node's policy map, besides
# the allows of the benchmark's flow. Rule writers run on the CPU the
# traffic does not use, so the memory they free later (RCU) is freed there.
bh_rules() {
	taskset -c "$CPU_PKT" "$PKTBENCH" rules "$BPFFS" "$1" $ID_CLIENT $ID_SERVER $PORT \
		>/dev/null || die "could not write $1 rules"
}
# ref_rules N: N iptables rules that match nothing of the benchmark's,
# then an ACCEPT, in the reference node's FORWARD chain (N = 0: no
# iptables rules at all, plain routing).
ref_rules() {
	local n=$1
	{
		echo "*filter"
		echo ":INPUT ACCEPT [0:0]"
		echo ":FORWARD ACCEPT [0:0]"
		echo ":OUTPUT ACCEPT [0:0]"
		# Addresses in 10.250/16 are nobody's; ports vary.
		awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) {
			a = sprintf("10.250.%d.%d", int(i / 250) % 250, i % 250 + 1)
			p = 1 + (i * 7919) % 65535
			if (i % 2) printf "-A FORWARD -d %s/32 -p udp --dport %d -j DROP\n", a, p
			else printf "-A FORWARD -s %s/32 -p tcp --dport %d -j DROP\n", a, p
		} }'
		[ "$n" -eq 0 ] || echo "-A FORWARD -j ACCEPT"
		echo "COMMIT"
	} >"$WORK/iptables.rules"
	ip netns exec "$NODE_R" taskset -c "$CPU_PKT" iptables-restore <"$WORK/iptables.rules" ||
		die "iptables-restore of $n rules in $NODE_R failed"
}
rules() { bh_rules "$1" && ref_rules "$1"; }
# accepted: packets the reference node's FORWARD ACCEPT rule counted.
accepted() {
	ip netns exec "$NODE_R" iptables -L FORWARD -v -n -x |
		awk '$3 == "ACCEPT" { n = $1 } END { print n + 0 }'
}
rules 0
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

# record TAG SUBJECT LINE: the line's figures as "TAG SUBJECT NAME VALUE".
record() {
	awk -v tag="$1" -v s="$2" '{
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "rate") print tag, s, $1, kv[2]
			else if (kv[1] ~ /^p[0-9]+_us$/) print tag, s, $1 "_" kv[1], kv[2]
		}
	}' <<<"$3" >>"$WORK/results.txt"
}

# run_one TAG SUBJECT MODE SECONDS: measures and records.
run_one() {
	local line
	line=$(measure "$2" "$3" "$4") || exit $?
	record "$1" "$2" "$line"
}

# Before any figure: both nodes carry the flow, and bulkhead's packets are
# allowed by its policy (not merely unpoliced).
run_one check b rr 1
run_one check r rr 1
bhdp counters >"$WORK/counters.txt"
grep -q '^allow allow_policy ' "$WORK/counters.txt" ||
	die "bulkhead's traffic was not allowed by a policy rule: $(paste -sd';' "$WORK/counters.txt")"

# ---- part 2: pod to pod ------------------------------------------------------

for ((run = 1; run <= RUNS; run++)); do
	for mode in stream rr crr; do
		# A B, then B A on the next run: order effects fall on both.
		if [ $((run % 2)) = 1 ]; then order="b r"; else order="r b"; fi
		for s in $order; do run_one tcp "$s" "$mode" "$SECS"; done
	done
done

# ---- part 3: rules -----------------------------------------------------------

# measure_rules N MODE RUN: bulkhead and the reference with N rules, and
# bulkhead with 0 rules in a run right next to its run with N (before it
# on odd runs, after it on even ones). The machine drifts by several
# percent over tens of seconds; the pair's ratio does not, so it is what
# says whether the rules cost anything.
measure_rules() {
	local n=$1 mode=$2 run=$3 s
	if [ "$n" -eq 0 ]; then
		bh_rules 0
		for s in $([ $((run % 2)) = 1 ] && echo b r || echo r b); do
			run_one rules0 "$s" "$mode" "$RULE_SECS"
		done
	elif [ $((run % 2)) = 1 ]; then
		bh_rules 0
		run_one "ctl$n" b "$mode" "$RULE_SECS"
		bh_rules "$n"
		run_one "rules$n" b "$mode" "$RULE_SECS"
		run_one "rules$n" r "$mode" "$RULE_SECS"
	else
		run_one "rules$n" r "$mode" "$RULE_SECS"
		bh_rules "$n"
		run_one "rules$n" b "$mode" "$RULE_SECS"
		bh_rules 0
		run_one "ctl$n" b "$mode" "$RULE_SECS"
	fi
}

for ((run = 1; run <= RULE_RUNS; run++)); do
	for n in "${RULE_COUNTS[@]}"; do
		ref_rules "$n"
		for mode in crr rr; do measure_rules "$n" "$mode" "$run"; done
		# The reference's rules were on the packets' path: the ACCEPT
		# after them counted the packets.
		[ "$n" -eq 0 ] || [ "$(accepted)" -gt 0 ] ||
			die "the reference node's FORWARD ACCEPT rule counted no packets with $n rules"
	done
done

# ---- the tables ---------------------------------------------------------------

echo "Datapath: kernel $(uname -r), $(nproc) CPUs"
echo
pkt_table
echo
echo "Same-node pod-to-pod TCP, bulkhead (policy enforced both ways) vs ptp+host-local (kernel"
echo "routing, no BPF): $RUNS runs each, interleaved, $SECS s per run (after 0.2 s warm-up); median (min-max)."
echo "Client and server both pinned to CPU $CPU_TRAFFIC (taskset -c $CPU_TRAFFIC). RR and CRR: 1-byte request"
echo "and answer; CRR: a connection per request. Stream: 128 KiB writes. MTU $MTU on both."
LC_ALL=C awk -v smin="$STREAM_MIN_RATIO" -v rmin="$RR_MIN_RATIO" -v cmin="$CRR_MIN_RATIO" \
	-v GE="≥" -v X="×" -v D="–" "$AWK_PAD"'
function stats(key, out,   n, i, j, t, v) {
	n = split(vals[key], v, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
		t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
	}
	out["min"] = v[1]; out["max"] = v[n]
	out["med"] = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	return n
}
function fmt(x, unit, dec) { return sprintf("%." dec "f", x) }
function row(label, fig, unit, dec, min_ratio, lower_better,   b, r, ratio, target, verdict) {
	if (!stats("b " fig, b) || !stats("r " fig, r)) return
	ratio = b["med"] / r["med"]
	target = "-"; verdict = "-"
	if (min_ratio != "") {
		target = GE sprintf("%.3f", min_ratio) X
		verdict = ratio >= min_ratio + 0 ? "met" : "missed"
	}
	printf "%s%s%s%s%s%s\n", pad(label, 22),
		pad(fmt(b["med"], unit, dec) " (" fmt(b["min"], unit, dec) D fmt(b["max"], unit, dec) ")", 24),
		pad(fmt(r["med"], unit, dec) " (" fmt(r["min"], unit, dec) D fmt(r["max"], unit, dec) ")", 24),
		pad(sprintf("%.3f", ratio) X, 8), pad(target, 9), verdict
}
$1 == "tcp" { vals[$2 " " $3] = vals[$2 " " $3] " " $4 }
END {
	printf "%s%s%s%s%s%s\n", pad("figure", 22), pad("bulkhead", 24), pad("reference", 24),
		pad("ratio", 8), pad("target", 9), "verdict"
	row("stream, Gbit/s", "stream", "", 2, smin)
	row("RR, trans/s", "rr", "", 0, rmin)
	row("RR p50 latency, " "\302\265" "s", "rr_p50_us", "", 1, "")
	row("RR p99 latency, " "\302\265" "s", "rr_p99_us", "", 1, "")
	row("CRR, conn/s", "crr", "", 0, cmin)
	row("CRR p50 latency, " "\302\265" "s", "crr_p50_us", "", 1, "")
	row("CRR p99 latency, " "\302\265" "s", "crr_p99_us", "", 1, "")
}' "$WORK/results.txt"
echo "note: the bulkhead node runs the datapath's default config, with nobody reading the event"
echo "      ring (as while policyd is down). One CPU for everything: a wakeup across CPUs costs tens"
echo "      of microseconds on a VM."
echo
echo "Connection and request/response rate against the number of rules: bulkhead's policy map"
echo "(N rules for other identities and ports, plus the allows for the flow) vs the reference"
echo "node's FORWARD chain (N iptables-nft rules that match nothing of the flow's, then ACCEPT;"
echo "none at 0). Median of $RULE_RUNS run(s) of $RULE_SECS s, interleaved, on CPU $CPU_TRAFFIC as above;"
echo "\"change\": bulkhead at N rules against bulkhead at 0 rules in a run right next to it."
LC_ALL=C awk -v flat="$FLAT_MAX_PCT" -v X="×" -v PM="±" "$AWK_PAD"'
function med(list,   n, i, j, t, v) {
	n = split(list, v, " ")
	if (!n) return ""
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
		t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function comma(n,   s) {
	s = sprintf("%d", n)
	while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
	return s
}
# change(N, FIG): median over runs of the paired ratio, in percent.
function change(n, fig,   k, i, a, c, r) {
	k = split(vals["rules" n " b " fig], a, " ")
	if (split(vals["ctl" n " b " fig], c, " ") != k || !k) return ""
	r = ""
	for (i = 1; i <= k; i++) r = r " " (a[i] / c[i] - 1) * 100
	return med(r)
}
$1 ~ /^rules[0-9]+$/ { n = substr($1, 6); if (!(n in seen)) { seen[n] = 1; counts[++nc] = n } }
$1 ~ /^(rules|ctl)[0-9]+$/ { vals[$1 " " $2 " " $3] = vals[$1 " " $2 " " $3] " " $4 }
function cell(n, fig,   c) {
	c = change(n, fig)
	return c == "" ? "-" : sprintf("%+.1f%%", c)
}
function worst(fig,   i, c, w) {
	w = 0
	for (i = 1; i <= nc; i++) {
		c = change(counts[i], fig)
		if (c != "" && c * c > w * w) w = c
	}
	return w
}
function verdict_row(label, fig,   w) {
	w = worst(fig)
	printf "%s%s%s%s\n", pad(label, 40), pad(sprintf("%+.1f%%", w), 12),
		pad("within " PM flat "%", 13), (w <= flat && w >= -flat) ? "met" : "missed"
}
END {
	printf "%s%s%s%s%s%s%s%s%s\n", pad("rules", 8), pad("bulkhead conn/s", 17), pad("change", 9),
		pad("reference", 11), pad("ratio", 8), pad("bulkhead RR/s", 15), pad("change", 9),
		pad("reference", 11), "ratio"
	for (i = 1; i <= nc; i++) {
		n = counts[i]
		bc = med(vals["rules" n " b crr"]); rc = med(vals["rules" n " r crr"])
		br = med(vals["rules" n " b rr"]); rr = med(vals["rules" n " r rr"])
		printf "%s%s%s%s%s%s%s%s%s\n", pad(comma(n), 8), pad(sprintf("%.0f", bc), 17),
			pad(cell(n, "crr"), 9), pad(sprintf("%.0f", rc), 11), pad(sprintf("%.2f", bc / rc) X, 8),
			pad(sprintf("%.0f", br), 15), pad(cell(n, "rr"), 9), pad(sprintf("%.0f", rr), 11),
			sprintf("%.2f", br / rr) X
	}
	printf "%s%s%s%s\n", pad("figure", 40), pad("worst", 12), pad("target", 13), "verdict"
	verdict_row("bulkhead conn/s, " comma(counts[1]) " to " comma(counts[nc]) " rules", "crr")
	verdict_row("bulkhead RR/s, " comma(counts[1]) " to " comma(counts[nc]) " rules", "rr")
}' "$WORK/results.txt"
echo "note: \"worst\" is the largest change of any rule count."
[ "$QUICK" = 1 ] && echo "note: QUICK=1: fewer and shorter runs than the targets are meant for."
exit 0
