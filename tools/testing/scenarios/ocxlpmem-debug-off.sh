# SPDX-License-Identifier: GPL-2.0
# title: without CONFIG_OCXLPMEM_RUST_DEBUG (the default kernel) the Rust ocxlpmem_rs driver refuses its debug ioctls with ENOTTY and the card is untouched
# platform: vmm
# drivers: rust
# kernel: default
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 8

enotty() { "$@" 2>&1 | grep -q "Inappropriate ioctl for device"; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
check fwdebug-enotty enotty ocxlpmem fwdebug --action 5 --size 32
check mmio-read-enotty enotty ocxlpmem mmio-read 0x148
check mmio-write-enotty enotty ocxlpmem mmio-write 0x10 0
check shutdown-enotty enotty ocxlpmem shutdown
# The card is as before: its memory online, its statistics answered.
check still-works ocxlpmem stats
check region-still-there test "$(count_regions)" = 1
check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
