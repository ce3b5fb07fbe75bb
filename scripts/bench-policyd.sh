#!/usr/bin/env bash
# Bench part: bulkhead-policyd against a real kube-apiserver.
#  1. Propagation: with 1,000 remote pods, 500 NetworkPolicies and 20 local
#     endpoints registered through the plugin, CHANGES API writes one at a
#     time (a policy's port, a remote pod's label), each awaited. Quantiles
#     of the daemon's own propagation histogram (watch event read -> maps
#     written), and, measured from outside, write response -> /metrics
#     showing the change applied.
#  2. Resync and memory: with 10,000 pods and 1,000 policies, process start
#     to /healthz 200, and VmRSS/VmHWM once ready; next to kubectl fetching
#     the same pods and to an idle daemon on an empty cluster.
# The API server (scripts/apiserver.sh), the daemon and the pods live in a
# per-run "node" namespace with a per-run bpffs root, all removed on exit
# (success, failure or Ctrl-C). QUICK=1 makes fewer changes and a smaller
# cluster for part 2. Exit 0 when the measurement ran, whatever the
# verdicts; non-zero only when it could not run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BULKHEAD_BUILD:-$(cd "$HERE/.." && pwd)/build}
POLICYD=$BUILD/bulkhead-policyd
PLUGIN=$BUILD/bulkhead
BHDP=$BUILD/tests/tools/bhdp
APISERVER=$HERE/apiserver.sh
LOAD=$HERE/bench-policyd-load.py
CRD=$HERE/../deploy/crd-identity.yaml

QUICK=${QUICK:-0}
PROP_PODS=1000		# part 1: remote pods, policies, local endpoints
PROP_POLICIES=500
LOCAL_PODS=20
if [ "$QUICK" = 1 ]; then
	CHANGES=50
	# Part 1's policies stay: part 2 only ever grows the cluster.
	RESYNC_PODS=2000 RESYNC_POLICIES=$PROP_POLICIES RESYNC_RUNS=1
else
	CHANGES=200
	RESYNC_PODS=10000 RESYNC_POLICIES=1000 RESYNC_RUNS=3
fi
# Targets.
PROP_P99_MAX_MS=20
RESYNC_MAX_S=1
RSS_MAX_MB=30

PFX="bhp$$x"
NODE=${PFX}node
BPFFS=/sys/fs/bpf/$PFX
PD_NODE=n1
# The metrics port lives in the node's namespace, so any fixed port is free.
METRICS=127.0.0.1:9962
WORK=
PD_PID=

# die MESSAGE: fails the run, with the end of the daemon's log.
die() {
	echo "bench-policyd: $*" >&2
	if [ -n "$WORK" ] && [ -s "$WORK/policyd.log" ]; then
		echo "bench-policyd: the daemon's log ends:" >&2
		tail -n 15 "$WORK/policyd.log" | sed 's/^/  /' >&2
	fi
	exit 1
}
# failed RC WHAT: a step failed; interrupted (status 130) is not an error
# to report but a reason to stop.
failed() { [ "$1" -ne 130 ] || exit 130; die "$2"; }

# pd_stop: ends the daemon, TERM then (after 10 s) KILL.
pd_stop() {
	local i
	[ -n "$PD_PID" ] || return 0
	kill -TERM "$PD_PID" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		kill -0 "$PD_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$PD_PID" 2>/dev/null || true
	wait "$PD_PID" 2>/dev/null || true
	PD_PID=
}

