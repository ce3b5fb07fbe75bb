#!/usr/bin/env bash
# bulkhead-policyd against a real kube-apiserver, driven by the real
# kubectl, on one node in network namespaces: pods wired by the plugin get
# cluster identities (BulkheadIdentity objects, create-if-absent),
# NetworkPolicies are enforced as Kubernetes says, relabeling a pod or a
# namespace moves it, deleting a policy lifts it, and a daemon killed with
# -9 comes back with the same identities, the same policy and its
# established connections intact.
set -u
par_pids=()
PD_HOST_NET=1	# the API server listens on the machine's loopback
. "$(dirname "$0")/lib/policyd.sh"
. "$(dirname "$0")/lib/kube.sh"

node_ns
api_up
pd_netconf

# --- objects and pods --------------------------------------------------

k_ns x ns=x && k_ns y ns=y
t_ok "namespaces x and y with their default ServiceAccounts" k -n y get sa default
k_pod x/a pod=a && k_pod x/b pod=b && k_pod y/a pod=a
t_ok "pods x/a, x/b, y/a created" k -n x get pod b

policyd_start --kubeconfig "$KCFG" --identity-gc-grace 2
t_is "$(http /healthz)" "ok" "the daemon is ready after its first sync"

for p in x/a x/b y/a; do
	kpod_add "$p"
	t_is "$CNI_RC" 0 "ADD $p is answered once the pod has its identity" ||
		{ t_diag "$CNI_OUT"; echo "Bail out! no pod to test with"; exit 1; }
	pod_serve "${POD_NETNS[$p]}"
done

ids_json() { k get bulkheadidentities -o json; }
t_is "$(ids_json | jq '.items | length')" 3 "one BulkheadIdentity per label set"
id_xa=$(identity_of x/a)
t_is "$(ids_json | jq -r --arg n "$id_xa" '.items[] | select(.metadata.name == $n) |
	.labels | [.pod, .["ns:kubernetes.io/metadata.name"], .["ns:ns"]] | join(",")')" \
	"a,x,x" "x/a's identity $id_xa carries its pod and namespace labels"
t_ok "x/a and y/a differ in namespace, so in identity" \
	[ "$id_xa" != "$(identity_of y/a)" ]
t_ok "identities are in the cluster range" \
	[ "$id_xa" -ge 256 ] && [ "$id_xa" -lt 16777216 ]

allowed x/a x/b 80 "no policy: x/a reaches x/b"
allowed y/a x/b 80 "no policy: y/a reaches x/b"

# --- a NetworkPolicy ------------------------------------------------------

applied() { [ "$(metric bulkhead_networkpolicies)" = "$1" ]; }
k apply -f - >/dev/null <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: a}}}]
    ports: [{port: serve-80-tcp}]
YAML
t_ok "kubectl apply: the daemon has the policy" wait_for 10 applied 1
allowed x/a x/b 80 "x/a reaches x/b on the named port serve-80-tcp"
denied x/a x/b 81 "x/a does not reach x/b on 81"
denied y/a x/b 80 "y/a (other namespace) does not reach x/b"
allowed x/b x/a 80 "x/b's egress is not selected: it reaches x/a"

# --- relabeling -----------------------------------------------------------

k -n x patch pod a --type merge -p '{"metadata":{"labels":{"pod":"z"}}}' >/dev/null
t_ok "kubectl patch relabels x/a: it moves to a new identity" \
	wait_for 10 eval '[ "$(identity_of x/a)" != "$id_xa" ]'
denied x/a x/b 80 "relabelled x/a (pod=z) no longer reaches x/b"
k -n x label pod a pod=a --overwrite >/dev/null
t_ok "relabelled back: the old identity again" \
	wait_for 10 eval '[ "$(identity_of x/a)" = "$id_xa" ]'
allowed x/a x/b 80 "x/a reaches x/b again"

k apply -f - >/dev/null <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-blue, namespace: x}
spec:
  podSelector: {matchLabels: {pod: b}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]
YAML
t_ok "a second policy for x/b" wait_for 10 applied 2
denied y/a x/b 80 "namespace y is not team=blue yet"
id_ya=$(identity_of y/a)
k label namespace y team=blue >/dev/null
t_ok "labelling namespace y moves y/a to a new identity" \
	wait_for 10 eval '[ "$(identity_of y/a)" != "$id_ya" ]'
allowed y/a x/b 80 "y/a reaches x/b once y is team=blue (union of policies)"
k label namespace y team- >/dev/null
t_ok "unlabelling y moves y/a back" wait_for 10 eval '[ "$(identity_of y/a)" = "$id_ya" ]'
denied y/a x/b 80 "y/a is denied again"

# --- parallel ADDs ----------------------------------------------------------

# Eight pods of one Deployment-like set at once: no admission limit, each
# ADD waits only for its own identity, and all share one (their
# pod-template-hash labels differ but are filtered out).
for i in 1 2 3 4 5 6 7 8; do k_pod "y/w$i" app=w "pod-template-hash=h$i"; done
for i in 1 2 3 4 5 6 7 8; do
	( kpod_add "y/w$i"; echo "$CNI_RC" >"$T_DIR/par.$i" ) &
	par_pids+=($!)
done
wait "${par_pids[@]}"
ok=0
for i in 1 2 3 4 5 6 7 8; do [ "$(cat "$T_DIR/par.$i")" = 0 ] && ok=$((ok + 1)); done
t_is "$ok" 8 "eight parallel ADDs all succeed"
par_ids=$(for i in 1 2 3 4 5 6 7 8; do
	ip=$(awk -v c="c-y-w$i" '$2 == c { print $1 }' "$T_DIR/state/ipam/testnet/allocations")
	bhdp ep-list | awk -v ip="$ip" '$1 == ip { print $3 }'
done | sort -u)
t_is "$(wc -l <<<"$par_ids")" 1 "and share one identity: pod-template-hash is not part of it"
t_ok "which is a cluster identity" [ "${par_ids:-0}" -ge 256 ]

