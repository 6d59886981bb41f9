# SPDX-License-Identifier: GPL-2.0
# title: test VMM: Intel DIMM firmware update (_DSM 12-16) and activation (DIMM 29-30, the root's Intel bus family 1-2) under ndctl update-firmware and activate-firmware: a staged image runs only after activation or a power cycle; a bad image and a busy DIMM are refused
# platform: vmm
# vmm-args: --nvdimm-intel 1
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 47
#
# Images are in the VMM's format (nd-ioctl fw-image: header with magic,
# version, length, FNV-1a of the payload; vmm.rst), checked when the
# update finishes. The root device offers the Intel bus family (firmware
# activation, capability "live": the OS quiesces), so Linux shows
# ndbus0/firmware/ and nmemN/firmware/, and ndctl update-firmware arms
# the DIMM after a good update.

BUS=/sys/bus/nd/devices/ndbus0/firmware
DIMM=/sys/bus/nd/devices/nmem0/firmware
V0=0x102000000000001
V1=0x102000000000002
V2=0x102000000000003
# fw KEY VALUE: ndctl list -DF shows firmware "KEY":VALUE for nmem0
# (versions in decimal: ndctl prints them as numbers without -u).
fw() { ndctl list -DF -d nmem0 | tr -d ' \n' | grep -q "\"$1\":$2[,}]"; }
no_next() { ! ndctl list -DF -d nmem0 | grep -q next_version; }
vmm_has() { vmm_ctl '{"cmd":"intel-state","dimm":1}' | grep -q "$1"; }

load_nfit 1
check bus-activate-attr test -e $BUS/activate
check bus-capability-live grep -qx live $BUS/capability
check bus-idle grep -qx idle $BUS/activate
check dimm-activate-attr grep -qx idle $DIMM/activate
json firmware-initial ndctl list -DF
check running-v0 fw current_version "$((V0))"
check can-update fw can_update true
check no-next-version no_next

require make-image nd-ioctl fw-image $V1 65536 /tmp/fw1.img
require make-bad-image nd-ioctl fw-image $V2 65536 /tmp/bad.img bad
require make-image-2 nd-ioctl fw-image $V2 8192 /tmp/fw2.img

# 1. A busy DIMM (Start Update answers ND_INTEL_STATUS_START_BUSY,
#    0x10007) and a bad image (Finish Update answers FIN_BAD, 0x30007)
#    are refused; nothing is staged.
require fault-busy vmm_ctl '{"cmd":"fault","dimm":1,"function":13,"status":65543,"count":1}'
check_not update-busy ndctl update-firmware nmem0 -f /tmp/fw1.img
check_not update-bad-image ndctl update-firmware nmem0 -f /tmp/bad.img
check bad-not-staged vmm_has '"staged_version":null'
check still-no-next no_next
require fault-media-error vmm_ctl '{"cmd":"fault","dimm":1,"function":15,"media_error":true,"count":1}'
check_not update-media-error ndctl update-firmware nmem0 -f /tmp/fw1.img
check not-staged-after-error vmm_has '"staged_version":null'

# 2. A good image is staged and armed; it runs only after activation.
check update ndctl update-firmware nmem0 -f /tmp/fw1.img
json firmware-staged ndctl list -DF
check staged-next fw next_version "$((V1))"
check staged-not-running fw current_version "$((V0))"
check dimm-armed grep -qx armed $DIMM/activate
check bus-armed grep -qx armed $BUS/activate
check listed-armed fw activate_state '"armed"'
check activate ndctl activate-firmware ndbus0
check running-v1 fw current_version "$((V1))"
check next-gone no_next
check dimm-result-success grep -qx success $DIMM/result
check dimm-idle grep -qx idle $DIMM/activate
check bus-idle-again grep -qx idle $BUS/activate
check_not activate-nothing-armed ndctl activate-firmware ndbus0
json firmware-activated ndctl list -DF

# 3. Disarmed, a staged image waits for a power cycle.
check update-2-disarmed ndctl update-firmware nmem0 -f /tmp/fw2.img --disarm
check staged-2 fw next_version "$((V2))"
check disarmed grep -qx idle $DIMM/activate
check_not activate-disarmed ndctl activate-firmware ndbus0
check still-v1 fw current_version "$((V1))"
check power-cycle sh -c "ndctl disable-region all && rmmod $(nfit_module)"
require vmm-power-cycle vmm_ctl '{"cmd":"power-cycle","dimm":1}'
require reload modprobe "$(nfit_module)"
check regions-back wait_for 30 have_regions 1
check running-v2 fw current_version "$((V2))"
check no-next-after-cycle no_next
json firmware-after-power-cycle ndctl list -DF
