# SPDX-License-Identifier: GPL-2.0
# title: KNOWN C BUG: sector (BTT) namespace on an hcall-flush DIMM sleeps in atomic context
# arch: ppc64le
# drivers: c
# nvdimm: size=256M label-size=128K
# cmdline: oops=panic
# known-panic: BUG: scheduling while atomic
# timeout: 300
#
# Documents a bug of the C papr_scm, not of this project: BTT writes its
# flog under the map spinlock (btt_write_pg -> btt_flog_write ->
# nsio_rw_bytes -> nvdimm_flush), and on a DIMM with ibm,hcall-flush-required
# the C flush callback msleep()s on QEMU's long-busy answer to H_SCM_FLUSH.
# The check 'c-papr_scm-known-bug-sleeps-in-atomic' asserts that the BUG
# still appears, so the day it stops appearing this scenario fails and is
# revisited. The Rust papr_scm must not have it (driver=rust will assert its
# absence).
#
# Sleeping with preemption disabled (BTT takes its lane with get_cpu()) also
# unbalances the preempt count, and some runs crash right after the first
# report (a jump to address 0, then an oops loop). oops=panic ends such a
# guest at once, and '# known-panic:' makes the harness report that boot as
# this known failure (after checking that the BUG was printed first) instead
# of hanging until the timeout.

# Once the BUG has fired the guest's state is undefined (seen: an oops loop,
# a segfaulting writer, refcount and fork.c WARNINGs), so nothing after it is
# asserted but the BUG itself.
known_dmesg 'BUG:|WARNING:|Oops|Call Trace|general protection' \
	'C papr_scm flushes with msleep() under the BTT lane (preemption disabled); everything after it is a consequence (see Documentation/nvdimm-rs/powerpc.rst)'
load_papr_scm 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
ns_create create-sector sector 64M || exit 1
if dd if=/dev/zero of="$dev" bs=4096 count=16 oflag=direct 2>&1; then w=ok; else w=failed; fi
n=$(dmesg | grep -c 'BUG: scheduling while atomic')
echo "KNOWN FAILURE of the C papr_scm: $n 'BUG: scheduling while atomic' reports; the 64 KiB write $w"
dmesg | grep -m 1 -A 12 'BUG: scheduling while atomic'
case "$driver" in
c) check c-papr_scm-known-bug-sleeps-in-atomic test "$n" -gt 0 ;;
*) check no-sleep-in-atomic test "$n" -eq 0 ;;
esac
