# SPDX-License-Identifier: GPL-2.0
#
# Helpers for scenarios (sourced by /init). Results go to the results port
# ($results, a second serial line; the console on PowerNV, which has none) as
# '@@ PASS name', '@@ FAIL name why', '@@ JSON tag {...}' and finally
# '@@ DONE passed failed'; the console gets every command's output for the log.

RESULTS_FILE=/run/results

# busybox sh runs its own applets before anything in PATH; the module tools
# must be kmod's (the same ones a distribution uses).
modprobe() { /sbin/modprobe "$@"; }
rmmod() { /sbin/rmmod "$@"; }
insmod() { /sbin/insmod "$@"; }
lsmod() { /sbin/lsmod "$@"; }

# Without a results port (results= unset: the PowerNV guest), every record,
# JSON too, goes to the console, where the harness reads it.
emit() {
	echo "@@ $*" >>"$RESULTS_FILE"
	[ "$1" = JSON ] && [ -n "$results" ] || echo "@@ $*"
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

# json TAG CMD...: records CMD's JSON output (normalised by the harness and
# compared between drivers). A check named json-TAG: it fails, with the tail
# of CMD's stderr, when CMD exits non-zero or prints nothing, and then no
# record is emitted (a failing command must not compare equal to another).
json() {
	_jt=$1
	shift
	echo "--- json-$_jt: $*"
	"$@" >/tmp/json.out 2>/tmp/json.err
	_jrc=$?
	cat /tmp/json.out /tmp/json.err
	_j=$(tr -d '\n\t' </tmp/json.out)
	if [ $_jrc -ne 0 ]; then
		fail "json-$_jt" "exit $_jrc: $(tail -n 3 /tmp/json.err | tr '\n' ' ')"
	elif [ -z "$_j" ]; then
		fail "json-$_jt" "no output: $(tail -n 3 /tmp/json.err | tr '\n' ' ')"
	else
		emit JSON "$_jt" "$_j"
		pass "json-$_jt"
	fi
}

# _uptime_cs: sets _uptime to the uptime in hundredths of a second, read
# from /proc/uptime without a fork ("12345.67 ..."; the fraction is
# prefixed with 1 so that a leading 0 is not octal).
_uptime_cs() {
	read -r _up _idle </proc/uptime
	_uptime=$((${_up%.*} * 100 + 1${_up#*.} - 100))
}

# wait_for SECONDS CMD...: polls CMD until it succeeds (0) or SECONDS have
# passed on the uptime clock (1), however long each CMD takes. CMD runs at
# least once.
wait_for() {
	local _wf_end _uptime _up _idle
	_uptime_cs
	_wf_end=$((_uptime + $1 * 100))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		_uptime_cs
		[ "$_uptime" -lt "$_wf_end" ] || return 1
		sleep 0.1
	done
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

# --- malformed-NFIT campaigns (vmm-malformed, vmm-malformed-c-oops) ---------

# malformed_class: the class of this boot's malformed NFIT (malformed= on
# the kernel command line).
malformed_class() { sed -n 's/.* malformed=\([a-z-]*\).*/\1/p' /proc/cmdline; }

# nfit_table_record CLASS: the NFIT the guest sees, as JSON: the class,
# the table's length and its SHA-256. The test VMM builds the table from
# the class alone, so it is the same under both drivers; record it before
# any NFIT driver loads (a C driver's boot may end in its probe).
nfit_table_record() {
	_nt=/sys/firmware/acpi/tables/NFIT
	[ -r "$_nt" ] || {
		echo "no $_nt" >&2
		return 1
	}
	_sum=$(sha256sum <"$_nt") || return 1
	_len=$(wc -c <"$_nt") || return 1
	echo "{\"class\":\"$1\",\"nfit_bytes\":$((_len)),\"nfit_sha256\":\"${_sum%% *}\"}"
}

# nfit_root: the ACPI NVDIMM root device (ACPI0012) on the platform bus.
nfit_root() {
	for _r in /sys/bus/platform/devices/ACPI0012:*; do
		[ -e "$_r" ] && echo "$_r"
	done
}

# nfit_bound: the root device is bound to the NFIT driver $driver names.
nfit_bound() {
	_r=$(nfit_root)
	[ -n "$_r" ] && [ -e "$_r/driver" ] &&
		[ "$(readlink -f "$_r/driver")" = "$(readlink -f /sys/module/"$(nfit_module)"/drivers/platform:*)" ]
}

# nfit_probe_settled: the NFIT driver is registered and its probe of the
# root device has ended; when it bound, its bus has finished registering
# and probing DIMMs, regions and namespaces (reading the bus's wait_probe
# flushes libnvdimm's asynchronous registration).
nfit_probe_settled() {
	ls -d /sys/module/"$(nfit_module)"/drivers/platform:* >/dev/null 2>&1 || return 1
	nfit_bound || return 0
	for _b in "$(nfit_root)"/ndbus*; do
		[ -e "$_b/wait_probe" ] && cat "$_b/wait_probe" >/dev/null && return 0
	done
	return 1
}

# Field of the one-line-per-field JSON that ndctl prints: json_field KEY < json
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" | head -n 1; }

# Marks dmesg noise that a scenario expects (a known failure of a driver),
# with the reason printed: known_dmesg REGEX REASON
known_dmesg() {
	echo "$1" >/run/dmesg-known
	echo "known failure expected in dmesg: $2"
}

# On a kernel with kmemleak (the debug kernels): the objects leaked since
# boot, on the console and as the check kmemleak-clean. kmemleak reports only
# objects older than 5 s at a scan (and an object may look referenced from a
# stale stack slot at the first), so it waits for the scenario's last
# allocations to age and scans twice.
kmemleak_check() {
	_kml=/sys/kernel/debug/kmemleak
	[ -e "$_kml" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -e "$_kml" ] || return 0
	_until=$(($(cut -d. -f1 /proc/uptime) + 6))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_until" ]; do
		/bin/sleep 1
	done
	echo scan >"$_kml"
	echo scan >"$_kml"
	cat "$_kml" >/tmp/kmemleak.txt
	if [ -s /tmp/kmemleak.txt ]; then
		echo "--- kmemleak:"
		cat /tmp/kmemleak.txt
		fail kmemleak-clean "$(grep -c '^unreferenced object' /tmp/kmemleak.txt) object(s): $(grep -m 1 '^unreferenced object' /tmp/kmemleak.txt)"
	else
		pass kmemleak-clean
	fi
}

# On a kernel with lockdep (the debug kernels): lockdep must still be on at
# the end. It turns itself off after its first report, and also without
# one (a table overflowing, a taint that makes it unreliable), after which
# it proves nothing about the rest of the run.
lockdep_check() {
	[ -r /proc/lockdep_stats ] || return 0
	if grep -Eq '^ *debug_locks: +1$' /proc/lockdep_stats; then
		pass lockdep-on
	else
		fail lockdep-on "lockdep turned itself off during the run: $(grep -E 'debug_locks' /proc/lockdep_stats | tr -s ' ')"
	fi
}

finish() {
	kmemleak_check
	lockdep_check
	_bad='WARNING:|BUG:|Oops|Call Trace|general protection|Kernel panic|UBSAN:|ODEBUG:'
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

# bench_drivers C-MODULE RUST-MODULE ROUNDS LOOPS [BUS]: the provider
# benchmark. The DIMM behind region0 must have labels. Alternates the two
# drivers in one boot (so host noise hits both alike, and neither always runs
# on a warmer guest) and prints 'BENCH|' table lines (make bench shows them):
# modprobe to region0 enabled, and LOOPS fsdax create+destroy cycles. With
# BUS (the bus the driver registers on, e.g. platform), also modprobe with
# the bus's automatic probing off: the module load alone. With BENCH_FSYNC
# set (a count; the DIMM must be an hcall-flush one), also that many
# fdatasync() calls on an fsdax namespace's block device, and the time each
# H_SCM_FLUSH retry came after the long-busy answer before it (the hcall
# trace events' clock), to compare with the answer's hint.
bench_drivers() {
	_bc=$1 _br=$2 _rounds=$3 _loops=$4 _bbus=${5:-}
	: >/tmp/c.load; : >/tmp/rust.load; : >/tmp/c.loop; : >/tmp/rust.loop
	: >/tmp/c.bind; : >/tmp/rust.bind; : >/tmp/c.noprobe; : >/tmp/rust.noprobe
	: >/tmp/c.fsync; : >/tmp/rust.fsync; : >/tmp/c.gaps; : >/tmp/rust.gaps
	_ok=1
	_r=0
	while [ $_r -lt "$_rounds" ] && [ $_ok = 1 ]; do
		_order="$_bc $_br"
		[ $((_r % 2)) = 1 ] && _order="$_br $_bc"
		for _drv in $_order; do
			_tag=c
			[ "$_drv" = "$_br" ] && _tag=rust
			if [ -n "$_bbus" ]; then
				_t=$(_bench_noprobe "$_drv" "$_bbus") || { _ok=0; break; }
				echo "$_t" >>/tmp/$_tag.noprobe
			fi
			_t=$(_bench_load "$_drv") || { _ok=0; break; }
			echo "$_t" >>/tmp/$_tag.load
			_t=$(_bench_loop "$_loops") || { _ok=0; break; }
			echo "$_t" >>/tmp/$_tag.loop
			if [ -n "${BENCH_FSYNC:-}" ]; then
				_bench_fsync "$_tag" "$BENCH_FSYNC" || { _ok=0; break; }
			fi
			_t=$(_bench_bind "$_drv") || { _ok=0; break; }
			echo "$_t" >>/tmp/$_tag.bind
			ndctl disable-region all >/dev/null 2>&1
			rmmod "$_drv" || { _ok=0; break; }
		done
		_r=$((_r + 1))
	done
	check bench-completed test $_ok = 1
	echo "BENCH| median of $_rounds rounds, QEMU TCG, 1 vCPU                | C            | Rust         | Rust/C"
	echo "BENCH| drivers: C $_bc, Rust $_br"
	_bench_row "modprobe -> region0 enabled (1 DIMM)" load
	_bench_row "  of which bind -> region enabled (probe)" bind
	[ -n "$_bbus" ] && _bench_row "  finit_module, no probe ($_bbus autoprobe off)" noprobe
	_bench_row "$_loops x fsdax create-namespace + destroy" loop
	if [ -n "${BENCH_FSYNC:-}" ]; then
		cut -d' ' -f1 /tmp/c.gaps >/tmp/c.gap
		cut -d' ' -f1 /tmp/rust.gaps >/tmp/rust.gap
		check bench-flush-long-busy-seen sh -c '[ -s /tmp/c.gap ] && [ -s /tmp/rust.gap ]'
		_bench_row "fsync of 4 KiB, hcall-flush DIMM (x$BENCH_FSYNC)" fsync
		_hints=$(cut -d' ' -f2 /tmp/c.gaps /tmp/rust.gaps | sort -un | tr '\n' ' ')
		_bench_row "  H_SCM_FLUSH retry after hint of ${_hints% } ms" gap
	fi
}

# Microseconds from modprobe MODULE to a region bound to nd_region (polled
# every 200 us inside 'pattern wait', which forks nothing while it waits).
_bench_load() {
	_t0=$(pattern now)
	modprobe "$1" || return 1
	_t1=$(pattern wait /sys/bus/nd/drivers/nd_region region 30000) || return 1
	echo $((_t1 - _t0))
}

# platform_driver_dir MODULE: the sysfs directory of the platform driver
# that MODULE registers (/sys/bus/platform/drivers/NAME; the C and the Rust
# papr_scm name their drivers differently).
platform_driver_dir() {
	_pdd=
	for _d in /sys/module/"$1"/drivers/platform:*; do
		[ -e "$_d" ] && _pdd=$(readlink -f "$_d")
	done
	[ -d "$_pdd" ] && echo "$_pdd"
}

# platform_driver_device MODULE: the (last) platform device bound to
# MODULE's platform driver.
platform_driver_device() {
	_pdd=$(platform_driver_dir "$1") || return 1
	_pdev=
	for _e in "$_pdd"/*; do
		[ -L "$_e" ] && [ "${_e##*/}" != module ] && _pdev=${_e##*/}
	done
	[ -n "$_pdev" ] && echo "$_pdev"
}

# Microseconds of finit_module() on MODULE's file with BUS's automatic
# probing off (the module is loaded, its init registers the driver, nothing
# binds; no process started per load): what the module costs the kernel's
# loader, without the probe. Five loads and unloads, one line each.
_bench_noprobe() {
	_ko=$(modinfo -n "$1") || return 1
	_ap=/sys/bus/$2/drivers_autoprobe
	echo 0 >"$_ap" || return 1
	pattern load "$_ko" "$1" 5
	_lrc=$?
	echo 1 >"$_ap"
	return $_lrc
}

# Microseconds from binding the device that MODULE's platform driver serves
# (unbound first) to a region bound: the probe without the module load.
_bench_bind() {
	_dd=$(platform_driver_dir "$1") || return 1
	_dev=$(platform_driver_device "$1") || return 1
	echo "$_dev" >"$_dd/unbind" || return 1
	wait_for 30 sh -c '! ls /sys/bus/nd/drivers/nd_region | grep -q ^region' || return 1
	_t0=$(pattern now)
	echo "$_dev" >"$_dd/bind" || return 1
	_t1=$(pattern wait /sys/bus/nd/drivers/nd_region region 30000) || return 1
	echo $((_t1 - _t0))
}

# _bench_fsync TAG COUNT: COUNT timed fdatasync() calls on a new fsdax
# namespace of region0 (to /tmp/TAG.fsync), with the hcall trace on: each
# H_SCM_FLUSH that follows a long-busy answer adds 'GAP_US HINT_MS' to
# /tmp/TAG.gaps.
_bench_fsync() {
	ndctl create-namespace -r region0 -m fsdax -s 32M >/tmp/fsync-ns.json || return 1
	_fdev=/dev/$(json_field blockdev </tmp/fsync-ns.json)
	_tr=/sys/kernel/tracing
	[ -d "$_tr/events" ] || mount -t tracefs nodev "$_tr" 2>/dev/null
	echo 0 >"$_tr/tracing_on" && : >"$_tr/trace" || return 1
	echo 1 >"$_tr/events/powerpc/hcall_entry/enable" &&
		echo 1 >"$_tr/events/powerpc/hcall_exit/enable" || return 1
	echo 1 >"$_tr/tracing_on"
	pattern fsync "$_fdev" "$2" >>/tmp/$1.fsync
	_frc=$?
	echo 0 >"$_tr/tracing_on"
	echo 0 >"$_tr/events/powerpc/hcall_entry/enable"
	echo 0 >"$_tr/events/powerpc/hcall_exit/enable"
	awk -v op="$H_SCM_FLUSH" '
		function ts(i, v) {
			for (i = 1; i <= NF; i++)
				if ($i ~ /^[0-9]+\.[0-9]+:$/) { v = $i; sub(":", "", v); return v + 0 }
			return -1
		}
		$0 ~ ("hcall_exit: opcode=" op " ") {
			r = $NF; sub("retval=", "", r); r += 0
			# H_LONG_BUSY_ORDER_1_MSEC .. _100_SEC: 10^(r - 9900) ms.
			if (r >= 9900 && r <= 9905) {
				pend = ts(); hint = 1
				for (k = 9900; k < r; k++) hint *= 10
			} else pend = ""
			next
		}
		$0 ~ ("hcall_entry: opcode=" op "$") && pend != "" {
			printf "%d %d\n", (ts() - pend) * 1000000, hint; pend = ""
		}' "$_tr/trace" >>/tmp/$1.gaps
	ndctl destroy-namespace -f "$(json_field dev </tmp/fsync-ns.json)" >/dev/null 2>&1
	return $_frc
}

# Microseconds for N fsdax create+destroy cycles on region0.
_bench_loop() {
	_t0=$(pattern now)
	_i=0
	while [ $_i -lt "$1" ]; do
		ndctl create-namespace -r region0 -m fsdax -s 32M >/dev/null &&
			ndctl destroy-namespace -f all >/dev/null 2>&1 || return 1
		_i=$((_i + 1))
	done
	_t1=$(pattern now)
	echo $((_t1 - _t0))
}

_bench_median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

_bench_row() {
	_c=$(_bench_median </tmp/c.$2)
	_rs=$(_bench_median </tmp/rust.$2)
	awk -v n="$1" -v c="$_c" -v r="$_rs" 'BEGIN { printf "BENCH| %-44s | %9.1f ms | %9.1f ms | %5.2fx\n", n, c / 1000, r / 1000, r / c }'
	[ -n "${BENCH_SPREAD:-}" ] && _bench_spread "$2"
	return 0
}

# The spread of a row: min, median and max of either driver.
_bench_spread() {
	_c=$(sort -n /tmp/c.$1 | awk 'NR == 1 {a = $1} {v[NR] = $1} END {printf "%.1f / %.1f / %.1f", a / 1000, v[int((NR + 1) / 2)] / 1000, v[NR] / 1000}')
	_rs=$(sort -n /tmp/rust.$1 | awk 'NR == 1 {a = $1} {v[NR] = $1} END {printf "%.1f / %.1f / %.1f", a / 1000, v[int((NR + 1) / 2)] / 1000, v[NR] / 1000}')
	printf 'BENCH| %-44s | C %s ms | Rust %s ms\n' "  min / median / max" "$_c" "$_rs"
	# Every sample (us), for pooling several runs on a noisy host.
	echo "BENCH-SAMPLES| $1 | C $(tr '\n' ' ' </tmp/c.$1)| Rust $(tr '\n' ' ' </tmp/rust.$1)"
}

# The SCM hcalls, as the powerpc hcall_entry trace event prints them
# (opcode in decimal): H_SCM_FLUSH (0x44C) and H_SCM_UNBIND_ALL (0x3FC,
# what a papr_scm driver issues once when it lets go of a DIMM).
H_SCM_FLUSH=1100
H_SCM_UNBIND_ALL=1020

# hcall_trace_start [OPCODE...]: records hypervisor calls from now on with
# the powerpc hcall_entry trace event: a witness of what a driver asked the
# hypervisor, the same for the C and the Rust papr_scm. With OPCODEs, only
# those (an event filter: the console's H_PUT_TERM_CHAR calls of a long
# scenario cannot then push them out of the buffer).
hcall_trace_start() {
	_t=/sys/kernel/tracing
	_filter=
	for _op in "$@"; do
		_filter="${_filter:+$_filter || }opcode == $_op"
	done
	[ -d "$_t/events" ] || mount -t tracefs nodev "$_t" 2>/dev/null
	if [ -n "$_filter" ]; then
		require hcall-filter sh -c "echo '$_filter' >$_t/events/powerpc/hcall_entry/filter"
	fi
	require hcall-tracing sh -c "echo 65536 >$_t/buffer_size_kb && echo 1 >$_t/events/powerpc/hcall_entry/enable"
}

# hcall_count OPCODE: hypervisor calls with OPCODE (decimal) traced so far.
hcall_count() {
	grep -c "hcall_entry: opcode=$1\$" /sys/kernel/tracing/trace || true
}

# hotplug_nvdimm SPEC: asks the harness to hot-add an NVDIMM to this running
# guest; SPEC uses the '# nvdimm:' header syntax. The harness watches the
# results port for the request; the caller waits for the new device itself.
hotplug_nvdimm() {
	echo "--- hotplug request: nvdimm $*"
	[ -n "$results" ] && [ -c "$results" ] && echo "@@ HOTPLUG nvdimm $*" >"$results"
}

# inject_mce BANK STATUS MCG-STATUS ADDR MISC: asks the harness to raise a
# machine check on CPU 0 of this guest (QEMU's HMP 'mce' over QMP); the
# caller waits for its effect itself.
inject_mce() {
	echo "--- machine check request: $*"
	[ -n "$results" ] && [ -c "$results" ] && echo "@@ MCE $*" >"$results"
}

# hotplug_second_nvdimm: in a guest with one NFIT DIMM, hot-adds a 256 MiB
# labelled DIMM, waits for its region, labels it and writes and reads back
# an fsdax namespace on it (nfit-hotplug on QEMU's nvdimm and vmm-hotplug on
# the test VMM: the platform differs, the checks do not).
hotplug_second_nvdimm() {
	hotplug_nvdimm size=256M label-size=128K
	check new-region-appears wait_for 60 have_regions 2
	check new-dimm-listed sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 2 ]'
	_r=$(ndctl list -R -d nmem1 | json_field dev)
	check new-dimm-labels sh -c "ndctl disable-region $_r && ndctl init-labels -f nmem1 && ndctl enable-region $_r"
	check new-region-namespace sh -c "ndctl create-namespace -r $_r -m fsdax -s 64M >/tmp/hp.json"
	cat /tmp/hp.json
	_dev=/dev/$(json_field blockdev </tmp/hp.json)
	check new-namespace-write pattern fill "$_dev" 16M 31
	check new-namespace-read-back pattern verify "$_dev" 16M 31
	json after-hotplug ndctl list -BDRN
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

# vmm_ctl JSON: a control request to the test VMM (tools/vmm) over the
# results port; prints the reply and succeeds when it says "ok":true.
vmm_ctl() {
	stty -F "$results" raw -echo 2>/dev/null
	exec 3<>"$results"
	echo "@@ VMM $*" >&3
	_reply=
	while read -t 10 -r _line <&3; do
		case "$_line" in "@@ VMM-REPLY "*)
			_reply=${_line#@@ VMM-REPLY }
			break
			;;
		esac
	done
	exec 3>&-
	echo "$_reply"
	case "$_reply" in *'"ok":true'*) return 0 ;; *) return 1 ;; esac
}

# card_resets: how many times the test VMM's OpenCAPI card was reset (its
# stats), the counter a power cycle is waited for on.
card_resets() { vmm_ctl '{"cmd":"stats"}' | sed -n 's/.*"resets":\([0-9]*\).*/\1/p'; }
card_resets_past() { [ "$(card_resets)" -gt "$1" ]; }

# card_power_cycle [READY_MS MEMORY_MS]: power-cycles the card (ready and
# memory available after those delays, else at once); done when this
# returns.
card_power_cycle() {
	local n req='{"cmd":"card-reset"}'
	[ $# -eq 2 ] && req="{\"cmd\":\"card-reset\",\"ready_after_ms\":$1,\"memory_after_ms\":$2}"
	n=$(card_resets)
	vmm_ctl "$req" && wait_for 10 card_resets_past "$n"
}
