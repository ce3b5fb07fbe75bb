#!/usr/bin/env bash
# bulkhead-policyd in manifest mode on one simulated node: pods wired by the
# plugin get identities from their manifests, NetworkPolicy files written
# and removed while it runs are enforced and lifted (named ports, port
# ranges, namespace peers, egress), bad objects fail closed, verdicts reach
# the flow log and /metrics, a restart keeps endpoints, policy and held
# connections, and an ADD for an unknown pod is refused and rolled back.
set -u
. "$(dirname "$0")/lib/policyd.sh"

node_ns
pd_netconf

# cluster [HASH [LABEL...]]: namespaces, pods and the node. x/a and x/c
# differ only in the churny pod-template-hash (x/c's is HASH, and it gets
# the extra LABELs), y/a has their labels in another namespace; x/b is the
# server the policies guard.
cluster() {
	yaml_ns x team=x
	yaml_ns y team=y
	yaml_pod x/a app=web role=client pod-template-hash=1111
	yaml_pod x/b app=web role=server
	yaml_pod x/c app=web role=client "pod-template-hash=${1:-2222}" "${@:2}"
	yaml_pod y/a app=web role=client
	cat <<YAML
---
apiVersion: v1
kind: Node
metadata: {name: ${PD_NODE:-n1}}
spec: {podCIDR: ${SUBNET:-10.244.7.0/24}}
status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
YAML
}
cluster | manifest_put cluster.yaml

# --- 1. identities ----------------------------------------------------
# Not under t_ok: its output capture would wait for the daemon to exit.
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts on the manifests and says it is ready"
PODS=(x/a x/b x/c y/a)
for p in "${PODS[@]}"; do
	kpod_add "$p"
	t_is "$CNI_RC" 0 "ADD $p: the daemon knows the pod" && continue
	t_diag "$CNI_OUT"
	echo "Bail out! the pods the rest needs are not there"
	exit 1
done
for p in "${PODS[@]}"; do
	id=$(identity_of "$p")
	t_like "$(grep -o "registered $p: identity [0-9]*" "$T_DIR/cni.log")" \
		"^registered $p: identity $id\$" "ADD $p was answered with the identity the datapath has ($id)"
done
ID_XA=$(identity_of x/a)
t_like "$ID_XA" '^[0-9]+$' "x/a has an identity"
t_ok "it is a cluster identity, not a reserved one" test "$ID_XA" -ge 256
t_is "$(identity_of x/c)" "$ID_XA" \
	"x/c: same labels in the same namespace, other pod-template-hash: same identity"
t_ok "y/a: same pod labels in another namespace: another identity" \
	test "$(identity_of y/a)" != "$ID_XA"
t_ok "x/b: other labels: another identity" test "$(identity_of x/b)" != "$ID_XA"
cluster 3333 | manifest_apply cluster.yaml
t_is "$(identity_of x/c)" "$ID_XA" "a new pod-template-hash does not change the identity"
ID_XB=$(identity_of x/b)
ID_YA=$(identity_of y/a)

for p in x/a x/b y/a; do pod_serve "${POD_NETNS[$p]}"; done

# --- 2. no policy, then policies as they are written -------------------
t_is "$(unreached 80 x/a x/b y/a | paste -sd" ")" "" "no policy: every pair reaches on TCP 80 and UDP 80"

cat <<'YAML' | manifest_apply deny.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-b, namespace: x}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
YAML
t_is "$(metric bulkhead_networkpolicies)" 1 "the daemon reloaded: one NetworkPolicy"
denied x/a x/b 80 "default deny ingress for x/b: x/a cannot reach it on TCP 80"
denied y/a x/b 80 "nor y/a on UDP 80" --udp
allowed x/b x/a 80 "x/b's egress is not selected: it reaches x/a"
allowed x/a y/a 80 "pods no policy selects still reach each other"

# --- 5. (here, while the drop is fresh) the flow log and /metrics -------
flow_drop() {
	grep '"verdict":"drop"' "$PD_FLOWS" 2>/dev/null |
		jq -ec --arg s "${POD_IPS[x/a]}" --arg d "${POD_IPS[x/b]}" \
			'select(.src.ip == $s and .dst.ip == $d and .dst.port == 80 and .proto == "tcp")' |
		tail -n 1
}
wait_for 5 flow_drop >/dev/null
line=$(flow_drop)
t_like "$line" '"verdict":"drop"' "the flow log has the denied probe as a drop" ||
	t_diag "flow log tail: $(tail -n 3 "$PD_FLOWS" 2>/dev/null)"
