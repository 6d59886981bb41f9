# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the nfit drivers against one malformed NFIT per field class (lengths, counts, indices, duplicates, overlapping/unaligned/empty ranges): no oops, and nfit_rs ends where C does (the same bus, DIMMs and regions, or a failed probe) with a message naming the problem, or refuses what C registers broken
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# malformed-nfit: table-length subtable-length-zero subtable-length-overrun spa-length-short dcr-length-short memdev-spa-index memdev-dcr-index duplicate-spa-index spa-overlap spa-unaligned spa-zero-length memdev-size-overflow interleave-ways-zero duplicate-dcr-index duplicate-interleave-index duplicate-memdev duplicate-capabilities flush-hint-handle second-memdev-dcr-index
# timeout: 60
# cmdline: oops=panic
# min-checks: 146
# min-checks[rust]: 165
#
# Boot N gets the Nth class (nvdimm-vmm --malformed-nfit CLASS). Each boot
# records the table it got (class, length, SHA-256: the same under both
# drivers) before the driver loads, then what the driver made of it (one
# 'OUTCOME|' console line) and checks that against C's baseline in
# Documentation/nvdimm-rs/vmm.rst; finish's dmesg-clean check fails the
# boot on a kernel WARNING, oops or BUG (a driver's dev_warn is not one).
# The three classes that oops the C driver are in vmm-malformed-c-oops.
# nfit_rs runs the same tables and must end exactly where C does: where C
# keeps the bus, the same buses, DIMMs and regions, and the same
# 'ndctl list -BDR' (recorded under both drivers, compared by the
# harness), with a warning naming the subtable; where C's probe fails, a
# clean refusal ("invalid NFIT: ..."). One class C registers broken (a
# region with one DIMM twice in its interleave set) nfit_rs refuses.

class=$(malformed_class)
refused=
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
# C uses the first control region of an index, reads interleave
# structures for block windows only, keeps the last capabilities structure
# and ignores flush hints for a DIMM it does not know.
duplicate-dcr-index | duplicate-interleave-index | duplicate-capabilities | flush-hint-handle) expect="1 2 2" ;;
# C's DIMM keeps the control region its mapped entry found; the unmapped
# entry's missing one is never looked for again.
second-memdev-dcr-index) expect="1 2 2" ;;
# C registers region0 with nmem0 at positions 0 and 1: an interleave set
# that maps one DIMM's capacity twice. nfit_rs refuses the table.
duplicate-memdev) expect="1 2 2" refused=yes ;;
# "failed to insert pmem resource to iomem": the probe fails.
spa-zero-length) expect="0 0 0" ;;
*) expect="unknown class" ;;
esac
case "$driver" in
c) check "c-baseline-$class" test "$buses $dimms $regions" = "$expect" ;;
*)
	if [ -n "$refused" ]; then
		check "refused-where-c-is-broken-$class" test "$buses $dimms $regions" = "0 0 0"
	else
		check "same-as-c-$class" test "$buses $dimms $regions" = "$expect"
	fi
	;;
esac

# What nfit_rs says about the table (nothing for the two it takes as is).
case "$class" in
subtable-length-zero) says='NFIT: type 3 subtable at offset [0-9]+ has length 0, ignoring it and the rest of the table' ;;
subtable-length-overrun) says='NFIT: type 3 subtable at offset [0-9]+ \(length 16384\) runs past the table, ignoring it' ;;
spa-length-short) says='invalid NFIT: type 0 subtable at offset [0-9]+ has length 48, expected 56' ;;
dcr-length-short) says='invalid NFIT: type 4 subtable at offset [0-9]+ has length 24, expected 32' ;;
memdev-spa-index) says='NFIT: DIMM 0x[0-9a-f]+ names missing SPA range 30583, ignoring that mapping' ;;
memdev-dcr-index) says='invalid NFIT: DIMM 0x[0-9a-f]+ names missing control region 30583' ;;
duplicate-spa-index) says='NFIT: SPA range index [0-9]+ appears twice, registering both ranges' ;;
spa-overlap) says='NFIT: persistent memory ranges [0-9]+ and [0-9]+ overlap, registering both' ;;
spa-unaligned) says='NFIT: SPA range [0-9]+ \(0x[0-9a-f]+ bytes at 0x[0-9a-f]+200\) is not 4 KiB aligned, registering it as it is' ;;
spa-zero-length) says='invalid NFIT: SPA range [0-9]+ is empty or wraps' ;;
memdev-size-overflow) says='NFIT: DIMM 0x[0-9a-f]+ maps outside SPA range [0-9]+, registering the mapping as it is' ;;
duplicate-dcr-index) says='NFIT: control region index [0-9]+ appears twice, using the first' ;;
duplicate-interleave-index) says='NFIT: interleave index [0-9]+ appears twice, using the first' ;;
duplicate-memdev) says='invalid NFIT: DIMM 0x[0-9a-f]+ is mapped twice into SPA range [0-9]+' ;;
duplicate-capabilities) says='NFIT: more than one capabilities structure, using the last' ;;
flush-hint-handle) says='NFIT: flush hints for unknown DIMM 0x7777, ignoring them' ;;
second-memdev-dcr-index) says='NFIT: DIMM 0x[0-9a-f]+ names missing control region 30583, using the one its other entry names' ;;
*) says= ;;
esac
if [ "$driver" != c ]; then
	if [ -n "$says" ]; then
		check "explained-$class" grep -qE "nfit_rs ACPI0012:[0-9]+: $says" /tmp/nfit.log
	else
		check_not "silent-$class" grep -q 'nfit_rs ACPI0012:.*NFIT' /tmp/nfit.log
	fi
fi
# Where C keeps the bus sanely, the harness compares the two drivers'
# listings.
[ "$expect" = "0 0 0" ] || [ -n "$refused" ] || json outcome ndctl list -BDR
