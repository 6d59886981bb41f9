# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a known panic of the C driver does not excuse a panic in a run with another driver
# kernel: default
# drivers: rust
# known-panic[c]: SELFTEST known C driver bug
# expect-problem: the guest kernel panicked
# timeout: 60
#
# The console shows the C driver's known-bug text, then the kernel panics,
# in a run with the Rust driver: that panic must fail the run. (Before
# known-panic was scoped to a driver, the text alone excused it.)

echo "SELFTEST known C driver bug"
check about-to-crash test -w /proc/sysrq-trigger
echo c >/proc/sysrq-trigger
