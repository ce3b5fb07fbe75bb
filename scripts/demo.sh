#!/usr/bin/env bash
# `make demo` until the cluster simulator lands: one simulated node (a network
# namespace) with the BPF datapath loaded, three pods wired by the real
# plugin exactly as a runtime calls it, traffic between them, then a policy
# the kernel enforces. `scripts/demo.sh down` removes it all.
set -euo pipefail

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
NODE=bhdemo-node
STATE=/tmp/bulkhead-demo
BPFFS=/sys/fs/bpf/bhdemo
BHDP=$BUILD/tests/tools/bhdp
PODS=(frontend backend database)
declare -A ID=([frontend]=1001 [backend]=1002 [database]=1003)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

down() {
	local pid ns
	if [ -f "$STATE/pids" ]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$STATE/pids"
	fi
	for ns in $(ip netns list | awk '{print $1}'); do
		case $ns in bhdemo-*) ip netns del "$ns" ;; esac
	done
	[ -x "$BHDP" ] && "$BHDP" "$BPFFS" unload >/dev/null 2>&1 || true
	rm -rf "$STATE"
}

# in_node CMD...: CMD in the node's network namespace. Not `ip netns exec`,
# whose private /sys hides the bpffs at /sys/fs/bpf and the pins on it.
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
bhdp() { in_node "$BHDP" "$BPFFS" "$@"; }
pod_ip() { jq -r '.ips[0].address | split("/")[0]' "$STATE/$1.json"; }

matrix() {	# matrix PORT: every pod to every pod over TCP
	local a b r
	printf '%-10s' from/to; printf '%-10s' "${PODS[@]}"; echo
	for a in "${PODS[@]}"; do
		printf '%-10s' "$a"
		for b in "${PODS[@]}"; do
			if ip netns exec "bhdemo-$a" "$BUILD/tests/tools/netprobe" connect \
				"$(pod_ip "$b")" "$1" --timeout-ms 1000 2>/dev/null; then
				r=ok; else r=BLOCKED; fi
			printf '%-10s' "$r"
		done
		echo
	done
}

cni() {	# cni CMD POD: the plugin, run in the node as the runtime would
	in_node env -i CNI_COMMAND="$1" CNI_CONTAINERID="demo-$2" \
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
  "stateDir": "$STATE/state", "logFile": "$STATE/cni.log", "bpffsRoot": "$BPFFS",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.244.1.0/24" }
}
JSON

say "a node: network namespace $NODE"
ip netns add "$NODE"
ip -n "$NODE" link set lo up

say "the datapath: programs and maps loaded once, pinned under $BPFFS"
bhdp load
ls "$BPFFS/progs" "$BPFFS/maps" | paste -sd' '

for pod in "${PODS[@]}"; do
	say "ADD $pod  (CNI_COMMAND=ADD bulkhead < netconf)"
	ip netns add "bhdemo-$pod"
	cni ADD "$pod" | tee "$STATE/$pod.json" | jq -c '{ip: .ips[0].address, gateway: .ips[0].gateway, host_veth: .interfaces[0].name, pod_if: .interfaces[1].name}'
	ip netns exec "bhdemo-$pod" "$BUILD/tests/tools/netprobe" serve --tcp 80 --udp 80 \
		--ready-file "$STATE/$pod.ready" >/dev/null 2>&1 &
	echo "$!" >>"$STATE/pids"
	# The daemon will do this from the pod's labels; until then, by hand.
	bhdp ep-set "$(pod_ip "$pod")" id="${ID[$pod]}"
done
for pod in "${PODS[@]}"; do
	for _ in $(seq 100); do [ -e "$STATE/$pod.ready" ] && break; sleep 0.05; done
done

say "inside frontend"
ip -n bhdemo-frontend -br addr show eth0
ip -n bhdemo-frontend route
say "on the node: one /32 route per pod, tagged proto 190"
ip -n "$NODE" route show proto 190

say "host veth of frontend: the programs the plugin attached"
hv=$(jq -r '.interfaces[0].name' "$STATE/frontend.json")
ip netns exec "$NODE" tc filter show dev "$hv" ingress | grep -o 'from_container.*'
ip netns exec "$NODE" tc filter show dev "$hv" egress | grep -o 'to_container.*'

say "no policy yet: TCP port 80, every pod to every pod"
matrix 80

say "policy: database takes only backend on TCP 80; backend takes only frontend"
bhdp ep-set "$(pod_ip database)" flags=ingress
bhdp ep-set "$(pod_ip backend)" flags=ingress
bhdp rule-add dir=ingress local="${ID[database]}" remote="${ID[backend]}" proto=tcp port=80 rule=1
bhdp rule-add dir=ingress local="${ID[backend]}" remote="${ID[frontend]}" proto=tcp port=80 rule=2
bhdp policy-list
matrix 80

say "why was frontend -> database dropped? the drop event"
bhdp events --timeout-ms 300 >/dev/null || true	# what the matrix left behind
bhdp events --count 1 --timeout-ms 3000 >"$STATE/event" &
evpid=$!
echo "$evpid" >>"$STATE/pids"
for _ in $(seq 20); do
	ip netns exec bhdemo-frontend "$BUILD/tests/tools/netprobe" connect \
		"$(pod_ip database)" 80 --timeout-ms 200 2>/dev/null || true
	[ -s "$STATE/event" ] && break
done
wait "$evpid" || true
jq -c . "$STATE/event"

say "counters by verdict and reason"
bhdp counters

say "CHECK backend, then break its default route and CHECK again"
cni CHECK backend && echo "CHECK: ok"
ip -n bhdemo-backend route del default
cni CHECK backend | jq -c '{code, msg}' || true

cat <<EOT

The node stays up. Things to try:
  ip netns exec $NODE ip -d link show         # host veths, alias bulkhead:demo
  nsenter --net=/run/netns/$NODE $BHDP $BPFFS ct-list   # conntrack
  nsenter --net=/run/netns/$NODE $BHDP $BPFFS counters  # verdicts
  cat $STATE/state/ipam/demo/allocations   # who holds which address
  tail $STATE/cni.log                      # the plugin's log
Identities and rules are set by hand here; the daemon (NetworkPolicy from
the API server) and the two-node cluster come next. Remove everything:
make demo-down
EOT
