# Fixtures for bulkhead-policyd's end-to-end tests, on top of datapath.sh:
# the daemon running in the node namespace on this run's bpffs root (it
# loads the datapath itself), its metrics, and pods wired by the plugin with
# the Kubernetes CNI_ARGS a kubelet passes, registered with the daemon.
. "$(dirname "${BASH_SOURCE[0]}")/datapath.sh"

POLICYD=$BUILD/bulkhead-policyd
PD_SOCK=$T_DIR/run/policyd.sock
PD_STATE=$T_DIR/policyd
PD_FLOWS=$T_DIR/flows.log
PD_LOG=$T_DIR/policyd.log
PD_PID=
# The daemon runs in the node's namespace, where any fixed metrics port is
# free. PD_HOST_NET=1 runs it in the machine's namespace instead (to reach an
# API server on the machine's loopback), on a port the kernel picks now.
if [ "${PD_HOST_NET:-0}" = 1 ]; then
	PD_METRICS=127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PD_NET=()
	# Not in the machine's own namespace: no VXLAN device there.
	PD_EXTRA=(--no-overlay)
else
	PD_METRICS=127.0.0.1:9962
	PD_NET=(nsenter --net="/run/netns/$NODE")
	PD_EXTRA=()
fi

[ -x "$POLICYD" ] || { echo "Bail out! $POLICYD not built"; exit 1; }
T_CLEANUP+=('policyd_stop KILL')

# node_ns: the node namespace alone; policyd loads the datapath.
node_ns() {
	ip netns add "$NODE" && ip -n "$NODE" link set lo up && return 0
	echo "Bail out! cannot make the node namespace $NODE"
	exit 1
}

# http PATH: GET on the daemon's HTTP endpoint; prints the body, fails on
# anything but 200.
http() { "${PD_NET[@]}" curl -fsS --max-time 5 "http://$PD_METRICS$1" 2>/dev/null; }

# policyd_start SOURCE-ARGS...: starts the daemon (--manifests DIR or
# --kubeconfig FILE ...) and waits until /healthz says it is ready.
policyd_start() {
	# exec (and nsenter's own exec): $! is the daemon itself.
	(exec "${PD_NET[@]}" "$POLICYD" "$@" "${PD_EXTRA[@]}" --bpffs-root "$BPFFS" \
		--state-dir "$PD_STATE" --socket "$PD_SOCK" \
		--metrics-addr "$PD_METRICS" --flow-log "$PD_FLOWS" \
		--node "${PD_NODE:-n1}" 2>>"$PD_LOG") &
	PD_PID=$!
	wait_for 30 http /healthz >/dev/null && return 0
	t_diag "policyd did not become ready; its log:"
	sed 's/^/# /' "$PD_LOG" | tail -n 20
	return 1
}

# policyd_stop [SIGNAL]: ends the daemon (TERM by default), waits, and
# returns its exit status (0 for a clean stop; the sanitizers' reports
# make it fail).
policyd_stop() {
	local rc=0
	[ -n "$PD_PID" ] || return 0
	kill "-${1:-TERM}" "$PD_PID" 2>/dev/null
	wait "$PD_PID" 2>/dev/null || rc=$?
	PD_PID=
	return "$rc"
}

# metric NAME [LABELS]: a sample's value from /metrics (LABELS exactly as
# printed inside the braces), 0 when absent.
metric() {
	local sel=$1
	[ -n "${2:-}" ] && sel="$1{$2}"
	http /metrics | awk -v s="$sel" '$1 == s { v = $2 } END { print v + 0 }'
}

# pd_netconf: the plugin's netconf with the daemon's socket, into $T_DIR/conf.
pd_netconf() { netconf 1.1.0 "\"daemonSocket\": \"$PD_SOCK\"" >"$T_DIR/conf"; }

declare -A POD_IPS POD_NETNS
# kpod_add NS/NAME: ADD as a kubelet would for pod NAME of namespace NS;
# sets CNI_RC and, on success, POD_IPS[NS/NAME] and POD_NETNS[NS/NAME]
# (the pod's network namespace name).
kpod_add() {
	local ns=${1%%/*} name=${1#*/} pns
	pns=$(pod_ns "$ns-$name")
	cni ADD "c-$ns-$name" "$pns" eth0 \
		"K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name;IgnoreUnknown=1" <"$T_DIR/conf"
	[ "$CNI_RC" -eq 0 ] || return 0
	POD_IPS[$1]=$(jget "$CNI_OUT" '.ips[0].address' | cut -d/ -f1)
	POD_NETNS[$1]=$PFX$ns-$name
}

# kpod_del NS/NAME: DEL as a kubelet would.
kpod_del() {
	local ns=${1%%/*} name=${1#*/}
	cni DEL "c-$ns-$name" "/run/netns/${POD_NETNS[$1]:-}" eth0 \
		"K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name;IgnoreUnknown=1" <"$T_DIR/conf"
}

