# SPDX-License-Identifier: GPL-2.0
# title: NFIT bus, DIMMs and regions enumerate; labels initialise
# drivers: c rust
# nvdimm: size=512M label-size=128K
# nvdimm: size=256M
# timeout: 180
# min-checks: 22

load_nfit 2
check bus-listed sh -c 'ndctl list -B | grep -q "\"provider\":\"ACPI.NFIT\""'
check two-dimms sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 2 ]'
check label-area-size sh -c 'ndctl read-labels -j nmem0 >/dev/null'
check no-labels-on-labelless sh -c '! ndctl read-labels nmem1 -o /dev/null 2>/dev/null'
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
check labels-valid sh -c 'ndctl check-labels nmem0'
check two-regions sh -c '[ "$(ndctl list -R | grep -c "\"dev\":\"region")" = 2 ]'
json bdrn ndctl list -BDRN

# nfit/hw_error_scrub: root-writable, 0 or 1, anything else refused; no
# nfit/scrub on QEMU (its root _DSM has no ARS).
hws=/sys/bus/nd/devices/ndbus0/nfit/hw_error_scrub
check hw-error-scrub-mode sh -c "[ \"\$(stat -c %a $hws)\" = 644 ]"
check hw-error-scrub-default grep -qx 0 "$hws"
check hw-error-scrub-on sh -c "echo 1 >$hws && grep -qx 1 $hws"
check_not hw-error-scrub-refuses-2 sh -c "echo 2 >$hws"
check hw-error-scrub-off sh -c "echo 0 >$hws && grep -qx 0 $hws"
check no-scrub-without-ars test ! -e /sys/bus/nd/devices/ndbus0/nfit/scrub

# As C: each persistent-memory range is claimed in /proc/iomem (QEMU's
# E820 map does not list it) with the namespaces' claims nested inside,
# and the claims go with the driver.
pmem_ranges() { grep -c ': Persistent Memory$' /proc/iomem; }
check iomem-claimed test "$(pmem_ranges)" = 2
grep -A1 'Persistent Memory' /proc/iomem
check iomem-namespace-nested sh -c 'grep -A1 ": Persistent Memory$" /proc/iomem | grep -q "^  [0-9a-f].*: namespace"'
require disable-all ndctl disable-region all
check unload rmmod "$(nfit_module)"
check iomem-released test "$(pmem_ranges)" = 0
