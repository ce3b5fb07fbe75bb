#!/usr/bin/env bash
# `make demo`: a two-node Bulkhead cluster on this machine (scripts/bulkhead-sim),
# a small shop application across both nodes and two namespaces, the open
# matrix, then NetworkPolicies one at a time with the matrix after each and
# the flow log's denied entries, both identities named. The cluster stays up
# to play with; `make demo-down` (or `scripts/demo.sh down`) removes it.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
export BULKHEAD_SIM_CLUSTER=${BULKHEAD_SIM_CLUSTER:-demo}
SIM=$HERE/bulkhead-sim

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "bulkhead-sim $*"; "$SIM" "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces, BPF)" >&2; exit 1; }
if [ "${1:-}" = down ]; then "$SIM" down; exit 0; fi

say "A two-node cluster: etcd, kube-apiserver, one bulkhead-policyd per node"
"$SIM" down >/dev/null 2>&1 || true
run up --nodes 2

say "The application: a web shop in namespace 'shop', its database in 'data'"
run ns create shop team=shop
run ns create data team=data
run pod create shop/frontend --node n1 --label app=frontend --port http:80/tcp
run pod create shop/backend --node n2 --label app=backend --port http:80/tcp --port metrics:9090/tcp
run pod create data/db --node n2 --label app=db --port pg:5432/tcp --port http:80/tcp
run pod create shop/debug --node n1 --label app=debug --port http:80/tcp
echo
"$SIM" kubectl get pods -A -o wide 2>/dev/null | cut -c1-100 || true

show() {	# show PORT: the matrix on one port
	printf '\nTCP %s, every pod to every pod (rows: from, columns: to):\n' "$1"
	"$SIM" matrix "$1"
}

say "No NetworkPolicy yet: everything reaches everything (Kubernetes' default)"
show 80

policy() {	# policy FILE TITLE
	say "$2"
	sed 's/^/    /' "$1"
	run apply "$1"
}

# denied: the last drops in every node's flow log, one line each.
denied() {
	local f node
	for f in /run/bulkhead-sim/"$BULKHEAD_SIM_CLUSTER"/nodes/*/flows.log; do
		[ -s "$f" ] || continue
		node=$(basename "$(dirname "$f")")
		jq -r --arg node "$node" 'select(.verdict == "drop") |
			"\($node)  \(.src.pod // .src.ip) (identity \(.src.identity)) -> \(.dst.pod // .dst.ip) (identity \(.dst.identity)) \(.proto)/\(.dst.port // "-")  \(.reason)"' "$f"
	done | sort -u | tail -n 8
}

P=$(mktemp -d /tmp/bulkhead-demo-policy.XXXXXX)
trap 'rm -rf "$P"' EXIT

cat >"$P/db.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-backend, namespace: data}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: shop}}
      podSelector: {matchLabels: {app: backend}}
    ports: [{port: pg}]
YAML
policy "$P/db.yaml" "Policy 1: only the backend (namespace shop) may reach the database, on its named port 'pg'"
show 5432
echo "(only data/db listens on 5432; its port 80 is now closed to everyone:)"
show 80

cat >"$P/backend.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 80, protocol: TCP}]
YAML
policy "$P/backend.yaml" "Policy 2: the backend (on node n2) accepts port 80 only from the frontend (on node n1)"
show 80

say "What the kernel dropped, from each node's flow log (the source identity of a cross-node flow comes from the VXLAN VNI)"
denied

say "Relabel the debug pod as a frontend: node n2 judges it by its new identity"
run pod label shop/debug app=frontend
show 80

cat <<EOF2

The cluster is still up. Try:
  scripts/bulkhead-sim kubectl get pods,networkpolicies -A
  scripts/bulkhead-sim probe shop/debug data/db 5432
  scripts/bulkhead-sim pod create shop/new --node n1 --label app=frontend --port http:80/tcp
  scripts/bulkhead-sim delete networkpolicy shop/backend-from-frontend
  scripts/bulkhead-sim matrix 80
Remove it with:  make demo-down   (BULKHEAD_SIM_CLUSTER=$BULKHEAD_SIM_CLUSTER)
EOF2
