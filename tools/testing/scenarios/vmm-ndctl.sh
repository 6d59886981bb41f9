# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the C nfit and the Rust nfit_rs driver on the VMM's DIMMs: labels, every namespace mode, an unarmed and a label-less DIMM, data and labels across VMM restarts
# platform: vmm
# drivers: c rust
# nvdimm: size=512M label-size=128K
# nvdimm: size=256M label-size=128K unarmed=on
# nvdimm: size=256M
# boots: 2
# machine: nvdimm-persistence=cpu
# timeout: 400
# min-checks: 57
#
# Every boot is a new nvdimm-vmm process (and a new QEMU): what survives
# from boot 1 to boot 2 survives in the backing files only. The DIMMs'
# _DSM calls are served by the VMM through its mailbox.

region_of() { ndctl list -R -d "$1" | json_field dev; }

load_nfit 3
check three-dimms sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 3 ]'
check provider-is-nfit sh -c 'ndctl list -B | grep -q "\"provider\":\"ACPI.NFIT\""'
check dsm-family-intel grep -q '^0$' /sys/bus/nd/devices/nmem0/nfit/family
check label-area-128k sh -c 'ndctl read-labels -j nmem0 >/dev/null && [ "$(ndctl read-labels nmem0 -o /tmp/l.bin; stat -c %s /tmp/l.bin)" = 131072 ]'
check no-labels-on-labelless sh -c '! ndctl read-labels nmem2 -o /dev/null 2>/dev/null'
r0=$(region_of nmem0)
r1=$(region_of nmem1)
check unarmed-region-read-only sh -c "[ \$(cat /sys/bus/nd/devices/$r1/read_only) = 1 ]"
check unarmed-flag grep -q not_armed /sys/bus/nd/devices/nmem1/nfit/flags
check persistence-cpu-cache sh -c 'ndctl list -R | grep -q "\"persistence_domain\":\"cpu_cache\""'
check region-size sh -c "[ \$(cat /sys/bus/nd/devices/$r0/size) = 536870912 ]"

case "$boot" in
1)
	require init-labels sh -c "ndctl disable-region $r0 && ndctl init-labels -f nmem0 && ndctl enable-region $r0"
	check labels-valid ndctl check-labels nmem0
	seed=10
	for mode in raw sector fsdax devdax; do
		seed=$((seed + 1))
		check "create-$mode" sh -c "ndctl create-namespace -r $r0 -m $mode -s 64M >/tmp/ns.json" || continue
		ns=$(json_field dev </tmp/ns.json)
		if [ $mode = devdax ]; then
			dev=/dev/$(json_field chardev </tmp/ns.json)
		else
			dev=/dev/$(json_field blockdev </tmp/ns.json)
		fi
		check "$mode-write" pattern fill "$dev" 16M "$seed"
		check "$mode-read-back" pattern verify "$dev" 16M "$seed"
		check "destroy-$mode" ndctl destroy-namespace -f "$ns"
	done
	require create-persistent sh -c "ndctl create-namespace -r $r0 -m fsdax -s 128M -n persist >/tmp/ns.json"
	check write-persistent pattern fill "/dev/$(json_field blockdev </tmp/ns.json)" 32M 4242
	json boot1 ndctl list -BDRN
	;;
2)
	check labels-survived ndctl check-labels nmem0
	check namespace-survived sh -c 'ndctl list -N | grep -q "\"name\":\"persist\""'
	ndctl list -N -r "$r0" >/tmp/ns.json
	cat /tmp/ns.json
	check mode-survived grep -q '"mode":"fsdax"' /tmp/ns.json
	check data-survived pattern verify "/dev/$(json_field blockdev </tmp/ns.json)" 32M 4242
	json boot2 ndctl list -BDRN
	check destroy-persistent ndctl destroy-namespace -f "$(json_field dev </tmp/ns.json)"
	;;
esac

# The VMM served the label traffic: its counters, read over the results port.
check vmm-control-reachable vmm_ctl '{"cmd":"ping"}'
vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json
cat /tmp/stats.json
check vmm-served-label-reads sh -c '[ "$(sed -n "s/.*\"label_bytes_read\":\([0-9]*\).*/\1/p" /tmp/stats.json)" -gt 0 ]'
check vmm-served-label-writes sh -c '[ "$(sed -n "s/.*\"label_bytes_written\":\([0-9]*\).*/\1/p" /tmp/stats.json)" -gt 0 ]'
