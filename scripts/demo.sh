#!/usr/bin/env bash
# `make demo` until the cluster simulator lands: one simulated node (a network
# namespace), three pods wired by the real plugin exactly as a runtime calls
# it, and traffic between them. `scripts/demo.sh down` removes it all.
set -euo pipefail

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
NODE=bhdemo-node
STATE=/tmp/bulkhead-demo
PODS=(frontend backend database)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

down() {
	local pid ns
	if [ -f "$STATE/pids" ]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$STATE/pids"
	fi
	for ns in $(ip netns list | awk '{print $1}'); do
		case $ns in bhdemo-*) ip netns del "$ns" ;; esac
	done
	rm -rf "$STATE"
}

cni() {	# cni CMD POD: the plugin, run in the node as the runtime would
	ip netns exec "$NODE" env -i CNI_COMMAND="$1" CNI_CONTAINERID="demo-$2" \
		CNI_NETNS="/run/netns/bhdemo-$2" CNI_IFNAME=eth0 CNI_PATH="$BUILD" \
		CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$2" \
		"$BUILD/bulkhead" <"$STATE/netconf"
}

[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
if [ "${1:-}" = down ]; then down; echo "demo: removed"; exit 0; fi
down
mkdir -p "$STATE"
cat >"$STATE/netconf" <<JSON
{
  "cniVersion": "1.1.0", "name": "demo", "type": "bulkhead",
  "stateDir": "$STATE/state", "logFile": "$STATE/cni.log",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.244.1.0/24" }
}
JSON

say "a node: network namespace $NODE"
ip netns add "$NODE"
ip -n "$NODE" link set lo up

for pod in "${PODS[@]}"; do
	say "ADD $pod  (CNI_COMMAND=ADD bulkhead < netconf)"
	ip netns add "bhdemo-$pod"
	cni ADD "$pod" | tee "$STATE/$pod.json" | jq -c '{ip: .ips[0].address, gateway: .ips[0].gateway, host_veth: .interfaces[0].name, pod_if: .interfaces[1].name}'
	ip netns exec "bhdemo-$pod" "$BUILD/tests/tools/netprobe" serve --tcp 80 --udp 80 \
		--ready-file "$STATE/$pod.ready" >/dev/null 2>&1 &
	echo "$!" >>"$STATE/pids"
done
for pod in "${PODS[@]}"; do
	for _ in $(seq 100); do [ -e "$STATE/$pod.ready" ] && break; sleep 0.05; done
done

say "inside frontend"
ip -n bhdemo-frontend -br addr show eth0
ip -n bhdemo-frontend route
say "on the node: one /32 route per pod, tagged proto 190"
ip -n "$NODE" route show proto 190

say "TCP port 80, every pod to every pod"
printf '%-10s' from/to; printf '%-10s' "${PODS[@]}"; echo
for a in "${PODS[@]}"; do
	printf '%-10s' "$a"
	for b in "${PODS[@]}"; do
		ip=$(jq -r '.ips[0].address | split("/")[0]' "$STATE/$b.json")
		if ip netns exec "bhdemo-$a" "$BUILD/tests/tools/netprobe" connect "$ip" 80 \
			--timeout-ms 2000 2>/dev/null; then r=ok; else r=BLOCKED; fi
		printf '%-10s' "$r"
	done
	echo
done

say "CHECK backend, then break its default route and CHECK again"
cni CHECK backend && echo "CHECK: ok"
ip -n bhdemo-backend route del default
cni CHECK backend | jq -c '{code, msg}' || true

cat <<EOT

The node stays up. Things to try:
  ip netns exec $NODE ip -d link show         # host veths, alias bulkhead:demo
  cat $STATE/state/ipam/demo/allocations   # who holds which address
  tail $STATE/cni.log                      # the plugin's log
Policy between these pods arrives with the datapath; the two-node cluster
with NetworkPolicies with the simulator. Remove everything: make demo-down
EOT
