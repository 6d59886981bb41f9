# SPDX-License-Identifier: GPL-2.0
# title: test VMM: Intel DIMM SMART and health (_DSM 1, 2, 17, 18) under ndctl list -DH and ndctl inject-smart: wear, temperature and spares from the VMM, thresholds and alarm trips, injection and uninjection, a dirty shutdown counted in nfit/dirty_shutdown and flagged flush_fail after a re-probe, the DIMM health notification
# platform: vmm
# vmm-args: --nvdimm-intel 1,state={dir}/nmem0.intel-state
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 75
#
# QEMU models no SMART. The VMM's first DIMM serves the whole Intel family
# (--nvdimm-intel 1: intel=on, its state in a JSON file of the run
# directory); the second serves the label functions only, as QEMU's do.
# SMART values come from the VMM's control protocol ({"cmd":"smart"},
# over the results port) and from ndctl inject-smart (function 18);
# thresholds from inject-smart's -M/-S and --*-alarm (functions 2, 17).
# Temperatures are in whole degrees so that both drivers print the same.

health() { ndctl list -DH -d "$1"; }
# has NMEM KEY VALUE: ndctl list -DH of NMEM shows "KEY":VALUE.
has() { health "$1" | tr -d ' \n\t' | grep -q "\"$2\":$3"; }
nfit_attr() { echo "/sys/bus/nd/devices/$1/nfit/$2"; }

load_nfit 2
health nmem0
json health-initial ndctl list -DH
check intel-dsm-mask grep -qx 0x7ffff67e "$(nfit_attr nmem0 dsm_mask)"
check plain-dsm-mask grep -qx 0x70 "$(nfit_attr nmem1 dsm_mask)"
check initial-ok has nmem0 health_state '"ok"'
check initial-temperature has nmem0 temperature_celsius 25
check initial-ctrl-temperature has nmem0 controller_temperature_celsius 30
check initial-spares has nmem0 spares_percentage 100
check initial-life-used has nmem0 life_used_percentage 0
check initial-clean has nmem0 shutdown_state '"clean"'
check initial-count has nmem0 shutdown_count 0
check initial-no-alarm has nmem0 alarm_temperature false
check initial-alarms-disabled has nmem0 alarm_enabled_media_temperature false
check plain-dimm-no-health sh -c '! health nmem1 | grep -q health_state'
check dirty-shutdown-attr-0 grep -qx 0 "$(nfit_attr nmem0 dirty_shutdown)"
check flags-initial sh -c '! grep -q flush_fail /sys/bus/nd/devices/nmem0/nfit/flags'
# ND_CMD_VENDOR (function 9): the model's echo opcode, and an unknown one.
check commands-intel grep -qx "smart smart_thresh flags get_size get_data set_data vendor cmd_call " /sys/bus/nd/devices/nmem0/commands
check vendor-echo sh -c 'nd-ioctl vendor /dev/nmem0 0 c0ffee | grep -qx "status 0 out c0ffee"'
check vendor-unknown-opcode sh -c 'nd-ioctl vendor /dev/nmem0 5 00 | grep -q "^status 1 "'
check_not vendor-not-on-plain nd-ioctl vendor /dev/nmem1 0 00

# 1. Wear and temperature from the platform.
require vmm-wear vmm_ctl '{"cmd":"smart","dimm":1,"media_celsius":60,"ctrl_celsius":45,"life_used":40,"spares":50}'
health nmem0
json health-worn ndctl list -DH -d nmem0
check worn-temperature has nmem0 temperature_celsius 60
check worn-ctrl-temperature has nmem0 controller_temperature_celsius 45
check worn-life-used has nmem0 life_used_percentage 40
check worn-spares has nmem0 spares_percentage 50
check worn-still-ok has nmem0 health_state '"ok"'
check_not smart-on-plain-dimm vmm_ctl '{"cmd":"smart","dimm":2,"spares":1}'
check_not smart-bad-spares vmm_ctl '{"cmd":"smart","dimm":1,"spares":101}'
check_not smart-unknown-field vmm_ctl '{"cmd":"smart","dimm":1,"wear":1}'

