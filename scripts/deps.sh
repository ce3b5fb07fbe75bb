#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

PKGS=(
	build-essential pkg-config make
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libmnl-dev libjansson-dev libcurl4-openssl-dev libyaml-dev
	iproute2 iptables containernetworking-plugins
	perl jq python3 curl openssl
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null; then
	echo "deps.sh: apt-get update failed: check the machine's apt sources and network" >&2
	exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
	echo "deps.sh: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
