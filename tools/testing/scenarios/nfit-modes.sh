# SPDX-License-Identifier: GPL-2.0
# title: namespaces in raw, sector, fsdax and devdax modes: write, read back, destroy
# drivers: c
# nvdimm: size=512M label-size=128K
# timeout: 300

load_nfit 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'

seed=1
for mode in raw sector fsdax devdax; do
	seed=$((seed + 1))
	if ! check "create-$mode" sh -c "ndctl create-namespace -r region0 -m $mode -s 64M >/tmp/ns.json"; then
		continue
	fi
	cat /tmp/ns.json
	ns=$(json_field dev </tmp/ns.json)
	if [ "$mode" = devdax ]; then
		dev=/dev/$(json_field chardev </tmp/ns.json)
	else
		dev=/dev/$(json_field blockdev </tmp/ns.json)
	fi
	check "$mode-device-exists" test -e "$dev"
	check "$mode-write" pattern fill "$dev" 16M "$seed"
	check "$mode-read-back" pattern verify "$dev" 16M "$seed"
	check "$mode-other-seed-differs" sh -c "! pattern verify $dev 16M $((seed + 100)) 2>/dev/null"
	json "$mode" ndctl list -N -n "$ns"
	check "destroy-$mode" ndctl destroy-namespace -f "$ns"
done
check all-destroyed sh -c '[ -z "$(ndctl list -N)" ] || [ "$(ndctl list -N)" = "[]" ]'
