# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the ivshmem-doorbell attachment of the OpenCAPI pmem card (--ocxlpmem) with no kernel driver: the card found next to the _DSM mailbox by its descriptor, guest peer id, descriptor checked, HEARTBEAT through the admin mailbox, an MSI-X vector raised by the card, bad doorbells ignored, a fresh card for a new VMM
# platform: vmm
# drivers: c
# boots: 2
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/ocxlpmem.img,size=512M,vectors=2
# min-checks: 34
#
# bar-poke maps the card's BARs through /sys/bus/pci/devices/*/resourceN
# and drives the card with the kernel driver's protocol code
# (ocxlpmem-core). The VMM is ivshmem peer 0, the guest peer 1. BAR2 is
# the 64 KiB register file (the card memory is a pc-dimm at 65 GiB, which
# ocxlpmem-enum uses through the kernel driver). No driver binds the card
# here: nothing loads ocxlpmem_rs. Every boot is a new nvdimm-vmm (and
# QEMU) with a freshly reset card.

check mailbox-and-card sh -c '[ "$(grep -l 0x1110 /sys/bus/pci/devices/*/device | wc -l)" = 2 ]'
require card-found bar-poke find
check card-at-slot-0x11 sh -c 'bar-poke find | grep -q "^0000:00:11.0 "'
check guest-is-peer-1 sh -c 'bar-poke find | grep -q " ivposition=1 vectors=2 bar2=65536$"'
check no-driver-bound test ! -e /sys/bus/pci/devices/0000:00:11.0/driver
check descriptor sh -c 'bar-poke descriptor | tee /dev/stderr | grep -qx "vendor=0x1014 device=0x0625 memory=0x1040000000+0x20000000 metadata=0x1040000000 pmem=0x1048000000+0x18000000 doorbell=0x0"'
# CHI after reset: CRDY and MA; FWVER "1.0.0".
check chi-ready sh -c 'bar-poke read 0 | grep -q "= 0x0000000000000050$"'
check fw-version sh -c 'bar-poke read 0x148 | grep -q "= 0x000000302e302e31$"'
check heartbeat bar-poke heartbeat
check heartbeat-again bar-poke heartbeat
check irq-vector-0-pending bar-poke irq
# Doorbells to vectors or peers that do not exist are dropped by QEMU;
# ringing ourselves is harmless; the card goes on working.
check ring-missing-vector bar-poke ring 0 7
check ring-missing-peer bar-poke ring 9 0
check ring-self bar-poke ring 1 1
check heartbeat-after-bad-rings bar-poke heartbeat

# The card counted the commands (opcode 0: HEARTBEAT) it served, and was
# reset once: by its new VMM.
vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json
cat /tmp/stats.json
check vmm-served-heartbeats grep -q '"commands":{"0":4}' /tmp/stats.json
check fresh-card grep -q '"resets":1' /tmp/stats.json
