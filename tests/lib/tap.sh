# TAP for the shell tests: t_ok, t_is, t_like, t_done. A failing check prints
# what it expected and what it saw.
T_N=0
T_FAILED=0

t_pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
	T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

# t_ok NAME CMD...: passes when CMD exits 0.
t_ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 0 ]; then t_pass "$name"; else
		t_fail "$name" "command: $*" "exit status: $rc" "output: ${out:0:600}"; fi
	return "$rc"
}

# t_is GOT WANT NAME
t_is() {
	if [ "$1" = "$2" ]; then t_pass "$3"; return 0; fi
	t_fail "$3" "expected: '$2'" "     got: '$1'"
	return 1
}

# t_like GOT REGEX NAME
t_like() {
	if [[ "$1" =~ $2 ]]; then t_pass "$3"; return 0; fi
	t_fail "$3" "expected to match: /$2/" "                got: '${1:0:600}'"
	return 1
}

t_diag() { echo "# $*"; }

t_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

t_done() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}
