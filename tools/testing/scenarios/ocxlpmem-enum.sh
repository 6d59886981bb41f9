# SPDX-License-Identifier: GPL-2.0
# title: the Rust ocxlpmem_rs driver on the test VMM's OpenCAPI pmem card: bus, DIMM, firmware version, region over the card memory, labels, an fsdax namespace with data across a driver reload and a VMM restart
# platform: vmm
# drivers: rust
# boots: 2
# timeout: 400
# vmm-args: --ocxlpmem path={dir}/card.img,size=512M
# min-checks: 56
#
# The card (tools/vmm/src/devices/ocxl) is attached as ocxlpmem_rs/attach.rs
# describes: its register file is BAR2 of the ivshmem-doorbell device
# 0000:00:11.0, its 512 MiB of memory a pc-dimm at 0x1040000000 (65 GiB):
# the first 128 MiB section metadata (labels in its first 128 KiB), the
# pmem region the 384 MiB after it. There is no C driver (the v4 series
# was never merged): only driver=rust. Every boot is a new nvdimm-vmm and
# QEMU: what survives survives in card.img.

PMEM_START=0x1048000000
PMEM_SIZE=402653184

load_pmem_drivers
require load-ocxlpmem_rs modprobe ocxlpmem_rs
require region-ready wait_for 30 have_regions 1
dmesg | grep ocxlpmem
check probe-message sh -c 'dmesg | grep -q "ocxlpmem_rs 0000:00:11.0: OpenCAPI persistent memory card: firmware 1.0.0, 384 MiB"'
check bound-to-the-card test -e /sys/bus/pci/drivers/ocxlpmem_rs/0000:00:11.0
check mailbox-not-bound test ! -e /sys/bus/pci/drivers/ocxlpmem_rs/0000:00:10.0
check provider-ocxlpmem sh -c 'ndctl list -B | grep -q "\"provider\":\"ocxlpmem\""'
check one-dimm sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 1 ]'
check fw-version grep -qx 1.0.0 /sys/bus/nd/devices/nmem0/ocxlpmem/fw_version
check label-area-128k sh -c '[ "$(ndctl read-labels nmem0 -o /tmp/l.bin && stat -c %s /tmp/l.bin)" = 131072 ]'
r=$(ndctl list -R | json_field dev)
echo "region: $r"
check one-region test "$(count_regions)" = 1
check region-start sh -c "[ \$((\$(cat /sys/bus/nd/devices/$r/resource))) = \$(($PMEM_START)) ]"
check region-size grep -qx $PMEM_SIZE /sys/bus/nd/devices/$r/size
check persistence-memory-controller sh -c 'ndctl list -R | grep -q "\"persistence_domain\":\"memory_controller\""'
cat /proc/iomem
check iomem-persistent-memory grep -q '^ *1048000000-105fffffff : Persistent Memory' /proc/iomem

# ns_on_region: the one namespace of the region into /tmp/ns.json; $dev.
ns_on_region() {
	ndctl list -N -r "$r" >/tmp/ns.json
	cat /tmp/ns.json
	dev=/dev/$(json_field blockdev </tmp/ns.json)
}

case "$boot" in
1)
	require init-labels sh -c "ndctl disable-region $r && ndctl init-labels -f nmem0 && ndctl enable-region $r"
	check labels-valid ndctl check-labels nmem0
	require create-fsdax sh -c "ndctl create-namespace -r $r -m fsdax -s 128M -n persist >/tmp/ns.json"
	cat /tmp/ns.json
	dev=/dev/$(json_field blockdev </tmp/ns.json)
	check write pattern fill "$dev" 32M 4242
	check read-back pattern verify "$dev" 32M 4242
	cat /proc/iomem
	check namespace-in-iomem grep -q 'namespace0.0' /proc/iomem
	# The driver goes and comes back (regions disabled first, as for
	# nfit): the namespace is read back from the labels on the card memory.
	check disable-regions ndctl disable-region all
	grep ocxlpmem_rs /proc/interrupts
	check irqs-requested sh -c 'grep -q "ocxlpmem_rs-events" /proc/interrupts && grep -q "ocxlpmem_rs-fatal" /proc/interrupts'
	check rmmod rmmod ocxlpmem_rs
	check bus-gone test "$(count_regions)" = 0
	# Devres frees the card's vectors at unbind (the reload below could
	# not allocate them otherwise).
	check irqs-freed sh -c '! grep -q ocxlpmem_rs /proc/interrupts'
	require reload modprobe ocxlpmem_rs
	require region-again wait_for 30 have_regions 1
	check labels-after-reload ndctl check-labels nmem0
	check namespace-after-reload wait_for 10 sh -c 'ndctl list -N | grep -q "\"name\":\"persist\""'
	ns_on_region
	check mode-after-reload grep -q '"mode":"fsdax"' /tmp/ns.json
	check data-after-reload pattern verify "$dev" 32M 4242
	json boot1 ndctl list -BDRN
	;;
2)
	check labels-survived ndctl check-labels nmem0
	check namespace-survived sh -c 'ndctl list -N | grep -q "\"name\":\"persist\""'
	ns_on_region
	check mode-survived grep -q '"mode":"fsdax"' /tmp/ns.json
	check data-survived pattern verify "$dev" 32M 4242
	check other-seed-differs sh -c "! pattern verify $dev 1M 4243"
	json boot2 ndctl list -BDRN
	check destroy ndctl destroy-namespace -f "$(json_field dev </tmp/ns.json)"
	check no-namespace-left sh -c '! ndctl list -N | grep -q persist'
	;;
esac

# The card served the driver's HEARTBEAT (opcode 0) at each probe.
vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json
cat /tmp/stats.json
check card-served-heartbeat grep -q '"commands":{"0":[1-9]' /tmp/stats.json
