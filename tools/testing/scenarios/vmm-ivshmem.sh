# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the ivshmem-doorbell transport (--ocxlpmem) with the placeholder echo card and no kernel driver: the card found next to the _DSM mailbox, guest peer id, registers, doorbell, an MSI-X vector raised by the VMM, bad doorbells ignored, BAR2 data across a VMM restart
# platform: vmm
# drivers: c
# boots: 2
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/ocxlpmem.img,size=512M,vectors=2
#
# bar-poke maps the card's BARs through /sys/bus/pci/devices/*/resourceN.
# The VMM is ivshmem peer 0, the guest peer 1; the echo model copies
# register 0x08 to 0x10 on each doorbell and raises vector 0. Every boot
# is a new nvdimm-vmm (and QEMU): BAR2 past the register page survives in
# the backing file only.

check mailbox-and-card sh -c '[ "$(grep -l 0x1110 /sys/bus/pci/devices/*/device | wc -l)" = 2 ]'
require card-found bar-poke find
check card-at-slot-0x11 sh -c 'bar-poke find | grep -q "^0000:00:11.0 "'
check guest-is-peer-1 sh -c 'bar-poke find | grep -q " ivposition=1 vectors=2 bar2=536870912$"'
check echo bar-poke echo 0x1122334455667788
check echo-again bar-poke echo 42
check irq-vector-0-pending bar-poke irq 0x5a5a
# Doorbells to vectors or peers that do not exist are dropped by QEMU;
# ringing ourselves is harmless; the card goes on working.
check ring-missing-vector bar-poke ring 0 7
check ring-missing-peer bar-poke ring 9 0
check ring-self bar-poke ring 1 1
check echo-after-bad-rings bar-poke echo 7
check register-page-refused sh -c '! bar-poke fill 0 4K 1'

case "$boot" in
1)
	check fill-bar2 bar-poke fill 1M 4M 4242
	check fill-bar2-end bar-poke fill 511M 1M 77
	check verify-bar2 bar-poke verify 1M 4M 4242
	;;
2)
	check data-survived bar-poke verify 1M 4M 4242
	check data-survived-end bar-poke verify 511M 1M 77
	check other-seed-differs sh -c '! bar-poke verify 1M 4K 4243'
	;;
esac
