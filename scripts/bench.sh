#!/usr/bin/env bash
# `make bench`: runs each benchmark part in turn and prints its results.
# A missed target is a result ("missed" in the table), not a failure; the exit
# status is non-zero only when a part could not run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BULKHEAD_BUILD=${BULKHEAD_BUILD:-$(cd "$HERE/.." && pwd)/build}

# The parts, in order: each a script in scripts/.
PARTS=(
	bench-cni.sh
	bench-datapath.sh
	bench-policyd.sh
	bench-overlay.sh
)

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (it creates network namespaces and veth pairs); run: sudo make bench" >&2
	exit 1
fi

failed=()
for part in "${PARTS[@]}"; do
	echo "== $part"
	rc=0
	"$HERE/$part" || rc=$?
	# Interrupted (Ctrl-C): the part has cleaned up; run no more parts.
	[ "$rc" -ne 130 ] || exit 130
	if [ "$rc" -ne 0 ]; then
		echo "bench: $part failed to run" >&2
		failed+=("$part")
	fi
	echo
done
if [ "${#failed[@]}" -ne 0 ]; then
	echo "bench: ${#failed[@]} of ${#PARTS[@]} parts failed: ${failed[*]}" >&2
	exit 1
fi
