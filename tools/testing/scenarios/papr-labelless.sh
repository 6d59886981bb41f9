# SPDX-License-Identifier: GPL-2.0
# title: a PAPR DIMM without a label area (ibm,metadata-size 0): C papr_scm's NDD_LABELING disables the region, papr_scm_rs serves it label-less
# arch: ppc64le
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 14
#
# Why papr_scm_rs sets NDD_LABELING only when the DIMM has a label area
# (papr-scm-rs.rst): C sets it always, and with a zero-size area the core
# cannot read labels (nd_label_data_init() refuses a config size of 0), so
# the DIMM's driver fails and the region refuses to probe ("nmemN: is
# disabled, failing probe"); without NDD_LABELING the core serves the region
# label-less, with one raw namespace, as it does for any DIMM without labels.
# QEMU refuses an spapr-nvdimm with less than 128 KiB of labels, so the
# node's ibm,metadata-size is set to 0 here, before either driver binds,
# through the pseries device-tree update interface (/proc/powerpc/ofdt).
# Both drivers run in this one boot, C first.

# region0 bound to the region driver (registered is not enough).
region_enabled() { [ -e /sys/bus/nd/drivers/nd_region/region0 ]; }

load_pmem_drivers
known_dmesg 'is disabled, failing probe|probe of (nmem|region)[0-9]+ failed' \
	'C papr_scm sets NDD_LABELING on a DIMM without a label area'
node=$(ls -d /proc/device-tree/ibm,persistent-memory/ibm,pmemory@* | head -n 1)
phandle=$(od -An -tx1 "$node/phandle" | tr -d ' \n')
echo "node $node, phandle 0x$phandle"
require set-metadata-size-0 sh -c "printf 'update_property %d ibm,metadata-size 4 \\000\\000\\000\\000' $((0x$phandle)) >/proc/powerpc/ofdt"
check metadata-size-is-0 sh -c "[ \"\$(od -An -tx1 '$node/ibm,metadata-size' | tr -d ' \n')\" = 00000000 ]"

# C: the DIMM has NDD_LABELING ("label" in its flags) and no labels: the
# region stays disabled.
require load-papr_scm modprobe papr_scm
check c-dimm-registered wait_for 30 test -e /sys/bus/nd/devices/nmem0
check c-dimm-flags-label sh -c 'grep -qw label /sys/bus/nd/devices/nmem0/flags'
check c-region-refused wait_for 30 sh -c 'dmesg | grep -q "nmem0: is disabled, failing probe"'
check_not c-region-enabled region_enabled
ndctl list -DR
check unload-papr_scm rmmod papr_scm

# Rust: no NDD_LABELING without a label area; the region is enabled with a
# raw namespace that takes data.
require load-papr_scm_rs modprobe papr_scm_rs
check rust-region-enabled wait_for 30 region_enabled
check rust-dimm-flags-no-label sh -c '! grep -qw label /sys/bus/nd/devices/nmem0/flags'
check rust-no-config-size sh -c '! ndctl read-labels nmem0 >/dev/null 2>&1'
ndctl list -DRN
check rust-raw-namespace sh -c 'ndctl list -N -r region0 | grep -q "\"mode\":\"raw\""'
dev=/dev/$(ndctl list -N -r region0 | json_field blockdev)
check rust-namespace-write pattern fill "$dev" 16M 11
check rust-namespace-read-back pattern verify "$dev" 16M 11
check unload-papr_scm_rs sh -c 'ndctl disable-region all && rmmod papr_scm_rs'