cleanup() {
	local ns
	pd_stop
	[ -n "$WORK" ] && "$APISERVER" stop "$WORK/api" >/dev/null 2>&1
	# Pods first, then the node: host veths go with them.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$NODE") ;; "$PFX"*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	ip netns del "$NODE" 2>/dev/null || true
	if [ -e "$BPFFS" ]; then
		"$BHDP" "$BPFFS" unload >/dev/null 2>&1 || true
		rm -rf "$BPFFS"
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'echo "bench-policyd: interrupted" >&2; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
for f in "$POLICYD" "$PLUGIN" "$BUILD/bulkhead-ipam" "$BHDP"; do
	[ -x "$f" ] || die "$f is missing: run make bench"
done
for tool in kubectl curl python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

WORK=$(mktemp -d /tmp/bulkhead-bench-pd.XXXXXX)
mkdir -p "$WORK/run"

# in_node CMD...: CMD in the node's network namespace. nsenter, not
# `ip netns exec`: that mounts a /sys of its own, hiding /sys/fs/bpf.
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
k() { in_node kubectl --kubeconfig "$WORK/api/kubeconfig" "$@"; }
load() { in_node env "${API_ENV[@]}" python3 "$LOAD" "$@"; }
now() { echo "$EPOCHREALTIME"; }
# ms_since T0: milliseconds from T0 (an $EPOCHREALTIME) to now.
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# The node: loopback, and a default route the API server needs to pick an
# address to advertise (a veth pair with both ends in the node).
ip netns add "$NODE" || die "could not create the node namespace"
if ! { ip -n "$NODE" link set lo up &&
	ip -n "$NODE" link add "${PFX}a" type veth peer name "${PFX}b" &&
	ip -n "$NODE" addr add 192.0.2.1/32 dev "${PFX}a" &&
	ip -n "$NODE" link set "${PFX}a" up && ip -n "$NODE" link set "${PFX}b" up &&
	ip -n "$NODE" route add default dev "${PFX}a"; }; then
	die "could not set up the node namespace"
fi

t=$(now)
in_node "$APISERVER" start "$WORK/api" >/dev/null 2>"$WORK/apiserver.log" || {
	tail -n 20 "$WORK/apiserver.log" >&2
	die "kube-apiserver did not start"
}
mapfile -t API_ENV < <("$APISERVER" env "$WORK/api")
k apply -f "$CRD" >/dev/null || die "could not apply $CRD"
k wait --for condition=established --timeout=30s crd/bulkheadidentities.bulkhead.io >/dev/null ||
	die "the BulkheadIdentity CRD was not established"
echo "bench-policyd: API server up in $(ms_since "$t") ms" >&2

# pd_start STATE: starts the daemon on this run's API server (its state in
# $WORK/STATE) and times it: sets PD_PID and READY_MS, process start to the
# first /healthz 200, seen by a poller already running.
pd_start() {
	local armed=$WORK/armed.$1 poller t0 t1 i
	# Whatever answers now would be taken for the new daemon.
	! in_node curl -s --max-time 1 "http://$METRICS/healthz" >/dev/null ||
		die "something already answers on $METRICS in the node"
	rm -f "$armed"
	load wait-ready --metrics "$METRICS" --armed "$armed" --timeout 60 >"$WORK/ready.out" &
	poller=$!
	for ((i = 0; i < 400; i++)); do
		[ -e "$armed" ] && break
		sleep 0.025
	done
	[ -e "$armed" ] || die "the readiness poller did not start"
	# Not through in_node: $! must be the daemon's pid (nsenter execs it).
	t0=$(now)
	nsenter --net="/run/netns/$NODE" "$POLICYD" --kubeconfig "$WORK/api/kubeconfig" \
		--node "$PD_NODE" --bpffs-root "$BPFFS" --state-dir "$WORK/$1" \
		--socket "$WORK/run/policyd.sock" --metrics-addr "$METRICS" --flow-log "" \
		2>>"$WORK/policyd.log" &
	PD_PID=$!
	wait "$poller" || {
		tail -n 20 "$WORK/policyd.log" >&2
		die "bulkhead-policyd did not become ready"
	}
	t1=$(cat "$WORK/ready.out")
	[ "$(cat "/proc/$PD_PID/comm" 2>/dev/null)" = bulkhead-policy ] ||
		die "pid $PD_PID is not the daemon"
	READY_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
}

# rss_kb FIELD: a size from the daemon's /proc status (VmRSS, VmHWM, RssAnon), in kB.
rss_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PD_PID/status" 2>/dev/null | grep . ||
		die "bulkhead-policyd (pid $PD_PID) is gone"
}

scrape() { in_node curl -fsS --max-time 5 "http://$METRICS/metrics"; }
# metric NAME: a sample's value from a /metrics text on stdin, 0 if absent.
metric() { awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }'; }

