# SPDX-License-Identifier: GPL-2.0
# title: a namespace and its data survive a guest reboot on the same backing file
# arch: x86_64 ppc64le
# drivers: c rust
# nvdimm: size=512M label-size=128K
# boots: 2
# timeout: 240
# min-checks: 16
#
# On pseries the DIMM is a plain file, so QEMU asks for H_SCM_FLUSH.

load_provider 1
case "$boot" in
1)
	require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
	require create-fsdax sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M -n persist >/tmp/ns.json'
	cat /tmp/ns.json
	check write sh -c "pattern fill /dev/$(json_field blockdev </tmp/ns.json) 32M 4242"
	json before ndctl list -N
	;;
2)
	check labels-still-valid ndctl check-labels nmem0
	check namespace-back sh -c 'ndctl list -N | grep -q "\"name\":\"persist\""'
	ndctl list -N >/tmp/ns.json
	cat /tmp/ns.json
	check mode-still-fsdax sh -c 'grep -q "\"mode\":\"fsdax\"" /tmp/ns.json'
	check data-survived sh -c "pattern verify /dev/$(json_field blockdev </tmp/ns.json) 32M 4242"
	json after ndctl list -N
	check destroy sh -c "ndctl destroy-namespace -f $(json_field dev </tmp/ns.json)"
	;;
esac
