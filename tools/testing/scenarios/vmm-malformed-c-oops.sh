# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the malformed-NFIT classes that oops the C nfit driver (interleave line count, flush hint count past the structure, an unmapped DIMM naming a missing control region, a DIMM naming missing control region 0): known failures of C, clean rejections by nfit_rs
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# malformed-nfit: interleave-count flush-hint-count unmapped-memdev-dcr-index memdev-dcr-index-zero
# cmdline: oops=panic
# known-panic[c]: BUG: unable to handle page fault
# known-panic[c]: BUG: kernel NULL pointer dereference
# timeout: 60
# min-checks: 16
# min-checks[rust]: 32
#
# The first two classes make the C driver read past the end of a structure
# whose count field claims more entries than its length holds: a page
# fault in modprobe's context. The third, a memory device with SPA range 0
# (an unmapped DIMM) naming a missing control region, makes it report the
# missing region through the SPA range it does not have: a NULL pointer
# dereference (__nfit_mem_init()'s "SPA %d missing DCR %d"). The fourth, a
# DIMM's only memory device naming control region 0 that does not exist,
# passes __nfit_mem_init() (it does not check index 0) and leaves the DIMM
# without a region, which acpi_nfit_add_dimm() reads for the DIMM's id: a
# NULL pointer dereference. oops=panic turns the oops into a panic that ends
# the boot; the harness records it as a known failure of the C driver (the
# baseline that nfit_rs, whose parser rejects all four, must beat) and goes
# on with the next class. nfit_rs must reject the tables without an oops.

class=$(malformed_class)
check class-known test -n "$class"
# The table both drivers get, recorded before the C driver's boot ends in
# its probe.
json nfit nfit_table_record "$class"
load_pmem_drivers
modprobe "$(nfit_module)"
rc=$?
case "$driver" in
# Not reached with the C driver: the probe oopses.
c) fail "c-oops-$class" "the C nfit driver survived a $class table" ;;
*)
	check modprobe-succeeds test "$rc" = 0
	check probe-settled wait_for 30 nfit_probe_settled
	check_not "not-bound-$class" nfit_bound
	check "rejected-$class" test "$(ls -d /sys/bus/nd/devices/ndbus* 2>/dev/null | wc -l)" = 0
	check "rejection-explained-$class" sh -c 'dmesg | grep -q "nfit_rs ACPI0012:.*invalid NFIT"'
	dmesg | grep nfit_rs
	;;
esac
