# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the C nfit driver against one malformed NFIT per field class (lengths, counts, indices, overlapping/unaligned/empty ranges): no oops, a clear failure or the recorded degradation
# platform: vmm
# drivers: c
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# malformed-nfit: table-length subtable-length-zero subtable-length-overrun spa-length-short dcr-length-short memdev-spa-index memdev-dcr-index duplicate-spa-index spa-overlap spa-unaligned spa-zero-length memdev-size-overflow interleave-ways-zero
# timeout: 60
# cmdline: oops=panic
#
# Boot N gets the Nth class (nvdimm-vmm --malformed-nfit CLASS). Each boot
# records what the C driver made of its table (a JSON record per class,
# and one 'OUTCOME|' console line) and checks it against the baseline in
# Documentation/nvdimm-rs/vmm.rst; finish's dmesg-clean check fails the
# boot on any warning, oops or BUG. The two classes that oops the C
# driver are in vmm-malformed-c-oops.

class=$(sed -n 's/.* malformed=\([a-z-]*\).*/\1/p' /proc/cmdline)
check class-known test -n "$class"
load_pmem_drivers
modprobe nfit
rc=$?
check probe-returns true
# Whatever the driver registers, it does so within a few seconds.
wait_for 5 have_regions 2
sleep 1
regions=$(count_regions)
dimms=$(ls -d /sys/bus/nd/devices/nmem* 2>/dev/null | wc -l)
buses=$(ls -d /sys/bus/nd/devices/ndbus* 2>/dev/null | wc -l)
dmesg | grep -iE 'nfit|ACPI0012|nvdimm|nd_' >/tmp/nfit.log
cat /tmp/nfit.log
why=$(grep -E 'acpi-nfit|nd_pmem|nd_btt|nvdimm ' /tmp/nfit.log | head -n 1 | sed 's/^\[[^]]*\] //; s/"//g')
echo "OUTCOME| $class | modprobe $rc | buses $buses | dimms $dimms | regions $regions | $why"
emit JSON "$class" "{\"class\":\"$class\",\"modprobe\":$rc,\"buses\":$buses,\"dimms\":$dimms,\"regions\":$regions}"

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
check "c-baseline-$class" test "$buses $dimms $regions" = "$expect"
