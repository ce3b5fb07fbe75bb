#!/usr/bin/env bash
# Malformed input: every case is run as a runtime would run the plugin, in a
# node namespace against a real pod namespace, and must fail with the spec's
# error object (exit status non-zero, one JSON object with the expected code,
# a message naming the problem) and leave nothing behind: no veth on either
# side, no address held in the IPAM store, no cached result, no endpoint
# entry in the datapath.
. "$(dirname "$0")/lib/cni.sh"

command -v jq >/dev/null || t_skip_all "needs jq"
[ -x "$PLUGIN" ] || t_skip_all "no plugin at $PLUGIN (make all)"

node_up || { echo "Bail out! cannot create the node namespace"; exit 1; }
POD=$(pod_ns pod) || { echo "Bail out! cannot create the pod namespace"; exit 1; }
POD_NS=$(basename "$POD")
CID=errcase0
IN=$T_DIR/stdin
: >"$T_DIR/not-a-netns"
mkdir "$T_DIR/no-datapath"

# cni_env CMD [VAR=VALUE | -VAR]... < stdin: cni_exec's invocation with its
# environment made editable, since a case may need a variable absent rather
# than empty: VAR=VALUE sets or replaces a variable, -VAR removes it.
# Sets CNI_OUT and CNI_RC like cni.
cni_env() {
	local e k envs=()
	local -A v=(
		[PATH]=/usr/sbin:/usr/bin:/sbin:/bin [CNI_COMMAND]=$1
		[CNI_CONTAINERID]=$CID [CNI_NETNS]=$POD [CNI_IFNAME]=eth0
		[CNI_ARGS]="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$CID;IgnoreUnknown=1"
		[CNI_PATH]="$BUILD:$REF_PLUGINS"
	)
	shift
	for e in "$@"; do
		case $e in
		-*) unset "v[${e#-}]" ;;
		*=*) v[${e%%=*}]=${e#*=} ;;
		esac
	done
	for k in "${!v[@]}"; do envs+=("$k=${v[$k]}"); done
	# A hung plugin fails its case instead of hanging the suite.
	CNI_OUT=$(in_node timeout 60 env -i "${envs[@]}" "$PLUGIN" 2>>"$T_DIR/stderr") &&
		CNI_RC=0 || CNI_RC=$?
}

# stdin_for SPEC: the case's stdin on stdout.
#   ""          a valid netconf
#   jq:FILTER   a valid netconf through jq FILTER ($t is T_DIR)
#   extra:JSON  a valid netconf with more members (so, duplicate keys)
#   head:N      the first N bytes of a valid netconf
#   raw:TEXT    TEXT as is
#   big, exact  a valid netconf of 5 MiB, of exactly 4 MiB
# padded SIZE: a valid netconf of exactly SIZE bytes, padded in "args".
padded() {
	local doc head tail
	doc=$(netconf 1.1.0 '"args": {"pad": "@PAD@"}')
	head=${doc%%@PAD@*}
	tail=${doc#*@PAD@}
	printf '%s' "$head"
	head -c $(($1 - ${#head} - ${#tail} - 1)) /dev/zero | tr '\0' x
	printf '%s\n' "$tail"
}

stdin_for() {
	local doc
	case $1 in
	"") netconf 1.1.0 ;;
	jq:*) netconf 1.1.0 | jq --arg t "$T_DIR" "${1#jq:}" ;;
	extra:*) netconf 1.1.0 "${1#extra:}" ;;
	head:*) netconf 1.1.0 | head -c "${1#head:}" ;;
	raw:*) printf '%s' "${1#raw:}" ;;
	big) padded $((5 << 20)) ;;
	exact) padded $((4 << 20)) ;;
	*) echo "unknown stdin spec $1" >&2; return 1 ;;
	esac
}

