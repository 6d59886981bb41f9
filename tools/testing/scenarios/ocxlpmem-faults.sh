# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver against card faults armed over the VMM's control protocol: a failed or unanswered HEARTBEAT fails the probe with a clear message and no bus; a later bind succeeds
# platform: vmm
# drivers: rust
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 16
#
# card-fault arms a fault of the card model (tools/vmm/src/devices/ocxl/faults.rs)
# for admin opcode 0 (HEARTBEAT), the last step of the driver's probe.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs

load_pmem_drivers
require arm-status vmm_ctl '{"cmd":"card-fault","opcode":0,"status":255,"count":1}'
require load-ocxlpmem_rs modprobe ocxlpmem_rs
check status-probe-failed test ! -e $DRV/$CARD
check status-no-region test "$(count_regions)" = 0
dmesg | grep ocxlpmem_rs
check status-message sh -c 'dmesg | grep -q "ocxlpmem_rs 0000:00:11.0: card does not answer: heartbeat: failed (0xff)"'
check status-no-bus sh -c '! ndctl list -B | grep -q ocxlpmem'

require arm-no-response vmm_ctl '{"cmd":"card-fault","opcode":0,"action":"no-response","count":1}'
check no-response-bind-fails sh -c "! echo $CARD >$DRV/bind"
dmesg | grep ocxlpmem_rs
check no-response-message sh -c 'dmesg | grep -q "ocxlpmem_rs 0000:00:11.0: card does not answer: heartbeat timed out"'
check no-response-no-region test "$(count_regions)" = 0

# Faults consumed: the next bind works.
check bind echo $CARD >$DRV/bind
check region-ready wait_for 30 have_regions 1
r=$(ndctl list -R | json_field dev)
check region-size grep -qx 134217728 "/sys/bus/nd/devices/$r/size"
vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json
cat /tmp/stats.json
check faults-injected grep -q '"faults_injected":2' /tmp/stats.json
check heartbeats-served grep -q '"commands":{"0":3}' /tmp/stats.json