t_is "$(jq -r '[.src.pod, .src.identity, .dst.pod, .dst.identity, .dir] | @tsv' <<<"${line:-null}")" \
	"$(printf 'x/a\t%s\tx/b\t%s\tingress' "$ID_XA" "$ID_XB")" \
	"with both pods' names and identities, on x/b's ingress"
t_is "$(jq -r '"reason=\(.reason) rule_id=\(.rule_id)"' <<<"${line:-null}")" \
	'reason=drop_policy_default rule_id=0' "and the rule fields: no rule allowed it (rule 0)"
# Two probes were denied (TCP and UDP), each at least one packet; /metrics
# reads the same per-CPU counters bhdp does.
drops=$(metric bulkhead_datapath_packets_total \
	'verdict="drop",reason="drop_policy_default",direction="ingress"')
t_ok "/metrics counts them in bulkhead_datapath_packets_total ($drops)" test "$drops" -ge 2
t_is "$drops" "$(counter drop_policy_default ingress)" "as many as the datapath's counters say"
t_is "$(metric bulkhead_ready)" 1 "/metrics: bulkhead_ready 1"
t_is "$(http_code /healthz)" 200 "/healthz is 200"

# --- 2. continued: allow rules ----------------------------------------
cat <<'YAML' | manifest_apply allow.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-ingress, namespace: x}
spec:
  podSelector: {matchLabels: {role: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{protocol: TCP, port: 80}]
  - from: [{namespaceSelector: {matchLabels: {team: y}}}]
    ports: [{port: serve-81-tcp}]
YAML
cat <<'YAML' | manifest_apply allow-y.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-ingress, namespace: y}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{protocol: TCP, port: 80, endPort: 81}]
  - from: [{namespaceSelector: {}}]
    ports: [{protocol: UDP, port: 81}]
YAML
t_is "$(metric bulkhead_networkpolicies)" 3 "the daemon reloaded: three NetworkPolicies"
allowed x/a x/b 80 "podSelector peer: x/a (role=client) reaches x/b on TCP 80"
denied x/a x/b 81 "but not on TCP 81"
denied x/a x/b 80 "nor on UDP 80" --udp
allowed y/a x/b 81 "namespaceSelector peer + named port: y/a reaches x/b on serve-81-tcp"
denied y/a x/b 80 "but not on TCP 80 (its pod selector is the other rule's)"
allowed x/a y/a 80 "endPort: TCP 80 of 80-81 reaches y/a"
allowed x/a y/a 81 "endPort: TCP 81 of 80-81 reaches y/a"
allowed x/b y/a 81 "UDP-only rule: UDP 81 reaches y/a" --udp
denied x/b y/a 80 "UDP 80 is in neither rule" --udp

# A connection the podSelector rule allows, held open for what follows.
hold h1 "${POD_NETNS[x/a]}" "${POD_IPS[x/b]}" 80
t_ok "a connection x/a -> x/b:80 is held open" wait_for 10 hold_up h1 3

cat <<'YAML' | manifest_apply egress.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-out, namespace: x}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {role: server}}}]
    ports: [{protocol: TCP, port: 80}]
YAML
allowed x/a x/b 80 "egress policy: x/a still reaches x/b on TCP 80"
denied x/a y/a 80 "but everything else is denied: y/a on TCP 80, which y/a's ingress allows"
denied x/a y/a 81 "and UDP 81" --udp
allowed x/b y/a 80 "x/b's egress is not selected"

# --- 6. a daemon restart --------------------------------------------
before=$(hold_count h1)
policyd_stop KILL
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts again after kill -9"
t_ok "it resynced the endpoints from its state dir" pd_logged 'resync: 4 endpoints kept, 0 stale dropped'
t_is "$(identity_of x/a) $(identity_of x/b) $(identity_of y/a)" "$ID_XA $ID_XB $ID_YA" \
	"identities unchanged"
t_is "$(metric bulkhead_endpoints)" 4 "/metrics: 4 endpoints"
denied x/a y/a 80 "the egress policy is still enforced"
allowed y/a x/b 81 "and the ingress allows"
t_ok "the held connection survived the restart (it had $before exchanges)" \
	wait_for 5 hold_up h1 $((before + 5))