# leftovers: what a failed call left behind, one item per line; nothing
# when clean. ALLOW_NODE and ALLOW_POD name a link a case put there itself
# (its hook checks that link).
leftovers() {
	local f l
	extra_links node "$NODE" "${ALLOW_NODE:-}"
	extra_links pod "$POD_NS" "${ALLOW_POD:-}"
	for f in "$T_DIR"/state/ipam/*/allocations; do
		[ -e "$f" ] || continue
		grep -v -e '^#' -e '^last ' -e '^$' "$f" | sed "s|^|allocation in $f: |"
	done
	# The delegated cases' host-local store: one file per address.
	for f in "$T_DIR"/state/host-local/*/*; do
		case ${f##*/} in '*' | lock | last_reserved_ip.*) ;; *) echo "host-local allocation $f" ;; esac
	done
	for f in "$T_DIR"/state/results/*/*; do
		[ -e "$f" ] && echo "cached result $f"
	done
	bhdp ep-list 2>&1 | sed 's/^/endpoint entry /'
	true
}

# extra_links WHAT NS [ALLOWED]: the links of NS but lo (and ALLOWED). A
# listing without lo is a failed listing, reported as such: iproute2 may
# print noise about other runs' half-made namespaces, never an empty list.
extra_links() {
	local l all
	all=$(links_in "$2" 2>/dev/null)
	grep -qx lo <<<"$all" || { echo "$1: cannot list the links of $2"; return; }
	for l in $all; do
		[ "$l" = lo ] || [ "$l" = "$3" ] || echo "$1 link $l"
	done
}

# reset: removes whatever a case left, so one failure does not cascade.
reset() {
	local l
	for l in $(extra_links - "$NODE" | awk '$2 == "link" { print $3 }'); do
		ip -n "$NODE" link del "$l"
	done
	for l in $(extra_links - "$POD_NS" | awk '$2 == "link" { print $3 }'); do
		ip -n "$POD_NS" link del "$l"
	done
	rm -rf "$T_DIR/state"
	# The tool deletes no single entry: a fresh datapath drops them all.
	if [ -n "$(bhdp ep-list)" ]; then bhdp unload && bhdp load; fi >/dev/null
} 2>/dev/null

# --- hooks: pre_HOOK sets a case up, post_HOOK NAME adds checks ------------

# placeholder NS NAME: an interface that is not the plugin's, so a case can
# check the plugin neither reuses nor deletes it. Dummy if the kernel has
# it, else a bridge. Sets PLACEHOLDER_KIND.
placeholder() {
	local kind
	for kind in dummy bridge; do
		if ip -n "$1" link add "$2" type "$kind" 2>/dev/null; then
			PLACEHOLDER_KIND=$kind
			return 0
		fi
	done
	t_diag "cannot create a placeholder interface $2 in $1"
	return 1
}

# is_placeholder NAME NS IFNAME: passes when IFNAME is still the placeholder.
is_placeholder() {
	local d
	d=$(ip -d -n "$2" link show "$3" 2>&1)
	t_like "$d" $'\n'"[[:space:]]*$PLACEHOLDER_KIND( |\$)" \
		"$1: the $3 that was there ($PLACEHOLDER_KIND) is untouched"
}

# The runtime's interface name is taken in the pod by someone else's.
pre_pod_eth0_taken() { placeholder "$POD_NS" eth0; ALLOW_POD=eth0; }
post_pod_eth0_taken() { is_placeholder "$1" "$POD_NS" eth0; }

# The veth's host-side name is taken in the node: the address is already
# allocated when wiring fails, so this case exercises ADD's rollback.
pre_host_name_taken() {
	stdin_for "" >"$IN"
	cni_env ADD <"$IN"
	HOST_NAME=$(links_in "$NODE" | grep '^bh')
	cni_env DEL <"$IN"
	placeholder "$NODE" "$HOST_NAME"
	ALLOW_NODE=$HOST_NAME
}
post_host_name_taken() { is_placeholder "$1" "$NODE" "$HOST_NAME"; }

# --- the table --------------------------------------------------------------
# case NAME CODE MSG-SUBSTRING COMMAND STDIN-SPEC HOOK [ENV-EDIT...]
C_NAME=() C_CODE=() C_MSG=() C_CMD=() C_IN=() C_HOOK=() C_ENV=()
case_() {
	local IFS=$'\x1f'
	C_NAME+=("$1") C_CODE+=("$2") C_MSG+=("$3") C_CMD+=("$4") C_IN+=("$5") C_HOOK+=("$6")
	shift 6
	C_ENV+=("$*")
}

LONG_NAME=$(printf 'n%.0s' {1..200})
LONG_CID=$(printf 'c%.0s' {1..300})

# stdin
case_ "bad JSON"               6 "cannot decode"  ADD 'raw:{"cniVersion": "1.1.0", name: "x"}' ""
case_ "truncated JSON"         6 "cannot decode"  ADD "head:60" ""
case_ "empty stdin"            6 "cannot decode"  ADD "raw:" ""
case_ "JSON array"             6 "array"          ADD 'raw:[{"cniVersion": "1.1.0"}]' ""
case_ "JSON string"            6 "cannot decode"  ADD 'raw:"bulkhead"' ""
case_ "trailing garbage"       6 "cannot decode"  ADD 'extra:"x": 1} {"y": 2' ""
case_ "duplicate key"          6 "duplicate"      ADD 'extra:"name": "othernet"' ""
case_ "stdin over 4 MiB"       5 "larger than"    ADD "big" ""
# cniVersion
case_ "no cniVersion"          1 "cniVersion"     ADD 'jq:del(.cniVersion)' ""
case_ "cniVersion 0.2.0"       1 "0.2.0"          ADD 'jq:.cniVersion = "0.2.0"' ""
case_ "cniVersion 2.0.0"       1 "2.0.0"          ADD 'jq:.cniVersion = "2.0.0"' ""
case_ "cniVersion abc"         7 "abc"            ADD 'jq:.cniVersion = "abc"' ""
case_ "cniVersion a number"    7 "cniVersion"     ADD 'jq:.cniVersion = 1.1' ""
case_ "CHECK in 0.3.1"         1 "CHECK"          CHECK 'jq:.cniVersion = "0.3.1"' ""
case_ "GC in 1.0.0"            1 "GC"             GC 'jq:.cniVersion = "1.0.0"' ""
case_ "STATUS in 0.4.0"        1 "STATUS"         STATUS 'jq:.cniVersion = "0.4.0"' ""
# top level
case_ "no name"                7 "name"           ADD 'jq:del(.name)' ""
case_ "name with /"            7 "name"           ADD 'jq:.name = "a/b"' ""
case_ "name of 200 characters" 7 "name"           ADD "jq:.name = \"$LONG_NAME\"" ""
case_ "name with a NUL byte"   6 '\u0000'            ADD 'jq:.name = "a\u0000b"' ""
case_ "no type"                7 "type"           ADD 'jq:del(.type)' ""
case_ "unknown field"          2 '"mut"'          ADD 'jq:.mut = 1400' ""
case_ "ipMasq true"            2 "ipMasq"         ADD 'jq:.ipMasq = true' ""
case_ "ipMasq a string"        7 "ipMasq"         ADD 'jq:.ipMasq = "false"' ""
case_ "mtu a string"           7 "mtu"            ADD 'jq:.mtu = "1400"' ""
case_ "mtu 70000"              7 "mtu"            ADD 'jq:.mtu = 70000' ""
case_ "mtu 100"                7 "mtu"            ADD 'jq:.mtu = 100' ""
case_ "relative stateDir"      7 "stateDir"       ADD 'jq:.stateDir = "state"' ""
case_ "stateDir with .."       7 "stateDir"       ADD 'jq:.stateDir = $t + "/../etc"' ""
case_ "relative logFile"       7 "logFile"        ADD 'jq:.logFile = "cni.log"' ""
case_ "bad logLevel"           7 "logLevel"       ADD 'jq:.logLevel = "loud"' ""
case_ "dns an array"           7 "dns"            ADD 'jq:.dns = []' ""
case_ "prevResult a string"    7 "prevResult"     ADD 'jq:.prevResult = "x"' ""
# ipam
case_ "no ipam"                7 "ipam"           ADD 'jq:del(.ipam)' ""
case_ "ipam not an object"     7 "ipam"           ADD 'jq:.ipam = "bulkhead-ipam"' ""
case_ "no ipam.type"           7 "ipam.type"      ADD 'jq:del(.ipam.type)' ""
case_ "ipam.type ../evil"      7 "ipam.type"      ADD 'jq:.ipam.type = "../evil"' ""
case_ "ipam.type not in CNI_PATH" 7 "no-such-ipam" ADD 'jq:.ipam.type = "no-such-ipam"' ""
case_ "no ipam.subnet"         7 "ipam.subnet"    ADD 'jq:del(.ipam.subnet)' ""
case_ "ipam.subnet not a CIDR" 7 "ipam.subnet"    ADD 'jq:.ipam.subnet = "10.0.0.0"' ""
case_ "ipam.subnet not canonical" 7 "10.0.0.0/24" ADD 'jq:.ipam.subnet = "10.0.0.5/24"' ""
case_ "ipam.subnet IPv4 /31"   7 "too small"      ADD 'jq:.ipam.subnet = "10.0.0.0/31"' ""
case_ "ipam.subnet IPv6 /127"  7 "too small"      ADD 'jq:.ipam.subnet = "fd00::/127"' ""
case_ "rangeStart outside subnet" 7 "rangeStart"  ADD 'jq:.ipam.rangeStart = "10.9.9.9"' ""
case_ "rangeStart after rangeEnd" 7 "rangeStart"  ADD 'jq:.ipam.rangeStart = "10.244.7.100" | .ipam.rangeEnd = "10.244.7.50"' ""
case_ "gateway of the other family" 7 "gateway"   ADD 'jq:.ipam.gateway = "fd00::1"' ""
case_ "unknown ipam key"       2 "ipam.ranges"    ADD 'jq:.ipam.ranges = []' ""
# bulkhead-ipam hands out IPv6, but the plugin's pods are IPv4 for now: the
# address is taken and given back.
case_ "in-process IPv6 subnet" 7 "only IPv4"     ADD 'jq:.ipam.subnet = "fd00:10::/64"' ""
# environment
case_ "no CNI_COMMAND"         4 "CNI_COMMAND"    ADD "" "" -CNI_COMMAND
case_ "unknown CNI_COMMAND"    4 "CNI_COMMAND"    ADD "" "" CNI_COMMAND=ATTACH
case_ "no CNI_CONTAINERID"     4 "CNI_CONTAINERID" ADD "" "" -CNI_CONTAINERID
case_ "CNI_CONTAINERID with /" 4 "CNI_CONTAINERID" ADD "" "" CNI_CONTAINERID=abc/def
case_ "CNI_CONTAINERID starting with ." 4 "CNI_CONTAINERID" ADD "" "" CNI_CONTAINERID=.abc
case_ "CNI_CONTAINERID with a space" 4 "CNI_CONTAINERID" ADD "" "" "CNI_CONTAINERID=abc def"
case_ "CNI_CONTAINERID of 300 characters" 4 "CNI_CONTAINERID" ADD "" "" "CNI_CONTAINERID=$LONG_CID"
case_ "no CNI_IFNAME"          4 "CNI_IFNAME"     ADD "" "" -CNI_IFNAME
case_ "CNI_IFNAME of 16 characters" 4 "CNI_IFNAME" ADD "" "" CNI_IFNAME=eth0123456789abc
case_ "CNI_IFNAME a/b"         4 "CNI_IFNAME"     ADD "" "" CNI_IFNAME=a/b
case_ "no CNI_NETNS on ADD"    4 "CNI_NETNS"      ADD "" "" -CNI_NETNS
case_ "relative CNI_NETNS"     4 "CNI_NETNS"      ADD "" "" "CNI_NETNS=run/netns/$POD_NS"
case_ "relative CNI_NETNS on DEL" 4 "CNI_NETNS"   DEL "" "" "CNI_NETNS=run/netns/$POD_NS"
case_ "CNI_NETNS does not exist" 4 "CNI_NETNS"    ADD "" "" "CNI_NETNS=$T_DIR/no-such-netns"
case_ "CNI_NETNS a regular file" 4 "not a network namespace" ADD "" "" "CNI_NETNS=$T_DIR/not-a-netns"
case_ "CNI_NETNS a directory"  4 "not a network namespace" ADD "" "" CNI_NETNS=/run/netns
case_ "CNI_NETNS a mount namespace" 4 "not a network namespace" ADD "" "" CNI_NETNS=/proc/self/ns/mnt
case_ "CNI_NETNS the node's own" 4 "node's own network namespace" ADD "" "" CNI_NETNS=/proc/self/ns/net
case_ "CNI_ARGS without ="      4 "CNI_ARGS"       ADD "" "" "CNI_ARGS=K8S_POD_NAMESPACE=default;K8S_POD_NAME"
case_ "CNI_ARGS pod name not a k8s name" 4 "K8S_POD_NAME" ADD "" "" "CNI_ARGS=K8S_POD_NAME=a b"
# the pod and the node
case_ "CNI_IFNAME exists in the pod" 106 "interface eth0 " ADD "" pod_eth0_taken
case_ "host veth name taken"   106 "bh"           ADD "" host_name_taken
case_ "CNI_IFNAME lo"          106 "interface lo "         ADD "" "" CNI_IFNAME=lo
# A node whose datapath is not loaded (policyd not started yet) gets no pods.
case_ "datapath not loaded"    11 "datapath not loaded under $T_DIR/no-datapath" ADD 'jq:.bpffsRoot = $t + "/no-datapath"' ""
case_ "STATUS without a datapath" 50 "datapath not loaded" STATUS 'jq:.bpffsRoot = $t + "/no-datapath"' ""
# Delegated IPAM (host-local speaks up to 1.0.0): its error passes through
# with its code, and an address it gave that ADD cannot use is given back.
# An IPAM plugin that never stops talking is cut off, not waited for.
mkdir -p "$T_DIR/fake"
printf '#!/bin/sh\nexec tr "\\0" x </dev/zero\n' >"$T_DIR/fake/flood"
chmod +x "$T_DIR/fake/flood"
case_ "delegated IPAM floods stdout" 105 "output too large" ADD 'jq:.ipam = {type: "flood"}' "" "CNI_PATH=$T_DIR/fake"
if [ -x "$REF_PLUGINS/host-local" ]; then
	HL='.cniVersion = "1.0.0" | .ipam = {type: "host-local", dataDir: ($t + "/state/host-local")}'
	case_ "delegated IPAM fails" 999 "no IP ranges" ADD "jq:$HL" ""
	case_ "delegated IPAM gives IPv6" 105 "fd00:9::" ADD "jq:$HL | .ipam.ranges = [[{subnet: \"fd00:9::/64\"}]]" ""
fi

# --- positive control: the same fixtures do work ----------------------------
stdin_for "" >"$IN"
cni_env ADD <"$IN"
t_is "$CNI_RC" 0 "control: a valid ADD succeeds" || t_diag "output: $CNI_OUT"
t_like "$(jget "$CNI_OUT" '.ips[0].address')" '^10\.244\.7\.[0-9]+/24$' \
	"control: ADD's result has an address of the subnet"
left=$(leftovers)
# The leftover check sees what ADD makes, so its silence below means something.
t_like "$left" "node link bh" "control: the leftover check sees the host veth"
t_like "$left" "pod link eth0" "control: the leftover check sees the pod's eth0"
t_like "$left" "allocation in .*/ipam/testnet/allocations: 10\.244\.7\.[0-9]+ $CID eth0" \
	"control: the leftover check sees the allocation"
t_like "$left" "endpoint entry 10\.244\.7\.[0-9]+ " "control: the leftover check sees the endpoint entry"
cni_env DEL <"$IN"
t_is "$CNI_RC" 0 "control: DEL succeeds" || t_diag "output: $CNI_OUT"
t_is "$(leftovers)" "" "control: DEL leaves nothing behind"
stdin_for exact >"$IN"
cni_env ADD <"$IN"
t_is "$CNI_RC/$(stat -c %s "$IN")" "0/$((4 << 20))" "control: a netconf of exactly 4 MiB is read whole"
cni_env DEL <"$IN"
t_is "$(leftovers)" "" "control: ... and its DEL leaves nothing behind"
reset

# --- the cases ----------------------------------------------------------------
cni_env VERSION </dev/null
VERSIONS=$(jget "$CNI_OUT" '.supportedVersions | join(" ")')
LATEST=${VERSIONS##* }
t_like "$VERSIONS" '^0\.3\.0 .* 1\.1\.0$' "VERSION lists the versions the plugin speaks"
for i in "${!C_NAME[@]}"; do
	name=${C_NAME[$i]} code=${C_CODE[$i]} want=${C_MSG[$i]} hook=${C_HOOK[$i]}
	IFS=$'\x1f' read -r -a edits <<<"${C_ENV[$i]}"
	ALLOW_NODE= ALLOW_POD=
	[ -z "$hook" ] || "pre_$hook"
	stdin_for "${C_IN[$i]}" >"$IN"
	cni_env "${C_CMD[$i]}" "${edits[@]}" <"$IN"

	if [ "$CNI_RC" -ne 0 ]; then t_pass "$name: exit status non-zero ($CNI_RC)"
	else t_fail "$name: exit status non-zero" "exit status: 0" "stdout: ${CNI_OUT:0:400}"; fi

	# The error speaks the request's version when the plugin does too.
	ver=$(jq -r '.cniVersion | strings' "$IN" 2>/dev/null)
	[[ " $VERSIONS " == *" $ver "* ]] || ver=$LATEST
	got=$(jq -rs --argjson code "$code" --arg ver "$ver" '
		if length != 1 then "\(length) JSON documents"
		elif (.[0] | type) != "object" then "a JSON \(.[0] | type)"
		elif .[0].code != $code then "code \(.[0].code)"
		elif (.[0].msg | type) != "string" or .[0].msg == "" then "no msg"
		elif .[0].cniVersion != $ver then "cniVersion \(.[0].cniVersion)"
		else "ok" end' <<<"$CNI_OUT" 2>&1)
	t_is "$got" ok "$name: one error object: code $code, a msg, cniVersion $ver" ||
		t_diag "stdout: ${CNI_OUT:0:400}"

	msg=$(jq -rs '.[0].msg // empty' <<<"$CNI_OUT" 2>/dev/null)
	if [[ $msg == *"$want"* ]]; then t_pass "$name: msg mentions $want"
	else t_fail "$name: msg mentions $want" "msg: ${msg:0:400}"; fi

	t_is "$(leftovers)" "" "$name: nothing left behind"
	[ -z "$hook" ] || "post_$hook" "$name"
	reset
done

t_diag "${#C_NAME[@]} malformed-input cases"
t_done
