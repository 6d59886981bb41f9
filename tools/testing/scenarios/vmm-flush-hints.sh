# SPDX-License-Identifier: GPL-2.0
# title: test VMM: NFIT flush hint addresses (flush-hints=N): regions with hints offer deep_flush, a region flush (deep_flush, fsync on a namespace) writes one hint of each of its DIMMs and of no other DIMM
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K flush-hints=2
# nvdimm: size=256M label-size=128K flush-hints=1
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 26
#
# The hints are 8-byte slots in a page of guest memory the VMM maps (a
# pc-dimm at 64 GiB, 4 KiB per DIMM slot, hints 64 bytes apart): DIMM 1's
# at 0x1000000000 and 0x1000000040, DIMM 2's at 0x1000001000. The VMM's
# "flush-hints" command reports which slots are non-zero and clears them.

hints() { vmm_ctl '{"cmd":"flush-hints"}' >/tmp/hints.json; cat /tmp/hints.json; }
# written DIMM: that DIMM's "written" list from /tmp/hints.json.
written() {
	sed 's/},{/}\n{/g' /tmp/hints.json | grep "\"dimm\":$1[,}]" |
		sed -n 's/.*"written":\[\([^]]*\)\].*/\1/p'
}
was_written() { written "$1" | grep -q true; }
region_of() { ndctl list -R -d "$1" | json_field dev; }
hints_reported() { hints >/dev/null && [ -n "$(written 1)" ] && [ -n "$(written 2)" ]; }
slots_of() { written "$1" | tr , '\n' | wc -l; }
hints_cleared() { hints >/dev/null && ! was_written 1 && ! was_written 2; }

load_nfit 3
r0=$(region_of nmem0)
r1=$(region_of nmem1)
r2=$(region_of nmem2)
echo "regions: $r0 $r1 $r2"
json bdr ndctl list -BDR
check deep-flush-hints-2 grep -qx 1 /sys/bus/nd/devices/$r0/deep_flush
check deep-flush-hints-1 grep -qx 1 /sys/bus/nd/devices/$r1/deep_flush
check deep-flush-no-hints grep -qx 0 /sys/bus/nd/devices/$r2/deep_flush
check hint-pages-claimed sh -c 'grep -q "1000000000-1000000fff" /proc/iomem && grep -q "1000001000-1000001fff" /proc/iomem'
cat /proc/iomem
check hints-reported hints_reported
cat /tmp/hints.json
check two-slots test "$(slots_of 1)" = 2
check one-slot test "$(slots_of 2)" = 1
check no-hints-dimm-3 sh -c '! grep -q "\"dimm\":3" /tmp/hints.json'

# 1. deep_flush on DIMM 1's region writes one of DIMM 1's hints only.
hints >/dev/null
check deep-flush-write sh -c "echo 1 >/sys/bus/nd/devices/$r0/deep_flush"
hints
check dimm1-hint-written was_written 1
check_not dimm2-hint-untouched was_written 2
check hints-cleared hints_cleared

# 2. An fsync'd write to a namespace on DIMM 2's region flushes DIMM 2.
require init-labels sh -c "ndctl disable-region $r1 && ndctl init-labels -f nmem1 && ndctl enable-region $r1"
require create-raw sh -c "ndctl create-namespace -r $r1 -m raw -s 32M >/tmp/ns.json"
dev=/dev/$(json_field blockdev </tmp/ns.json)
hints >/dev/null
check fsync-write dd if=/dev/zero of="$dev" bs=4096 count=4 conv=fsync
hints
check dimm2-hint-written was_written 2
check_not dimm1-hint-untouched was_written 1

# 3. The region without hints: deep_flush is read-only, nothing is written.
check deep-flush-read-only test "$(stat -c %a /sys/bus/nd/devices/$r2/deep_flush)" = 444
check_not no-hint-flush-refused sh -c "echo 1 >/sys/bus/nd/devices/$r2/deep_flush"
check fsync-no-hints sh -c "ndctl disable-region $r2 && ndctl enable-region $r2"
hints
check_not still-untouched-1 was_written 1
check_not still-untouched-2 was_written 2
