#!/usr/bin/env bash
# Bench part: CNI ADD/DEL latency, bulkhead against Debian's ptp + host-local.
# Both are timed in the same run, interleaved pod by pod, in a per-run "node"
# namespace with pod namespaces, all removed on exit (success, failure or
# Ctrl-C). Exit 0 when the measurement ran, whatever the verdicts; non-zero
# only when it could not run.
set -euo pipefail

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
PLUGIN=$BUILD/bulkhead
DRIVER=$BUILD/tests/tools/cnibench
BHDP=$BUILD/tests/tools/bhdp
REF_DIR=/usr/lib/cni
REF_PLUGIN=$REF_DIR/ptp
PODS=${BENCH_PODS:-200}
# Targets: ADD p50 at most 3 ms and at most 0.4x the reference; DEL p50 no
# slower than the reference.
ADD_P50_MAX_MS=3
ADD_P50_MAX_RATIO=0.40
DEL_P50_MAX_RATIO=1.00

PFX="bhb$$x"
NODE=${PFX}node
BPFFS=/sys/fs/bpf/$PFX
WORK=

die() { echo "bench-cni: $*" >&2; exit 1; }

cleanup() {
	local ns batch
	# Pod namespaces first, then the node: host veth ends go with it.
	batch=$(mktemp /tmp/bulkhead-bench-clean.XXXXXX) || return 0
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$PFX"*) [ "$ns" = "$NODE" ] || echo "netns del $ns" ;; esac
	done >"$batch"
	# A file test, not a pipe into grep -q: under pipefail, grep leaving
	# early can fail the pipe and leak the node.
	[ -e "/run/netns/$NODE" ] && echo "netns del $NODE" >>"$batch"
	[ -s "$batch" ] && ip -force -batch "$batch" 2>/dev/null
	rm -f "$batch"
	if [ -e "$BPFFS" ]; then
		"$BHDP" "$BPFFS" unload >/dev/null 2>&1
		rm -rf "$BPFFS"
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'echo "bench-cni: interrupted" >&2; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "$PLUGIN" ] || die "$PLUGIN is missing: run make"
[ -x "$DRIVER" ] || die "$DRIVER is missing: run make bench"
[ -x "$BHDP" ] || die "$BHDP is missing: run make bench"
if [ ! -x "$REF_PLUGIN" ] || [ ! -x "$REF_DIR/host-local" ]; then
	die "reference plugins missing from $REF_DIR: apt-get install containernetworking-plugins"
fi
if ! [[ $PODS =~ ^[0-9]+$ ]] || [ "$PODS" -lt 1 ] || [ "$PODS" -gt 250 ]; then
	die "BENCH_PODS=$PODS: want 1..250 (each plugin's pods share one /24)"
fi

WORK=$(mktemp -d /tmp/bulkhead-bench.XXXXXX)

# Both plugins speak 1.0.0 (ptp 1.1.1 supports up to 1.0.0). Logging at
# info, bulkhead's default, as on a node.
cat >"$WORK/bulkhead.json" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "benchbh",
  "type": "bulkhead",
  "stateDir": "$WORK/state",
  "logFile": "$WORK/bulkhead.log",
  "logLevel": "info",
  "bpffsRoot": "$BPFFS",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.99.1.0/24" }
}
JSON
cat >"$WORK/reference.json" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "benchref",
  "type": "ptp",
  "ipam": { "type": "host-local", "subnet": "10.99.2.0/24", "dataDir": "$WORK/host-local" }
}
JSON

# Namespaces (not timed): the node, and PODS pods per plugin.
{
	echo "netns add $NODE"
	for ((i = 0; i < PODS; i++)); do
		echo "netns add ${PFX}b$i"
		echo "netns add ${PFX}r$i"
	done
} >"$WORK/netns.batch"
ip -batch "$WORK/netns.batch" >/dev/null || die "could not create the namespaces"
ip -n "$NODE" link set lo up
# The plugin attaches what the node's daemon pinned: load it first (not
# timed). nsenter, not `ip netns exec`, whose fresh /sys hides the bpffs.
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
in_node "$BHDP" "$BPFFS" load >/dev/null || die "could not load the datapath into $BPFFS"

