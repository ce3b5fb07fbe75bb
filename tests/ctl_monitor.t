#!/usr/bin/env bash
# bulkhead-ctl monitor against bulkhead-policyd's /events (manifest mode):
# a denied probe arrives as a drop with both pods, identities, port and
# reason; --type, --from and --port leave out what does not match; two
# monitors both get an event; a subscriber that never reads loses events
# (and is told how many) while the daemon answers and logs flows as ever;
# exit 3 with no daemon.
set -u
. "$(dirname "$0")/lib/ctl.sh"

node_ns
pd_netconf
{
	yaml_ns x team=x
	yaml_pod x/a role=client
	yaml_pod x/c role=client
	yaml_pod x/b role=server
	cat <<YAML
---
apiVersion: v1
kind: Namespace
metadata: {name: y}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-b, namespace: x}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
YAML
} | manifest_put cluster.yaml
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts and is ready"
for p in x/a x/b x/c; do
	kpod_add "$p"
	[ "$CNI_RC" -eq 0 ] || { t_diag "$CNI_OUT"; echo "Bail out! ADD $p failed"; exit 1; }
done
B=${POD_IPS[x/b]}
ID_A=$(identity_of x/a) ID_B=$(identity_of x/b) ID_C=$(identity_of x/c)
pod_serve "${POD_NETNS[x/b]}"
pod_serve "${POD_NETNS[x/a]}"

declare -A MON_PID
# mon_start NAME ARGS...: `monitor ARGS` in the background, its output in
# $T_DIR/NAME.out; returns once the daemon has it as a subscriber (it
# says so on stderr), so no event after this is missed.
mon_start() {
	local name=$1
	shift
	"${PD_NET[@]}" "$CTL" --daemon "$PD_METRICS" monitor "$@" \
		>"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	MON_PID[$name]=$!
	T_PIDS+=("$!")
	wait_for 5 grep -q 'monitor: listening' "$T_DIR/$name.err" && return 0
	t_diag "monitor $name did not subscribe: $(cat "$T_DIR/$name.err")"
	return 1
}
# mon_lines NAME: how many lines it has printed.
mon_lines() { wc -l <"$T_DIR/$1.out"; }
has_line() { [ "$(mon_lines "$1")" -ge 1 ]; }
# mon_wait NAME: the first line within the deadline, then the monitor's
# exit status (it ends by --count 1) in MON_RC.
mon_wait() {
	wait_for 3 has_line "$1" || t_diag "monitor $1 printed nothing: $(cat "$T_DIR/$1.err")"
	wait "${MON_PID[$1]}"
	MON_RC=$?
}
# fields: the fields the tests compare, from one JSON event.
fields() {
	jq -r '[.verdict, .src.pod, .src.identity, .dst.pod, .dst.identity,
		.dst.port, .proto, .dir, .reason] | @tsv' "$1" 2>/dev/null
}

# --- a denied probe arrives --------------------------------------------------
mon_start drop --type drop -o json --count 1 --timeout-ms 5000
blocked "${POD_NETNS[x/a]}" "$B" 80 "x/a -> x/b on TCP 80 is denied"
mon_wait drop
t_is "$MON_RC" 0 "monitor --count 1 exits 0 after its event"
t_is "$(mon_lines drop)" 1 "one line"
t_is "$(fields "$T_DIR/drop.out")" \
	"$(printf 'drop\tx/a\t%s\tx/b\t%s\t80\ttcp\tingress\tdrop_policy_default' "$ID_A" "$ID_B")" \
	"the line: a drop from x/a to x/b port 80, identities, direction and reason"
t_is "$(jq -c '[.rule_id, (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))]' "$T_DIR/drop.out")" \
	"[0,true]" "with the rule id (none: 0) and the time"

# --- filters ---------------------------------------------------------------
mon_start type --type drop -o json --count 1 --timeout-ms 8000
reaches "${POD_NETNS[x/b]}" "${POD_IPS[x/a]}" 80 "x/b -> x/a is allowed (an allow event)"
blocked "${POD_NETNS[x/c]}" "$B" 80 "then x/c -> x/b is denied"
mon_wait type
t_is "$(jq -r '"\(.verdict) \(.src.pod)"' "$T_DIR/type.out")" "drop x/c" \
	"--type drop: the allowed flow does not show, the drop does"

mon_start allow --type allow -o json --count 1 --timeout-ms 8000
blocked "${POD_NETNS[x/c]}" "$B" 80 "x/c -> x/b is denied"
reaches "${POD_NETNS[x/b]}" "${POD_IPS[x/a]}" 80 "then x/b -> x/a is allowed"
mon_wait allow
t_is "$(jq -r '"\(.verdict) \(.src.pod) \(.dst.pod) \(.dst.port)"' "$T_DIR/allow.out")" "allow x/b x/a 80" \
	"--type allow: the drop does not show, the allowed flow does"

mon_start from --from x/c -o json --count 1 --timeout-ms 8000
blocked "${POD_NETNS[x/a]}" "$B" 80 "x/a -> x/b is denied"
blocked "${POD_NETNS[x/c]}" "$B" 80 "then x/c -> x/b is denied"
mon_wait from
t_is "$(jq -r '"\(.src.pod) \(.src.identity)"' "$T_DIR/from.out")" "x/c $ID_C" \
	"--from NS/POD: x/a's drop does not show, x/c's does"

