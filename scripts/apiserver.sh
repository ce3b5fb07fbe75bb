#!/usr/bin/env bash
# A real Kubernetes API server (kube-apiserver v1.20.2 + etcd 3.4, both from
# Debian bookworm) on loopback, for tests.
#
#   scripts/apiserver.sh build       # fetch sources, build kube-apiserver once
#                                    # into the cache, fetch etcd (idempotent)
#   scripts/apiserver.sh start DIR   # start etcd + kube-apiserver, state in DIR,
#                                    # wait until ready, print the kubeconfig path
#   scripts/apiserver.sh stop DIR    # stop both (PID files in DIR), remove DIR
#   scripts/apiserver.sh env DIR     # KUBECONFIG=, APISERVER=, TOKEN=, CACERT= lines
#
# BULKHEAD_APISERVER_ADDR (default 127.0.0.1): the address kube-apiserver
# binds to, serves its certificate for and the kubeconfig names.
# BULKHEAD_APISERVER_NETNS: `start` runs both servers inside that named
# network namespace (etcd on its loopback), e.g. a simulated cluster's fabric.
#
# Cache: ${BULKHEAD_CACHE:-/var/cache/bulkhead} (kube-apiserver binary, etcd,
# Go caches, the private apt state and the Kubernetes source tree).
# The system's apt configuration is never modified: sources are fetched with a
# private sources list and private lists/cache directories.
#
# Notes for test writers (v1.20 semantics, no controller-manager):
#  - a pod needs a `default` ServiceAccount in its namespace and
#    automountServiceAccountToken: false;
#  - no NetworkPolicy endPort, no automatic kubernetes.io/metadata.name label.
set -euo pipefail

CACHE=${BULKHEAD_CACHE:-/var/cache/bulkhead}
KVER=v1.20.2
APISERVER_BIN=$CACHE/kube-apiserver
ETCD_ROOT=$CACHE/etcd
ETCD_BIN=$ETCD_ROOT/usr/bin/etcd
APTDIR=$CACHE/apt
SRCROOT=$CACHE/src
API_ADDR=${BULKHEAD_APISERVER_ADDR:-127.0.0.1}
API_NETNS=${BULKHEAD_APISERVER_NETNS:-}

