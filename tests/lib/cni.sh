# Fixtures for the plugin's end-to-end tests: a "node" network namespace in
# which the plugin runs (so nothing touches the machine's own namespace),
# with the datapath loaded into a bpffs root of its own, pod namespaces,
# netconf files, and a cleanup that runs even on failure. Every name
# carries a per-run prefix, so parallel runs never collide.
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root for network namespaces"

BUILD=${BULKHEAD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
PLUGIN=$BUILD/bulkhead
NETPROBE=$BUILD/tests/tools/netprobe
BHDP=$BUILD/tests/tools/bhdp
REF_PLUGINS=/usr/lib/cni
PFX="bht$$x"
NODE=${PFX}node
BPFFS=/sys/fs/bpf/$PFX
T_DIR=$(mktemp -d "/tmp/bulkhead-test.XXXXXX")
T_PIDS=()
T_CLEANUP=()	# commands other fixtures add, run first on exit

cleanup() {
	local pid ns c
	for c in "${T_CLEANUP[@]}"; do eval "$c"; done
	for pid in "${T_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$PFX"*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	# The veths that ran the programs went with the namespaces.
	if [ -e "$BPFFS" ]; then
		"$BHDP" "$BPFFS" unload >/dev/null 2>&1
		rm -rf "$BPFFS"
	fi
	rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_node CMD...: CMD in the node's network namespace. Not `ip netns exec`:
# that mounts a /sys of the namespace's own, which hides the bpffs mounted
# at /sys/fs/bpf, and with it the pins the plugin must find.
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }

# bhdp ARGS...: the datapath test tool on this run's bpffs root.
bhdp() { in_node "$BHDP" "$BPFFS" "$@"; }

# node_up: the node namespace, loopback up, the datapath loaded (as policyd
# would load it) into this run's bpffs root. Bails out when it cannot.
node_up() {
	local out
	ip netns add "$NODE" && ip -n "$NODE" link set lo up &&
		out=$(bhdp load 2>&1) && return 0
	echo "Bail out! cannot set up the node $NODE with a datapath under $BPFFS: ${out:-}"
	exit 1
}

# pod_ready IP [ID]: gives the pod at IP an identity (default 256), as
# policyd does once it knows the pod's labels. Until then the datapath
# drops the pod's traffic ("endpoint identity not yet known").
pod_ready() { bhdp ep-set "$1" "id=${2:-256}" >/dev/null; }

# pod_ns NAME: makes a pod namespace and prints its path.
pod_ns() {
	ip netns add "$PFX$1" && echo "/run/netns/$PFX$1"
}

# netconf VERSION [EXTRA-JSON-MEMBERS]: a bulkhead netconf on stdout.
netconf() {
	local ver=${1:-1.1.0} extra=${2:-}
	cat <<JSON
{
  "cniVersion": "$ver",
  "name": "${NETNAME:-testnet}",
  "type": "bulkhead",
  "stateDir": "$T_DIR/state",
  "logFile": "$T_DIR/cni.log",
  "logLevel": "debug",
  "bpffsRoot": "$BPFFS",
  "ipam": { "type": "bulkhead-ipam", "subnet": "${SUBNET:-10.244.7.0/24}" }${extra:+,
  $extra}
}
JSON
}

# cni CMD CONTAINERID NETNS IFNAME < netconf: runs the plugin in the node
# namespace as a runtime would. Sets CNI_OUT (stdout) and CNI_RC.
cni() {
	CNI_OUT=$(cni_exec "$PLUGIN" "$@") && CNI_RC=0 || CNI_RC=$?
}

# cni_exec PLUGIN CMD CONTAINERID NETNS IFNAME [CNI_ARGS]
cni_exec() {
	in_node env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		CNI_COMMAND="$2" CNI_CONTAINERID="$3" CNI_NETNS="$4" CNI_IFNAME="$5" \
		CNI_ARGS="${6:-K8S_POD_NAMESPACE=default;K8S_POD_NAME=$3;IgnoreUnknown=1}" \
		CNI_PATH="$BUILD:$REF_PLUGINS" "$1" 2>>"$T_DIR/stderr"
}

# jget JSON FILTER: one value out of a JSON document.
jget() { jq -r "$2" <<<"$1"; }

# serve NS PORT...: netprobe answering on TCP and UDP PORTs inside NS;
# returns once it is listening.
serve() {
	local ns=$1 ready="$T_DIR/ready.$RANDOM$RANDOM" args=() p
	shift
	for p in "$@"; do args+=(--tcp "$p" --udp "$p"); done
	ip netns exec "$ns" "$NETPROBE" serve "${args[@]}" --ready-file "$ready" &
	T_PIDS+=("$!")
	wait_for 5 test -e "$ready"
}

# reach NS IP PORT [--udp]: 0 when a probe from NS gets an answer.
reach() {
	local ns=$1 ip=$2 port=$3
	shift 3
	ip netns exec "$ns" "$NETPROBE" connect "$ip" "$port" --timeout-ms 3000 "$@" 2>/dev/null
}

# wait_for SECONDS CMD...: polls CMD until it succeeds or time runs out.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# links_in NS: the interface names in a namespace, one per line.
links_in() { ip -n "$1" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1; }

# allocs [NETWORK [DATADIR]]: how many addresses bulkhead-ipam has handed out.
allocs() {
	local f="${2:-$T_DIR/state/ipam}/${1:-testnet}/allocations"
	[ -f "$f" ] || { echo 0; return; }
	grep -cv '^#\|^last' "$f" || true
}