# hist_quantile NAME Q BEFORE AFTER: the Q quantile of histogram NAME over
# the observations between two /metrics texts, interpolated within its
# bucket as the daemon's prom_hist_quantile and Prometheus do; in ms.
hist_quantile() {
	awk -v name="$1_bucket" -v q="$2" '
	function le(s) { sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
	$1 ~ "^" name "{" {
		b = le($1)
		if (FILENAME == ARGV[1]) { before[b] = $2; next }
		if (!(b in seen)) { order[++n] = b; seen[b] = 1 }
		cum[b] = $2 - before[b]
	}
	END {
		if (n == 0) exit 1
		total = cum[order[n]]
		if (total == 0) { print "nan"; exit }
		rank = q * total; below = 0; prev = 0; lower = 0
		for (i = 1; i <= n; i++) {
			c = cum[order[i]] - prev; prev = cum[order[i]]
			if (c == 0 || below + c < rank) { below += c; lower = order[i]; continue }
			if (order[i] == "+Inf") { printf "%.3f\n", lower * 1000; exit }
			printf "%.3f\n", (lower + (order[i] - lower) * (rank - below) / c) * 1000
			exit
		}
		printf "%.3f\n", lower * 1000
	}' "$3" "$4"
}

# pct FILE COLUMN Q: the Q-th percentile (nearest rank) of a column of
# numbers.
pct() {
	awk -v c="$2" '$c ~ /^[0-9.]+$/ { print $c }' "$1" | sort -n |
		awk -v q="$3" '{ v[NR] = $1 }
			END { if (NR == 0) exit 1; r = int(q * NR); if (r < q * NR) r++;
			      if (r < 1) r = 1; print v[r] }'
}
# median LIST...
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Byte-wise awk (LC_ALL=C) for the table; pad() counts characters, not the
# bytes of ≤ and ×.
AWK_PAD='
function pad(s, w,   t, n) {
	t = s; n = length(s) - gsub(/[\200-\277]/, "", t)
	while (n++ < w) s = s " "
	return s
}'
header() { printf '%-31s%-11s%-28s%-8s%-10s%s\n' figure value baseline ratio target verdict; }
# row NAME VALUE UNIT [BASELINE BASE-NOTE] [MAX]: one table line; a value
# above MAX misses. Empty fields print as "-".
row() {
	LC_ALL=C awk -v name="$1" -v v="$2" -v unit="$3" -v b="${4:-}" -v bn="${5:-}" \
		-v max="${6:-}" -v LE="≤" -v X="×" "$AWK_PAD"'
	BEGIN {
		f = (unit == "MB") ? "%.1f %s" : (unit == "s") ? "%.2f %s" : "%.2f %s"
		base = "-"; ratio = "-"; target = "-"; verdict = "-"
		if (b != "") {
			base = sprintf(f, b, unit) " " bn
			if (b > 0) ratio = sprintf("%.2f", v / b) X
		}
		if (max != "") {
			target = LE max " " unit
			verdict = (v + 0 <= max + 0) ? "met" : "missed"
		}
		printf "%s%s%s%s%s%s\n", pad(name, 31), pad(sprintf(f, v, unit), 11),
			pad(base, 28), pad(ratio, 8), pad(target, 10), verdict
	}'
}

# ---- baseline: an idle daemon on an empty cluster ---------------------------

# The first start loads the datapath; the second finds it pinned, as every
# later start here does.
pd_start idle
pd_stop
pd_start idle
IDLE_READY_MS=$READY_MS
IDLE_RSS_KB=$(rss_kb VmRSS)
IDLE_HWM_KB=$(rss_kb VmHWM)
IDLE_ANON_KB=$(rss_kb RssAnon)
pd_stop

# ---- part 1: propagation ---------------------------------------------------

t=$(now)
load populate --pods "$PROP_PODS" --policies "$PROP_POLICIES" --local-pods "$LOCAL_PODS" \
	--node "$PD_NODE" 2>>"$WORK/load.log" || failed $? "could not fill the API server (see $WORK/load.log)"
echo "bench-policyd: $PROP_PODS pods and $PROP_POLICIES policies created in $(ms_since "$t") ms" >&2
pd_start pd

# The local endpoints, wired by the plugin as a kubelet would have it do.
cat >"$WORK/netconf.json" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "benchpd",
  "type": "bulkhead",
  "stateDir": "$WORK/cni",
  "logFile": "$WORK/cni.log",
  "logLevel": "info",
  "bpffsRoot": "$BPFFS",
  "daemonSocket": "$WORK/run/policyd.sock",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.244.7.0/24" }
}
JSON
for ((j = 0; j < LOCAL_PODS; j++)); do
	ip netns add "${PFX}l$j" || die "could not create pod namespace ${PFX}l$j"
	in_node env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND=ADD \
		CNI_CONTAINERID="c$j" CNI_NETNS="/run/netns/${PFX}l$j" CNI_IFNAME=eth0 \
		CNI_ARGS="K8S_POD_NAMESPACE=bench$((j % 10));K8S_POD_NAME=l$j;IgnoreUnknown=1" \
		CNI_PATH="$BUILD" timeout 30 "$PLUGIN" <"$WORK/netconf.json" >"$WORK/add.out" \
		2>>"$WORK/cni.stderr" || {
		cat "$WORK/add.out" >&2
		die "CNI ADD of local pod l$j failed"
	}
