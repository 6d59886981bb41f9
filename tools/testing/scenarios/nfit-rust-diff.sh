# SPDX-License-Identifier: GPL-2.0
# title: Rust nfit_rs vs C nfit on the same guest: same ndctl view, namespaces and data cross over, both ways, across a reboot
# kernel: default debug
# nvdimm: size=512M label-size=128K
# nvdimm: size=512M label-size=128K
# nvdimm: size=256M
# machine: nvdimm-persistence=cpu
# boots: 2
# timeout: 400
# min-checks: 35
#
# The platform capabilities say the CPU caches are in the persistence domain
# (nvdimm-persistence=cpu), so both drivers must report "cpu_cache".
# Boot 1 creates namespaces under the C driver, swaps to the Rust driver,
# compares 'ndctl list -BDRN', reads the data back and creates one more;
# boot 2 starts with the Rust driver, reads everything, swaps to C, reads
# everything again and destroys it all.

listing() { ndctl list -BDRN >"$1" 2>&1; }
# Every nfit/* attribute of the bus and the DIMMs, names and values.
attributes() {
	for d in /sys/bus/nd/devices/ndbus0/nfit /sys/bus/nd/devices/nmem*/nfit; do
		for a in "$d"/*; do echo "$a=$(cat "$a" 2>&1)"; done
	done >"$1"
}
# Regions are numbered in the firmware's order, not the DIMMs': find them
# by DIMM (nmem0/nmem1 have labels, nmem2 has none).
region_of() { ndctl list -R -d "$1" | json_field dev; }
blockdev_of() { ndctl list -N -r "$(region_of "$1")" $2 | json_field blockdev; }
swap_to() {
	ndctl disable-region all >/dev/null 2>&1
	rmmod "$1" && modprobe "$2" && wait_for 30 have_regions 3
}
verify_all() {
	check "$1-fsdax-data" pattern verify "/dev/$(blockdev_of nmem0 --mode=fsdax)" 16M 21
	check "$1-sector-data" pattern verify "/dev/$(blockdev_of nmem1)" 16M 22
	check "$1-raw-data" pattern verify "/dev/$(blockdev_of nmem2)" 16M 23
	if [ "$2" = with-devdax ]; then
		check "$1-devdax-data" pattern verify "/dev/$(ndctl list -N -r "$(region_of nmem0)" --mode=devdax | json_field chardev)" 4M 24
	fi
}

load_pmem_drivers
case "$boot" in
1)
	require load-c-nfit modprobe nfit
	require regions-ready wait_for 30 have_regions 3
	require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 nmem1 && ndctl enable-region all'
	r0=$(region_of nmem0)
	r1=$(region_of nmem1)
	require c-create-fsdax sh -c "ndctl create-namespace -r $r0 -m fsdax -s 64M >/dev/null"
	require c-create-sector sh -c "ndctl create-namespace -r $r1 -m sector -s 64M >/dev/null"
	check c-write-fsdax pattern fill "/dev/$(blockdev_of nmem0 --mode=fsdax)" 16M 21
	check c-write-sector pattern fill "/dev/$(blockdev_of nmem1)" 16M 22
	check c-write-raw pattern fill "/dev/$(blockdev_of nmem2)" 16M 23
	listing /tmp/c.txt
	attributes /tmp/c.attrs
	json c-list ndctl list -BDRN
	require swap-c-to-rust swap_to nfit nfit_rs
	ndctl enable-region all >/dev/null 2>&1
	listing /tmp/rust.txt
	json rust-list ndctl list -BDRN
	check same-ndctl-view sh -c 'diff /tmp/c.txt /tmp/rust.txt'
	check persistence-domain-cpu-cache sh -c 'grep -q "\"persistence_domain\":\"cpu_cache\"" /tmp/rust.txt'
	attributes /tmp/rust.attrs
	cat /tmp/rust.attrs
	check same-nfit-attributes sh -c 'diff /tmp/c.attrs /tmp/rust.attrs'
	verify_all rust
	require rust-create-devdax sh -c "ndctl create-namespace -r $r0 -m devdax -s 64M >/dev/null"
	check rust-write-devdax pattern fill "/dev/$(ndctl list -N -r "$r0" --mode=devdax | json_field chardev)" 4M 24
	check rust-labels-valid ndctl check-labels nmem0 nmem1
	;;
2)
	require load-rust-nfit modprobe nfit_rs
	require regions-ready wait_for 30 have_regions 3
	verify_all rust-after-reboot with-devdax
	listing /tmp/rust.txt
	require swap-rust-to-c swap_to nfit_rs nfit
	ndctl enable-region all >/dev/null 2>&1
	listing /tmp/c.txt
	check same-ndctl-view-after-reboot sh -c 'diff /tmp/rust.txt /tmp/c.txt'
	verify_all c-after-reboot with-devdax
	check c-destroy-all sh -c "ndctl destroy-namespace -f all -r $(region_of nmem0) && ndctl destroy-namespace -f all -r $(region_of nmem1)"
	;;
esac