mon_start port --type drop --port 81 --to "$ID_B" -o json --count 1 --timeout-ms 8000
blocked "${POD_NETNS[x/a]}" "$B" 80 "x/a -> x/b on 80 is denied"
blocked "${POD_NETNS[x/a]}" "$B" 81 "then on 81"
mon_wait port
t_is "$(jq -r '"\(.dst.pod) \(.dst.port)"' "$T_DIR/port.out")" "x/b 81" \
	"--port 81 --to IDENTITY: the drop on port 80 does not show, the one on 81 does"

# --- the table ---------------------------------------------------------------
mon_start table --type drop --reason drop_policy_default --count 1 --timeout-ms 5000
blocked "${POD_NETNS[x/a]}" "$B" 80 "x/a -> x/b is denied"
mon_wait table
t_like "$(cat "$T_DIR/table.out")" \
	"^[0-9T:.-]+Z x/a:[0-9]+\\[$ID_A\\] -> x/b:80\\[$ID_B\\] tcp ingress drop drop_policy_default rule=0\$" \
	"as a table: time, both sides with ports and identities, and the verdict"

# --- two monitors, and one that never reads -----------------------------------
# It subscribes with a small receive buffer, then reads nothing until told
# (a line on its stdin); then it reads until the daemon's {"lost":N}.
slow_py='
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
host, port = sys.argv[1].rsplit(":", 1)
s.connect((host, int(port)))
s.sendall(b"GET /events HTTP/1.0\r\n\r\n")
head = b""
while not head.endswith(b"\r\n\r\n"):
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode(), flush=True)
sys.stdin.readline()
s.settimeout(10)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        sys.exit(1)
    buf += d
    for line in buf.split(b"\n"):
        if line.startswith(b"{\"lost\":"):
            print(line.decode(), flush=True)
            sys.exit(0)
'
coproc SLOW { exec "${PD_NET[@]}" python3 -c "$slow_py" "$PD_METRICS"; }
T_PIDS+=("$SLOW_PID")
# Bash drops SLOW's fds when it ends: copies outlive it.
exec {slow_out}<&"${SLOW[0]}" {slow_in}>&"${SLOW[1]}"
read -r -t 5 -u "$slow_out" head
t_is "${head%$'\r'}" "HTTP/1.1 200 OK" "a subscriber that does not read is taken"

mon_start both1 --type drop --port 81 -o json --count 1 --timeout-ms 8000
mon_start both2 --type drop --port 81 -o json --count 1 --timeout-ms 8000
# Far more drops than the slow subscriber's queue holds (the datapath's
# event budget lets a burst of 2000 through).
flows_before=$(grep -c '"port":81' "$PD_FLOWS")
ip netns exec "${POD_NETNS[x/a]}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    s.sendto(b"x", (sys.argv[1], 81))
' "$B"
mon_wait both1
mon_wait both2
t_is "$(jq -r '"\(.src.pod) \(.dst.pod) \(.dst.port) \(.proto)"' "$T_DIR/both1.out")" "x/a x/b 81 udp" \
	"two monitors at once: the first gets the drop"
t_is "$(jq -r '"\(.src.pod) \(.dst.pod) \(.dst.port) \(.proto)"' "$T_DIR/both2.out")" "x/a x/b 81 udp" \
	"and so does the second"
t_is "$(http_code /healthz)" 200 "with a subscriber stuck, /healthz still answers"
flows_grew() { [ "$(grep -c '"port":81' "$PD_FLOWS")" -gt $((flows_before + 1000)) ]; }
t_ok "and the flood's events still reach the flow log (over 1000 new lines)" wait_for 5 flows_grew
echo go >&"$slow_in"
read -r -t 15 -u "$slow_out" lost
t_like "${lost:-}" '^\{"lost":[1-9][0-9]*\}$' "the slow subscriber, once it reads, is told how many it lost"
kill "$SLOW_PID" 2>/dev/null
wait "$SLOW_PID" 2>/dev/null

# At most 16 subscribers: it takes 16 (retrying while the daemon has not
# yet seen the ones above leave), then one more is refused.
max_py='
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
def subscribe():
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"GET /events HTTP/1.0\r\n\r\n")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)
    return s, head.split(b" ")[1].decode()
subs, deadline = [], time.monotonic() + 5
while len(subs) < 16 and time.monotonic() < deadline:
    s, status = subscribe()
    if status == "200":
        subs.append(s)
    else:
        s.close()
        time.sleep(0.05)
print(len(subs), subscribe()[1])
'
t_is "$("${PD_NET[@]}" python3 -c "$max_py" "$PD_METRICS")" "16 503" \
	"16 subscribers at once; the 17th is answered 503"

# --- signals, usage, no daemon --------------------------------------------------
mon_start sig --type drop
kill -INT "${MON_PID[sig]}"
wait "${MON_PID[sig]}"
t_is "$?" 0 "SIGINT ends monitor with 0"
"$CTL" --daemon "$PD_METRICS" monitor --type deny >/dev/null 2>&1
t_is "$?" 2 "--type deny: exit 2"
"$CTL" --daemon "$PD_METRICS" monitor --port 70000 >/dev/null 2>&1
t_is "$?" 2 "--port 70000: exit 2"
"$CTL" --daemon "$PD_METRICS" monitor --from nobody >/dev/null 2>&1
t_is "$?" 2 "--from nobody: exit 2"

policyd_stop
t_is "$?" 0 "the daemon stops cleanly"
msg=$("${PD_NET[@]}" "$CTL" --daemon "$PD_METRICS" monitor 2>&1 >/dev/null)
t_is "$?" 3 "monitor without the daemon: exit 3"
t_like "$msg" "monitor needs bulkhead-policyd" "with a message that says it needs the daemon"

t_done
