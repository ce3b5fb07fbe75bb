#!/usr/bin/env bash
# bulkhead-ctl on one simulated node with bulkhead-policyd in manifest
# mode: status, endpoints by IP and by pod, identities with labels, the
# ipcache, conntrack after a probe and its flush, drops after a denied
# probe; then, with the daemon stopped, the same numbers without names;
# and the exit codes for no datapath (3) and bad usage (2).
set -u
. "$(dirname "$0")/lib/ctl.sh"

node_ns
pd_netconf
{
	yaml_ns x team=x
	yaml_pod x/a role=client
	yaml_pod x/b role=server
	yaml_node
} | manifest_put cluster.yaml
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts and is ready"
for p in x/a x/b; do
	kpod_add "$p"
	[ "$CNI_RC" -eq 0 ] || { t_diag "$CNI_OUT"; echo "Bail out! ADD $p failed"; exit 1; }
done
A=${POD_IPS[x/a]} B=${POD_IPS[x/b]}
ID_A=$(identity_of x/a) ID_B=$(identity_of x/b)
pod_serve "${POD_NETNS[x/b]}"

# --- status ---------------------------------------------------------------
out=$(ctl status)
t_is "$?" 0 "status exits 0"
t_is "$(jq -r '[.datapath.loaded, .daemon.reachable, .daemon.healthy, .daemon.ready] | @tsv' <<<"$out")" \
	"$(printf 'true\ttrue\ttrue\ttrue')" "status: datapath loaded, daemon reachable, healthy and ready"
t_is "$(jq -r '.maps.endpoints | "\(.entries)/\(.capacity)"' <<<"$out")" "2/65536" \
	"status: the endpoints map holds the two pods, of 65536"
# Manifests carry no resourceVersions: the daemon has applied none to report.
t_is "$(jq -c '[.daemon.node, .daemon.applied]' <<<"$out")" "[\"${PD_NODE:-n1}\",{}]" \
	"status: the daemon's node and applied versions (none in manifest mode)"

# --- endpoints --------------------------------------------------------------
out=$(ctl endpoint list)
t_is "$(jq -r '.[] | [.ip, .namespace, .pod, .identity, .egress, .ingress] | @tsv' <<<"$out" | sort)" \
	"$(printf '%s\tx\ta\t%s\topen\topen\n%s\tx\tb\t%s\topen\topen' "$A" "$ID_A" "$B" "$ID_B" | sort)" \
	"endpoint list: both pods with names, identities and enforcement"
table=$("${PD_NET[@]}" "$CTL" --bpffs-root "$BPFFS" --daemon "$PD_METRICS" endpoint list)
t_like "$table" '^IP +NAMESPACE +POD +IDENTITY +IFINDEX +MAC +EGRESS +INGRESS' "endpoint list as a table: the header"
t_like "$table" "$B +x +b +$ID_B " "and a row per pod"
out=$(ctl endpoint get "$B")
t_is "$(jq -r '[.pod, .identity, .hostIfname != null, (.mac | test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"))] | @tsv' <<<"$out")" \
	"$(printf 'b\t%s\ttrue\ttrue' "$ID_B")" "endpoint get IP: the pod, its identity, veth and MAC"
t_is "$(jq -r '.labels.role' <<<"$out")" "server" "and its identity's labels"
t_is "$(ctl endpoint get x/b | jq -r .ip)" "$B" "endpoint get NS/POD: the same endpoint"
ctl endpoint get x/nope >/dev/null 2>&1
t_is "$?" 1 "endpoint get of an unknown pod exits 1"

# --- identities -------------------------------------------------------------
out=$(ctl identity list)
t_is "$(jq -r --argjson id "$ID_B" '.[] | select(.id == $id) | .labels.role' <<<"$out")" server \
	"identity list: x/b's identity with its labels"
t_is "$(jq -r '.[] | select(.id == 1) | "\(.kind) \(.name)"' <<<"$out")" "reserved host" \
	"identity list: reserved identities by name"
t_is "$(ctl identity get "$ID_A" | jq -r .labels.role)" client "identity get N: x/a's labels"
ctl identity get 99999 >/dev/null 2>&1
t_is "$?" 1 "identity get of an unknown number exits 1"

# --- ipcache ----------------------------------------------------------------
t_is "$(ctl ipcache list | jq -r --arg c "$B/32" '.[] | select(.cidr == $c) | .identity')" "$ID_B" \
	"ipcache list: x/b's address maps to its identity"

# --- conntrack --------------------------------------------------------------
reaches "${POD_NETNS[x/a]}" "$B" 80 "x/a reaches x/b on TCP 80 (no policy)"
out=$(ctl ct list --ip "$B" --port 80)
t_is "$(jq -r '.[] | select(.proto == "tcp") | [.src, .dst, .dport, .src_identity, .dst_identity] | @tsv' <<<"$out" | head -n 1)" \
	"$(printf '%s\t%s\t80\t%s\t%s' "$A" "$B" "$ID_A" "$ID_B")" "ct list --ip --port: the probe's connection"
t_ok "ct list: it expires in the future" jq -e '[.[] | .expires_in_s > 0] | all' <<<"$out"
t_is "$(ctl ct list --ip 192.0.2.77 | jq length)" 0 "ct list --ip of another address: nothing"
t_ok "ct flush --ip removes at least that connection" \
	jq -e '.removed >= 1' <<<"$(ctl ct flush --ip "$B")"
