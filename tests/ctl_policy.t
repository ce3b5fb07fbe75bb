#!/usr/bin/env bash
# bulkhead-ctl policy get and trace on one simulated node with
# bulkhead-policyd in manifest mode: the daemon's /policies, an endpoint's
# policy entries in words with a hit counter that grows, and trace's
# verdicts checked against real probes over pods x ports x protocols.
set -u
. "$(dirname "$0")/lib/ctl.sh"

node_ns
pd_netconf
# x/b (server) admits the client on TCP 80 and the other pod on UDP 81;
# x/c (other) may only send UDP 81 to the server.
{
	yaml_ns x team=x
	yaml_pod x/a role=client
	yaml_pod x/b role=server
	yaml_pod x/c role=other
	yaml_node
	cat <<YAML
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {role: server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{protocol: TCP, port: 80}]
  - from: [{podSelector: {matchLabels: {role: other}}}]
    ports: [{protocol: UDP, port: 81}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: c-out, namespace: x}
spec:
  podSelector: {matchLabels: {role: other}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {role: server}}}]
    ports: [{protocol: UDP, port: 81}]
YAML
} | manifest_put cluster.yaml
policyd_start --manifests "$PD_MANIFESTS"
t_is "$?" 0 "the daemon starts and is ready"
for p in x/a x/b x/c; do
	kpod_add "$p"
	[ "$CNI_RC" -eq 0 ] || { t_diag "$CNI_OUT"; echo "Bail out! ADD $p failed"; exit 1; }
done
ID_A=$(identity_of x/a) ID_B=$(identity_of x/b) ID_C=$(identity_of x/c)
pod_serve "${POD_NETNS[x/a]}"
pod_serve "${POD_NETNS[x/b]}"
pod_serve "${POD_NETNS[x/c]}"

# --- the daemon's /policies -----------------------------------------------
t_is "$(http /policies | jq -r '[.[] | "\(.namespace)/\(.name) \(.id > 0)"] | sort | join(",")')" \
	"x/c-out true,x/web true" "/policies: both policies with their numbers"

# --- policy get ---------------------------------------------------------------
# Rows as "dir remote proto port action projected rule", sorted.
entries() { jq -r '.entries[] | [.direction, .remote, .remote_id, .proto, .port, .action, .projected, .rule] | @tsv' <<<"$1"; }
out=$(ctl policy get x/b)
t_is "$?" 0 "policy get NS/POD exits 0"
t_is "$(jq -r '[.identity, .egress, .ingress] | @tsv' <<<"$out")" \
	"$(printf '%s\topen\tenforced' "$ID_B")" "policy get: x/b's identity and enforcement"
# labels_str order is the daemon's: compare the remote by its number and
# check the words separately.
t_is "$(entries "$out" | cut -f1,3- | sort)" "$(sort <<EOF
$(printf 'ingress\t1\tany\tany\tallow\tfalse\tallow-host')
$(printf 'ingress\t%s\ttcp\t80\tallow\tfalse\tx/web ingress[0]' "$ID_A")
$(printf 'ingress\t%s\tudp\t81\tallow\tfalse\tx/web ingress[1]' "$ID_C")
EOF
)" "policy get: the host entry and one entry per rule, in words"
t_like "$(jq -r --argjson id "$ID_A" '.entries[] | select(.remote_id == $id) | .remote' <<<"$out")" \
	'role=client' "policy get: the remote identity by its labels"
t_is "$(jq -r '.entries[] | select(.remote_id == 1) | .remote' <<<"$out")" host \
	"policy get: a reserved identity by name"
t_is "$(ctl policy get x/c | jq -r '[.egress, .ingress, (.entries[] | .direction, .remote_id, .proto, .port, .rule)] | @tsv')" \
	"$(printf 'enforced\topen\tegress\t%s\tudp\t81\tx/c-out egress[0]' "$ID_B")" \
	"policy get x/c: its egress entry"
t_is "$(ctl policy get x/a | jq -c '[.egress, .ingress, .entries]')" '["open","open",[]]' \
	"policy get x/a: no policy, no entries"

hits() { ctl policy get x/b | jq -r --argjson id "$ID_A" '.entries[] | select(.remote_id == $id) | .packets'; }
before=$(hits)
allowed x/a x/b 80 "x/a reaches x/b on TCP 80"
after=$(hits)
t_ok "policy get: the allow entry's hit counter grows ($before -> $after)" test "$after" -gt "$before"

table=$("${PD_NET[@]}" "$CTL" --bpffs-root "$BPFFS" --daemon "$PD_METRICS" policy get x/b)
t_like "$table" 'ingress: enforced' "policy get as a table: the enforcement"
t_like "$table" 'DIRECTION +REMOTE +PROTO +PORT +ACTION +PROJECTED +RULE +PACKETS +BYTES' \
	"and a table of the entries"
