#!/usr/bin/env bash
# The cluster simulator end to end, driven only through scripts/bulkhead-sim:
# two nodes; allowed flows on one node and across nodes; a NetworkPolicy
# enforced the moment `apply` returns (no sleeps anywhere: that is the
# contract); a pod relabeled on node 1 re-judged on node 2; a namespace
# relabeled; a pod moved to the other node reachable at its new address
# under the same policy while its old address answers no more; SCTP
# refused; a second cluster up and down beside the first, even after its
# PID files are lost; and `down` leaving nothing behind.
set -u
. "$(dirname "$0")/lib/tap.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIM=$ROOT/scripts/bulkhead-sim
CACHE=${BULKHEAD_CACHE:-/var/cache/bulkhead}
export BULKHEAD_BUILD=${BULKHEAD_BUILD:-$ROOT/build}

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root for network namespaces"
[ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/etcd/usr/bin/etcd" ] ||
	{ echo "Bail out! no API server built (scripts/apiserver.sh build)"; exit 1; }

C1=t$$			# the cluster under test
C2=t$$b			# a second one beside it
T_DIR=$(mktemp -d /tmp/bulkhead-sim-test.XXXXXX)

cleanup() {
	BULKHEAD_SIM_CLUSTER=$C2 "$SIM" down >/dev/null 2>&1
	BULKHEAD_SIM_CLUSTER=$C1 "$SIM" down >/dev/null 2>&1
	rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BULKHEAD_SIM_CLUSTER=$C1
sim() { "$SIM" "$@"; }

# probe_is FROM TO PORT WANT NAME [OPTS...]: the probe's exit status.
# Blocked probes wait out a short timeout.
probe_is() {
	local from=$1 to=$2 port=$3 want=$4 name=$5 rc ms=3000
	shift 5
	[ "$want" = 1 ] && ms=700
	sim probe "$from" "$to" "$port" --timeout-ms "$ms" "$@" 2>/dev/null && rc=0 || rc=$?
	t_is "$rc" "$want" "$name"
}
reaches() { probe_is "$1" "$2" "$3" 0 "$4" "${@:5}"; }
blocked() { probe_is "$1" "$2" "$3" 1 "$4" "${@:5}"; }

# leftovers CLUSTER: whatever of that cluster still exists (namespaces,
# bpffs roots, state, processes naming its state directory).
leftovers() {
	local c=$1 p
	ip netns list | awk '{print $1}' | grep -E "^bhsim-$c-" | sed 's/^/netns /'
	for p in /sys/fs/bpf/bhsim-"$c"-*; do [ -e "$p" ] && echo "bpffs $p"; done
	for p in /run/bulkhead-sim/"$c" /run/bulkhead-sim/"$c".*; do [ -e "$p" ] && echo "state $p"; done
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "/run/bulkhead-sim/$c/" &&
			echo "process ${p#/proc/}"
	done
	return 0
}

# --- up -------------------------------------------------------------------
t_ok "up --nodes 2" sim up --nodes 2 || { echo "Bail out! the cluster did not come up"; exit 1; }
t_is "$(sim kubectl get nodes -o jsonpath='{.items[*].metadata.name}')" "n1 n2" \
	"the Node objects n1 and n2 exist"
t_like "$(sim kubectl get node n2 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address} {.spec.podCIDR}')" \
	'^192\.168\.[0-9]+\.12 10\.[0-9]+\.2\.0/24$' "n2 has its InternalIP and pod CIDR"
rc=0
sim up >/dev/null 2>&1 || rc=$?
t_is "$rc" 1 "a second up of the same cluster is refused"

# --- namespaces and pods ---------------------------------------------------
t_ok "ns create x" sim ns create x team=x
t_ok "ns create y" sim ns create y team=y
t_is "$(sim kubectl get ns x -o jsonpath='{.metadata.labels.kubernetes\.io/metadata\.name} {.metadata.labels.team}')" \
	"x x" "the namespace is labelled with its name and the given labels"
t_is "$(sim kubectl -n y get serviceaccount default -o name)" "serviceaccount/default" \
	"ns create makes the default ServiceAccount"

# x/a and x/d are the protected ones (tier=db), on n1 and n2; x/b on n1 is
# the allowed client, y/c on n2 an outsider.
t_ok "pod x/a on n1" sim pod create x/a --node n1 --label app=a --label tier=db \
	--port http:80/tcp --port 80/udp
t_ok "pod x/b on n1" sim pod create x/b --node n1 --label app=b --port 80/tcp --port 80/udp
t_ok "pod y/c on n2" sim pod create y/c --node n2 --label app=c --port 80/tcp --port 80/udp
t_ok "pod x/d on n2" sim pod create x/d --node n2 --label app=d --label tier=db \
	--port http:80/tcp --port 80/udp

ip_a=$(sim pod ip x/a)
t_like "$ip_a" '^10\.[0-9]+\.1\.[0-9]+$' "pod ip prints the address alone, in n1's pod CIDR"
t_is "$(sim kubectl -n x get pod a -o jsonpath='{.status.podIP} {.status.phase} {.spec.nodeName}')" \
	"$ip_a Running n1" "the Pod's status carries its address, as a kubelet reports it"
t_is "$(sim kubectl -n x get pod a -o jsonpath='{.spec.containers[0].ports[0].name}')" "http" \
	"the Pod declares its named port"

reaches x/b x/a 80 "same node, TCP: x/b reaches x/a"
reaches x/b x/a 80 "same node, UDP: x/b reaches x/a" --proto udp
reaches y/c x/a 80 "n2 to n1, TCP: y/c reaches x/a"
reaches x/a y/c 80 "n1 to n2, UDP: x/a reaches y/c" --proto udp
reaches x/b x/d 80 "n1 to n2, TCP: x/b reaches x/d"

# --- a NetworkPolicy, enforced once apply returns ------------------------------
cat >"$T_DIR/db.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-b, namespace: x}
spec:
  podSelector: {matchLabels: {tier: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: b}}}]
    ports: [{port: http}]