done
load settle --metrics "$METRICS" --pods $((PROP_PODS + LOCAL_PODS)) \
	--policies "$PROP_POLICIES" --timeout 60 || die "the daemon did not take in the cluster"
scrape >"$WORK/before.prom" || die "no metrics from the daemon"
POLICY_ENTRIES=$(metric 'bulkhead_map_entries{map="policy"}' <"$WORK/before.prom")
IPCACHE_ENTRIES=$(metric 'bulkhead_map_entries{map="ipcache"}' <"$WORK/before.prom")
ENDPOINTS=$(metric bulkhead_endpoints <"$WORK/before.prom")
[ "$ENDPOINTS" -eq "$LOCAL_PODS" ] || die "$ENDPOINTS local endpoints registered, want $LOCAL_PODS"
[ "$POLICY_ENTRIES" -gt 0 ] || die "the policies compiled to no entries: nothing to measure"

load churn --metrics "$METRICS" --count "$CHANGES" --pods "$PROP_PODS" \
	--policies "$PROP_POLICIES" --timeout 5 >"$WORK/churn.txt" 2>>"$WORK/load.log" ||
	failed $? "the changes could not be made (see $WORK/load.log)"
scrape >"$WORK/after.prom" || die "no metrics from the daemon"
# The last port change must be in the policy map itself.
last_port=$((20000 + (CHANGES - 1) / 2 * 2))
in_node "$BHDP" "$BPFFS" policy-list | awk -v p="$last_port" '$5 == p { n++ } END { exit n == 0 }' ||
	die "port $last_port of the last policy change is not in the policy map"
pd_stop
timeouts=$(awk '$3 == "timeout"' "$WORK/churn.txt" | wc -l)
[ "$timeouts" -lt $((CHANGES / 10 + 1)) ] || die "$timeouts of $CHANGES changes were not applied within 5 s"

PROP_P50=$(hist_quantile bulkhead_policy_propagation_seconds 0.50 "$WORK/before.prom" "$WORK/after.prom") ||
	die "no propagation histogram in /metrics"
PROP_P99=$(hist_quantile bulkhead_policy_propagation_seconds 0.99 "$WORK/before.prom" "$WORK/after.prom")
PROP_N=$(($(metric bulkhead_policy_propagation_seconds_count <"$WORK/after.prom") -
	$(metric bulkhead_policy_propagation_seconds_count <"$WORK/before.prom")))
REC_P50=$(hist_quantile bulkhead_reconcile_seconds 0.50 "$WORK/before.prom" "$WORK/after.prom")
REC_P99=$(hist_quantile bulkhead_reconcile_seconds 0.99 "$WORK/before.prom" "$WORK/after.prom")
E2E_P50=$(pct "$WORK/churn.txt" 3 0.50) || die "no changes were applied"
E2E_P99=$(pct "$WORK/churn.txt" 3 0.99)
WRITE_P50=$(pct "$WORK/churn.txt" 2 0.50)

echo "policyd propagation: $CHANGES API writes, one at a time ($PROP_PODS remote pods, $PROP_POLICIES policies,"
echo "$LOCAL_PODS local endpoints: $POLICY_ENTRIES policy entries, $IPCACHE_ENTRIES ipcache entries; $(nproc) CPUs, kernel $(uname -r))"
header
row "propagation p50 (daemon)" "$PROP_P50" ms
row "propagation p99 (daemon)" "$PROP_P99" ms "" "" "$PROP_P99_MAX_MS"
row "end-to-end p50 (outside)" "$E2E_P50" ms
row "end-to-end p99 (outside)" "$E2E_P99" ms
row "API write round trip p50" "$WRITE_P50" ms
echo "note: (daemon) is bulkhead_policy_propagation_seconds, watch event read ->"
echo "      maps written, over the $PROP_N observations the changes made, interpolated"
echo "      in its buckets (each bound 1.5 times the last, so within about a third"
echo "      of the true value). (outside) is the write's response -> the first /metrics"
echo "      scrape showing it applied (polled every 0.5 ms; includes the API server's"
echo "      watch delivery). Half the writes change a policy's port, half a remote"
echo "      pod's label; the last port was checked in the policy map."
echo "note: a datapath update (bulkhead_reconcile_seconds) took $REC_P50 ms p50, $REC_P99 ms p99."
[ "$timeouts" -eq 0 ] || echo "note: $timeouts changes were not seen applied within 5 s and are left out."
echo

