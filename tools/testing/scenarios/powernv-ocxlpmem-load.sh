# SPDX-License-Identifier: GPL-2.0
# title: on a PowerNV guest (powernv9, skiboot), the ocxl core and the Rust ocxlpmem_rs driver load, register their PCI drivers, find no card, and unload cleanly
# arch: powernv
# drivers: rust
# kernel: default
# timeout: 300
# min-checks: 20
#
# The PowerNV build (arch/powerpc/configs/nvdimm_rs_powernv.config) is the
# platform an OpenCAPI card sits on: the kernel runs on OPAL (skiboot), with
# the ocxl core (CONFIG_OCXL) and libnvdimm. QEMU models no OpenCAPI link,
# so neither driver finds a device; the card paths of ocxlpmem_rs run on
# x86 against the test VMM's card model (ocxlpmem-*.sh). Here ocxlpmem_rs
# is built with its ocxl transport (kernel::ocxl): the module registers
# ocxlpmem_rs_ocxl for 1014:0625 next to its ivshmem driver and links
# against the ocxl core.

# The guest is PowerNV on OPAL, not pseries under a hypervisor.
check platform-powernv sh -c 'grep -Eq "^platform[[:space:]]*: PowerNV$" /proc/cpuinfo'
check opal-firmware test -d /sys/firmware/opal
check no-rtas test ! -e /proc/device-tree/rtas

# The ocxl core: its PCI driver, no OpenCAPI device to bind.
OCXL=/sys/bus/pci/drivers/ocxl
check ocxl-load modprobe ocxl
check ocxl-pci-driver test -d $OCXL
check ocxl-no-device sh -c "! ls $OCXL | grep -q ':'"

# ocxlpmem_rs: loads, registers its two PCI drivers (the ivshmem test
# transport and the ocxl transport for 1014:0625, which calls into the ocxl
# core: the module uses it), binds nothing.
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
ODRV=/sys/bus/pci/drivers/ocxlpmem_rs_ocxl
check load modprobe ocxlpmem_rs
check module-listed sh -c 'grep -q "^ocxlpmem_rs " /proc/modules'
check uses-ocxl sh -c 'grep -Eq "^ocxl [0-9]+ [0-9]+ .*ocxlpmem_rs" /proc/modules'
check pci-driver-registered test -d $DRV
check no-device-bound sh -c "! ls $DRV | grep -q ':'"
check ocxl-transport-registered test -d $ODRV
check ocxl-transport-no-device sh -c "! ls $ODRV | grep -q ':'"
check no-node test ! -e /dev/ocxlpmem0
check no-bus sh -c '! ndctl list -B | grep -q ocxlpmem'
check unload rmmod ocxlpmem_rs
check pci-driver-gone test ! -e $DRV
check ocxl-transport-gone test ! -e $ODRV
check ocxl-unload rmmod ocxl
check ocxl-pci-driver-gone test ! -e $OCXL
