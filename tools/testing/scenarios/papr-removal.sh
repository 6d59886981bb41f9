# SPDX-License-Identifier: GPL-2.0
# title: removal with I/O in flight: platform unbind, rmmod and DLPAR dt remove of the DIMM under a mounted fsdax ext4 with an fsync writer; one H_SCM_UNBIND_ALL per removal, no acknowledged record lost
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 900
# min-checks: 85
#
# QEMU refuses NVDIMM hot-unplug ("nvdimm device hot unplug is not
# supported yet") and 7.3's /sys/kernel/dlpar takes no pmem requests
# (checked below; see papr-scm-rs.rst), so the guest removes the DIMM
# itself, three ways. An fsdax namespace on an hcall-flush DIMM carries a
# journalled ext4 mounted with dax; a writer overwrites numbered 512-byte
# records of a preallocated file, each with 'dd conv=fsync' (H_SCM_FLUSH
# calls on every record), and logs a record's number only after dd, and so
# its fsync, returned 0: the acknowledged records.
#
# Round a: the DIMM's platform device is unbound from the driver while the
# writer runs. Round b: rmmod of the driver while the file system is
# mounted and the writer runs is refused (each enabled region pins its
# provider module); the region is then unbound under the running writer,
# and rmmod, with the file system still mounted, succeeds. Round c: the
# DLPAR 'dt' request removes the DIMM's device-tree node under the running
# writer and adds it back. After each removal the driver is bound (loaded,
# given the node) again, e2fsck replays the journal, and every
# acknowledged record must read back intact. Each removal must issue
# exactly one H_SCM_UNBIND_ALL (the hcall_entry trace event, filtered on
# the SCM opcodes). What each step did is recorded as JSON and compared
# between the drivers; timings go to the console ('TIMING|').

REC=512
NREC=16384 # 8 MiB of records per file
mod=$(papr_scm_module)

record_stream() { # TAG N: the first N records of file TAG as the writer writes them
	_i=0
	while [ $_i -lt "$2" ]; do
		printf '%-511s\n' "papr-removal $1 record $_i"
		_i=$((_i + 1))
	done
}

# writer TAG: overwrites record after record of /mnt/records-TAG until a
# write or fsync fails or /tmp/stop-TAG appears; /tmp/acked-TAG lists the
# acknowledged records, /tmp/end-TAG says why it ended.
writer() {
	_w=0
	while [ ! -e "/tmp/stop-$1" ]; do
		if [ $_w -ge $NREC ]; then
			echo "full" >"/tmp/end-$1"
			return
		fi
		printf '%-511s\n' "papr-removal $1 record $_w" |
			dd of="/mnt/records-$1" bs=$REC seek=$_w count=1 conv=notrunc,fsync 2>"/tmp/dd-$1.err"
		_rc=$?
		if [ $_rc -ne 0 ]; then
			echo "failed rc=$_rc at record $_w: $(tr '\n' ' ' <"/tmp/dd-$1.err")" >"/tmp/end-$1"
			return
		fi
		echo $_w >>"/tmp/acked-$1"
		_w=$((_w + 1))
	done
	echo "stopped" >"/tmp/end-$1"
}

acked() { wc -l <"/tmp/acked-$1"; }
acked_at_least() { [ "$(acked "$1")" -ge "$2" ]; }
writer_failed() { grep -q '^failed' "/tmp/end-$1"; }

# start_writer TAG: preallocates /mnt/records-TAG (so that a record's fsync
# changes no file size) and starts the writer on it.
start_writer() {
	require "prealloc-$1" dd if=/dev/zero of="/mnt/records-$1" bs=1M count=$((NREC * REC >> 20)) conv=fsync
	: >"/tmp/acked-$1"
	rm -f "/tmp/end-$1" "/tmp/stop-$1"
	writer "$1" &
	require "writer-$1-running" wait_for 180 acked_at_least "$1" 20
}

