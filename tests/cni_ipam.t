#!/usr/bin/env bash
# IPAM both ways round: bulkhead delegating to the reference host-local, the
# reference ptp using bulkhead-ipam, and bulkhead-ipam answering on its own.
set -u
. "$(dirname "$0")/lib/cni.sh"

for p in host-local ptp; do
	[ -x "$REF_PLUGINS/$p" ] || t_skip_all "$REF_PLUGINS/$p missing (package containernetworking-plugins)"
done
node_up
HL_DIR=$T_DIR/host-local

# --- bulkhead → host-local -------------------------------------------------
netconf 1.0.0 | jq --arg d "$HL_DIR" '.name = "hlnet" | .ipam = {type: "host-local",
	subnet: "10.244.11.0/24", rangeStart: "10.244.11.50", dataDir: $d}' >"$T_DIR/conf-hl"
P1=$(pod_ns p1)
cni ADD c1 "$P1" eth0 <"$T_DIR/conf-hl"
t_is "$CNI_RC" 0 "ADD with ipam.type host-local succeeds" || t_diag "$CNI_OUT"
IP1=$(jget "$CNI_OUT" '.ips[0].address' | cut -d/ -f1)
t_is "$IP1" 10.244.11.50 "the address is host-local's (its rangeStart)"
t_is "$(ls "$HL_DIR/hlnet" | grep -c '^10\.244\.11\.50$')" 1 "host-local recorded the allocation"
pod_ready "$IP1"
serve "$NODE" 81
t_ok "the pod reaches the host side" reach "${PFX}p1" 10.244.11.1 81
cni CHECK c1 "$P1" eth0 <"$T_DIR/conf-hl"
t_is "$CNI_RC" 0 "CHECK passes, host-local's CHECK included" || t_diag "$CNI_OUT"
cni DEL c1 "$P1" eth0 <"$T_DIR/conf-hl"
t_is "$CNI_RC" 0 "DEL succeeds"
t_is "$(ls "$HL_DIR/hlnet" | grep -c '^10\.')" 0 "DEL released host-local's allocation"
jq '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments": []}' "$T_DIR/conf-hl" >"$T_DIR/conf-hl-gc"
cni GC "" "" "" <"$T_DIR/conf-hl-gc"
t_is "$CNI_RC" 0 "GC succeeds although host-local 1.1.1 predates GC"

# A delegate result we cannot use is handed back to the delegate: nothing
# stays allocated there.
netconf 1.0.0 | jq --arg d "$HL_DIR" '.name = "hl6" | .ipam = {type: "host-local",
	subnet: "fd00:bb::/120", dataDir: $d}' >"$T_DIR/conf-hl6"
cni ADD c6 "$(pod_ns p6)" eth0 <"$T_DIR/conf-hl6"
t_like "$(jget "$CNI_OUT" .msg)" "only IPv4" "an IPv6 address from host-local is refused in words"
t_is "$(ls "$HL_DIR/hl6" 2>/dev/null | grep -c ':')" 0 "... and released back to host-local"
t_is "$(links_in "${PFX}p6" | tr '\n' ' ')" "lo " "... and nothing is left in the pod"

# --- ptp → bulkhead-ipam ---------------------------------------------------
cat >"$T_DIR/conf-ptp" <<JSON
{ "cniVersion": "1.0.0", "name": "ptpnet", "type": "ptp",
  "ipam": { "type": "bulkhead-ipam", "subnet": "10.244.12.0/24",
            "dataDir": "$T_DIR/bipam" } }
JSON
P2=$(pod_ns p2)
cni_exec "$REF_PLUGINS/ptp" ADD c2 "$P2" eth0 <"$T_DIR/conf-ptp" >"$T_DIR/out-ptp"
t_is $? 0 "ptp ADD with ipam.type bulkhead-ipam succeeds"
t_is "$(jq -r '.ips[0].address' "$T_DIR/out-ptp")" 10.244.12.2/24 "ptp got bulkhead-ipam's first address"
t_is "$(grep -c '^10\.244\.12\.2 c2 eth0$' "$T_DIR/bipam/ptpnet/allocations")" 1 "bulkhead-ipam recorded it"
cni_exec "$REF_PLUGINS/ptp" DEL c2 "$P2" eth0 <"$T_DIR/conf-ptp" >/dev/null
t_is $? 0 "ptp DEL succeeds"
t_is "$(allocs ptpnet "$T_DIR/bipam")" 0 "bulkhead-ipam released it"

# --- bulkhead-ipam alone ---------------------------------------------------
for v in 0.4.0 1.1.0; do
	out=$(sed "s/\"1.0.0\"/\"$v\"/" "$T_DIR/conf-ptp" |
		cni_exec "$BUILD/bulkhead-ipam" ADD "ipam$v" "$P2" eth0)
	t_is "$(jget "$out" '[.cniVersion, .ips[0].version, .ips[0].gateway, (.interfaces | length)] | map(tostring) | join(" ")')" \
		"$v $([ "$v" = 0.4.0 ] && echo 4 || echo null) 10.244.12.1 0" \
		"bulkhead-ipam answers an IPAM result in $v"
done
t_done
