# SPDX-License-Identifier: GPL-2.0
# title: harness self-test (debug kernel): a lock-order inversion in safe Rust that lockdep reports fails the scenario
# arch: x86_64 ppc64le
# kernel: debug
# expect-problem: WARNING: possible circular locking dependency detected
# timeout: 120
#
# samples/rust/rust_lock_debug.rs with provoke=1 takes two mutexes in both
# orders, one after the other: nothing deadlocks, lockdep reports the
# inversion. The scenario excuses the report in dmesg-clean, so the run can
# only fail by the harness's own reading of the console. On ppc64le it
# also proves that lockdep is still on after boot (patches/0021).

known_dmesg 'WARNING: possible circular locking|Call Trace' 'rust_lock_debug inverts a lock order on purpose'
check provoke-inversion modprobe rust_lock_debug provoke=1
check inverted-both-orders sh -c 'dmesg | grep -q "rust_lock_debug: taking two mutexes in both orders"'
check unload rmmod rust_lock_debug