# verify_acked TAG: every acknowledged record of TAG reads back as written.
verify_acked() {
	_n=$(acked "$1")
	echo "$1: $_n acknowledged records"
	[ "$_n" -gt 0 ] || return 1
	record_stream "$1" "$_n" >"/tmp/expect-$1"
	head -c $((_n * REC)) "/mnt/records-$1" | cmp - "/tmp/expect-$1"
}

unbind_calls() { hcall_count "$H_SCM_UNBIND_ALL"; }
nd_devices() { ls -d /sys/bus/nd/devices/ndbus* /sys/bus/nd/devices/region* /sys/bus/nd/devices/namespace* 2>/dev/null | wc -l; }
# Nothing of the DIMM left: no bus, region or namespace in sysfs or ndctl.
all_gone() {
	_l=$(ndctl list -BDRN) || return 1
	echo "ndctl list -BDRN: '$_l'"
	[ "$(nd_devices)" = 0 ] && ! echo "$_l" | grep -q '"dev"'
}
fsdax_blockdev() { ndctl list -N | json_field blockdev; }
have_blockdev() { _b=$(fsdax_blockdev) && [ -n "$_b" ] && [ -b "/dev/$_b" ]; }
flag() { "$@" >/dev/null 2>&1 && echo true || echo false; }
now_ms() { echo $(($(pattern now) / 1000)); }
# timed CMD...: runs CMD in this shell; rc is its exit status, ms how long
# it took, unbinds how many H_SCM_UNBIND_ALL it issued and calls how many
# there have been in all since the trace started, as it returned.
timed() {
	_u0=$(unbind_calls)
	_t0=$(now_ms)
	"$@"
	rc=$?
	ms=$(($(now_ms) - _t0))
	calls=$(unbind_calls)
	unbinds=$((calls - _u0))
}

# remount TAG: after a removal and the driver's return: waits for the
# namespace, replays the journal (e2fsck exits 1 when it changed the file
# system, 4 or more when it could not repair it) and mounts with dax.
remount() {
	require "$1-region-back" wait_for 60 have_regions 1
	require "$1-namespace-back" wait_for 60 have_blockdev
	dev=/dev/$(fsdax_blockdev)
	e2fsck -fy "$dev"
	_fsck=$?
	echo "e2fsck after $1: exit $_fsck"
	check "$1-fsck-repaired" test "$_fsck" -le 1
	require "$1-mount-again" mount -t ext4 -o dax "$dev" /mnt
	check "$1-mounted-with-dax" sh -c 'grep " /mnt " /proc/mounts | grep -q dax'
}

load_papr_scm 1
hcall_trace_start "$H_SCM_UNBIND_ALL" "$H_SCM_FLUSH"
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
check region-hcall-flush sh -c 'ls /proc/device-tree/ibm,persistent-memory/*/ibm,hcall-flush-required'
ddir=$(platform_driver_dir "$mod")
pdev=$(platform_driver_device "$mod")
echo "platform device $pdev bound to $ddir"
require dimm-device-bound test -e "$ddir/$pdev"

