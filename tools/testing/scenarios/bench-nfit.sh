# SPDX-License-Identifier: GPL-2.0
# title: benchmark: Rust nfit_rs vs C nfit on one guest (insmod to regions ready, create/destroy loop)
# nvdimm: size=512M label-size=128K
# check: no
# timeout: 900
#
# Prints 'BENCH|' table lines (make bench shows them); see bench_drivers.

load_pmem_drivers
label_once() {
	modprobe nfit && wait_for 30 have_regions 1 && ndctl disable-region all &&
		ndctl init-labels -f nmem0 && rmmod nfit
}
require init-labels label_once
bench_drivers nfit nfit_rs 7 10
