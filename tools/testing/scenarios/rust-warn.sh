# SPDX-License-Identifier: GPL-2.0
# title: Rust warn_on!() prints a WARNING with file and line, and returns
# arch: x86_64 ppc64le
# drivers: c
# timeout: 120
# min-checks: 6
#
# samples/rust/rust_warn.rs fires warn_on!(true) in its init and loads. On
# powerpc this needs patches/0001 (ARCH_WARN_ASM). 7.3 prints, for example,
# "WARNING: samples/rust/rust_warn.rs:25 at 0xc0080000000351f8, CPU#0: modprobe/66".
# x86_64 can run it once its config fragment enables SAMPLE_RUST_WARN.

known_dmesg 'WARNING: .*rust_warn\.rs|Call Trace' 'samples/rust/rust_warn.rs fires warn_on!(true) on purpose'
require insmod-rust-warn modprobe rust_warn
line=$(dmesg | sed -n 's/.*rust_warn: warn_on at line \([0-9]*\)$/\1/p' | head -n 1)
echo "warn_on!() is on line '$line' of samples/rust/rust_warn.rs"
dmesg | grep -A3 'WARNING:'
check warning-has-file-and-line sh -c "[ -n '$line' ] && dmesg | grep -Eq 'WARNING: (.* at )?samples/rust/rust_warn\.rs:$line '"
check warn-on-returned-true sh -c 'dmesg | grep -q "rust_warn: warn_on returned true"'
check module-loaded sh -c 'grep -q "^rust_warn " /proc/modules'
check kernel-tainted-warn sh -c '[ $(( $(cat /proc/sys/kernel/tainted) & 512 )) -ne 0 ]'
check rmmod-rust-warn rmmod rust_warn