# The pseries DLPAR path: 7.3's /sys/kernel/dlpar parses the resources
# memory, cpu and dt only, so a pmem request is refused with EINVAL before
# dlpar_hp_pmem() (reached only from the hypervisor's hotplug events) and
# leaves the DIMM bound.
drc=$(od -An -tx1 /proc/device-tree/ibm,persistent-memory/*/ibm,my-drc-index | tr -d ' \n')
echo "DIMM drc index 0x$drc; /sys/kernel/dlpar offers: $(cat /sys/kernel/dlpar)"
check dlpar-offers-no-pmem sh -c '! grep -qw pmem /sys/kernel/dlpar'
check_not dlpar-pmem-remove-refused sh -c "echo 'pmem remove index 0x$drc' >/sys/kernel/dlpar"
check dlpar-pmem-invalid-resource sh -c 'dmesg | grep -q "dlpar: Invalid resource specified"'
check dlpar-left-dimm-bound test -e "$ddir/$pdev"

ns_create create-fsdax fsdax 128M || exit 1
require mkfs-ext4 mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
mkdir -p /mnt
require mount-dax mount -t ext4 -o dax "$dev" /mnt
check mounted-with-dax sh -c 'grep " /mnt " /proc/mounts | grep -q dax'

# --- round a: unbind the platform device under I/O ---------------------
start_writer a
timed sh -c "echo '$pdev' >'$ddir/unbind'"
unbind_rc=$rc unbind_all_a=$unbinds calls_a=$calls
echo "TIMING| $driver unbind under I/O: $ms ms (exit $unbind_rc), $(acked a) records acknowledged, $(hcall_count "$H_SCM_FLUSH") H_SCM_FLUSH so far"
check unbind-accepted test "$unbind_rc" = 0
check unbind-released-device test ! -e "/sys/bus/platform/devices/$pdev/driver"
check unbind-removed-all all_gone
check unbind-one-h-scm-unbind-all test "$unbind_all_a" = 1
check unbind-ended-writer wait_for 60 test -e /tmp/end-a
cat /tmp/end-a
check unbind-failed-writes writer_failed a
check unbind-umount umount /mnt
removed_a=$(flag all_gone)
rebind() {
	require rebind sh -c "echo '$pdev' >'$ddir/bind'"
	remount rebind
}
timed rebind
echo "TIMING| $driver rebind to mounted again: $ms ms"
check rebind-no-h-scm-unbind-all test "$calls" = "$calls_a"
check unbind-acked-records-intact verify_acked a
json after-rebind ndctl list -BDRN

# --- round b: rmmod while mounted under I/O ----------------------------
start_writer b
# rmmod_into FILE: rmmod the driver, its messages into FILE (the
# scenario's own rmmod: a 'sh -c' would run busybox's, which words the
# refusal differently).
rmmod_into() { rmmod "$mod" >"$1" 2>&1; }
timed rmmod_into /tmp/rmmod-busy.out
rmmod_busy_rc=$rc unbind_all_busy=$unbinds calls_busy=$calls
cat /tmp/rmmod-busy.out
echo "TIMING| $driver rmmod while mounted: $ms ms (exit $rmmod_busy_rc)"
check rmmod-mounted-refused test "$rmmod_busy_rc" != 0
check rmmod-refused-in-use grep -q 'is in use' /tmp/rmmod-busy.out
check rmmod-refused-module-stays test -e "/sys/module/$mod/refcnt"
check rmmod-refused-region-stays have_regions 1
check rmmod-refused-no-h-scm-unbind-all test "$unbind_all_busy" = 0
n=$(acked b)
check rmmod-refused-writes-go-on wait_for 120 acked_at_least b $((n + 10))
# The region goes under the running writer; rmmod then succeeds with the
# file system still mounted (on a device that is gone).
region=$(ndctl list -R | json_field dev)
timed check region-unbind-under-io sh -c "echo $region >/sys/bus/nd/drivers/nd_region/unbind"
echo "TIMING| $driver region unbind under I/O: $ms ms, $(acked b) records acknowledged, $(hcall_count "$H_SCM_FLUSH") H_SCM_FLUSH so far"
check region-unbind-ended-writer wait_for 60 test -e /tmp/end-b
cat /tmp/end-b
check region-unbind-failed-writes writer_failed b
check region-unbind-no-h-scm-unbind-all test "$(unbind_calls)" = "$((calls_busy - unbind_all_busy))"
check still-mounted grep -q ' /mnt ' /proc/mounts
timed rmmod_into /tmp/rmmod.out
# Counted from before the refused rmmod, as the region's unbind too.
rmmod_rc=$rc unbind_all_b=$((calls - calls_busy + unbind_all_busy)) calls_b=$calls
cat /tmp/rmmod.out
echo "TIMING| $driver rmmod, mounted, region gone: $ms ms (exit $rmmod_rc)"
check rmmod-mounted-after-region-unbind test "$rmmod_rc" = 0
check rmmod-module-gone test ! -e "/sys/module/$mod"
check rmmod-removed-all all_gone
check rmmod-one-h-scm-unbind-all test "$unbind_all_b" = 1
check rmmod-umount umount /mnt
removed_b=$(flag all_gone)
reload() {
	require reload modprobe "$mod"
	remount reload
}
timed reload
echo "TIMING| $driver modprobe to mounted again: $ms ms"
check reload-no-h-scm-unbind-all test "$calls" = "$calls_b"
check reload-acked-records-intact-a verify_acked a
check reload-acked-records-intact-b verify_acked b
json after-reload ndctl list -BDRN

# --- round c: DLPAR removal of the DIMM's node under I/O ---------------
# 'dt remove index DRC' prunes every device-tree node with that
# ibm,my-drc-index; the OF reconfiguration notifier then destroys the
# platform device, as pmem.c's own remove path (dlpar_detach_node()) would.
# 'dt add index DRC' has the hypervisor configure the connector again
# (ibm,configure-connector) and attaches the node; the device it creates is
# named by its address (90000000000000c0.ibm,pmemory), not by the path.
pdev=$(platform_driver_device "$mod")
start_writer c
timed sh -c "echo 'dt remove index 0x$drc' >/sys/kernel/dlpar"
dlpar_rc=$rc unbind_all_c=$unbinds calls_c=$calls
echo "TIMING| $driver DLPAR dt remove under I/O: $ms ms (exit $dlpar_rc), $(acked c) records acknowledged, $(hcall_count "$H_SCM_FLUSH") H_SCM_FLUSH so far"
check dlpar-dt-remove-accepted test "$dlpar_rc" = 0
check dlpar-node-gone sh -c '! ls -d /proc/device-tree/ibm,persistent-memory/*pmemory* 2>/dev/null | grep -q .'
check dlpar-device-gone test ! -e "/sys/bus/platform/devices/$pdev"
check dlpar-removed-all all_gone
check dlpar-one-h-scm-unbind-all test "$unbind_all_c" = 1
check dlpar-ended-writer wait_for 60 test -e /tmp/end-c
cat /tmp/end-c
check dlpar-failed-writes writer_failed c
check dlpar-umount umount /mnt
removed_c=$(flag all_gone)
dt_add() {
	require dlpar-dt-add sh -c "echo 'dt add index 0x$drc' >/sys/kernel/dlpar"
	remount dlpar-add
}
timed dt_add
echo "TIMING| $driver DLPAR dt add to mounted again: $ms ms"
check dlpar-add-bound-again platform_driver_device "$mod"
check dlpar-add-no-h-scm-unbind-all test "$calls" = "$calls_c"
check dlpar-acked-records-intact-a verify_acked a
check dlpar-acked-records-intact-b verify_acked b
check dlpar-acked-records-intact-c verify_acked c
json after-dlpar ndctl list -BDRN

# What each removal did, the same under both drivers.
cat >/tmp/removal.json <<EOF
{"unbind": {"exit": $unbind_rc, "h_scm_unbind_all": $unbind_all_a, "all_gone": $removed_a,
 "writes_failed": $(flag writer_failed a), "acked_intact": $(flag verify_acked a)},
 "rmmod_mounted": {"exit": $rmmod_busy_rc, "in_use": $(flag grep -q 'is in use' /tmp/rmmod-busy.out),
 "h_scm_unbind_all": $unbind_all_busy},
 "rmmod_after_region_unbind": {"exit": $rmmod_rc, "h_scm_unbind_all": $unbind_all_b,
 "all_gone": $removed_b, "writes_failed": $(flag writer_failed b), "acked_intact": $(flag verify_acked b)},
 "dlpar_dt_remove": {"exit": $dlpar_rc, "h_scm_unbind_all": $unbind_all_c, "all_gone": $removed_c,
 "writes_failed": $(flag writer_failed c), "acked_intact": $(flag verify_acked c)}}
EOF
json removal cat /tmp/removal.json
echo "--- the SCM hcalls around each H_SCM_UNBIND_ALL:"
grep -B 3 "opcode=$H_SCM_UNBIND_ALL\$" /sys/kernel/tracing/trace
