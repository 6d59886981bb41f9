# SPDX-License-Identifier: GPL-2.0
# title: benchmark: Rust papr_scm_rs vs C papr_scm on one guest (insmod to region ready, module load alone, create/destroy loop, fsync on an hcall-flush DIMM)
# arch: ppc64le
# nvdimm: size=512M label-size=128K
# check: no
# timeout: 1500
#
# Prints 'BENCH|' table lines (make bench shows them); see bench_drivers.
# The DIMM is on a plain file, so every namespace write also issues
# H_SCM_FLUSH, with either driver, and QEMU answers each flush with a
# long-busy hint before it completes: the fsync rows time that path.

load_pmem_drivers
label_once() {
	modprobe papr_scm && wait_for 30 have_regions 1 && ndctl disable-region all &&
		ndctl init-labels -f nmem0 && rmmod papr_scm
}
require init-labels label_once
BENCH_SPREAD=1
BENCH_FSYNC=20
bench_drivers papr_scm papr_scm_rs 9 5 platform
