# SPDX-License-Identifier: GPL-2.0
# title: Rust papr_scm_rs vs C papr_scm on the same guest: same ndctl view, namespaces and data cross over, both ways, across a reboot
# kernel: default debug
# arch: ppc64le
# nvdimm: size=512M label-size=128K
# nvdimm: size=512M label-size=128K pmem=on
# boots: 2
# timeout: 600
# min-checks: 34
#
# One DIMM on a plain file (QEMU sets ibm,hcall-flush-required: an
# asynchronous region; the first node, ibm,pmemory@90000000) and one on a
# pmem=on backend (no flush hcall). Boot 1 creates an fsdax namespace on the
# hcall-flush DIMM and a sector one on the other under the C driver, swaps to
# the Rust driver, compares 'ndctl list -BDRNH' and the papr/* attributes,
# reads the data back and adds devdax and raw namespaces; boot 2 starts with
# the Rust driver, reads everything, swaps to C, reads everything again and
# destroys it all. (BTT on the hcall-flush DIMM is papr-btt-hcall-flush's.)

listing() { ndctl list -BDRNH >"$1" 2>&1; }
# Every papr/* attribute of the DIMMs, names and values.
attributes() {
	for a in /sys/bus/nd/devices/nmem*/papr/*; do echo "$a=$(cat "$a" 2>&1)"; done >"$1"
}
# The DIMM of a bus, by the provider name (the node's unit address).
dimm_at() { ndctl list -D -b "ibm,persistent-memory:ibm,pmemory@$1" | json_field dev; }
region_of() { ndctl list -R -d "$1" | json_field dev; }
ns_of() { ndctl list -N -r "$(region_of "$1")" $2; }
blockdev_of() { ns_of "$1" "$2" | json_field blockdev; }
regions_enabled() { [ "$(ls -d /sys/bus/nd/drivers/nd_region/region* 2>/dev/null | wc -l)" -ge 2 ]; }
# swap_to OLD NEW: unloads papr_scm driver OLD, loads NEW and waits for
# both regions to be enabled again; fails at the first step that fails.
swap_to() {
	ndctl disable-region all &&
		rmmod "$1" &&
		modprobe "$2" &&
		wait_for 30 regions_enabled &&
		ndctl enable-region all
}
verify_all() {
	fl=$(dimm_at 90000000) pm=$(dimm_at 90000001)
	check "$1-fsdax-data" pattern verify "/dev/$(blockdev_of $fl --mode=fsdax)" 16M 51
	check "$1-sector-data" pattern verify "/dev/$(blockdev_of $pm --mode=sector)" 8M 52
	if [ "$2" = all ]; then
		check "$1-devdax-data" pattern verify "/dev/$(ns_of $fl --mode=devdax | json_field chardev)" 4M 53
		check "$1-raw-data" pattern verify "/dev/$(blockdev_of $pm --mode=raw)" 8M 54
	fi
}

load_pmem_drivers
case "$boot" in
1)
	require load-c-papr_scm modprobe papr_scm
	require regions-ready wait_for 30 have_regions 2
	require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 nmem1 && ndctl enable-region all'
	fl=$(dimm_at 90000000) pm=$(dimm_at 90000001)
	echo "hcall-flush DIMM: $fl, pmem=on DIMM: $pm"
	require c-create-fsdax sh -c "ndctl create-namespace -r $(region_of $fl) -m fsdax -s 128M >/dev/null"
	require c-create-sector sh -c "ndctl create-namespace -r $(region_of $pm) -m sector -s 128M >/dev/null"
	check c-write-fsdax pattern fill "/dev/$(blockdev_of $fl --mode=fsdax)" 16M 51
	check c-write-sector pattern fill "/dev/$(blockdev_of $pm --mode=sector)" 8M 52
	listing /tmp/c.txt
	attributes /tmp/c.attrs
	json c-list ndctl list -BDRNH
	require swap-c-to-rust swap_to papr_scm papr_scm_rs
	listing /tmp/rust.txt
	json rust-list ndctl list -BDRNH
	cat /tmp/rust.txt
	check same-ndctl-view sh -c 'diff /tmp/c.txt /tmp/rust.txt'
	attributes /tmp/rust.attrs
	cat /tmp/rust.attrs
	check same-papr-attributes sh -c 'diff /tmp/c.attrs /tmp/rust.attrs'
	verify_all rust
	require rust-create-devdax sh -c "ndctl create-namespace -r $(region_of $fl) -m devdax -s 128M >/dev/null"
	require rust-create-raw sh -c "ndctl create-namespace -r $(region_of $pm) -m raw -s 128M >/dev/null"
	check rust-write-devdax pattern fill "/dev/$(ns_of $fl --mode=devdax | json_field chardev)" 4M 53
	check rust-write-raw pattern fill "/dev/$(blockdev_of $pm --mode=raw)" 8M 54
	check rust-labels-valid ndctl check-labels nmem0 nmem1
	;;
2)
	require load-rust-papr_scm modprobe papr_scm_rs
	require regions-ready wait_for 30 have_regions 2
	fl=$(dimm_at 90000000) pm=$(dimm_at 90000001)
	verify_all rust-after-reboot all
	listing /tmp/rust.txt
	require swap-rust-to-c swap_to papr_scm_rs papr_scm
	listing /tmp/c.txt
	check same-ndctl-view-after-reboot sh -c 'diff /tmp/rust.txt /tmp/c.txt'
	verify_all c-after-reboot all
	check c-destroy-all sh -c "ndctl destroy-namespace -f all -r $(region_of $fl) && ndctl destroy-namespace -f all -r $(region_of $pm)"
	;;
esac
