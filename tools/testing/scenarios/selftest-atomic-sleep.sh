# SPDX-License-Identifier: GPL-2.0
# title: harness self-test (debug kernel): might_sleep() under a spinlock in safe Rust fails the scenario
# arch: x86_64 ppc64le
# kernel: debug
# expect-problem: BUG: sleeping function called from invalid context at samples/rust/rust_lock_debug.rs
# timeout: 120
#
# samples/rust/rust_lock_debug.rs with provoke=2 calls might_sleep() while
# it holds a spinlock; DEBUG_ATOMIC_SLEEP (both debug kernels) reports it
# with the sample's file and line. The scenario excuses the report in
# dmesg-clean, so the run can only fail by the harness's own reading of
# the console.

known_dmesg 'BUG: sleeping function|Call Trace' 'rust_lock_debug sleeps under a spinlock on purpose'
check provoke-sleep modprobe rust_lock_debug provoke=2
check unload rmmod rust_lock_debug
check refuses-unknown-case sh -c '! modprobe rust_lock_debug provoke=3'
