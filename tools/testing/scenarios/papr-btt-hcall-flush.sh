# SPDX-License-Identifier: GPL-2.0
# title: a sector (BTT) namespace on an hcall-flush DIMM: 8 MiB written and read back, no sleeping in atomic context
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 400
# min-checks: 15
#
# BTT writes its flog and map entries under a map lock, and each of those
# writes ends in the region's flush, which on this DIMM
# (ibm,hcall-flush-required) issues H_SCM_FLUSH and sleeps while QEMU
# answers long-busy. With the map lock a spinlock, the C papr_scm filled
# dmesg with "BUG: scheduling while atomic" (and sometimes crashed);
# patches/0004 makes the map locks mutexes, since a region's flush may
# sleep. Both drivers must now write and read back 8 MiB with a clean
# dmesg, and the flushes must really have gone to the hypervisor.

load_papr_scm 1
hcall_trace_start
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
ns_create create-sector sector 64M || exit 1
json sector ndctl list -N -n "$ns"
check region-hcall-flush sh -c 'ls /proc/device-tree/ibm,persistent-memory/*/ibm,hcall-flush-required'
before=$(hcall_count "$H_SCM_FLUSH")
check sector-write-8m pattern fill "$dev" 8M 41
after=$(hcall_count "$H_SCM_FLUSH")
echo "H_SCM_FLUSH calls: $before before the 8 MiB write, $after after"
check btt-writes-flushed test "$after" -gt "$before"
check sector-read-back-8m pattern verify "$dev" 8M 41
check no-sleep-in-atomic sh -c '! dmesg | grep -q "scheduling while atomic"'
check no-flush-error sh -c '! dmesg | grep -q "flush error"'
json after-io ndctl list -BDRN
check destroy-sector ndctl destroy-namespace -f "$ns"