# --- 4. bad objects ---------------------------------------------------
# A directory that does not parse: nothing of it applies, not even the
# removal of the egress policy made with it. The broken file comes in by
# one rename, so every reload from here on sees it.
n=$(reconciles)
echo 'kind: [NetworkPolicy' >"$T_DIR/broken.yaml"
mv "$T_DIR/broken.yaml" "$PD_MANIFESTS/"
manifest_rm egress.yaml
t_ok "a manifest that does not parse: the daemon says it keeps the previous state" \
	wait_for 10 pd_logged 'manifests not applied, keeping the previous ones: .*broken\.yaml'
t_is "$(reconciles)" "$n" "and changes nothing"
denied x/a y/a 80 "the egress policy removed with it is still enforced"
manifest_remove broken.yaml
allowed x/a y/a 80 "once it parses again, the removal applies"

# Policies whose rules cannot be read allow nothing, yet still select.
cat <<'YAML' | manifest_apply allow-y.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-ingress, namespace: y}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{protocol: ICMP, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cidr-bad, namespace: y}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.244.7.0/33}}]
YAML
denied x/a y/a 80 "an unknown protocol, a bad CIDR: those rules allow nothing"
denied x/b y/a 81 "the policies still select y/a (fail closed)" --udp
t_ok "the daemon log says what it could not read: the protocol" \
	pd_logged 'NetworkPolicy y/a-ingress: spec\.ingress\[0\]\.ports\[0\]: protocol must be TCP, UDP or SCTP'
t_ok "and the CIDR" pd_logged 'NetworkPolicy y/cidr-bad: spec\.ingress\[0\].*10\.244\.7\.0/33'

# A pod whose labels go bad keeps none of its old allows.
bad_before=$(metric bulkhead_bad_objects_total 'kind="pod"')
allowed x/c x/b 80 "x/c (role=client) reaches x/b on TCP 80"
cluster 3333 'bad key!=v' | manifest_apply cluster.yaml
t_is "$(metric bulkhead_bad_objects_total 'kind="pod"')" $((bad_before + 1)) \
	"a pod with an invalid label key is counted in bulkhead_bad_objects_total{kind=\"pod\"}"
t_ok "and logged" pd_logged 'skipping pod: .*x/c'
t_is "$(identity_of x/c)" 5 "its endpoint is back at identity init"
denied x/c x/b 80 "and lost the allows of its old labels"

# --- 3. reachability restored; a held connection cut ------------------
t_ok "x/a's held connection is still up" wait_for 5 hold_up h1 $(($(hold_count h1) + 3))
manifest_remove allow.yaml
t_ok "x/b's allow removed: the connection it allowed is cut" wait_for 10 hold_cut h1
manifest_remove deny.yaml allow-y.yaml
t_is "$(unreached 80 x/a x/b y/a | paste -sd" ")" "" "policy files removed: every pair reaches again"

# --- 7. ADD for a pod in no manifest ----------------------------------
veths=$(links_in "$NODE" | sort)
ips=$(allocs)
t0=${EPOCHREALTIME/./}
kpod_add x/ghost
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
t_is "$CNI_RC" 1 "ADD x/ghost (in no manifest) fails"
t_ok "after the daemon's wait of 5 s, not much later (${ms} ms)" test "$ms" -ge 4900 -a "$ms" -lt 8000
t_is "$(jget "$CNI_OUT" '"\(.code) \(.msg): \(.details)"')" \
	"11 endpoint has no identity yet: pod x/ghost is not known to the manifests" \
	"with CNI error code 11 and a message naming the pod"
t_is "$(links_in "$NODE" | sort)" "$veths" "no veth left in the node namespace"
t_is "$(links_in "${PFX}x-ghost")" "lo" "nor in the pod's"
t_is "$(allocs)" "$ips" "its address is released"
t_is "$(grep -l '"c-x-ghost"' "$PD_STATE"/endpoints/* 2>/dev/null)" "" "and the daemon keeps no record of it"

# --- 8. DEL unregisters -----------------------------------------------
key=$(grep -l '"c-x-a"' "$PD_STATE"/endpoints/* 2>/dev/null | head -n 1)
t_ok "x/a is registered in the state dir" test -n "$key"
kpod_del x/a
t_is "$CNI_RC" 0 "DEL x/a"
t_ok "its endpoint file is gone" test ! -e "${key:-/nonexistent}"
t_is "$(metric bulkhead_endpoints)" 3 "/metrics: 3 endpoints"

policyd_stop
t_is "$?" 0 "the daemon stops cleanly on TERM"
if [ "$T_FAILED" -gt 0 ]; then
	t_diag "the daemon's log:"
	sed 's/^/#   /' "$PD_LOG" | tail -n 40
fi
t_done
