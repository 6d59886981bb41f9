# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver against malformed answers of the card: a wrong data identifier or a data length that does not fit fails that ioctl with EIO (the next one works), and a malformed admin command area after a power cycle makes the driver refuse the card with the reason; never an oops
# platform: vmm
# drivers: rust
# timeout: 360
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 18
#
# card-fault's data_identifier and data_length rewrite the data header of
# the card's answer to one command (opcode 6: CONTROLLER_STATS, 4: the
# error log); bad_area gives the card's next reset raw ACMA_CREQO and
# ACMA_CDBO values, here a request block outside the register window.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
eio() { "$@" 2>&1 | grep -q "Input/output error"; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1

# 1. Statistics whose data header names another identifier, or a length
#    shorter than the statistics: EIO, and the next read is whole.
require arm-identifier vmm_ctl '{"cmd":"card-fault","opcode":6,"data_identifier":4660,"count":1}'
check identifier-eio eio ocxlpmem stats
check after-identifier sh -c 'ocxlpmem stats | grep -q "\"life_remaining\":98"'
require arm-short vmm_ctl '{"cmd":"card-fault","opcode":6,"data_length":8,"count":1}'
check short-eio eio ocxlpmem stats
check after-short sh -c 'ocxlpmem stats | grep -q "\"life_remaining\":98"'

# 2. An error log entry whose length runs past the data buffer: EIO.
check request-health ocxlpmem request-health
check health-event wait_for 10 sh -c 'ocxlpmem events | grep -q error_log_available'
require arm-long vmm_ctl '{"cmd":"card-fault","opcode":4,"data_length":4294967295,"count":1}'
check long-eio eio ocxlpmem error-log
check after-long ocxlpmem stats

# 3. A malformed admin command area after a power cycle: refused, with
#    the reason; a healthy power cycle binds again.
require unbind sh -c "echo $CARD >$DRV/unbind"
require arm-bad-area vmm_ctl '{"cmd":"card-fault","bad_area":{"offsets":1152921504606912512,"data":8589942784},"count":1}'
require power-cycle-bad card_power_cycle
check_not bad-area-refused sh -c "echo $CARD >$DRV/bind"
dmesg | grep ocxlpmem_rs | tail -2
check bad-area-message sh -c "dmesg | grep -q 'ocxlpmem_rs $CARD: admin area: '"
check bad-area-no-region test "$(count_regions)" = 0
require power-cycle-good card_power_cycle
check good-binds sh -c "echo $CARD >$DRV/bind"
check good-region wait_for 30 have_regions 1
check good-stats ocxlpmem stats
check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
