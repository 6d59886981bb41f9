# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the nfit drivers against one malformed NFIT per field class (lengths, counts, indices, overlapping/unaligned/empty ranges): no oops, a clear failure or C's recorded degradation
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# malformed-nfit: table-length subtable-length-zero subtable-length-overrun spa-length-short dcr-length-short memdev-spa-index memdev-dcr-index duplicate-spa-index spa-overlap spa-unaligned spa-zero-length memdev-size-overflow interleave-ways-zero
# timeout: 60
# cmdline: oops=panic
# min-checks: 93
#
# Boot N gets the Nth class (nvdimm-vmm --malformed-nfit CLASS). Each boot
# records the table it got (class, length, SHA-256: the same under both
# drivers) before the driver loads, then what the driver made of it (one
# 'OUTCOME|' console line) and checks that against the baseline in
# Documentation/nvdimm-rs/vmm.rst; finish's dmesg-clean check fails the
# boot on any warning, oops or BUG. The two classes that oops the C
# driver are in vmm-malformed-c-oops. nfit_rs runs the same tables and
# must do no worse than C: reject a table outright, or end where C does.
# The drivers differ by design on most classes; where both accept the
# table (table-length, interleave-ways-zero) their 'ndctl list -BDR' is
# recorded too.

class=$(malformed_class)
check class-known test -n "$class"
json nfit nfit_table_record "$class"
load_pmem_drivers
modprobe "$(nfit_module)"
rc=$?
# A failed probe does not fail the module's load: the table is the
# device's problem, not the driver's.
check modprobe-succeeds test "$rc" = 0
check probe-settled wait_for 30 nfit_probe_settled
bound=no
nfit_bound && bound=yes
regions=$(count_regions)
dimms=$(ls -d /sys/bus/nd/devices/nmem* 2>/dev/null | wc -l)
buses=$(ls -d /sys/bus/nd/devices/ndbus* 2>/dev/null | wc -l)
dmesg | grep -iE 'nfit|ACPI0012|nvdimm|nd_' >/tmp/nfit.log
cat /tmp/nfit.log
why=$(grep -E 'acpi-nfit|nfit_rs|nfit-rs|nd_pmem|nd_btt|nvdimm ' /tmp/nfit.log | head -n 1 | sed 's/^\[[^]]*\] //; s/"//g')
echo "OUTCOME| $class | modprobe $rc | bound $bound | buses $buses | dimms $dimms | regions $regions | $why"
# A bound driver has registered exactly one bus; a failed probe leaves none.
check "probe-outcome-$class" sh -c "[ '$bound $buses' = 'yes 1' ] || [ '$bound $buses' = 'no 0' ]"

# The C driver's baseline: buses, DIMMs and regions it registers.
case "$class" in
# QEMU rewrites the header's length (and checksum) of an -acpitable file.
table-length) expect="1 2 2" ;;
# A bad structure after the DIMMs' ends parsing; what came before stays.
subtable-length-zero | subtable-length-overrun) expect="1 2 2" ;;
# Short SPA or control region structures: the probe fails.
spa-length-short | dcr-length-short) expect="0 0 0" ;;
# The DIMM whose map names a missing SPA range is dropped, its region stays.
memdev-spa-index) expect="1 1 2" ;;
# "SPA 2 missing DCR": the probe fails.
memdev-dcr-index) expect="0 0 0" ;;
# Accepted as is (the overlap shows later: nd_pmem cannot reserve region1).
duplicate-spa-index | spa-overlap | spa-unaligned | memdev-size-overflow | interleave-ways-zero) expect="1 2 2" ;;
# "failed to insert pmem resource to iomem": the probe fails.
spa-zero-length) expect="0 0 0" ;;
*) expect="unknown class" ;;
esac
case "$driver" in
c) check "c-baseline-$class" test "$buses $dimms $regions" = "$expect" ;;
# nfit_rs must do no worse: reject the table (no bus) or end where C does.
*) check "no-worse-than-c-$class" sh -c "[ $buses = 0 ] || [ '$buses $dimms $regions' = '$expect' ]" ;;
esac
case "$class" in
table-length | interleave-ways-zero) json outcome ndctl list -BDR ;;
esac
