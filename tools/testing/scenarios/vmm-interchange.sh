# SPDX-License-Identifier: GPL-2.0
# title: test VMM: one backing file, served by the VMM, then QEMU's native nvdimm, then the VMM again: same namespaces and data both ways
# platform: vmm qemu vmm
# drivers: c rust
# nvdimm: size=512M label-size=128K
# boots: 3
# machine: nvdimm-persistence=mem-ctrl
# timeout: 300
# min-checks: 37
#
# Boot 1 (VMM) labels the DIMM and writes namespace 'from-vmm'; boot 2
# (QEMU -machine pc,nvdimm=on -device nvdimm,label-size=128K) finds it
# with its data and writes 'from-qemu'; boot 3 (VMM) finds both. The
# label area is the file's last 128 KiB on both, and the NFITs agree on
# everything the interleave-set cookie covers.

platform=$(sed -n 's/.* platform=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "--- NVDIMMs served by: $platform"
load_nfit 1
# Both platforms describe the same platform capabilities (memory controller flush).
check persistence-domain-same sh -c 'ndctl list -R | grep -q "\"persistence_domain\":\"memory_controller\""'
check dimm-id-same sh -c 'ndctl list -D | grep -q "\"id\":\"8680-56341200\""'
# The interleave-set cookie QEMU's NFIT gives this DIMM (tools/nfit/README.md).
iset_same() { ndctl list -R | grep -q '"iset_id":10248187106440278'; }

ns_named() { ndctl list -N | tr -d '\n' | tr '}' '\n' | grep "\"name\":\"$1\""; }
ns_mode_is() { ns_named "$1" | grep -q "\"mode\":\"$2\""; }
dev_of() { ns_named "$1" | json_field blockdev; }

case "$boot" in
1)
	check platform-vmm test "$platform" = vmm
	require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
	check iset-id iset_same
	require create-from-vmm sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M -n from-vmm >/dev/null'
	check write-from-vmm pattern fill "/dev/$(dev_of from-vmm)" 32M 1001
	;;
2)
	check platform-qemu test "$platform" = qemu
	check labels-valid-under-qemu ndctl check-labels nmem0
	check iset-id-under-qemu iset_same
	check vmm-namespace-under-qemu ns_mode_is from-vmm fsdax
	check vmm-data-under-qemu pattern verify "/dev/$(dev_of from-vmm)" 32M 1001
	require create-from-qemu sh -c 'ndctl create-namespace -r region0 -m sector -s 64M -n from-qemu >/dev/null'
	check write-from-qemu pattern fill "/dev/$(dev_of from-qemu)" 16M 2002
	;;
3)
	check platform-vmm-again test "$platform" = vmm
	check labels-valid-under-vmm ndctl check-labels nmem0
	check iset-id-under-vmm iset_same
	check vmm-data-still-there pattern verify "/dev/$(dev_of from-vmm)" 32M 1001
	check qemu-namespace-under-vmm ns_mode_is from-qemu sector
	check qemu-data-under-vmm pattern verify "/dev/$(dev_of from-qemu)" 16M 2002
	check destroy-all ndctl destroy-namespace -f all -r region0
	;;
esac
json "$platform" ndctl list -DRN