log() { echo "apiserver.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- apt helpers

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

ensure_pkgs() {
	local missing=() p
	for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
	[ "${#missing[@]}" -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root)"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
		timeout 600 apt-get update -qq >/dev/null || die "apt-get update failed"
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install failed for: ${missing[*]}"
	fi
}

# Prints "URI SIGNED_BY" for the system's main Debian mirror (the entry whose
# suite is the release codename), from one-line or deb822 sources.
system_mirror() {
	local codename files=() f
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || codename=bookworm
	[ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	[ "${#files[@]}" -gt 0 ] || return 1
	awk -v cn="$codename" '
	FNR == 1 && NR != 1 { flush() }
	function flush() {
		if (typ ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ") && uris != "" && !done) {
			split(uris, u, " "); print u[1], (sb == "" ? "-" : sb); done = 1
		}
		typ = ""; suites = ""; uris = ""; sb = ""
	}
	FILENAME ~ /\.sources$/ {
		if ($0 ~ /^[ \t]*$/) { flush(); next }
		if ($0 ~ /^#/) next
		k = tolower($1); sub(/:$/, "", k); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
		if (k == "types") typ = v
		else if (k == "suites") suites = v
		else if (k == "uris") uris = v
		else if (k == "signed-by") sb = v
		next
	}
	FILENAME !~ /\.sources$/ && $1 == "deb" && !done {
		flush()
		opts = ""; i = 2
		if ($2 ~ /^\[/) { while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ } }
		if ($(i + 1) == cn) {
			if (match(opts, /signed-by=[^ \]]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10)
			print $i, (sb == "" ? "-" : sb); done = 1
		}
		sb = ""
	}
	END { flush() }
	' "${files[@]}"
}

PRIV_APT=()
setup_private_apt() {
	local line uri sb opt=""
	line=$(system_mirror | head -n1)
	[ -n "$line" ] || die "cannot find the system's Debian mirror in /etc/apt/sources.list{,.d/*}"
	uri=${line%% *}; sb=${line#* }
	[ "$sb" != "-" ] && opt="[signed-by=$sb] "
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	printf 'deb %s%s %s main\ndeb-src %s%s %s main\n' \
		"$opt" "$uri" "$codename" "$opt" "$uri" "$codename" >"$APTDIR/sources.list.new"
	if ! cmp -s "$APTDIR/sources.list.new" "$APTDIR/sources.list" 2>/dev/null; then
		mv "$APTDIR/sources.list.new" "$APTDIR/sources.list"
		rm -f "$APTDIR/.updated"
	else
		rm -f "$APTDIR/sources.list.new"
	fi
	PRIV_APT=(-o "Dir::Etc::SourceList=$APTDIR/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$APTDIR/lists"
		-o "Dir::Cache=$APTDIR/cache"
		-o "APT::Sandbox::User=root")
	if [ ! -e "$APTDIR/.updated" ]; then
		log "apt-get update (private config: $uri $codename)"
		timeout 600 apt-get "${PRIV_APT[@]}" update -qq >&2 || die "private apt-get update failed"
		touch "$APTDIR/.updated"
	fi
}

# The private lists are fetched once; when a download fails (stale lists after
# a point release), fetch them again and let the caller retry once.
refresh_private_apt() {
	log "download failed; refreshing the private apt lists and retrying"
	rm -f "$APTDIR/.updated"
	setup_private_apt
}

# ---------------------------------------------------------------------- build

fetch_etcd() {
	[ -x "$ETCD_BIN" ] && return 0
	setup_private_apt
	local d=$CACHE/etcd-deb
	rm -rf "$d" && mkdir -p "$d"
	log "downloading etcd-server"
	(cd "$d" && timeout 600 apt-get "${PRIV_APT[@]}" download -qq etcd-server >&2) ||
		{ refresh_private_apt && (cd "$d" && timeout 600 apt-get "${PRIV_APT[@]}" download -qq etcd-server >&2); } ||
		die "apt-get download etcd-server failed"
	rm -rf "$ETCD_ROOT.tmp"
	dpkg -x "$d"/etcd-server_*.deb "$ETCD_ROOT.tmp"
	[ -x "$ETCD_ROOT.tmp/usr/bin/etcd" ] || die "etcd binary not found in etcd-server package"
	rm -rf "$ETCD_ROOT" && mv "$ETCD_ROOT.tmp" "$ETCD_ROOT"
	rm -rf "$d"
}

fetch_source() {
	local dir
	dir=$(find "$SRCROOT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' 2>/dev/null | head -n1)
	if [ -n "$dir" ] && [ -e "$dir/.bulkhead-extracted" ]; then
		echo "$dir"; return 0
	fi
	setup_private_apt
	rm -rf "$SRCROOT" && mkdir -p "$SRCROOT"
	log "apt-get source kubernetes (large download)"
	(cd "$SRCROOT" && timeout 1200 apt-get "${PRIV_APT[@]}" source -qq kubernetes >&2) ||
		{ refresh_private_apt && rm -rf "$SRCROOT" && mkdir -p "$SRCROOT" &&
			(cd "$SRCROOT" && timeout 1200 apt-get "${PRIV_APT[@]}" source -qq kubernetes >&2); } ||
		die "apt-get source kubernetes failed"
	dir=$(find "$SRCROOT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
	[ -n "$dir" ] && [ -f "$dir/go.mod" ] || die "kubernetes source tree not found under $SRCROOT"
	rm -f "$SRCROOT"/*.tar.* "$SRCROOT"/*.dsc
	touch "$dir/.bulkhead-extracted"
	echo "$dir"
}

go_env() {
	export GOPATH=$CACHE/gopath GOCACHE=$CACHE/gocache GOMODCACHE=$CACHE/gopath/pkg/mod
	export GOFLAGS=-mod=vendor GO111MODULE=on GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local
	export CGO_ENABLED=0
	mkdir -p "$GOPATH" "$GOCACHE"
}

# Fact 1: Go 1.19 rejects modules.txt when the version-less "# path => repl"
# lines come before the package lines; move them to the end.
fix_modules_txt() {
	local src=$1 f=$1/vendor/modules.txt
	[ -e "$src/.bulkhead-modules-fixed" ] && return 0
	awk '/^# [^ ]+ => / { tail[n++] = $0; next } { print } END { for (i = 0; i < n; i++) print tail[i] }' \
		"$f" >"$f.new"
	mv "$f.new" "$f"
	touch "$src/.bulkhead-modules-fixed"
}

# Fact 3: vendored reflect2 1.0.1 segfaults under Go >= 1.18; use Debian's 1.0.2.
fix_reflect2() {
	local src=$1 r=/usr/share/gocode/src/github.com/modern-go/reflect2
	[ -e "$src/.bulkhead-reflect2" ] && return 0
	[ -d "$r" ] || die "$r missing (golang-github-modern-go-reflect2-dev)"
	local v=$src/vendor/github.com/modern-go/reflect2
	rm -rf "$v" && mkdir -p "$v"
	find "$r" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' -o -name LICENSE \) ! -name '*_test.go' \
		-exec cp -L {} "$v/" \;
	touch "$src/.bulkhead-reflect2"
}

# Fact 2: pkg/generated/openapi/zz_generated.openapi.go is not in the tarball.
gen_openapi() {
	local src=$1 out=$1/pkg/generated/openapi/zz_generated.openapi.go
	[ -s "$out" ] && [ -e "$src/.bulkhead-openapi" ] && return 0
	log "generating $out"
	local tmp=$CACHE/openapi-tmp
	rm -rf "$tmp" && mkdir -p "$tmp/out"
	(cd "$src" && timeout 900 go build -o "$tmp/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen) ||
		die "building openapi-gen failed"
	# Input packages: as build/root/Makefile.generated_files, every package
	# with a '+k8s:openapi-gen=' tag (outside vendor/, plus staging which
	# vendor/k8s.io links to), as Go import paths.
	(cd "$src" && grep -rl --include='*.go' -e '+k8s:openapi-gen=' \
		--exclude-dir=vendor --exclude-dir=_output --exclude-dir=.git --exclude-dir=third_party \
		--exclude-dir=testdata . |
		xargs -n1 dirname | LC_ALL=C sort -u |
		sed -e 's|^\./staging/src/||' -e 's|^\./|k8s.io/kubernetes/|' |
		grep -v -e '/test/' -e '^k8s.io/kubernetes/cmd/' -e '/code-generator/' -e '/sample-' \
		>"$tmp/inputs.txt")
	[ -s "$tmp/inputs.txt" ] || die "no openapi-gen input packages found"
	log "openapi-gen: $(wc -l <"$tmp/inputs.txt") input packages"
	(cd "$src" && timeout 1200 "$tmp/openapi-gen" \
		--logtostderr \
		-i "$(paste -sd, "$tmp/inputs.txt")" \
		-p k8s.io/kubernetes/pkg/generated/openapi \
		-O zz_generated.openapi \
		-h hack/boilerplate/boilerplate.generatego.txt \
		-r "$tmp/violations.report" \
		-o "$tmp/out" >"$tmp/openapi-gen.log" 2>&1) || {
		tail -n 30 "$tmp/openapi-gen.log" >&2
		die "openapi-gen failed (log: $tmp/openapi-gen.log)"
	}
	local gen=$tmp/out/k8s.io/kubernetes/pkg/generated/openapi/zz_generated.openapi.go
	[ -s "$gen" ] || die "openapi-gen produced no $gen"
	cp "$gen" "$out"
	touch "$src/.bulkhead-openapi"
}

cmd_build() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	fetch_etcd
	if [ -x "$APISERVER_BIN" ]; then
		log "cached: $APISERVER_BIN, $ETCD_BIN"
		return 0
	fi
	ensure_pkgs golang-go dpkg-dev golang-github-modern-go-reflect2-dev openssl curl python3
	local src
	src=$(fetch_source)
	go_env
	export PATH=/usr/lib/go/bin:$PATH
	log "go: $(go version)"
	fix_modules_txt "$src"
	fix_reflect2 "$src"
	gen_openapi "$src"
	local t0=$SECONDS pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ld="-s -w"
	local date
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	for p in $pkg $cpkg; do
		ld="$ld -X $p.gitVersion=$KVER -X $p.gitMajor=1 -X $p.gitMinor=20"
		ld="$ld -X $p.gitTreeState=clean -X $p.buildDate=$date -X $p.gitCommit=debian-bookworm"
	done
	log "building kube-apiserver (several minutes when cold)"
	(cd "$src" && timeout 3000 go build -p "$(nproc)" -ldflags "$ld" \
		-o "$APISERVER_BIN.tmp" ./cmd/kube-apiserver) || die "go build kube-apiserver failed"
	mv "$APISERVER_BIN.tmp" "$APISERVER_BIN"
	log "built $APISERVER_BIN in $((SECONDS - t0))s"
}

# ------------------------------------------------------------ start/stop/env

# pid_alive PIDFILE NAME: the PID in PIDFILE runs a program called NAME.
pid_alive() {
	local pid
	[ -s "$1" ] || return 1
	pid=$(cat "$1")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | awk '{print $1}' | grep -q "/$2\$"
}

stop_one() {
	local pf=$1 name=$2 pid
	pid_alive "$pf" "$name" || { rm -f "$pf"; return 0; }
	pid=$(cat "$pf")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name ($pid) did not stop on TERM; killing"
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	fi
	rm -f "$pf"
}

check_dir() {
	[ -n "${1:-}" ] || die "usage: $0 $2 DIR"
	case "$1" in /|/tmp|/tmp/|/var|/usr|/etc|/root|/home|.|..) die "refusing DIR=$1" ;; esac
}

free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# api_url DIR: the server's URL (address and port as started).
api_url() { echo "https://$(cat "$1/apiserver.addr"):$(cat "$1/apiserver.port")"; }

readyz() { # DIR
	local token
	token=$(cat "$1/token")
	curl -sf --max-time 3 --cacert "$1/ca.crt" -H "Authorization: Bearer $token" \
		"$(api_url "$1")/readyz" >/dev/null 2>&1
}

cmd_start() {
	check_dir "${1:-}" start
	# Everything below, PID files aside, must see the namespace's network:
	# run again inside it (nsenter --net keeps the machine's /sys and /run).
	if [ -n "$API_NETNS" ] && [ "${BULKHEAD_APISERVER_IN_NETNS:-}" != "$API_NETNS" ]; then
		[ -e "/run/netns/$API_NETNS" ] || die "no network namespace $API_NETNS"
		exec nsenter --net="/run/netns/$API_NETNS" \
			env BULKHEAD_APISERVER_IN_NETNS="$API_NETNS" "$0" start "$1"
	fi
	local dir
	mkdir -p "$1"
	dir=$(cd "$1" && pwd)
	if pid_alive "$dir/kube-apiserver.pid" kube-apiserver && pid_alive "$dir/etcd.pid" etcd &&
		[ -s "$dir/kubeconfig" ] && readyz "$dir"; then
		echo "$dir/kubeconfig"; return 0
	fi
	[ -x "$APISERVER_BIN" ] && [ -x "$ETCD_BIN" ] || die "not built: run $0 build"
	# An address the server binds to goes into its certificate and
	# kubeconfig as is: a dotted quad only.
	[[ $API_ADDR =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "BULKHEAD_APISERVER_ADDR=$API_ADDR: not an IPv4 address"
	# Clean up whatever a previous failed start left.
	stop_one "$dir/kube-apiserver.pid" kube-apiserver
	stop_one "$dir/etcd.pid" etcd
	find "$dir" -mindepth 1 -delete
	# shellcheck disable=SC2154 # rc is set inside the trap string
	trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; stopping (logs in '"$dir"')";
		stop_one "'"$dir"'/kube-apiserver.pid" kube-apiserver; stop_one "'"$dir"'/etcd.pid" etcd; fi' EXIT

	local etcd_port peer_port api_port token
	read -r etcd_port peer_port api_port <<<"$(free_ports 3)"
	echo "$api_port" >"$dir/apiserver.port"
	echo "$etcd_port" >"$dir/etcd.port"
	echo "$API_ADDR" >"$dir/apiserver.addr"

	# PKI: self-signed CA, serving cert for 127.0.0.1/localhost and the
	# bind address, SA key pair.
	(
		cd "$dir"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=bulkhead-test-ca" \
			-keyout ca.key -out ca.crt 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
			-keyout apiserver.key -out apiserver.csr 2>/dev/null
		printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=IP:127.0.0.1,IP:$API_ADDR,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" \
			>apiserver.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile apiserver.ext -out apiserver.crt 2>/dev/null
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	) || die "openssl failed"
	token=$(openssl rand -hex 24)
	echo "$token" >"$dir/token"
	echo "$token,bulkhead-admin,bulkhead-admin,\"system:masters\"" >"$dir/tokens.csv"
	chmod 600 "$dir/token" "$dir/tokens.csv" "$dir"/*.key

	cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bulkhead-test
  cluster:
    server: https://$API_ADDR:$api_port
    certificate-authority: $dir/ca.crt
users:
- name: bulkhead-admin
  user:
    token: $token
contexts:
- name: bulkhead-test
  context:
    cluster: bulkhead-test
    user: bulkhead-admin
    namespace: default
current-context: bulkhead-test
EOF
	chmod 600 "$dir/kubeconfig"

	local t0=$SECONDS
	setsid "$ETCD_BIN" --name bulkhead --data-dir "$dir/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" \
		--advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "bulkhead=http://127.0.0.1:$peer_port" \
		--initial-cluster-state new --unsafe-no-fsync=true \
		</dev/null >"$dir/etcd.log" 2>&1 &
	echo $! >"$dir/etcd.pid"

	setsid "$APISERVER_BIN" \
		--etcd-servers "http://127.0.0.1:$etcd_port" \
		--bind-address "$API_ADDR" --secure-port "$api_port" --insecure-port 0 \
		--tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \
		--client-ca-file "$dir/ca.crt" \
		--token-auth-file "$dir/tokens.csv" \
		--authorization-mode RBAC \
		--service-cluster-ip-range 10.96.0.0/16 \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$dir/sa.pub" \
		--service-account-signing-key-file "$dir/sa.key" \
		--cert-dir "$dir/certs" \
		--allow-privileged=true --profiling=false \
		</dev/null >"$dir/kube-apiserver.log" 2>&1 &
	echo $! >"$dir/kube-apiserver.pid"

	local deadline=$((SECONDS + ${BULKHEAD_APISERVER_TIMEOUT:-60}))
	until readyz "$dir"; do
		if ! pid_alive "$dir/etcd.pid" etcd; then
			tail -n 20 "$dir/etcd.log" >&2; die "etcd exited"
		fi
		if ! pid_alive "$dir/kube-apiserver.pid" kube-apiserver; then
			tail -n 30 "$dir/kube-apiserver.log" >&2; die "kube-apiserver exited"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 30 "$dir/kube-apiserver.log" >&2; die "kube-apiserver not ready in time"
		fi
		sleep 0.5
	done
	log "ready in $((SECONDS - t0))s on $(api_url "$dir")"
	trap - EXIT
	echo "$dir/kubeconfig"
}

cmd_stop() {
	check_dir "${1:-}" stop
	local dir=$1
	if [ -d "$dir" ]; then
		stop_one "$dir/kube-apiserver.pid" kube-apiserver
		stop_one "$dir/etcd.pid" etcd
		rm -rf "$dir"
	fi
	return 0
}

cmd_env() {
	check_dir "${1:-}" env
	local dir
	dir=$(cd "$1" 2>/dev/null && pwd) || die "no such DIR: $1"
	[ -s "$dir/apiserver.port" ] && [ -s "$dir/token" ] || die "$dir: not started"
	echo "KUBECONFIG=$dir/kubeconfig"
	echo "APISERVER=$(api_url "$dir")"
	echo "TOKEN=$(cat "$dir/token")"
	echo "CACERT=$dir/ca.crt"
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
env) cmd_env "${2:-}" ;;
*) echo "usage: $0 build | start DIR | stop DIR | env DIR" >&2; exit 2 ;;
esac
