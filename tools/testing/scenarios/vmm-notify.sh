# SPDX-License-Identifier: GPL-2.0
# title: test VMM: root notifications 0x81 (uncorrectable memory error) and 0x80, ARS "return previous data": a short ARS does not report new poison, a full scrub (hw_error_scrub=1) does; a hot-added range is scrubbed; a DIMM health notification wakes its nfit/flags pollers
# platform: vmm
# vmm-args: --ars
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 360
# min-checks: 34
#
# The VMM raises Notify(NVDR, value) through its notification line
# ({"cmd":"notify","value":129}, accepted from the guest). On 0x81 a driver
# scrubs: with nfit/hw_error_scrub=0 a "short" ARS (Start ARS flag bit 1,
# return previous data: no new scan), with 1 a full one. The scrub after a
# notification is asynchronous: the checks wait for the bus's scrub count
# (nfit/scrub, "N" or "N+" while running) to move on.

scrub_attr=/sys/bus/nd/devices/ndbus0/nfit/scrub
scrub_count() { sed 's/+//' $scrub_attr; }
scrub_idle() { ! grep -q + $scrub_attr; }
# scrubbed_past N: a scrub pass completed after count N, none running.
scrubbed_past() { scrub_idle && [ "$(scrub_count)" -gt "$1" ]; }
badblocks() { ndctl list --media-errors -N -n "$ns" | json_field badblock_count; }
no_badblocks() { [ -z "$(badblocks)" ] || [ "$(badblocks)" = 0 ]; }
stats() { vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json; cat /tmp/stats.json; }
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" /tmp/stats.json; }
# last_start_flags: the flags of the last ARS start the VMM saw.
last_start_flags() { sed -n 's/.*"ars_starts":\[\(.*\)\]\].*/\1/p' /tmp/stats.json | sed 's/.*,//'; }

more_short_starts() { [ "$(stat_of ars_short_starts)" -gt "$1" ]; }
badblocks_are() { [ "$(badblocks)" = "$1" ]; }
fit_reads_are() { vmm_ctl '{"cmd":"stats"}' | grep -q "\"fit_reads\":$1[,}]"; }
# range_started ADDR LEN FLAGS: the VMM saw an ARS start of that range.
range_started() { vmm_ctl '{"cmd":"stats"}' | grep -q "\[$1,$2,$3\]"; }

load_nfit 1
check initial-scrub-done wait_for 60 scrubbed_past 0
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-raw sh -c 'ndctl create-namespace -r region0 -m raw -s 64M >/tmp/ns.json'
ns=$(json_field dev </tmp/ns.json)
base=$(cat /sys/bus/nd/devices/region0/resource)
check no-errors-at-start no_badblocks
check hw-error-scrub-default grep -qx 0 /sys/bus/nd/devices/ndbus0/nfit/hw_error_scrub

# 1. New poison, then 0x81 with hw_error_scrub=0: the short ARS returns the
#    previous scrub's data, which does not have it.
require poison vmm_ctl "{\"cmd\":\"poison\",\"address\":$((base + 0x100000)),\"length\":4096}"
stats
short0=$(stat_of ars_short_starts)
n=$(scrub_count)
require notify-81 vmm_ctl '{"cmd":"notify","value":129}'
check short-scrub-done wait_for 60 scrubbed_past "$n"
stats
check short-ars-started more_short_starts "$short0"
check last-start-short test "$(last_start_flags)" = 2
check short-does-not-report no_badblocks

# 2. hw_error_scrub=1: 0x81 makes a full scrub, which finds the poison.
check hw-error-scrub-on sh -c 'echo 1 >/sys/bus/nd/devices/ndbus0/nfit/hw_error_scrub'
n=$(scrub_count)
require notify-81-full vmm_ctl '{"cmd":"notify","value":129}'
check full-scrub-done wait_for 60 scrubbed_past "$n"
stats
check last-start-full test "$(last_start_flags)" = 0
ndctl list --media-errors -N -n "$ns"
check full-reports-poison wait_for 10 badblocks_are 8
json media-errors ndctl list --media-errors -N -n "$ns"
check clear-errors ndctl clear-errors "$ns"
check clean-again no_badblocks

# 3. 0x80 (NFIT update): the driver re-reads _FIT.
stats
fit0=$(stat_of fit_reads)
require notify-80 vmm_ctl '{"cmd":"notify","value":128}'
check fit-reread wait_for 30 fit_reads_are $((fit0 + 1))
check_not notify-other-refused vmm_ctl '{"cmd":"notify","value":130}'

# 4. A hot-added DIMM's range is scrubbed: a full ARS start of exactly its
#    range (C first answers it from previous data, then scrubs it).
hotplug_nvdimm size=256M label-size=128K
check new-region wait_for 60 have_regions 2
r1=$(ndctl list -R -d nmem1 | json_field dev)
addr=$(($(cat /sys/bus/nd/devices/$r1/resource)))
echo "hot-added range at $addr"
check hotplug-range-scrubbed wait_for 60 range_started "$addr" 268435456 0
stats

# 5. A DIMM's health notification, Notify(NVss, 0x81), wakes the pollers of
#    its nfit/flags (what ndctl monitor waits on), not those of the others.
#    Each poller prints "armed:" once it has read the attribute (from then
#    on no notification is missed); nmem0's must still be polling when
#    nmem1's has been woken, and then time out.
flags() { echo "/sys/bus/nd/devices/$1/nfit/flags"; }
pattern poll "$(flags nmem1)" 20000 >/tmp/poll1.out 2>&1 &
p1=$!
pattern poll "$(flags nmem0)" 10000 >/tmp/poll0.out 2>&1 &
p0=$!
pollers_armed() { grep -q '^armed:' /tmp/poll1.out && grep -q '^armed:' /tmp/poll0.out; }
# polling PID: PID is alive and not a zombie (still in poll()).
polling() { read -r _pid _comm _state _rest </proc/$1/stat && [ "$_state" != Z ]; }
# timed_out PID OUT: the poller PID ended without a notification.
timed_out() { ! wait "$1" && grep -q 'no notification' "$2"; }
check pollers-armed wait_for 10 pollers_armed
cat /tmp/poll1.out /tmp/poll0.out
require notify-dimm-2 vmm_ctl '{"cmd":"notify","value":129,"dimm":2}'
check dimm-health-wakes-its-flags wait $p1
cat /tmp/poll1.out
check other-dimm-still-polling polling $p0
check other-dimm-not-woken timed_out $p0 /tmp/poll0.out
cat /tmp/poll0.out
check_not dimm-notify-needs-81 vmm_ctl '{"cmd":"notify","value":128,"dimm":2}'
check_not dimm-notify-unknown-dimm vmm_ctl '{"cmd":"notify","value":129,"dimm":9}'