t_like "$table" 'ingress +[^ ]*role=client +tcp +80 +allow +false +x/web ingress\[0\] +[1-9]' "with a row per entry, counted"
ctl policy get x/nope >/dev/null 2>&1
t_is "$?" 1 "policy get of an unknown pod exits 1"

# --- trace against probes ---------------------------------------------------
# case FROM TO PORT PROTO WANT: trace's exit status and the probe's result
# must both be WANT (0 allowed, 1 denied).
case_() {
	local from=$1 to=$2 port=$3 proto=$4 want=$5 got probe udp=()
	[ "$proto" = udp ] && udp=(--udp)
	ctl trace "$from" "$to" "$port" --proto "$proto" >/dev/null 2>&1
	got=$?
	if [ "$want" = 0 ]; then
		probe=$(can "$from" "$to" "$port" "${udp[@]}")
	else
		probe=$(EXPECT_BLOCK=1 can "$from" "$to" "$port" "${udp[@]}")
	fi
	t_is "trace=$got probe=$probe" "trace=$want probe=$want" "trace $from -> $to $proto/$port agrees with a probe"
}
while read -r from to port proto want; do
	case_ "$from" "$to" "$port" "$proto" "$want"
done <<'EOF'
x/a x/b 80 tcp 0
x/a x/b 81 tcp 1
x/a x/b 80 udp 1
x/a x/b 81 udp 1
x/c x/b 80 tcp 1
x/c x/b 81 tcp 1
x/c x/b 80 udp 1
x/c x/b 81 udp 0
x/c x/a 80 tcp 1
x/c x/a 81 udp 1
x/b x/a 80 tcp 0
x/b x/a 81 udp 0
x/a x/c 80 tcp 0
x/a x/c 81 udp 0
EOF

# --- trace in words ---------------------------------------------------------
out=$(ctl trace x/a x/b 80)
t_is "$(jq -r '[.verdict, .egress.reason, .ingress.reason, .ingress.rule, .from.identity, .to.identity] | @tsv' <<<"$out")" \
	"$(printf 'allowed\tallow_no_policy\tallow_policy\tx/web ingress[0]\t%s\t%s' "$ID_A" "$ID_B")" \
	"trace x/a -> x/b tcp/80: allowed by x/web ingress[0]"
out=$(ctl trace x/a x/b 81)
t_is "$?" 1 "trace of a denied connection exits 1"
t_is "$(jq -r '[.verdict, .ingress.verdict, .ingress.reason, .ingress.rule == null] | @tsv' <<<"$out")" \
	"$(printf 'denied\tdrop\tdrop_policy_default\ttrue')" "trace x/a -> x/b tcp/81: no rule allows it"
out=$(ctl trace x/c x/b 80)
t_is "$(jq -r '[.egress.enforcement, .egress.reason, .ingress.reason] | @tsv' <<<"$out")" \
	"$(printf 'enforced\tdrop_policy_default\tdrop_policy_default')" \
	"trace x/c -> x/b tcp/80: refused both ways"
t_is "$(ctl trace "${POD_IPS[x/c]}" "${POD_IPS[x/b]}" 81 --proto udp | jq -r '[.verdict, .egress.rule, .ingress.rule] | @tsv')" \
	"$(printf 'allowed\tx/c-out egress[0]\tx/web ingress[1]')" "trace by IP: both rules named"
# An address nothing knows: the world, as the datapath takes it.
out=$(ctl trace x/c 192.0.2.77 80)
t_is "$?" 1 "trace x/c -> an unknown address exits 1 (x/c's egress is enforced)"
t_is "$(jq -r '[.to.identity, .to.identity_name, .to.identity_from, .to.local, .ingress.enforcement] | @tsv' <<<"$out")" \
	"$(printf '2\tworld\tno ipcache entry: the world\tfalse\tnot a local endpoint')" \
	"trace: an address outside the ipcache is the world, with no policy here"
t_is "$(ctl trace x/a 192.0.2.77 80 | jq -r .verdict)" allowed "trace x/a -> the world: allowed (no policy)"
t_like "$("${PD_NET[@]}" "$CTL" --bpffs-root "$BPFFS" --daemon "$PD_METRICS" trace x/a x/b 80)" \
	'reason: allow_policy' "trace as text"

# --- usage ------------------------------------------------------------------
for args in "x/a x/b" "x/a x/b 0" "x/a x/b 70000" "x/a x/b 80 --proto icmp" "x/a x/b 80 --udp" "nope x/b 80"; do
	# shellcheck disable=SC2086
	ctl trace $args >/dev/null 2>&1
	t_is "$?" 2 "trace $args: exit 2"
done
ctl policy get 1.2.3 >/dev/null 2>&1
t_is "$?" 2 "policy get of a bad address: exit 2"

t_done
