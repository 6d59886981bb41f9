# SPDX-License-Identifier: GPL-2.0
# title: no H_SCM_PERFORMANCE_STATS (QEMU): no nvdimm PMU and no perf_stats, the DIMM and region as usual, no error, under both papr_scm drivers
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 180
# min-checks: 20
#
# Both drivers register an nvdimm PMU (nmemN under event_source) only when
# the hypervisor gives performance statistics. QEMU answers
# H_SCM_PERFORMANCE_STATS with H_FUNCTION, so here the probe asks once for
# the statistics' size (the hcall_entry/hcall_exit trace events, filtered on
# the opcode, witness the one call and its answer), gets none, hides
# papr/perf_stats, registers no PMU and says so at info level ("nvdimm pmu
# didn't register rc=-2", C's message). C also logs QEMU's H_FUNCTION at
# error level ("Failed to query performance stats, Err:-2", from
# drc_pmem_query_stats()); papr_scm_rs takes it for "no statistics" and
# logs nothing above info (papr-scm-rs.rst). Any other message at warning
# level or above fails either driver.
# What only PowerVM reaches (the PMU itself, counter reads) is tested on the
# host against tools/papr's model (see papr-scm-rs.rst).

H_SCM_PERFORMANCE_STATS=1048 # 0x418
T=/sys/kernel/tracing

# stats_calls: the statistics calls traced, as JSON: how many, and each
# answer (retval) in order.
stats_calls() {
	_n=$(grep -c "hcall_entry: opcode=$H_SCM_PERFORMANCE_STATS\$" $T/trace)
	_rv=$(sed -n "s/.*hcall_exit: opcode=$H_SCM_PERFORMANCE_STATS retval=\(-\{0,1\}[0-9]*\)\$/\1/p" $T/trace | tr '\n' ',')
	echo "{\"stats_calls\":$_n,\"retvals\":[${_rv%,}]}"
}

# nvdimm_pmus: the event sources named like a DIMM (nmemN).
nvdimm_pmus() { ls /sys/bus/event_source/devices | grep '^nmem'; }
pmus_json() { echo "{\"nvdimm_pmus\":\"$(nvdimm_pmus | tr '\n' ' ')\"}"; }

# driver_alerts: kernel messages at warning level or above (raw priority
# 0-4) from papr_scm, its DIMMs, libnvdimm's PMU code or the bus.
driver_alerts() {
	dmesg -r | grep -E '^<[0-4]>' | grep -E 'papr_scm|pmemory|nmem|nvdimm|ndbus|region[0-9]'
}
C_STATS_ERROR='Failed to query performance stats, Err:-2'
stats_error_logged() { driver_alerts | grep -q "$C_STATS_ERROR"; }
other_alerts() { driver_alerts | grep -v "$C_STATS_ERROR"; }

[ -d $T/events ] || mount -t tracefs nodev $T
require hcall-filter sh -c "echo 'opcode == $H_SCM_PERFORMANCE_STATS' >$T/events/powerpc/hcall_entry/filter && echo 'opcode == $H_SCM_PERFORMANCE_STATS' >$T/events/powerpc/hcall_exit/filter"
require hcall-tracing sh -c "echo 1 >$T/events/powerpc/hcall_entry/enable && echo 1 >$T/events/powerpc/hcall_exit/enable"

load_papr_scm 1
check dimm-registered test -e /sys/bus/nd/devices/nmem0
check region-enabled test -e /sys/bus/nd/drivers/nd_region/region0
check region-size sh -c 'ndctl list -R | grep -q "\"size\":268435456"'

# perf is there (its software PMU), the nvdimm PMU is not.
check perf-events-present test -e /sys/bus/event_source/devices/software
check_not nvdimm-pmu-registered nvdimm_pmus
check_not perf-stats-visible test -e /sys/bus/nd/devices/nmem0/papr/perf_stats
check papr-flags-visible test -e /sys/bus/nd/devices/nmem0/papr/flags
check pmu-absence-logged sh -c "dmesg | grep -q \"nvdimm pmu didn't register rc=-2\""
check_not driver-warnings-or-errors other_alerts
case "$driver" in
c) check stats-h-function-logged-as-error stats_error_logged ;;
*) check_not stats-h-function-logged-as-error stats_error_logged ;;
esac

json stats-calls stats_calls
json pmus pmus_json
json dr ndctl list -DR

check unload sh -c "ndctl disable-region all && rmmod $(papr_scm_module)"
check_not nvdimm-pmu-after-unload nvdimm_pmus
