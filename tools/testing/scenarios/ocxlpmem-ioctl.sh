# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver's character device: the ocxlpmem tool reads statistics, events, a health error log entry and a controller dump through /dev/ocxlpmem0, and gets the card's interrupt on an eventfd; card faults fail the ioctl, not the driver
# platform: vmm
# drivers: rust
# timeout: 300
# vmm-args: --ocxlpmem path={dir}/card.img,size=256M,serial=0x1234abcd5678
# min-checks: 43
#
# The card model (tools/vmm/src/devices/ocxl) answers with known values: the
# statistics of its default configuration, a health & performance error
# log entry after a health request, a 20000-byte dump starting "OCXLDUMP".

DEV=/dev/ocxlpmem0
load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
check device-node test -c $DEV

# The card's serial number and firmware version are DIMM attributes, and
# the interleave-set cookie of its labels is the serial (as v4).
nmem=$(ndctl list -D | json_field dev)
check serial-attribute grep -qx 0x1234abcd5678 /sys/bus/nd/devices/$nmem/ocxlpmem/serial
check fw-version-attribute grep -qx 1.0.0 /sys/bus/nd/devices/$nmem/ocxlpmem/fw_version
region=$(ndctl list -R | json_field dev)
cat /sys/bus/nd/devices/$region/set_cookie
check cookie-is-serial grep -qx 0x1234abcd5678 /sys/bus/nd/devices/$region/set_cookie

# Statistics (CONTROLLER_STATS through the admin mailbox).
check stats sh -c "ocxlpmem stats >/tmp/stats.json"
cat /tmp/stats.json
check stats-life-remaining grep -q '"life_remaining":98' /tmp/stats.json
check stats-host-loads grep -q '"host_load_count":1000' /tmp/stats.json
check stats-fast-writes grep -q '"fast_write_count":7' /tmp/stats.json

# No event and no error log entry pending at first.
check no-events sh -c 'ocxlpmem events | grep -qx "{\"events\":\[\]}"'
check empty-error-log sh -c 'ocxlpmem error-log | grep -qx "{}"'

# A health request produces a health & performance entry (ELA).
check request-health ocxlpmem request-health
check health-event wait_for 10 sh -c 'ocxlpmem events | grep -q error_log_available'
check error-log sh -c "ocxlpmem error-log >/tmp/elog.json"
cat /tmp/elog.json
check error-log-health-type grep -q "\"error_log_type\":4,\"type\":\"health & performance\"" /tmp/elog.json
check error-log-fw-revision grep -q '"fw_revision":"1.0.0"' /tmp/elog.json
check error-log-has-data sh -c '! grep -q "\"data_len\":0," /tmp/elog.json'
check error-log-first-call grep -q '"buffer_retries":0}' /tmp/elog.json
check error-log-consumed sh -c 'ocxlpmem error-log | grep -qx "{}"'

# An entry with more data than the caller's buffer is not cut: the driver
# keeps it and gives its size (EOVERFLOW); the tool asks again with room.
check request-health-again ocxlpmem request-health
check health-event-again wait_for 10 sh -c 'ocxlpmem events | grep -q error_log_available'
check error-log-small-buffer sh -c "ocxlpmem error-log --size 8 >/tmp/elog2.json"
cat /tmp/elog2.json
check error-log-retried grep -q '"buffer_retries":1}' /tmp/elog2.json
len=$(sed -n 's/.*"data_len":\([0-9]*\).*/\1/p' /tmp/elog2.json)
hexdata=$(sed -n 's/.*"data":"\([0-9a-f]*\)".*/\1/p' /tmp/elog2.json)
check error-log-larger-than-first-buffer test "$len" -gt 8
check error-log-data-whole test "${#hexdata}" = $((2 * len))
check error-log-small-consumed sh -c 'ocxlpmem error-log | grep -qx "{}"'

# A controller dump, collected chunk by chunk.
check dump sh -c "ocxlpmem dump /tmp/card.dump >/tmp/dump.json"
cat /tmp/dump.json
check dump-size test "$(stat -c %s /tmp/card.dump)" = 20000
check dump-magic sh -c 'head -c 8 /tmp/card.dump | grep -q OCXLDUMP'

# Interrupts: an eventfd registered with IOCTL_OCXLPMEM_EVENTFD is
# signalled when the health entry arrives (MSI-X vector 0, forwarded).
check watch-health sh -c "ocxlpmem watch-health >/tmp/irq.json"
cat /tmp/irq.json
check interrupt-counted grep -q '"interrupts":[1-9]' /tmp/irq.json
check events-vector grep -q ocxlpmem_rs-events /proc/interrupts
# One eventfd per card, released with the file that registered it (the
# watch above closed its file: registering works again).
check eventfd-exclusive sh -c "ocxlpmem eventfd-exclusive >/tmp/excl.json"
cat /tmp/excl.json
check eventfd-other-file-busy grep -q '"other_file":"EBUSY"' /tmp/excl.json
grep ocxlpmem /proc/interrupts

# A card fault fails the ioctl with the card's status, and the next call
# works again.
require arm-stats-fault vmm_ctl '{"cmd":"card-fault","opcode":6,"status":255,"count":1}'
check_not stats-fault-fails ocxlpmem stats
check stats-after-fault ocxlpmem stats
# An ioctl number of the driver's magic that it does not implement
# reaches the driver and is refused with ENOTTY.
check unknown-ioctl-enotty ocxlpmem unknown-ioctl

# The device goes with the driver.
require disable-all ndctl disable-region all
check unload rmmod ocxlpmem_rs
check node-gone test ! -e $DEV
