# SPDX-License-Identifier: GPL-2.0
# title: a machine check on NFIT persistent memory becomes a badblock of its region and namespace (QEMU's mce under TCG, an Intel memory read error)
# arch: x86_64
# drivers: c rust
# kernel: default
# cpu: qemu64,vendor=GenuineIntel
# nvdimm: size=512M
# timeout: 300
# min-checks: 16
#
# QEMU injects a machine check into the TCG CPU (HMP 'mce', which needs a
# CPU model with MCA; the Intel vendor makes the kernel decode it with the
# Intel rules, as on the servers that have NVDIMMs): MCi_STATUS VAL UC EN
# MISCV ADDRV S with MCACOD 0x9f (memory read error), MCG_STATUS MCIP
# RIPV, MCi_MISC physical address mode with the least significant valid
# bit 6: one 64-byte line at the address. Signaled without a known action
# code, it is an uncorrected error that needs no action now: the kernel
# neither panics nor kills, and leaves the page to the decoders (an
# action-optional scrub error, MCACOD 0xc0, would also reach the kernel's
# own handler, which without CONFIG_MEMORY_FAILURE unmaps the page from the
# direct map and warns for a pmem page that is not in it). The NFIT
# driver's notifier on the decode chain records the line as a bad range and
# the region and its raw namespace show one bad 512-byte sector.
#
# Not on the debug kernel: the machine check taints the kernel
# (TAINT_MACHINE_CHECK) before any decoder runs, which turns lockdep off, so
# the debug lane could not judge the notifier's locking and would fail on
# lockdep being off.

load_nfit 1
r=$(ndctl list -R -d nmem0 | json_field dev)
check no-badblocks-before sh -c "[ -z \"\$(cat /sys/bus/nd/devices/$r/badblocks)\" ]"
# Without a label area the region is one raw namespace.
dev=/dev/$(ndctl list -N -r "$r" | json_field blockdev)
check raw-namespace test -b "$dev"
start=$(cat /sys/bus/nd/devices/$r/resource)
# mce_at OFFSET: the machine check at OFFSET bytes into the region; sets
# $line to the 64-byte line's address as the kernel prints it (hex).
mce_at() {
	line=$(printf '%x' $(((start + $1) / 64 * 64)))
	inject_mce 1 0xbd0000000000009f 0x5 "$(printf '0x%x' $((start + $1)))" 0x86
}
# 1 MiB + 0x247 into the region: sector 2049 (0x100200 / 512), line 0x100240.
mce_at 0x100247
check region-badblock wait_for 60 grep -qx '2049 1' /sys/bus/nd/devices/$r/badblocks
check logged-as-machine-check sh -c "dmesg | grep -q 'Machine check events logged'"
# Marked handled (MCE_HANDLED_NFIT), the record is not printed again by the
# default notifier at the end of the chain.
check_not printed-when-handled sh -c "dmesg | grep -q 'ADDR $line '"
check ndctl-media-error sh -c "ndctl list -R --media-errors -r $r | grep -q '\"offset\":2049'"
check namespace-badblock sh -c "ndctl list -N --media-errors | grep -q '\"badblock_count\":1'"
check_not bad-sector-read-fails dd if="$dev" of=/dev/null bs=512 skip=2049 count=1 iflag=direct
check read-elsewhere dd if="$dev" of=/dev/null bs=512 skip=4096 count=1 iflag=direct
json media-errors ndctl list -RN --media-errors

# The notifier leaves with the driver: a machine check after the unload
# reaches the end of the chain unhandled (and printed), and nothing of the
# driver runs (a notifier left behind would run in freed memory).
require disable-all ndctl disable-region all
check unload rmmod "$(nfit_module)"
mce_at 0x200047
check unhandled-without-driver wait_for 60 sh -c "dmesg | grep -q 'ADDR $line '"
# ... and comes back with it: a new bus (no bad ranges, as the platform has
# no ARS to report the old ones), then a new error in sector 6144.
check reload modprobe "$(nfit_module)"
check regions-again wait_for 30 have_regions 1
r=$(ndctl list -R -d nmem0 | json_field dev)
check no-badblocks-after-reload sh -c "[ -z \"\$(cat /sys/bus/nd/devices/$r/badblocks)\" ]"
mce_at 0x300047
check region-badblock-after-reload wait_for 60 grep -qx '6144 1' /sys/bus/nd/devices/$r/badblocks
json media-errors-after-reload ndctl list -RN --media-errors
