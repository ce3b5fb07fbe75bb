#!/usr/bin/env bash
# policyd's list+watch against a real kube-apiserver (scripts/apiserver.sh):
# the initial sync, events as they happen, a watch that the server ends on
# time and is resumed, a stream dropped by an API server restart and resumed
# from the last resourceVersion with what changed meanwhile, a
# resourceVersion compacted away (410 Gone) and the relist it forces, a
# relist asked for, a list of many pages, and a prompt stop. The tool under test is tests/tools/kubewatch, which prints
# one line per event.
set -u
. "$(dirname "$0")/lib/tap.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BULKHEAD_BUILD:-$ROOT/build}
KUBEWATCH=$BUILD/tests/tools/kubewatch
CACHE=${BULKHEAD_CACHE:-/var/cache/bulkhead}

# make check builds the API server and installs the tools first: missing
# ones are a broken setup, not a reason to skip.
[ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/etcd/usr/bin/etcd" ] ||
	{ echo "Bail out! no API server built (scripts/apiserver.sh build)"; exit 1; }
for tool in kubectl curl python3; do
	command -v "$tool" >/dev/null || { echo "Bail out! $tool not installed"; exit 1; }
done
[ -x "$KUBEWATCH" ] || { echo "Bail out! $KUBEWATCH not built"; exit 1; }

T_DIR=$(mktemp -d "/tmp/bulkhead-kubewatch.XXXXXX")
API=$T_DIR/api		# the API server under test ("A")
API_B_PID=$T_DIR/apiserver-b.pid	# a second one on the same etcd ("B")
T_PIDS=()

cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	[ -s "$API_B_PID" ] && kill "$(cat "$API_B_PID")" 2>/dev/null
	"$ROOT/scripts/apiserver.sh" stop "$API" >/dev/null 2>&1
	rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECS CMD...: polls CMD until it succeeds or SECS pass.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

KC=$("$ROOT/scripts/apiserver.sh" start "$API" 2>"$T_DIR/start.log") ||
	{ cat "$T_DIR/start.log" >&2; echo "Bail out! the API server did not start"; exit 1; }
PORT_A=$(cat "$API/apiserver.port")
ETCD=http://127.0.0.1:$(cat "$API/etcd.port")
mapfile -d '' A_CMD <"/proc/$(cat "$API/kube-apiserver.pid")/cmdline"

kc() { kubectl --kubeconfig "$KC" "$@" >/dev/null; }
kc_b() { kubectl --kubeconfig "$KC" --server "https://127.0.0.1:$PORT_B" "$@" >/dev/null; }
kw() { "$KUBEWATCH" "$KC" "$@"; }

readyz() { # PORT
	curl -sf --max-time 3 --cacert "$API/ca.crt" -H "Authorization: Bearer $(cat "$API/token")" \
		"https://127.0.0.1:$1/readyz" >/dev/null 2>&1
}

# watch_start NAME PATH [ARGS]: kubewatch in the background, its events in
# $T_DIR/NAME.
declare -A W_PID
watch_start() {
	local name=$1
	shift
	"$KUBEWATCH" "$KC" "$@" >"$T_DIR/$name" 2>"$T_DIR/$name.err" &
	W_PID[$name]=$!
	T_PIDS+=("$!")
}
# events NAME [FROM]: the events from line FROM on, type and name only.
events() { tail -n +"${2:-1}" "$T_DIR/$1" | awk '{ print $1 (NF > 1 ? " " $2 : "") }'; }
# mark NAME: the line number the next event will have.
mark() { echo $(($(wc -l <"$T_DIR/$1") + 1)); }
has_event() { events "$1" "$3" | grep -qxF "$2"; }
# expect NAME FROM LINE TEST: waits for the event LINE after FROM.
expect() {
	if wait_for 20 has_event "$1" "$3" "$2"; then t_pass "$4"; return 0; fi
	t_fail "$4" "no '$3' in:" "$(events "$1" "$2" | paste -sd'|')" \
		"stderr: $(tail -n 3 "$T_DIR/$1.err" | paste -sd'|')"
	return 1
}
# expect_exactly NAME FROM WANT TEST: waits until the events after FROM are
# WANT's lines, and fails with what came if they never are.
expect_exactly() {
	local want=$3
	wait_for 20 test "$(events "$1" "$2")" = "$want"
	t_is "$(events "$1" "$2" | paste -sd'|')" "$(echo "$want" | paste -sd'|')" "$4"
}

# A's own process: killed (a crash: a graceful stop would keep serving
# open watches for a while) and started again with its command line, on
# the same etcd. Without the watch cache a watch is served from etcd, so a
# resourceVersion from before the restart can be resumed.
stop_a() {
	local pid
	pid=$(cat "$API/kube-apiserver.pid")
	kill -KILL "$pid"
	wait_for 10 eval "! kill -0 $pid 2>/dev/null"
}
start_a() {
	setsid "${A_CMD[@]}" --watch-cache=false </dev/null >>"$API/kube-apiserver.log" 2>&1 &
	echo $! >"$API/kube-apiserver.pid"
	wait_for 60 readyz "$PORT_A"
}
# B: the same server on another port, to change things while A is down.
start_b() {
	local args=() i
	PORT_B=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	for ((i = 0; i < ${#A_CMD[@]}; i++)); do
		args+=("${A_CMD[i]}")
		[ "${A_CMD[i]}" = --secure-port ] && { args+=("$PORT_B"); i=$((i + 1)); }
	done
	setsid "${args[@]}" </dev/null >"$T_DIR/apiserver-b.log" 2>&1 &
	echo $! >"$API_B_PID"
	wait_for 60 readyz "$PORT_B"
}
etcd_revision() {
	curl -sf -X POST "$ETCD/v3/kv/range" -d '{"key": "AA=="}' |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])'
}

# --- requests ----------------------------------------------------------------
t_like "$(kw --request POST /api/v1/namespaces/default/configmaps \
	'{"metadata": {"name": "cm-gone"}, "data": {"a": "1"}}')" \
	'^201 \{.*"name":"cm-gone"' "POST creates an object: 201 and the object"
t_like "$(kw --request PATCH /api/v1/namespaces/default/configmaps/cm-gone '{"data": {"b": "2"}}')" \
	'^200 \{.*"data":\{"a":"1","b":"2"\}' "PATCH is a merge patch"
t_like "$(kw --request GET /api/v1/namespaces/default/configmaps/nothere)" \
	'^404 \{.*"reason":"NotFound"' "a missing object: 404 and the Status"
kc create configmap cm-keep

# --- namespaces: the sync, then events; the server ends the watch every second
watch_start ns /api/v1/namespaces --timeout-s 1
expect_exactly ns 1 "SYNC_BEGIN
ADDED default
ADDED kube-node-lease
ADDED kube-public
ADDED kube-system
SYNC_END" "the initial list: every namespace between SYNC_BEGIN and SYNC_END"
t0=$SECONDS
m=$(mark ns)
kc create namespace bhtest-x
expect ns "$m" "ADDED bhtest-x" "a created namespace is ADDED"
# Past a few server-side timeouts, so the next events come on a watch
# resumed from the resourceVersion.
wait_for 10 test $((SECONDS - t0)) -ge 3
m=$(mark ns)
kc label namespace bhtest-x team=blue
expect ns "$m" "MODIFIED bhtest-x" "a label change is MODIFIED"
m=$(mark ns)
kc delete namespace bhtest-x --wait=false
# No namespace controller runs: deletion leaves the namespace Terminating.
expect ns "$m" "MODIFIED bhtest-x" "a deleted namespace is MODIFIED (Terminating)"
t_is "$(kubectl --kubeconfig "$KC" get namespace bhtest-x -o 'jsonpath={.status.phase}')" \
	Terminating "... as it stays until its finalizer runs"
t_is "$(events ns | grep -c -e SYNC_BEGIN -e DOWN)" 1 \
	"watches ended by the server were resumed without a relist or an outage"

# --- configmaps: deletions, a restart, a compaction ----------------------------
W=/api/v1/namespaces/default/configmaps
watch_start cm "$W"
expect_exactly cm 1 "SYNC_BEGIN
ADDED cm-gone
ADDED cm-keep
SYNC_END" "the configmaps' initial list"
m=$(mark cm)
kc create configmap cm-new
kc delete configmap cm-new
expect_exactly cm "$m" "ADDED cm-new
DELETED cm-new" "a configmap created then deleted: ADDED, DELETED"

start_b || echo "Bail out! a second API server did not start"
m=$(mark cm)
t_ok "the API server is killed" stop_a
expect cm "$m" DOWN "a dropped stream is reported: DOWN"
kc_b delete configmap cm-gone
kc_b create configmap cm-down
t_ok "the API server starts again" start_a
expect_exactly cm "$m" "DOWN
DELETED cm-gone
ADDED cm-down" "after the restart the watch resumes: what changed meanwhile, no relist"
m=$(mark cm)
kc create configmap cm-after
expect_exactly cm "$m" "ADDED cm-after" "and goes on with new events"

m=$(mark cm)
t_ok "the API server is killed again" stop_a
expect cm "$m" DOWN "DOWN once more"
kc_b delete configmap cm-keep
kc_b create configmap cm-late
rev=$(etcd_revision)
t_like "$(curl -sf -X POST "$ETCD/v3/kv/compaction" -d "{\"revision\": \"$rev\", \"physical\": true}")" \
	'header' "etcd compacted to revision $rev, past the watch's resourceVersion"
t_ok "the API server starts again" start_a
expect_exactly cm "$m" "DOWN
SYNC_BEGIN
ADDED cm-after
ADDED cm-down
ADDED cm-late
SYNC_END" "410 Gone: a full relist, without the configmap deleted meanwhile"
m=$(mark cm)
kc delete configmap cm-late
expect_exactly cm "$m" "DELETED cm-late" "the watch goes on from the new list"

# --- asked to relist ----------------------------------------------------------
m=$(mark cm)
kill -USR1 "${W_PID[cm]}"
expect_exactly cm "$m" "SYNC_BEGIN
ADDED cm-after
ADDED cm-down
SYNC_END" "kube_watch_relist: a full list at once, without DOWN"
m=$(mark cm)
kc create configmap cm-relisted
expect_exactly cm "$m" "ADDED cm-relisted" "... and the watch goes on from it"

# --- long lists, read page by page ---------------------------------------------
# More objects than one page of 500, about 10 KB each: every one arrives
# between SYNC_BEGIN and SYNC_END. Pages are delivered as they are read, so
# with pages of 50 (BULKHEAD_KUBE_PAGE) the tool's peak RSS stays within a
# few MB of the namespaces watch's (held whole, the list's 12 MB took
# 19 MB more).
N_MANY=1200
kc create namespace bhtest-many
create_configmaps() { # NS N: N configmaps of 10 KB, over 8 connections
	python3 - "$PORT_A" "$API/ca.crt" "$(cat "$API/token")" "$1" "$2" <<'PY'
import http.client, json, ssl, sys, threading
port, ca, token, ns, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
failed = []
def worker(first):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
    for i in range(first, n, 8):
        body = json.dumps({"metadata": {"name": "many-%04d" % i}, "data": {"x": "%010d" % i * 1000}})
        c.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, body,
                  {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            failed.append("many-%04d: HTTP %d" % (i, r.status))
threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if failed:
    sys.exit("creating configmaps: " + failed[0])
PY
}
t_ok "$N_MANY configmaps created" create_configmaps bhtest-many "$N_MANY"
MANY_WANT=$(echo SYNC_BEGIN; seq -f 'ADDED many-%04g' 0 $((N_MANY - 1)); echo SYNC_END)
# same_events NAME WANT TEST: the events are WANT's lines; a failure shows
# where they differ.
same_events() {
	local d
	d=$(diff <(events "$1") <(echo "$2") | head -n 6 | paste -sd'|')
	if [ -z "$d" ]; then t_pass "$3"; else t_fail "$3" "< got, > expected: $d"; fi
}
watch_start many /api/v1/namespaces/bhtest-many/configmaps
wait_for 60 has_event many SYNC_END 1
same_events many "$MANY_WANT" \
	"a list of $N_MANY in pages of 500: all of them, in order, between SYNC_BEGIN and SYNC_END"
t_is "$(events many | grep -c ADDED)" "$N_MANY" "... $N_MANY ADDED"
BULKHEAD_KUBE_PAGE=50 watch_start many50 /api/v1/namespaces/bhtest-many/configmaps
wait_for 60 has_event many50 SYNC_END 1
same_events many50 "$MANY_WANT" \
	"in pages of 50 (BULKHEAD_KUBE_PAGE): the same list"
# ASan's shadow memory and quarantine make RSS meaningless there.
if ldd "$KUBEWATCH" | grep -q libasan; then
	t_pass "peak RSS # SKIP an ASan build"
else
	hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/${W_PID[$1]}/status"; }
	hwm_many=$(hwm many50) hwm_ns=$(hwm ns)
	t_ok "pages were let go as they were delivered: peak RSS ${hwm_many} kB, ${hwm_ns} kB for the namespaces" \
		test "$((${hwm_many:-99999999} - ${hwm_ns:-0}))" -lt 6144
fi
t_like "$(BULKHEAD_KUBE_PAGE=0 "$KUBEWATCH" "$KC" /api/v1/namespaces 2>&1)" \
	'BULKHEAD_KUBE_PAGE="0": not a page size from 1 to 500' "a bad BULKHEAD_KUBE_PAGE is refused"

# --- stopping ------------------------------------------------------------------
# stop_watch NAME: STOP_MS, the milliseconds between SIGTERM and
# kubewatch's exit, and STOP_RC, its exit status (a clean stop frees
# everything, which ASan's leak check verifies).
stop_watch() {
	local t0 pid=${W_PID[$1]}
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid"
	STOP_RC=$?
	STOP_MS=$((($(date +%s%N) - t0) / 1000000))
}
stop_watch ns
t_ok "a connected watch stops within a second (${STOP_MS} ms)" test "$STOP_MS" -lt 1000
t_is "$STOP_RC" 0 "... and exits cleanly"
m=$(mark cm)
t_ok "the API server is killed a third time" stop_a
expect cm "$m" DOWN "DOWN, and the watch backs off"
stop_watch cm
t_ok "a watch backing off stops within a second (${STOP_MS} ms)" test "$STOP_MS" -lt 1000
t_is "$STOP_RC" 0 "... and exits cleanly"

t_done
