# SPDX-License-Identifier: GPL-2.0
# title: test VMM: address range scrub and error injection (root _DSM 1-4, 7-9) under the C nfit and the Rust nfit_rs driver: poison found by a scrub, EIO on read, cleared; ndctl inject-error round-trips
# platform: vmm
# vmm-args: --ars
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 30
#
# QEMU's vNVDIMM has no ARS, so ndctl's scrub and error commands cannot be
# exercised on it; the test VMM serves them. Poison is placed through the
# VMM's control protocol (over the results port) or by ndctl inject-error.

badblocks() { ndctl list --media-errors -N -n "$ns" | json_field badblock_count; }
no_badblocks() { [ -z "$(badblocks)" ] || [ "$(badblocks)" = 0 ]; }
scrub() { ndctl start-scrub && ndctl wait-scrub; }
read_fails_eio() { pattern verify "$dev" 4K 1 "$1" 2>&1 | grep -q 'os error 5'; }

load_nfit 1
check bus-scrubs sh -c 'ndctl list -B | grep -q "\"scrub_state\""'
check scrub-root-writable sh -c '[ "$(stat -c %a /sys/bus/nd/devices/ndbus0/nfit/scrub)" = 644 ]'
check_not scrub-refuses-0 sh -c 'echo 0 >/sys/bus/nd/devices/ndbus0/nfit/scrub'
check root-dsm-mask grep -q 0x39e /sys/bus/nd/devices/ndbus0/nfit/dsm_mask
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-raw sh -c 'ndctl create-namespace -r region0 -m raw -s 64M >/tmp/ns.json'
cat /tmp/ns.json
ns=$(json_field dev </tmp/ns.json)
dev=/dev/$(json_field blockdev </tmp/ns.json)
check write-all pattern fill "$dev" 8M 1
base=$(cat /sys/bus/nd/devices/region0/resource)
echo "region0 at $base"

# 1. Poison 4 KiB at 1 MiB into the namespace; a scrub finds it.
require poison vmm_ctl "{\"cmd\":\"poison\",\"address\":$((base + 0x100000)),\"length\":4096}"
check scrub-1 scrub
ndctl list --media-errors -N -n "$ns"
check media-errors-listed test "$(badblocks)" = 8
json poisoned ndctl list --media-errors -N -n "$ns"
check poisoned-read-eio read_fails_eio 1M
check clean-read-ok pattern verify "$dev" 4K 1 2M

# 2. Clearing the errors (ND_CMD_CLEAR_ERROR) makes the blocks readable.
check clear-errors ndctl clear-errors "$ns"
check no-media-errors no_badblocks
check cleared-read-ok sh -c "dd if=$dev of=/dev/null bs=4096 skip=256 count=1"
check rescrub-clean scrub
check still-clean no_badblocks

# 3. ndctl inject-error (ND_CMD_CALL, NFIT functions 7 and 9), then a scrub.
check inject ndctl inject-error "$ns" -B 4096 -n 2
check inject-status sh -c "ndctl inject-error --status $ns | grep -q 4096"
check scrub-2 scrub
check injected-listed test "$(badblocks)" = 2
json injected ndctl list --media-errors -N -n "$ns"
check injected-read-eio read_fails_eio $((4096 * 512))
check uninject ndctl inject-error "$ns" -B 4096 -n 2 --uninject
check clear-injected ndctl clear-errors "$ns"
check all-clean no_badblocks
