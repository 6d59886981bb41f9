# SPDX-License-Identifier: GPL-2.0
# title: a Rust sample module of the tree loads, logs and unloads on pseries
# arch: ppc64le
# drivers: c
# timeout: 120
# min-checks: 5

check insmod-rust-minimal modprobe rust_minimal
check init-logged sh -c 'dmesg | grep -q "Rust minimal sample (init)"'
check module-listed sh -c 'grep -q "^rust_minimal " /proc/modules'
check rmmod-rust-minimal rmmod rust_minimal
check exit-logged sh -c 'dmesg | grep -q "Rust minimal sample (exit)"'
