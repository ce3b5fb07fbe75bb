# Fixtures for tests against a real kube-apiserver (scripts/apiserver.sh):
# start and stop it with the test, kubectl on it, and the objects
# Bulkhead's tests make (namespaces that work without a controller-manager,
# pods with named ports, the BulkheadIdentity CRD). Source after cni.sh.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APISERVER=$ROOT/scripts/apiserver.sh
API_DIR=$T_DIR/api
KCFG=

for tool in kubectl curl; do
	command -v "$tool" >/dev/null || { echo "Bail out! $tool not installed"; exit 1; }
done
T_CLEANUP+=('"$APISERVER" stop "$API_DIR" >/dev/null 2>&1')

# api_up: starts etcd and kube-apiserver for this test and installs the
# BulkheadIdentity CRD; sets KCFG.
api_up() {
	KCFG=$("$APISERVER" start "$API_DIR" 2>>"$T_DIR/apiserver.log") || {
		echo "Bail out! kube-apiserver did not start:"
		sed 's/^/# /' "$T_DIR/apiserver.log" | tail -n 20
		exit 1
	}
	k apply -f "$ROOT/deploy/crd-identity.yaml" >/dev/null &&
		k wait --for condition=established --timeout=30s \
			crd/bulkheadidentities.bulkhead.io >/dev/null && return 0
	echo "Bail out! the BulkheadIdentity CRD was not established"
	exit 1
}

k() { kubectl --kubeconfig "$KCFG" "$@"; }

# k_ns NAME [KEY=VAL...]: a namespace labelled as a v1.22+ API server would
# (kubernetes.io/metadata.name) plus the given labels, with the default
# ServiceAccount pods need when no controller-manager runs.
k_ns() {
	local name=$1
	shift
	k create namespace "$name" >/dev/null &&
		k label namespace "$name" "kubernetes.io/metadata.name=$name" "$@" \
			--overwrite >/dev/null &&
		k -n "$name" create serviceaccount default >/dev/null 2>&1
	k -n "$name" get serviceaccount default >/dev/null
}

# k_pod NS/NAME [KEY=VAL...]: a pod with those labels on node n1 declaring
# the ports the e2e tests name (serve-80-tcp, serve-80-udp, serve-81-tcp,
# serve-81-udp).
k_pod() {
	local ns=${1%%/*} name=${1#*/} labels="" kv
	shift
	for kv in "$@"; do labels+="\"${kv%%=*}\": \"${kv#*=}\", "; done
	k apply -f - >/dev/null <<JSON
{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "$name", "namespace": "$ns",
               "labels": {${labels%, }}},
  "spec": {
    "nodeName": "${PD_NODE:-n1}",
    "automountServiceAccountToken": false,
    "containers": [{"name": "c", "image": "none",
      "ports": [
        {"name": "serve-80-tcp", "containerPort": 80, "protocol": "TCP"},
        {"name": "serve-80-udp", "containerPort": 80, "protocol": "UDP"},
        {"name": "serve-81-tcp", "containerPort": 81, "protocol": "TCP"},
        {"name": "serve-81-udp", "containerPort": 81, "protocol": "UDP"}]}]
  }
}
JSON
}
