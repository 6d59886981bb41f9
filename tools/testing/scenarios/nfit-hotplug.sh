# SPDX-License-Identifier: GPL-2.0
# title: NVDIMM hotplug on x86 (QMP device_add, Notify 0x80, _FIT): the new DIMM and region appear and take a namespace; ND_CMD_CALL rules before and after
# drivers: c rust
# nvdimm: size=512M label-size=128K
# timeout: 300
# min-checks: 12

load_nfit 1
# ND_CMD_CALL as C's nfit passes it: offered functions only, never the
# Intel security or firmware-activation ones, reserved words zero. (Here,
# where every DIMM speaks the Intel family: C's bus family mask is that of
# the DIMM it probed last, so a label-less QEMU DIMM, which answers no _DSM
# function, leaves C refusing every DIMM's ND_CMD_CALL with EINVAL.)
check call-rules nd-ioctl nfit-call /dev/nmem0
hotplug_second_nvdimm
check call-rules-hotplugged nd-ioctl nfit-call /dev/nmem1
