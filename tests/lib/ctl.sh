# Fixtures for bulkhead-ctl's tests, on top of policyd.sh: the tool run in
# the node's namespace against this run's pins and daemon, and the Node
# object the manifests give the daemon.
. "$(dirname "${BASH_SOURCE[0]}")/policyd.sh"

CTL=$BUILD/bulkhead-ctl
[ -x "$CTL" ] || { echo "Bail out! $CTL not built"; exit 1; }

# ctl ARGS...: in the node's namespace, where the daemon listens, as JSON.
ctl() { "${PD_NET[@]}" "$CTL" --bpffs-root "$BPFFS" --daemon "$PD_METRICS" -o json "$@"; }

# yaml_node: this node's Node object, its pod CIDR the netconf's subnet.
yaml_node() {
	cat <<YAML
---
apiVersion: v1
kind: Node
metadata: {name: ${PD_NODE:-n1}}
spec: {podCIDR: ${SUBNET:-10.244.7.0/24}}
status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
YAML
}
