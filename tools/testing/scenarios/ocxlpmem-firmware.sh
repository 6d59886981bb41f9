# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver updates the card's firmware through /sys/class/firmware/ocxlpmem0 (FW_UPDATE in blocks): a good image runs after a card reset, a bad one is firmware-invalid, a busy card device-busy, a cancel user-abort; unbinding during an upload waits for it, and the module unloads after one; never an oops
# platform: vmm
# drivers: rust
# timeout: 360
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 60
#
# Images are in the VMM's firmware format (nd-ioctl fw-image; vmm.rst), the
# NVDIMM model's: the card checks one when the driver commits it and runs
# it from the next AFU reset on. A version is FWVER's 8 bytes read as a
# little-endian number: 0x302e302e32 is "2.0.0". card-fault opcode 2
# (FW_UPDATE) answers status 33 (0x21, blocked on a background task) or
# holds the answer back (delay_ms), so an upload is still transferring
# while the scenario cancels it or unbinds the card.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
FW=/sys/class/firmware/ocxlpmem0
V2=0x302e302e32
V3=0x302e302e33

fw_version() {
	local nmem
	nmem=$(ndctl list -D | json_field dev)
	grep -qx "$1" "/sys/bus/nd/devices/$nmem/ocxlpmem/fw_version"
}
# upload IMAGE: hands IMAGE to the driver; the loader's worker takes it on.
upload() { echo 1 >$FW/loading && cat "$1" >$FW/data && echo 0 >$FW/loading; }
status_is() { grep -qx "$1" $FW/status; }
idle() { status_is idle; }
no_error() { [ -z "$(cat $FW/error)" ]; }
error_is() { grep -qx "$1" $FW/error; }
remaining_is() { grep -qx "$1" $FW/remaining_size; }
size_of() { wc -c <"$1" | tr -d ' '; }
rebind() {
	echo $CARD >$DRV/unbind && echo $CARD >$DRV/bind && wait_for 30 have_regions 1
}

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
check fw-version-1.0.0 fw_version 1.0.0
require upload-interface test -d $FW
check status-idle idle
check no-error-yet no_error

# 100001 bytes of payload: four blocks, the last one not whole words.
require make-image nd-ioctl fw-image $V2 100001 /tmp/fw2.img
require make-bad-image nd-ioctl fw-image $V3 4096 /tmp/bad.img bad
require make-image-3 nd-ioctl fw-image $V3 4096 /tmp/fw3.img

# 1. A good image: written and committed, the firmware runs only after a
#    card reset (the driver reads the version when it binds).
check upload-good upload /tmp/fw2.img
check good-done wait_for 30 idle
check good-no-error no_error
check good-all-written remaining_is 0
check good-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: firmware update: image accepted'"
check rebind-without-reset rebind
check still-1.0.0 fw_version 1.0.0
require unbind-for-reset sh -c "echo $CARD >$DRV/unbind"
require card-reset card_power_cycle
check bind-after-reset sh -c "echo $CARD >$DRV/bind"
check region-after-reset wait_for 30 have_regions 1
check fw-version-2.0.0 fw_version 2.0.0
check interface-again test -d $FW

# 2. A bad image (spoiled checksum): the card refuses it at the commit.
check upload-bad upload /tmp/bad.img
check bad-done wait_for 30 idle
check bad-firmware-invalid error_is programming:firmware-invalid
check bad-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: firmware update: image: .*bad data parameter'"

# 3. A card blocked on a background task: busy at the first block, nothing
#    written; the same image goes through afterwards.
require arm-busy vmm_ctl '{"cmd":"card-fault","opcode":2,"status":33,"count":1}'
check upload-busy upload /tmp/fw3.img
check busy-done wait_for 30 idle
check busy-device-busy error_is transferring:device-busy
check busy-nothing-written remaining_is "$(size_of /tmp/fw3.img)"
check upload-after-busy upload /tmp/fw3.img
check after-busy-done wait_for 30 idle
check after-busy-no-error no_error

# 4. A cancel while a block is with the card: the upload stops there.
require arm-slow-cancel vmm_ctl '{"cmd":"card-fault","opcode":2,"delay_ms":1500,"count":1}'
check upload-to-cancel upload /tmp/fw2.img
check cancel-while-transferring wait_for 10 status_is transferring
check cancel sh -c "echo 1 >$FW/cancel"
check cancel-done wait_for 30 idle
check cancel-user-abort error_is transferring:user-abort

# 5. Unbinding while a block is with the card: the unbind cancels the
#    upload and waits for it; the interface goes with the card and comes
#    back with it.
require arm-slow-unbind vmm_ctl '{"cmd":"card-fault","opcode":2,"delay_ms":1500,"count":1}'
check upload-to-unbind upload /tmp/fw2.img
check unbind-while-transferring wait_for 10 status_is transferring
check unbind-during-upload sh -c "echo $CARD >$DRV/unbind"
check interface-gone test ! -e $FW
check bind-after-unbind sh -c "echo $CARD >$DRV/bind"
check region-after-unbind wait_for 30 have_regions 1
check interface-back test -d $FW
check no-reset-still-2.0.0 fw_version 2.0.0
check upload-after-unbind upload /tmp/fw3.img
check after-unbind-done wait_for 30 idle
check after-unbind-no-error no_error

# 6. The module unloads with an upload done (the interface holds no
#    reference on it), and the card's next reset runs the last image.
check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
check unloaded-interface-gone test ! -e $FW
require card-reset-3 card_power_cycle
require reload modprobe ocxlpmem_rs
check region-reloaded wait_for 30 have_regions 1
check fw-version-3.0.0 fw_version 3.0.0
check unload-again sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