# can FROM TO PORT [--udp]: probe from pod FROM to pod TO (NS/NAME each);
# prints 0 reached, 1 blocked, 2 the probe failed.
can() {
	local from=$1 to=$2 port=$3 ms=3000
	shift 3
	[ "${EXPECT_BLOCK:-0}" = 1 ] && ms=1000
	probe "${POD_NETNS[$from]:-}" "${POD_IPS[$to]:-}" "$port" "$ms" "$@"
}
# allowed FROM TO PORT NAME [--udp] / denied ...: TAP assertions.
allowed() { t_is "$(can "$1" "$2" "$3" "${@:5}")" 0 "$4"; }
denied() { t_is "$(EXPECT_BLOCK=1 can "$1" "$2" "$3" "${@:5}")" 1 "$4"; }

# identity_of NS/NAME: the identity the endpoints map gives the pod.
identity_of() { bhdp ep-get "${POD_IPS[$1]:-}" | sed -n 's/.* identity=\([0-9]*\) .*/\1/p'; }

# --- manifest mode ------------------------------------------------------
PD_MANIFESTS=$T_DIR/manifests
mkdir -p "$PD_MANIFESTS"

# manifest_put NAME: stdin becomes the manifest file NAME, written under a
# dot-name first and renamed into place, as a careful tool would: the
# daemon never reads half a file (dot-files are not manifests).
manifest_put() {
	cat >"$PD_MANIFESTS/.$1.tmp" && mv -f "$PD_MANIFESTS/.$1.tmp" "$PD_MANIFESTS/$1"
}
manifest_rm() { rm -f "$PD_MANIFESTS/$1"; }

# manifest_apply NAME: manifest_put, returning once the daemon has acted
# on the renamed file. The dot-file's own events make a reload too (of
# nothing new); it is waited out first, so that the count of datapath
# updates that follows can only move for the rename.
manifest_apply() {
	local n
	n=$(reconciles)
	cat >"$PD_MANIFESTS/.$1.tmp"
	pd_wait_reconcile "$n" "the dot-file .$1.tmp" || return 1
	n=$(reconciles)
	mv -f "$PD_MANIFESTS/.$1.tmp" "$PD_MANIFESTS/$1"
	pd_wait_reconcile "$n" "$1"
}
# manifest_remove NAME...: removes manifests; returns once they are acted on.
manifest_remove() {
	local n f
	n=$(reconciles)
	for f in "$@"; do manifest_rm "$f"; done
	pd_wait_reconcile "$n" "removing $*"
}

# yaml_labels INDENT KEY=VAL...: a block mapping of labels, quoted.
yaml_labels() {
	local pad=$1 kv
	shift
	for kv in "$@"; do printf '%s"%s": "%s"\n' "$pad" "${kv%%=*}" "${kv#*=}"; done
}

# yaml_ns NAME [KEY=VAL...]: a Namespace document labelled as a v1.22+ API
# server would (kubernetes.io/metadata.name) plus the given labels.
yaml_ns() {
	local name=$1
	shift
	printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n' "$name"
	yaml_labels '    ' "kubernetes.io/metadata.name=$name" "$@"
}

# yaml_pod NS/NAME [KEY=VAL...]: a Pod document with those labels on node
# ${PD_NODE:-n1}, declaring the ports the e2e tests name (serve-80-tcp,
# serve-80-udp, serve-81-tcp, serve-81-udp) as tests/lib/kube.sh's k_pod.
yaml_pod() {
	local ns=${1%%/*} name=${1#*/}
	shift
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$ns"
	[ $# -gt 0 ] && { echo '  labels:'; yaml_labels '    ' "$@"; }
	cat <<YAML
spec:
  nodeName: ${PD_NODE:-n1}
  containers:
  - name: c
    image: none
    ports:
    - {name: serve-80-tcp, containerPort: 80, protocol: TCP}
    - {name: serve-80-udp, containerPort: 80, protocol: UDP}
    - {name: serve-81-tcp, containerPort: 81, protocol: TCP}
    - {name: serve-81-udp, containerPort: 81, protocol: UDP}
YAML
}

# reconciles: how many datapath updates the daemon has made so far. Every
# reload of a manifest directory that parses makes one.
reconciles() { metric bulkhead_reconciles_total; }
reconciled_since() { [ "$(reconciles)" -gt "$1" ]; }
# pd_wait_reconcile N WHAT: waits for an update after the Nth; says so
# (a TAP comment) and fails when none comes.
pd_wait_reconcile() {
	wait_for 10 reconciled_since "$1" && return 0
	t_diag "policyd did not reload after $2"
	return 1
}

# pd_logged REGEX: the daemon's log has a line matching REGEX.
pd_logged() { grep -qE -- "$1" "$PD_LOG"; }

# unreached PORT POD...: the ordered pairs of PODs (NS/NAME) in which the
# first does not reach the second on TCP or UDP PORT, one "FROM->TO/PROTO"
# a line; nothing when every pair reaches.
unreached() {
	local port=$1 from to
	shift
	for from in "$@"; do
		for to in "$@"; do
			[ "$from" = "$to" ] && continue
			[ "$(can "$from" "$to" "$port")" = 0 ] || echo "$from->$to/tcp"
			[ "$(can "$from" "$to" "$port" --udp)" = 0 ] || echo "$from->$to/udp"
		done
	done
}

# http_code PATH: the HTTP status the daemon answers a GET on PATH with.
http_code() {
	"${PD_NET[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://$PD_METRICS$1" 2>/dev/null
}
