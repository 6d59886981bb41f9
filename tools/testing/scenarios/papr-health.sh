# SPDX-License-Identifier: GPL-2.0
# title: ndctl inject-smart and ndctl list -H: the same health transitions under both papr_scm drivers
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K pmem=on
# timeout: 300
# min-checks: 21
#
# QEMU answers H_SCM_HEALTH with H_FUNCTION (an empty bitmap), so every
# state but "ok" comes from the driver's inject mask (PAPR_PDSM_SMART_INJECT),
# which the HEALTH PDSM behind 'ndctl list -H' reads back. The harness
# compares the health JSON of both drivers.

health() { ndctl list -DH -d nmem0; }
state_is() { health | grep -q "\"$1\":\"$2\""; }

load_papr_scm 1
health
json health-initial ndctl list -DH
check initial-ok state_is health_state ok
check initial-clean state_is shutdown_state clean
check inject-fatal ndctl inject-smart -f nmem0
health
json health-fatal ndctl list -DH
check fatal state_is health_state fatal
check inject-mask-fatal sh -c '[ "$(cat /sys/bus/nd/devices/nmem0/papr/health_bitmap_inject)" = 0x400000000000000 ]'
check inject-unsafe-shutdown ndctl inject-smart -U nmem0
health
json health-fatal-dirty ndctl list -DH
check dirty state_is shutdown_state dirty
check uninject ndctl inject-smart -N nmem0
health
json health-cleared ndctl list -DH
check back-to-ok state_is health_state ok
check back-to-clean state_is shutdown_state clean
check inject-mask-cleared sh -c '[ "$(cat /sys/bus/nd/devices/nmem0/papr/health_bitmap_inject)" = 0x0 ]'
check admin-only-attributes sh -c '[ "$(stat -c %a /sys/bus/nd/devices/nmem0/papr/health_bitmap_inject)" = 400 ] && [ "$(stat -c %a /sys/bus/nd/devices/nmem0/papr/flags)" = 444 ]'
check no-perf-stats-under-qemu test ! -e /sys/bus/nd/devices/nmem0/papr/perf_stats
check dirty-shutdown-count sh -c '[ "$(cat /sys/bus/nd/devices/nmem0/papr/dirty_shutdown)" = 0 ]'