t_is "$(ctl ct list --ip "$B" | jq length)" 0 "and ct list no longer shows it"
reaches "${POD_NETNS[x/a]}" "$B" 80 "x/a reaches x/b again"
t_ok "ct flush (all) removes it" jq -e '.removed >= 1' <<<"$(ctl ct flush)"
t_is "$(ctl ct list | jq length)" 0 "ct list: empty after flushing all"

# --- drops ------------------------------------------------------------------
cat <<'YAML' | manifest_apply deny.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-b, namespace: x}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
YAML
blocked "${POD_NETNS[x/a]}" "$B" 80 "a default-deny policy blocks x/a -> x/b"
out=$(ctl drops)
t_ok "drops: drop_policy_default on ingress counted" \
	jq -e '.counters[] | select(.reason == "drop_policy_default" and .direction == "ingress") | .packets >= 1' <<<"$out"
t_is "$(ctl endpoint get x/b | jq -r .ingress)" enforced "endpoint get: x/b's ingress is now enforced"
t_like "$(ctl metrics)" 'bulkhead_ready 1' "metrics: the daemon's /metrics"

# --- top dropped pairs, watches, attached interfaces ----------------------------
# The daemon counts pairs from the verdict events it reads (rate-limited by
# the datapath): the denied probe's retries count at least once.
out=$(ctl drops)
t_is "$(jq -r --argjson a "$ID_A" --argjson b "$ID_B" \
	'.top_pairs[] | select(.src_identity == $a and .dst_identity == $b) | [.proto, .port, .last_reason, .count >= 1, .dst_labels.role] | @tsv' <<<"$out")" \
	"$(printf 'tcp\t80\tdrop_policy_default\ttrue\tserver')" \
	"drops: the top pairs hold x/a -> x/b TCP 80, its reason, a count and labels"
t_is "$(jq -r .top_pairs_from <<<"$out")" "sampled events" "drops: and say the pairs come from sampled events"
table=$("${PD_NET[@]}" "$CTL" --bpffs-root "$BPFFS" --daemon "$PD_METRICS" drops)
t_like "$table" 'SRC_IDENTITY +SRC_LABELS +DST_IDENTITY +DST_LABELS +PROTO +PORT +COUNT +LAST_REASON' \
	"drops as a table: the top pairs' header"
t_like "$(grep -E "^$ID_A " <<<"$table")" "^$ID_A +.* +$ID_B +.* +tcp +80 +[0-9]+ +drop_policy_default\$" \
	"and the pair's row"
out=$(ctl status)
# Manifest mode runs no watches: the daemon reports an empty object.
t_is "$(jq -c .daemon.watch <<<"$out")" '{}' "status: no watches in manifest mode"
veths=$(for p in x/a x/b; do ctl endpoint get "$p" | jq -r .hostIfname; done | sort)
t_is "$(jq -r '.attached[] | select(.ifname != "bh_vxlan") | "\(.ifname) \(.ok)"' <<<"$out" | sort)" \
	"$(sed 's/$/ true/' <<<"$veths")" "status: attached on both pods' host veths"
t_is "$(jq -r '[.attached[] | .ifindex > 0] | all' <<<"$out")" true "status: with their ifindexes"

# --- without the daemon ------------------------------------------------------
policyd_stop
t_is "$?" 0 "the daemon stops cleanly"
out=$(ctl status)
t_is "$?" 0 "status still exits 0"
t_is "$(jq -r '[.datapath.loaded, .daemon.reachable] | @tsv' <<<"$out")" "$(printf 'true\tfalse')" \
	"status: datapath loaded, daemon not reachable"
out=$(ctl endpoint list)
t_is "$(jq -r '.[] | [.ip, .identity, .pod == null] | @tsv' <<<"$out" | sort)" \
	"$(printf '%s\t%s\ttrue\n%s\t%s\ttrue' "$A" "$ID_A" "$B" "$ID_B" | sort)" \
	"endpoint list: numbers, no names"
t_is "$(ctl endpoint get "$B" | jq -r .identity)" "$ID_B" "endpoint get IP still works"
ctl endpoint get x/b >/dev/null 2>&1
t_is "$?" 1 "endpoint get NS/POD needs the daemon: exit 1"
t_is "$(ctl identity list | jq -r --argjson id "$ID_B" '.[] | select(.id == $id) | .labels')" null \
	"identity list: x/b's number from the maps, no labels"
out=$(ctl drops)
t_ok "drops still counted" jq -e '.counters | length >= 1' <<<"$out"
t_is "$(jq -c 'has("top_pairs")' <<<"$out")" false "drops: no top pairs without the daemon"
ctl metrics >/dev/null 2>&1
t_is "$?" 1 "metrics without the daemon exits 1"

# --- exit codes -------------------------------------------------------------
empty=$T_DIR/empty-bpffs
mkdir -p "$empty"
msg=$("$CTL" --bpffs-root "$empty" status 2>&1 >/dev/null)
t_is "$?" 3 "no datapath under the root: exit 3"
t_like "$msg" "no Bulkhead datapath pinned under $empty" "with a message that says so"
"$CTL" frobnicate >/dev/null 2>&1
t_is "$?" 2 "an unknown command: exit 2"
"$CTL" -o yaml status >/dev/null 2>&1
t_is "$?" 2 "-o yaml: exit 2"
"$CTL" ct list --port x >/dev/null 2>&1
t_is "$?" 2 "ct list --port x: exit 2"
"$CTL" endpoint get >/dev/null 2>&1
t_is "$?" 2 "endpoint get without an argument: exit 2"
t_like "$("$CTL" --help)" 'e.g. bulkhead-ctl ct flush' "--help has examples"

t_done
