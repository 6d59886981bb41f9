# SPDX-License-Identifier: GPL-2.0
# title: SMART of the Rust ocxlpmem_rs driver through ND_CMD_CALL (family NVDIMM_FAMILY_OCXL): the ocxlpmem tool reads the card's health through /dev/nmemN as JSON; wear and faults injected into the card model (card-smart, a power cycle without shutdown, a failing SMART command) show in the next answer; malformed packages fail with a clear errno
# platform: vmm
# drivers: rust
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M
# min-checks: 54
#
# The card model (tools/vmm/src/devices/ocxl/smart.rs) answers SMART with
# eight attributes: life remaining 98 %, media 35 C, controller 40 C, 100 %
# spares, no dirty shutdown, no media error, health ok. card-smart changes
# them at the card's next doorbell, which the tool's ND_CMD_CALL rings.

CARD=0000:00:11.0
DRV=/sys/bus/pci/drivers/ocxlpmem_rs
OUT=/tmp/json.out
has() { grep -q "$1" $OUT; }
eio() { "$@" 2>&1 | grep -q "Input/output error"; }

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
nmem=$(ndctl list -D | json_field dev)
require dimm-found test -n "$nmem"
check dimm-has-cmd-call grep -qw cmd_call /sys/bus/nd/devices/$nmem/commands

# 1. A fresh card.
json before ocxlpmem smart $nmem
check before-all has '"attributes":8,"available":8,"complete":true'
check before-health has '"health":"ok"'
check before-life has '"life_used_percent":2,"life_remaining_percent":98,'
check before-spares has '"spares_percent":100,'
check before-temperatures has '"media_temperature_celsius":35,"controller_temperature_celsius":40,'
check before-dirty has '"dirty_shutdowns":0,'
check before-media-errors has '"media_errors":0,'
check before-power-on has '"power_on_hours":1200,'

# 2. An output with room for two attributes: those two, and the size of
#    the whole answer (nd_fw_size), as ndctl's convention has it.
json truncated ocxlpmem smart --attrs 2 $nmem
check truncated-two has '"attributes":2,"available":8,"complete":false'
check truncated-raw has '"raw":\[\[1,98\],\[2,35\]\]'

# 3. Wear and faults: the next answer shows them, and the health verdict
#    follows.
require wear vmm_ctl '{"cmd":"card-smart","life_used":95,"media_celsius":88}'
json worn ocxlpmem smart $nmem
check worn-life has '"life_used_percent":95,"life_remaining_percent":5,'
check worn-temperature has '"media_temperature_celsius":88,'
check worn-non-critical has '"health":"non-critical"'
check worn-stats sh -c 'ocxlpmem stats | grep -q "\"life_remaining\":5,"'
require fault vmm_ctl '{"cmd":"card-smart","media_errors":2,"spares":0,"dirty_shutdown":true}'
json faulty ocxlpmem smart $nmem
check faulty-media-errors has '"media_errors":2,'
check faulty-spares has '"spares_percent":0,'
check faulty-dirty has '"dirty_shutdowns":1,'
check faulty-critical has '"health":"critical"'
check faulty-life-kept has '"life_used_percent":95,'

# 4. Power lost with the controller running (unbound, no SHUTDOWN): the
#    card counts a dirty shutdown.
require unbind sh -c "echo $CARD >$DRV/unbind"
n=$(card_resets)
require power-cycle vmm_ctl '{"cmd":"card-reset"}'
require power-cycled wait_for 10 card_resets_past "$n"
require rebind sh -c "echo $CARD >$DRV/bind"
require region-again wait_for 30 have_regions 1
nmem=$(ndctl list -D | json_field dev)
json after-power-cycle ocxlpmem smart $nmem
check power-cycle-dirty has '"dirty_shutdowns":2,'

# 5. The card failing its SMART command fails the call with EIO, with the
#    reason in the log; the next call works.
require arm-status vmm_ctl '{"cmd":"card-fault","opcode":5,"status":255,"count":1}'
check status-eio eio ocxlpmem smart $nmem
check status-logged sh -c "dmesg | grep -q 'SMART: retrieve SMART data: '"
require arm-identifier vmm_ctl '{"cmd":"card-fault","opcode":5,"data_identifier":4660,"count":1}'
check identifier-eio eio ocxlpmem smart $nmem
check after-faults ocxlpmem smart $nmem

# 6. Malformed packages: refused before the card is asked, each with its
#    errno (the core refuses other families; the driver the rest).
json malformed ocxlpmem smart-malformed $nmem
check malformed-other-family has '"other_family":"EINVAL"'
check malformed-family-past-max has '"family_past_max":"EINVAL"'
check malformed-unknown-function has '"unknown_function":"ENOTTY"'
check malformed-function-zero has '"function_zero":"ENOTTY"'
check malformed-input has '"input_given":"EINVAL"'
check malformed-short-output has '"short_output":"EINVAL"'
check malformed-no-output has '"no_output":"EINVAL"'
check malformed-reserved has '"reserved_set":"EINVAL"'
check malformed-logged sh -c "dmesg | grep -q 'ND_CMD_CALL refused: unknown function 0x2'"
check still-answers ocxlpmem smart $nmem

check unload sh -c "ndctl disable-region all && rmmod ocxlpmem_rs"