# --- ADD before the pod object exists -----------------------------------

k_pod x/c pod=c &
creator=$!
kpod_add x/c
wait "$creator"
t_is "$CNI_RC" 0 "ADD racing the pod's creation waits for it and succeeds"
pod_serve "${POD_NETNS[x/c]}"

# --- create-if-absent: a number taken for other labels -------------------

# The preferred number of a label set, computed here independently of the
# daemon: FNV-1a 64 over "key=value\n" in key order, into 256..2^24-1.
preferred() {
	python3 -c '
import sys
h = 0xcbf29ce484222325
for kv in sorted(sys.argv[1:], key=lambda s: s.split("=", 1)[0].encode()):
    for b in (kv + "\n").encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print(256 + h % (0xffffff - 256 + 1))' "$@"
}
want=$(preferred pod=d "ns:kubernetes.io/metadata.name=x" "ns:ns=x")
k apply -f - >/dev/null <<JSON
{"apiVersion": "bulkhead.io/v1", "kind": "BulkheadIdentity",
 "metadata": {"name": "$want"}, "labels": {"pod": "squatter", "ns:ns": "q"}}
JSON
t_ok "identity $want taken by another label set" k get bulkheadidentity "$want"
# Give the daemon's watch the squatter before the pod appears, so the claim
# below is the POST that loses (409), not a number the daemon skips.
t_ok "the daemon knows the squatter" \
	wait_for 10 eval '[ "$(metric bulkhead_identities)" -ge 6 ]'
k_pod x/d pod=d
kpod_add x/d
t_is "$CNI_RC" 0 "ADD x/d succeeds with the preferred number taken"
t_is "$(identity_of x/d)" "$((want + 1))" "x/d gets the next number on its probe sequence"
t_is "$(k get bulkheadidentity "$((want + 1))" -o jsonpath='{.labels.pod}')" "d" \
	"and its object holds x/d's labels"
t_is "$(k get bulkheadidentity "$want" -o jsonpath='{.labels.pod}')" "squatter" \
	"the squatter keeps its number"

# --- objects that are not identities are skipped -------------------------

k apply -f - >/dev/null <<'JSON'
{"apiVersion": "bulkhead.io/v1", "kind": "BulkheadIdentity",
 "metadata": {"name": "not-a-number"}, "labels": {"pod": "x"}}
JSON
t_ok "an identity object with a bad name is skipped and counted" \
	wait_for 10 eval '[ "$(metric bulkhead_bad_objects_total '\''kind="identity"'\'')" -ge 1 ]'
t_is "$(http /healthz)" "ok" "and the daemon carries on"

# --- deleting a policy, then the daemon killed -9 ------------------------

hold conn "${POD_NETNS[x/a]}" "${POD_IPS[x/b]}" 80
t_ok "a connection x/a -> x/b is up" wait_for 10 hold_up conn 3
k -n x delete networkpolicy b-from-blue >/dev/null
t_ok "policy b-from-blue deleted" wait_for 10 applied 1
t_ok "the allowed connection survives a policy change" \
	wait_for 10 hold_up conn "$(($(hold_count conn) + 3))"

policyd_stop KILL
ids_before="$(identity_of x/a) $(identity_of x/b) $(identity_of y/a)"
n=$(hold_count conn)
t_ok "with the daemon dead, the datapath still passes the connection" \
	wait_for 10 hold_up conn $((n + 3))
# Deleted while the daemon was away: on restart its allows must go.
k -n x delete networkpolicy b-from-a >/dev/null
k apply -f - >/dev/null <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-deny-all, namespace: x}
spec:
  podSelector: {matchLabels: {pod: b}}
  policyTypes: [Ingress]
YAML
policyd_start --kubeconfig "$KCFG" --identity-gc-grace 2
t_is "$(identity_of x/a) $(identity_of x/b) $(identity_of y/a)" "$ids_before" \
	"restarted: every endpoint keeps its identity"
t_ok "restarted: the connection was cut by the policy changed meanwhile" \
	wait_for 10 hold_cut conn
denied x/a x/b 80 "the allow deleted while the daemon was down is gone"
hold_stop conn

k -n x delete networkpolicy b-deny-all >/dev/null
t_ok "no policy left" wait_for 10 applied 0
hold conn2 "${POD_NETNS[x/a]}" "${POD_IPS[x/b]}" 80
t_ok "a new connection x/a -> x/b" wait_for 10 hold_up conn2 3
policyd_stop KILL
policyd_start --kubeconfig "$KCFG" --identity-gc-grace 2
n=$(hold_count conn2)
t_ok "an established connection survives the daemon's kill -9 and restart" \
	wait_for 10 hold_up conn2 $((n + 5))
hold_stop conn2

# --- DEL and identity garbage collection ---------------------------------

id_xd=$(identity_of x/d)
kpod_del x/d
t_is "$CNI_RC" 0 "DEL x/d"
k -n x delete pod d --grace-period=0 --force >/dev/null 2>&1
t_ok "x/d's identity is collected once no pod has used it for the grace period" \
	wait_for 20 eval '! k get bulkheadidentity "$id_xd" >/dev/null 2>&1'
t_ok "identities still in use are kept" k get bulkheadidentity "$id_xa"

t_done