YAML
t_ok "apply db-from-b" sim apply "$T_DIR/db.yaml"
reaches x/b x/a 80 "policy: app=b reaches x/a on its node"
reaches x/b x/d 80 "policy: app=b reaches x/d across nodes"
blocked y/c x/d 80 "policy: y/c is denied x/d on its own node"
blocked y/c x/a 80 "policy: y/c is denied x/a across nodes"
blocked x/b x/d 80 "policy: UDP 80 is not the named port http, denied" --proto udp
reaches y/c x/b 80 "policy: x/b, not selected, stays open"

t_ok "pod label x/b app=z (on n1)" sim pod label x/b app=z
blocked x/b x/d 80 "relabeled on n1, x/b is denied by n2 at once"
blocked x/b x/a 80 "relabeled, x/b is denied by n1 too"
t_ok "pod label x/b app=b" sim pod label x/b app=b
reaches x/b x/d 80 "labelled back, x/b reaches x/d on n2 again"
t_ok "pod label x/b app- and an absent key-" sim pod label x/b app- nosuchkey-
t_is "$(sim kubectl -n x get pod b -o jsonpath='{.metadata.labels}')" "" \
	"KEY- removes a label, and an absent one is a no-op"
blocked x/b x/d 80 "without the label, x/b is denied"
t_ok "pod label x/b app=b (again)" sim pod label x/b app=b