# ---- part 2: resync and memory ---------------------------------------------

t=$(now)
load populate --pods "$RESYNC_PODS" --first-pod "$PROP_PODS" --policies "$RESYNC_POLICIES" \
	--first-policy "$PROP_POLICIES" --local-pods "$LOCAL_PODS" --node "$PD_NODE" \
	2>>"$WORK/load.log" || failed $? "could not fill the API server (see $WORK/load.log)"
echo "bench-policyd: grown to $RESYNC_PODS pods and $RESYNC_POLICIES policies in $(ms_since "$t") ms" >&2

kubectl_ms=() page_s=() ready_ms=() rss_kbs=() hwm_kbs=() anon_kbs=() rec_ms=()
for ((r = 0; r < RESYNC_RUNS; r++)); do
	t=$(now)
	k get pods -A -o json >/dev/null || die "kubectl get pods failed"
	kubectl_ms+=("$(ms_since "$t")")
	page_s+=("$(load list-time --path /api/v1/pods)") || die "could not list the pods"
	# A node restart: the daemon finds the endpoints of part 1 in its state.
	pd_start pd
	ready_ms+=("$READY_MS")
	rss_kbs+=("$(rss_kb VmRSS)")
	hwm_kbs+=("$(rss_kb VmHWM)")
	anon_kbs+=("$(rss_kb RssAnon)")
	scrape >"$WORK/resync.prom" || die "no metrics from the daemon"
	rec_ms+=("$(awk '$1 == "bulkhead_reconcile_seconds_sum" { printf "%.1f", $2 * 1000 }' "$WORK/resync.prom")")
	rec_n=$(metric bulkhead_reconcile_seconds_count <"$WORK/resync.prom")
	pods=$(metric bulkhead_pods <"$WORK/resync.prom")
	[ "$pods" -eq $((RESYNC_PODS + LOCAL_PODS)) ] ||
		die "ready with $pods pods, want $((RESYNC_PODS + LOCAL_PODS))"
	pd_stop
done
list_s=$(awk -v v="$(median "${kubectl_ms[@]}")" 'BEGIN { print v / 1000 }')
ready_s=$(awk -v v="$(median "${ready_ms[@]}")" 'BEGIN { print v / 1000 }')
idle_s=$(awk -v v="$IDLE_READY_MS" 'BEGIN { print v / 1000 }')
mb() { awk -v v="$1" 'BEGIN { print v / 1024 }'; }

echo "policyd resync and memory: $RESYNC_PODS pods, $RESYNC_POLICIES policies, $LOCAL_PODS local endpoints"
echo "(median of $RESYNC_RUNS daemon starts with the datapath already pinned, as on a restart)"
header
row "resync (start -> ready)" "$ready_s" s "$list_s" "(kubectl get pods)" "$RESYNC_MAX_S"
row "VmRSS once ready" "$(mb "$(median "${rss_kbs[@]}")")" MB "$(mb "$IDLE_RSS_KB")" "(idle, empty)" "$RSS_MAX_MB"
row "VmHWM once ready" "$(mb "$(median "${hwm_kbs[@]}")")" MB "$(mb "$IDLE_HWM_KB")" "(idle, empty)"
row "RssAnon once ready" "$(mb "$(median "${anon_kbs[@]}")")" MB "$(mb "$IDLE_ANON_KB")" "(idle, empty)"
echo "note: (kubectl get pods) is \`kubectl get pods -A -o json > /dev/null\` on the same"
echo "      cluster; (idle, empty) a daemon on an API server holding no objects,"
echo "      which became ready in $(awk -v v="$idle_s" 'BEGIN { printf "%.2f", v }') s."
echo "note: RssAnon is VmRSS without the pages of mapped files (the shared"
echo "      libraries): what the daemon itself allocated."
echo "note: paging through the same pods 500 at a time, as the daemon does, reading"
echo "      the bytes without parsing them (the API server's share of a resync),"
echo "      takes $(awk -v v="$(median "${page_s[@]}")" 'BEGIN { printf "%.2f", v }') s."
echo "note: of that, datapath updates took $(median "${rec_ms[@]}") ms in all ($rec_n of them, bulkhead_reconcile_seconds)."