# 2. Thresholds and alarms (functions 2 and 17): a media temperature
#    threshold under the temperature trips its alarm and the DIMM is
#    non-critical; a spares threshold over the spares trips that one.
#    The trip is a health change the DIMM signals (Notify 0x81), which
#    wakes the pollers of its nfit/flags.
pattern poll /sys/bus/nd/devices/nmem0/nfit/flags 20000 >/tmp/poll-alarm.out 2>&1 &
pa=$!
check alarm-poller-armed wait_for 10 grep -q '^armed:' /tmp/poll-alarm.out
check set-temperature-threshold ndctl inject-smart nmem0 -M 55 --media-temperature-alarm=on
check alarm-trip-notifies wait $pa
cat /tmp/poll-alarm.out
health nmem0
check threshold-listed has nmem0 temperature_threshold 55
check temperature-alarm-enabled has nmem0 alarm_enabled_media_temperature true
check temperature-alarm-trips has nmem0 alarm_temperature true
check alarm-non-critical has nmem0 health_state '"non-critical"'
check set-spares-threshold ndctl inject-smart nmem0 -S 60 --spares-alarm=on
check spares-alarm-trips has nmem0 alarm_spares true
json health-alarms ndctl list -DH -d nmem0
check cool-down vmm_ctl '{"cmd":"smart","dimm":1,"media_celsius":40,"spares":90}'
check temperature-alarm-clears has nmem0 alarm_temperature false
check spares-alarm-clears has nmem0 alarm_spares false
check back-to-ok has nmem0 health_state '"ok"'

# 3. Injection (function 18) as ndctl inject-smart does it, then -N.
check inject-temperature ndctl inject-smart nmem0 -m 70
check injected-temperature has nmem0 temperature_celsius 70
check injected-trips has nmem0 alarm_temperature true
check inject-spares ndctl inject-smart nmem0 -s 5
check injected-spares has nmem0 spares_percentage 5
check inject-fatal ndctl inject-smart nmem0 -f
check fatal has nmem0 health_state '"fatal"'
check inject-unsafe-shutdown ndctl inject-smart nmem0 -U
check dirty has nmem0 shutdown_state '"dirty"'
check dirty-counted has nmem0 shutdown_count 1
json health-injected ndctl list -DH -d nmem0
check uninject-all ndctl inject-smart nmem0 -N
check uninjected-temperature has nmem0 temperature_celsius 40
check uninjected-spares has nmem0 spares_percentage 90
check uninjected-ok has nmem0 health_state '"ok"'
check uninjected-clean has nmem0 shutdown_state '"clean"'
check count-stays has nmem0 shutdown_count 1

# 4. A dirty shutdown from the platform, with the DIMM's health
#    notification: it wakes the pollers of nmem0's nfit/flags (what ndctl
#    monitor waits on). The driver reads the shutdown state once, at probe:
#    after a re-probe nfit/dirty_shutdown is the count and the flags say
#    flush_fail.
pattern poll /sys/bus/nd/devices/nmem0/nfit/flags 20000 >/tmp/poll0.out 2>&1 &
p0=$!
check poller-armed wait_for 10 grep -q '^armed:' /tmp/poll0.out
require vmm-dirty-shutdown vmm_ctl '{"cmd":"smart","dimm":1,"dirty_shutdown":true}'
require vmm-health-notify vmm_ctl '{"cmd":"notify","value":129,"dimm":1}'
check health-notification-wakes-flags wait $p0
cat /tmp/poll0.out
check platform-dirty has nmem0 shutdown_state '"dirty"'
check platform-counted has nmem0 shutdown_count 2
check not-yet-in-sysfs grep -qx 0 "$(nfit_attr nmem0 dirty_shutdown)"
require reprobe sh -c "ndctl disable-region all && rmmod $(nfit_module) && modprobe $(nfit_module)"
check regions-back wait_for 30 have_regions 2
check dirty-shutdown-count-2 grep -qx 2 "$(nfit_attr nmem0 dirty_shutdown)"
check flags-flush-fail grep -q flush_fail /sys/bus/nd/devices/nmem0/nfit/flags
check plain-flags-clean sh -c '! grep -q flush_fail /sys/bus/nd/devices/nmem1/nfit/flags'
json health-after-dirty-shutdown ndctl list -DH
check state-file-kept vmm_ctl '{"cmd":"intel-state","dimm":1}'
