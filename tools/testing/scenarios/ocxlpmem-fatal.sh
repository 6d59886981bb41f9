# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver when the card fails fatally (firmware, CHI.CFFS): the fatal interrupt reaches the eventfd, the error is logged with the card's error log, the bus and its namespace go away, later ioctls fail with ENODEV, the dead card is unbound cleanly and refused when bound again, the driver unloads
# platform: vmm
# drivers: rust
# timeout: 360
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 24
#
# card-fault with action "fatal" makes the card model fail on the next
# command of that opcode (6: CONTROLLER_STATS): it sets CHI.CFFS and raises
# its fatal vector, and stays failed until an AFU reset. The driver enables the fatal bits in
# CHIE at probe, so no eventfd is needed for it to notice.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
no_bus() { ! ndctl list -B | grep -q ocxlpmem; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
require create-ns sh -c 'ndctl create-namespace -r region0 -m raw -s 64M >/tmp/ns.json'
check ns-exists test -b "/dev/$(json_field blockdev </tmp/ns.json)"

# 1. Firmware fatal during a statistics read, an eventfd registered.
require arm-fatal vmm_ctl '{"cmd":"card-fault","opcode":6,"action":"fatal","count":1}'
check watch-fatal sh -c "ocxlpmem watch-fatal >/tmp/fatal.json"
cat /tmp/fatal.json
check fatal-stats-failed sh -c '! grep -q "\"stats\":\"ok\"" /tmp/fatal.json'
check fatal-interrupt grep -q '"interrupts":[1-9]' /tmp/fatal.json
check fatal-after-enodev grep -q '"after":"ENODEV"' /tmp/fatal.json
check fatal-bus-gone wait_for 30 no_bus
check fatal-no-region test "$(count_regions)" = 0
check fatal-ns-gone test ! -e "/dev/$(json_field blockdev </tmp/ns.json)"
dmesg | grep ocxlpmem_rs
check fatal-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: controller firmware fatal'"
# The card's own record of the failure (the model's program reference code
# for a firmware fatal failure, 0xfa7a0001).
check fatal-error-log-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: error log: .*program reference code 0xfa7a0001'"

check_not fatal-stats-enodev ocxlpmem stats
check fatal-stats-message sh -c 'ocxlpmem stats 2>&1 | grep -q "No such device"'
check fatal-events-enodev sh -c 'ocxlpmem events 2>&1 | grep -q "No such device"'
check fatal-node-still-there test -c /dev/ocxlpmem0

# 2. Unbinding the dead card is clean; bound again, the driver finds the
#    controller failed and refuses it with a message.
check fatal-unbind sh -c "echo $CARD >$DRV/unbind"
check fatal-node-gone test ! -e /dev/ocxlpmem0
check_not fatal-rebind-refused sh -c "echo $CARD >$DRV/bind"
dmesg | grep ocxlpmem_rs | tail -3
check fatal-rebind-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: controller: controller failed (CHI'"
check unload rmmod ocxlpmem_rs
