# SPDX-License-Identifier: GPL-2.0
#
# Helpers for scenarios (sourced by /init). Results go to the results port
# ($results, a second serial line) as '@@ PASS name', '@@ FAIL name why',
# '@@ JSON tag {...}' and finally '@@ DONE passed failed'; the console gets
# every command's output for the log.

RESULTS_FILE=/run/results

# busybox sh runs its own applets before anything in PATH; the module tools
# must be kmod's (the same ones a distribution uses).
modprobe() { /sbin/modprobe "$@"; }
rmmod() { /sbin/rmmod "$@"; }
insmod() { /sbin/insmod "$@"; }
lsmod() { /sbin/lsmod "$@"; }

emit() {
	echo "@@ $*" >>"$RESULTS_FILE"
	[ "$1" = JSON ] || echo "@@ $*"
	[ -n "$results" ] && [ -c "$results" ] && echo "@@ $*" >"$results"
	return 0
}

pass() { emit PASS "$1"; }

fail() {
	_n=$1
	shift
	emit FAIL "$_n" "$*"
	return 1
}

# check NAME CMD...: runs CMD (output to the console); passes if it exits 0.
check() {
	_n=$1
	shift
	echo "--- $_n: $*"
	"$@" >/tmp/check.out 2>&1
	_rc=$?
	cat /tmp/check.out
	if [ $_rc -eq 0 ]; then
		pass "$_n"
	else
		fail "$_n" "exit $_rc: $(tail -n 3 /tmp/check.out | tr '\n' ' ')"
	fi
}

# require NAME CMD...: a check whose failure ends the scenario.
require() { check "$@" || exit 1; }

# check_not NAME CMD...: passes if CMD fails.
check_not() {
	_n=$1
	shift
	echo "--- $_n (must fail): $*"
	if "$@" >/tmp/check.out 2>&1; then
		cat /tmp/check.out
		fail "$_n" "succeeded but must fail"
	else
		cat /tmp/check.out
		pass "$_n"
	fi
}

# json TAG CMD...: records CMD's JSON output (normalised by the harness).
json() {
	_t=$1
	shift
	_j=$("$@" 2>/dev/null | tr -d '\n\t')
	emit JSON "$_t" "${_j:-[]}"
}

# wait_for SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	_s=$(($1 * 10))
	shift
	while [ $_s -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_s=$((_s - 1))
	done
	return 1
}

# The drivers a scenario can run with: C (upstream) or Rust (this project).
nfit_module() {
	case "$driver" in
	c) echo nfit ;;
	rust) echo nfit_rs ;;
	*) echo "unknown-driver-$driver" ;;
	esac
}

count_regions() { ls -d /sys/bus/nd/devices/region* 2>/dev/null | wc -l; }
have_regions() { [ "$(count_regions)" -ge "$1" ]; }

# The namespace drivers (pmem, BTT, device-dax) every provider needs: there is
# no udev in the guest to load them on demand.
load_pmem_drivers() {
	require load-pmem-drivers modprobe -a nd_btt nd_pmem dax_pmem device_dax
}

# load_nfit NREGIONS: loads the namespace drivers and the selected NFIT
# driver, then waits for NREGIONS regions.
load_nfit() {
	load_pmem_drivers
	require "load-$(nfit_module)" modprobe "$(nfit_module)"
	require regions-ready wait_for 30 have_regions "$1"
}

# Field of the one-line-per-field JSON that ndctl prints: json_field KEY < json
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" | head -n 1; }

# Marks dmesg noise that a scenario expects (a known failure of a driver),
# with the reason printed: known_dmesg REGEX REASON
known_dmesg() {
	echo "$1" >/run/dmesg-known
	echo "known failure expected in dmesg: $2"
}

finish() {
	_bad='WARNING:|BUG:|Oops|Call Trace|general protection|Kernel panic'
	dmesg >/tmp/dmesg.txt
	if [ -f /run/dmesg-known ]; then
		grep -E "$_bad" /tmp/dmesg.txt | grep -Ev "$(cat /run/dmesg-known)" >/tmp/dmesg.bad
	else
		grep -E "$_bad" /tmp/dmesg.txt >/tmp/dmesg.bad
	fi
	if [ -s /tmp/dmesg.bad ]; then
		fail dmesg-clean "$(head -n 2 /tmp/dmesg.bad | tr '\n' ' ')"
	else
		pass dmesg-clean
	fi
	_p=$(grep -c '^@@ PASS' "$RESULTS_FILE")
	_f=$(grep -c '^@@ FAIL' "$RESULTS_FILE")
	emit DONE "$_p" "$_f"
	echo "=== $scenario: $_p passed, $_f failed"
}

# --- pseries: papr_scm ------------------------------------------------------

# The papr_scm driver a scenario runs with: C (upstream) or Rust (this project).
papr_scm_module() {
	case "$driver" in
	c) echo papr_scm ;;
	rust) echo papr_scm_rs ;;
	*) echo "unknown-driver-$driver" ;;
	esac
}

# load_papr_scm NREGIONS [MODULE-PARAMS...]: loads the namespace drivers and
# the selected papr_scm driver, then waits for NREGIONS regions (one per
# DIMM: every papr_scm DIMM has its own bus and region).
load_papr_scm() {
	_papr_regions=$1
	shift
	load_pmem_drivers
	require "load-$(papr_scm_module)" modprobe "$(papr_scm_module)" "$@"
	require regions-ready wait_for 30 have_regions "$_papr_regions"
}

# hotplug_nvdimm SPEC: asks the harness to hot-add an NVDIMM to this running
# guest; SPEC uses the '# nvdimm:' header syntax. The harness watches the
# results port for the request; the caller waits for the new device itself.
hotplug_nvdimm() {
	echo "--- hotplug request: nvdimm $*"
	[ -n "$results" ] && [ -c "$results" ] && echo "@@ HOTPLUG nvdimm $*" >"$results"
}

# ns_create NAME MODE SIZE [NDCTL-ARGS...]: creates a namespace on region0,
# leaves its JSON in /tmp/ns.json and sets $ns (namespace) and $dev (block
# or character device).
ns_create() {
	_ns_check=$1 _ns_mode=$2 _ns_size=$3
	shift 3
	check "$_ns_check" sh -c "ndctl create-namespace -r region0 -m $_ns_mode -s $_ns_size $* >/tmp/ns.json" || return 1
	cat /tmp/ns.json
	ns=$(json_field dev </tmp/ns.json)
	if [ "$_ns_mode" = devdax ]; then
		dev=/dev/$(json_field chardev </tmp/ns.json)
	else
		dev=/dev/$(json_field blockdev </tmp/ns.json)
	fi
}

# load_provider NREGIONS: the platform's NVDIMM bus provider, in the flavour
# $driver names: the NFIT driver on x86, papr_scm on pseries.
load_provider() {
	case "$(uname -m)" in
	x86_64) load_nfit "$1" ;;
	ppc64le) load_papr_scm "$1" ;;
	*)
		fail load-provider "no NVDIMM provider for $(uname -m)"
		exit 1
		;;
	esac
}