# run_driver CMD: one interleaved pass over all pods; "LABEL POD US" lines.
run_driver() {
	in_node "$DRIVER" --command "$1" --count "$PODS" \
		--cni-path "$BUILD:$REF_DIR" --id-prefix "$PFX" \
		--plugin "$PLUGIN" --label bulkhead --netconf "$WORK/bulkhead.json" \
		--netns-prefix "/run/netns/${PFX}b" \
		--plugin "$REF_PLUGIN" --label reference --netconf "$WORK/reference.json" \
		--netns-prefix "/run/netns/${PFX}r"
}

run_driver ADD >"$WORK/add.txt" || die "ADD pass failed (see above)"
run_driver DEL >"$WORK/del.txt" || die "DEL pass failed (see above)"
# What merely starting a process costs here, for reading the figures.
in_node "$DRIVER" --command ADD --count 50 --cni-path /nonexistent \
	--plugin /bin/true --label floor --netconf "$WORK/bulkhead.json" \
	--netns-prefix /nonexistent >"$WORK/floor.txt" || die "spawn floor pass failed"

# pct FILE LABEL Q: the Q-th percentile (nearest rank) of LABEL's calls, in
# microseconds.
pct() {
	awk -v l="$2" '$1 == l { print $3 }' "$1" | sort -n |
		awk -v q="$3" '{ v[NR] = $1 }
			END { if (NR == 0) exit 1; r = int(q * NR); if (r < q * NR) r++;
			      if (r < 1) r = 1; print v[r] }'
}

# row NAME FILE Q MAX_MS MAX_RATIO: one table line; empty limits are no target.
row() {
	local name=$1 file=$2 q=$3 max_ms=$4 max_ratio=$5 b r
	b=$(pct "$file" bulkhead "$q") || die "no bulkhead samples in $file"
	r=$(pct "$file" reference "$q") || die "no reference samples in $file"
	# Byte-wise awk (LC_ALL=C) with the padding worked out by hand: the
	# table uses two multi-byte characters, ≤ (3 bytes) and × (2 bytes).
	LC_ALL=C awk -v name="$name" -v b="$b" -v r="$r" -v mms="$max_ms" -v mr="$max_ratio" \
		-v LE="≤" -v X="×" '
	function pad(s, w,   t, n) {
		t = s; n = length(s) - 2 * gsub(LE, "", t); t = s; n -= gsub(X, "", t)
		while (n++ < w) s = s " "
		return s
	}
	BEGIN {
		ratio = b / r; target = ""; verdict = "met"
		if (mms != "") { target = LE mms " ms"; if (b / 1000 > mms + 0) verdict = "missed" }
		if (mr != "") {
			target = target (target != "" ? ", " : "") LE sprintf("%.2f", mr) X
			if (ratio > mr + 0) verdict = "missed"
		}
		if (target == "") { target = "-"; verdict = "-" }
		printf "%s%s%s%s%s%s\n", pad(name, 14), pad(sprintf("%.2f ms", b / 1000), 11),
			pad(sprintf("%.2f ms", r / 1000), 12), pad(sprintf("%.2f", ratio) X, 8),
			pad(target, 17), verdict
	}'
}

echo "CNI ADD/DEL latency, $PODS pods each, interleaved (bulkhead vs ptp+host-local)"
echo "(wall time from spawn to exit of each plugin call, run in a node namespace on $(nproc) CPUs, kernel $(uname -r))"
printf '%-14s%-11s%-12s%-8s%-17s%s\n' figure bulkhead reference ratio target verdict
row "ADD p50" "$WORK/add.txt" 0.50 "$ADD_P50_MAX_MS" "$ADD_P50_MAX_RATIO"
row "ADD p95" "$WORK/add.txt" 0.95 "" ""
row "DEL p50" "$WORK/del.txt" 0.50 "" "$DEL_P50_MAX_RATIO"
row "DEL p95" "$WORK/del.txt" 0.95 "" ""
floor=$(pct "$WORK/floor.txt" floor 0.50) || die "no floor samples"
awk -v f="$floor" 'BEGIN { printf "note: spawning /bin/true the same way takes %.2f ms (p50); every figure includes it.\n", f / 1000 }'
echo "note: DEL deletes the veth pair in both plugins; the kernel's veth teardown"
echo "      is most of either DEL, so a DEL ratio near 1.0 is expected."
# Both plugins' DEL must have removed their veths: only lo is left.
left=$(ip -n "$NODE" -o link show | grep -vc ': lo:' || true)
[ "$left" -eq 0 ] || die "$left links left in the node namespace after DEL"
[ "$PODS" -ge 200 ] || echo "note: BENCH_PODS=$PODS is below the 200 the targets are meant for."
