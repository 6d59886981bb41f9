# SPDX-License-Identifier: GPL-2.0
# title: namespaces in raw, sector, fsdax and devdax modes: write, read back, destroy
# arch: x86_64 ppc64le
# drivers: c rust
# nvdimm[x86_64]: size=512M label-size=128K
# nvdimm[ppc64le]: size=512M label-size=128K pmem=on
# timeout: 400
# min-checks: 33
#
# On pseries the DIMM is pmem=on (no H_SCM_FLUSH); papr-btt-hcall-flush
# covers a sector namespace on an hcall-flush DIMM.

load_provider 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'

seed=1
for mode in raw sector fsdax devdax; do
	seed=$((seed + 1))
	ns_create "create-$mode" "$mode" 64M || continue
	check "$mode-device-exists" test -e "$dev"
	check "$mode-write" pattern fill "$dev" 16M "$seed"
	check "$mode-read-back" pattern verify "$dev" 16M "$seed"
	check "$mode-other-seed-differs" sh -c "! pattern verify $dev 16M $((seed + 100)) 2>/dev/null"
	json "$mode" ndctl list -N -n "$ns"
	check "destroy-$mode" ndctl destroy-namespace -f "$ns"
done
check all-destroyed sh -c '[ -z "$(ndctl list -N)" ] || [ "$(ndctl list -N)" = "[]" ]'
