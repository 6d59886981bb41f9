# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver built for powerpc loads on a pseries guest, registers its PCI driver, finds no card (no device of its id), creates no bus or device node, and unloads cleanly
# arch: ppc64le
# drivers: rust
# timeout: 180
# min-checks: 7
#
# Nothing emulates an OpenCAPI card on powerpc (QEMU has no OpenCAPI device):
# this proves the powerpc build of the driver (its ioctl numbers come from
# the powerpc encoding) loads and unloads; the card paths run on x86 against
# the test VMM's card model.

DRV=/sys/bus/pci/drivers/ocxlpmem_rs
check load modprobe ocxlpmem_rs
check module-listed sh -c 'grep -q "^ocxlpmem_rs " /proc/modules'
check pci-driver-registered test -d $DRV
check no-device-bound sh -c "! ls $DRV | grep -q ':'"
check no-node test ! -e /dev/ocxlpmem0
check no-bus sh -c '! ndctl list -B | grep -q ocxlpmem'
check unload rmmod ocxlpmem_rs
check pci-driver-gone test ! -e $DRV