# A second policy admitting a namespace by label.
cat >"$T_DIR/trusted.json" <<'JSON'
{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "db-from-trusted", "namespace": "x"},
 "spec": {"podSelector": {"matchLabels": {"tier": "db"}}, "policyTypes": ["Ingress"],
          "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"trust": "yes"}}}]}]}}
JSON
t_ok "apply db-from-trusted (JSON)" sim apply "$T_DIR/trusted.json"
blocked y/c x/d 80 "namespace y is not trusted yet"
t_ok "ns label y trust=yes" sim ns label y trust=yes
reaches y/c x/d 80 "ns label: y/c reaches x/d on its node"
reaches y/c x/a 80 "ns label: y/c reaches x/a across nodes"
t_ok "ns label y trust-" sim ns label y trust-
blocked y/c x/a 80 "the label removed, y/c is denied again"

# --- a pod moved to the other node -------------------------------------------
old_b=$(sim pod ip x/b)
t_ok "pod delete x/b (n1)" sim pod delete x/b
t_is "$(sim kubectl -n x get pods -o name | grep -c 'pod/b$')" 0 "the Pod object is gone"
t_ok "pod create x/b on n2, same labels" sim pod create x/b --node n2 --label app=b --port 80/tcp
new_b=$(sim pod ip x/b)
t_like "$new_b" '^10\.[0-9]+\.2\.[0-9]+$' "x/b's new address is in n2's pod CIDR"
reaches x/b x/a 80 "moved: x/b reaches x/a (n2 to n1) under the same policy"
reaches x/b x/d 80 "moved: x/b reaches x/d, now on its node"
blocked x/a "$old_b" 80 "nothing answers at x/b's old address on n1"
blocked y/c "$old_b" 80 "nor from the other node"

# --- matrix, delete, SCTP, ctl ------------------------------------------------
t0=$SECONDS
json=$(sim matrix 80 --json)
t_is "$(jq -r '[(.pods | length), (.results | length)] | map(tostring) | join(" ")' <<<"$json")" "4 12" \
	"matrix --json: 4 pods, 12 ordered pairs"
t_is "$(jq -r '.results[] | select(.to == "x/a") | "\(.from)=\(.result)"' <<<"$json" | paste -sd' ')" \
	"x/b=reached x/d=blocked y/c=blocked" "matrix: who reaches x/a"
t_like "$(sim matrix 80)" $'x/b +yes +- +yes +yes' "matrix: the table's x/b row"
t_like "$((SECONDS - t0))" '^([0-9]|1[0-9])$' "two matrices take seconds, not minutes"

t_ok "delete networkpolicy x/db-from-b" sim delete networkpolicy x/db-from-b
t_ok "delete networkpolicy x/db-from-trusted" sim delete networkpolicy x/db-from-trusted
reaches y/c x/a 80 "the policies deleted, y/c reaches x/a at once"

out=$(sim probe y/c x/a 80 --proto sctp 2>&1) && rc=0 || rc=$?
if [ -e /proc/net/sctp ]; then
	t_pass "# SKIP this kernel has SCTP"
	t_pass "# SKIP this kernel has SCTP"
else
	t_is "$rc" 2 "probe --proto sctp fails as a probe (2) without kernel SCTP"
	t_like "$out" 'SCTP is not available' "and says why"
	out=$(sim pod create x/s --node n1 --port 9/sctp 2>&1) && rc=0 || rc=$?
	t_like "$rc $out" '^1 .*SCTP is not available' "pod create with an SCTP port is refused"
	t_is "$(sim kubectl -n x get pods -o name | grep -c 'pod/s$')" 0 "and makes no Pod"
fi
t_like "$(sim ctl n1 endpoint list -o json | jq -r '[.[] | "\(.namespace)/\(.pod)"] | join(" ")')" \
	'x/a' "ctl n1 runs bulkhead-ctl on n1's datapath and daemon"

# --- a second cluster beside the first ----------------------------------------
t_ok "a second cluster comes up beside the first" \
	env BULKHEAD_SIM_CLUSTER="$C2" "$SIM" up --nodes 1
t_ok "its own pods" env BULKHEAD_SIM_CLUSTER="$C2" sh -c \
	'"$0" ns create x && "$0" pod create x/a --node n1 --port 80/tcp &&
	 "$0" pod create x/b --node n1 --port 80/tcp' "$SIM"
t_ok "its pods reach each other" env BULKHEAD_SIM_CLUSTER="$C2" "$SIM" probe x/b x/a 80
t_is "$(env BULKHEAD_SIM_CLUSTER="$C2" "$SIM" kubectl get pods -A -o name | grep -c '^pod/[ab]$')" 2 \
	"the second API server knows only its own pods"
reaches y/c x/a 80 "the first cluster still works beside it"
# A crash: the PID files lost; down still finds the processes.
rm -f /run/bulkhead-sim/"$C2"/nodes/*/policyd.pid /run/bulkhead-sim/"$C2"/pods/*/*/serve.pid
t_ok "down of the second cluster after losing its PID files" \
	env BULKHEAD_SIM_CLUSTER="$C2" "$SIM" down
t_is "$(leftovers "$C2")" "" "nothing of the second cluster is left"
reaches x/b x/a 80 "the first cluster is untouched"

# --- down ----------------------------------------------------------------------
t_ok "down" sim down
t_is "$(leftovers "$C1")" "" "down leaves no netns, bpffs root, state or process"
t_ok "down again is a no-op" sim down
rc=0
sim probe x/b x/a 80 >/dev/null 2>&1 || rc=$?
t_is "$rc" 2 "a probe on a cluster that is down fails as a probe"

t_done
