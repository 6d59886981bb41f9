# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver's debug ioctls on the debug kernel (CONFIG_OCXLPMEM_RUST_DEBUG): firmware debug reads and writes the controller's memory and reads its persistent error log, MMIO reads and writes reach the card's registers with the address checked, a shutdown takes the card's memory offline
# platform: vmm
# drivers: rust
# kernel: debug
# timeout: 420
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 16
#
# The card model's controller memory holds the byte i at address i; its
# persistent error log reads "PEL: no persistent errors"; FWVER (0x148) is
# "1.0.0". The driver enables ELA, CDA, CFFS and CHFS in CHIE (0x10) at
# probe: 0x3a0.

value_of() { sed -n 's/.*"value":"\(0x[0-9a-f]*\)".*/\1/p'; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1

# Firmware debug: controller memory, read, written, read back; the log.
check fwdebug-read sh -c 'ocxlpmem fwdebug --action 1 --p1 0x10 --p2 16 --size 16 >/tmp/fw.json'
cat /tmp/fw.json
check fwdebug-read-data grep -q '"data":"101112131415161718191a1b1c1d1e1f"' /tmp/fw.json
check fwdebug-write ocxlpmem fwdebug --action 2 --p1 0x20 --p2 8 --size 8 --data 0123456789abcdef
check fwdebug-read-back sh -c 'ocxlpmem fwdebug --action 1 --p1 0x20 --p2 8 --size 8 | grep -q "\"data\":\"0123456789abcdef\""'
check fwdebug-pel sh -c 'ocxlpmem fwdebug --action 5 --size 32 | grep -q "\"data\":\"50454c3a206e6f20"'
check fwdebug-out-of-range sh -c 'ocxlpmem fwdebug --action 1 --p1 0xffffff --p2 8 --size 8 2>&1 | grep -q "Invalid argument"'
check fwdebug-bad-buffer sh -c 'ocxlpmem fwdebug --action 1 --p2 8 --size 12 2>&1 | grep -q "Invalid argument"'

# MMIO: a register read, an unaligned or outside address refused, a write
# read back and undone.
check mmio-read-fwver sh -c 'ocxlpmem mmio-read 0x148 | grep -q "\"value\":\"0x302e302e31\""'
check mmio-unaligned sh -c 'ocxlpmem mmio-read 0x149 2>&1 | grep -q "Invalid argument"'
check mmio-outside sh -c 'ocxlpmem mmio-read 0x10000 2>&1 | grep -q "Invalid argument"'
check mmio-chie test "$(ocxlpmem mmio-read 0x10 | value_of)" = 0x3a0
check mmio-write ocxlpmem mmio-write 0x10 0x3a1
check mmio-written test "$(ocxlpmem mmio-read 0x10 | value_of)" = 0x3a1
check mmio-restore ocxlpmem mmio-write 0x10 0x3a0

# Shutdown: the controller takes its memory offline (CHI.MA, 0x40, clears).
check shutdown ocxlpmem shutdown
chi=$(ocxlpmem mmio-read 0 | value_of)
echo "CHI $chi"
check memory-offline test $((chi & 0x40)) = 0
check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
