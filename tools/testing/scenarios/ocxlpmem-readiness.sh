# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver and a card that takes time or answers wrongly: after a power cycle the controller reports ready and memory available later, the probe waits within the card's own timeouts and refuses the card with a clear message past them; a wrong command id or an answer past the command's timeout fails that ioctl (EIO, ETIMEDOUT), not the driver
# platform: vmm
# drivers: rust
# timeout: 420
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 26
#
# card-reset powers the card model off and on at its next 10 ms tick; it
# then reports CHI.CRDY and CHI.MA ready_after_ms and memory_after_ms
# later. The default card allows 2 s to ready plus 3 s to memory, which the
# driver polls once a second. The checks wait for the card's reset counter
# to move before binding, so the bind sees the power-cycled card.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
bound() { test -e $DRV/$CARD; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
require unbind sh -c "echo $CARD >$DRV/unbind"
check unbound-no-region test "$(count_regions)" = 0

# 1. Ready after 1.5 s, memory after 2.5 s: the probe waits for both.
require power-cycle-slow card_power_cycle 1500 2500
check slow-card-binds sh -c "echo $CARD >$DRV/bind"
check slow-card-bound bound
check slow-card-region wait_for 30 have_regions 1
check slow-card-works ocxlpmem stats
require unbind-slow sh -c "echo $CARD >$DRV/unbind"

# 2. Not ready within the 5 s the card allows: refused, with the reason.
require power-cycle-never-ready card_power_cycle 9000 0
check_not not-ready-refused sh -c "echo $CARD >$DRV/bind"
check not-ready-unbound sh -c '! bound'
dmesg | grep ocxlpmem_rs | tail -2
check not-ready-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: controller: controller not ready'"

# 3. Ready, but its memory never comes up in time.
require power-cycle-no-memory card_power_cycle 0 9000
check_not no-memory-refused sh -c "echo $CARD >$DRV/bind"
check no-memory-unbound sh -c '! bound'
dmesg | grep ocxlpmem_rs | tail -2
check no-memory-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: controller: controller memory not available'"

# 4. A healthy power cycle: bound again, the labels and region as before.
require power-cycle-healthy card_power_cycle 0 0
check healthy-binds sh -c "echo $CARD >$DRV/bind"
check healthy-region wait_for 30 have_regions 1

# 5. A response carrying another command's id fails that ioctl (EIO);
#    the next command works.
require arm-wrong-id vmm_ctl '{"cmd":"card-fault","opcode":6,"action":"wrong-id","count":1}'
check wrong-id-eio sh -c 'ocxlpmem stats 2>&1 | grep -q "Input/output error"'
check after-wrong-id ocxlpmem stats

# 6. An answer 500 ms late for a command given 100 ms: ETIMEDOUT; the late
#    answer does not confuse the commands after it.
require arm-late vmm_ctl '{"cmd":"card-fault","opcode":6,"delay_ms":500,"count":1}'
check late-timed-out sh -c 'ocxlpmem stats 2>&1 | grep -q "timed out"'
check after-late ocxlpmem stats
check after-late-health sh -c 'ocxlpmem stats | grep -q "\"life_remaining\":98"'
check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
