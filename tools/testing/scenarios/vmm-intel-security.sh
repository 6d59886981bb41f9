# SPDX-License-Identifier: GPL-2.0
# title: test VMM: Intel DIMM security (_DSM 19-28) under ndctl: setup, update and remove passphrase, freeze, unlock at probe after a power cycle, an invalid passphrase and a busy answer, crypto erase and overwrite that really change the media, a media error, master passphrase and master erase; a DIMM that boots locked and is unlocked at probe with the saved key
# platform: vmm
# vmm-args: --nvdimm-intel 1,state={dir}/nmem0.intel-state,overwrite-ms=3000
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M
# boots: 2
# timeout: 400
# min-checks: 105
#
# The first DIMM serves the Intel family with its state in a file of the
# run directory, so a passphrase set in boot 1 locks the DIMM when the
# VMM starts for boot 2. ndctl wraps each DIMM passphrase in an encrypted
# key under the key-encryption key user:nvdimm-master (added with
# nd-ioctl add-key: the guest has no keyctl; a fixed value, so that boot 2
# can unwrap what boot 1 saved) and keeps the wrapped key in
# /etc/ndctl/keys. Boot 1 saves that directory on the second DIMM
# (label-less: a raw namespace) for boot 2. The kernel unlocks a locked
# DIMM when its driver probes it, with the key it finds in the keyring.
#
# Once a DIMM was unlocked or erased, libnvdimm must invalidate the CPU
# caches before its region is enabled again, which it refuses to do in a
# virtual machine ("Failed to synchronize CPU cache state"): the region
# stays disabled for the rest of the boot. So the data is written before
# the first unlock, and what unlock, erase and overwrite did to the media
# is read from the host side ({"cmd":"media"}: zeros? FNV-1a of a range).

KEK=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
KEYS=/etc/ndctl/keys
DATA=16777216
LABELS=268435456
LABEL_SIZE=131072
security_is() { ndctl list -Di -d nmem0 | tr -d ' \n' | grep -q "\"security\":\"$1\""; }
frozen() { grep -qx 1 /sys/bus/nd/devices/nmem0/frozen && ndctl list -Di -d nmem0 | tr -d ' \n' | grep -q '"security_frozen":true'; }
unload() { ndctl disable-region all && rmmod "$(nfit_module)"; }
reprobe() { unload && modprobe "$(nfit_module)"; }
# power_cycle_reprobe: unload, power-cycle the DIMM in the VMM, load.
power_cycle_reprobe() { unload && vmm_ctl '{"cmd":"power-cycle","dimm":1}' && modprobe "$(nfit_module)"; }
regions_back() { wait_for 30 have_regions 2; }
# vmm_has TEXT: the VMM's view of the DIMM's Intel state contains TEXT.
vmm_has() { vmm_ctl '{"cmd":"intel-state","dimm":1}' | grep -q "$1"; }
# media OFFSET LENGTH: the VMM's digest of that range of the DIMM.
media() { vmm_ctl "{\"cmd\":\"media\",\"dimm\":1,\"offset\":$1,\"length\":$2}"; }
media_zero() { media "$1" "$2" | grep -q '"zero":true'; }
fnv() { media "$1" "$2" | sed -n 's/.*"fnv1a":\([0-9]*\).*/\1/p'; }
# same_fnv OFFSET LENGTH FNV: the range still has that digest.
same_fnv() { [ "$(fnv "$1" "$2")" = "$3" ]; }
ns_dev() { ndctl list -N -d nmem0 | json_field blockdev; }
no_ns() { [ -z "$(ns_dev)" ]; }
region_enabled() { ndctl list -R -d nmem0 | grep -q '"dev"'; }
# keys_dev: the second DIMM's raw namespace, where boot 1 leaves the keys.
keys_dev() { echo "/dev/$(ndctl list -N -d nmem1 | json_field blockdev)"; }
save_keys() { tar -C $KEYS -cf "$(keys_dev)" .; }
restore_keys() { tar -C $KEYS -xf "$(keys_dev)" && ls $KEYS/nvdimm_*.blob; }
no_user_key() { ! ls $KEYS/nvdimm_*.blob; }

require add-kek nd-ioctl add-key user nvdimm-master "$KEK"
mkdir -p $KEYS

case "$boot" in
1)
	load_nfit 2
	json security-initial ndctl list -Di
	check initially-disabled security_is disabled
	check vmm-disabled vmm_has '"enabled":false'
	r0=$(ndctl list -R -d nmem0 | json_field dev)
	r1=$(ndctl list -R -d nmem1 | json_field dev)
	check label-namespace sh -c "ndctl disable-region $r0 && ndctl init-labels -f nmem0 && ndctl enable-region $r0"
	require create-namespace ndctl create-namespace -r "$r0" -m raw -s 64M
	check write-data pattern fill "/dev/$(ns_dev)" 16M 7
	check data-in-media sh -c "! media_zero 0 $DATA"
	data_fnv=$(fnv 0 $DATA)
	label_fnv=$(fnv $LABELS $LABEL_SIZE)
	check labels-in-media sh -c "[ -n '$label_fnv' ]"

	# 1. Passphrase setup and update; the DIMM's regions must be inactive.
	require disable-regions ndctl disable-region all
	check setup-passphrase ndctl setup-passphrase nmem0 -k user:nvdimm-master
	check unlocked security_is unlocked
	check key-saved ls $KEYS
	check user-key-file sh -c "ls $KEYS/nvdimm_*.blob"
	check vmm-enabled vmm_has '"enabled":true'
	check update-passphrase ndctl update-passphrase nmem0
	check still-unlocked security_is unlocked
	check region-still-coherent ndctl enable-region all
	check region-enabled region_enabled
	check data-readable pattern verify "/dev/$(ns_dev)" 16M 7
	json security-enabled ndctl list -Di

	# 2. A power cycle locks the DIMM; the driver unlocks it at probe with
	#    the key in the keyring. The region then needs a cache flush the
	#    kernel refuses in a VM; the data is intact on the media.
	require unload unload
	require power-cycle vmm_ctl '{"cmd":"power-cycle","dimm":1}'
	check vmm-locked vmm_has '"locked":true'
	require reload modprobe "$(nfit_module)"
	check regions-after-unlock regions_back
	check unlocked-at-probe security_is unlocked
	check vmm-unlocked vmm_has '"locked":false'
	check_not incoherent-region-stays-disabled region_enabled
	check data-kept same_fnv 0 $DATA "$data_fnv"

	# 3. An invalid passphrase (an injected status 11 on Unlock Unit): the
	#    DIMM stays locked; the next probe unlocks it.
	require unload-2 unload
	require power-cycle-2 vmm_ctl '{"cmd":"power-cycle","dimm":1}'
	require fault-invalid-passphrase vmm_ctl '{"cmd":"fault","dimm":1,"function":22,"status":11,"count":1}'
	require reload-2 modprobe "$(nfit_module)"
	check regions-with-locked-dimm regions_back
	check stays-locked security_is locked
	check vmm-still-locked vmm_has '"locked":true'
	json security-locked ndctl list -Di
	check_not locked-region-disabled region_enabled
	check reprobe-unlocks reprobe
	check regions-3 regions_back
	check unlocked-again security_is unlocked

	# 4. Busy (status 5 on Freeze Lock) fails the freeze once; then
	#    frozen: no erase or removal until a power cycle.
	require fault-busy vmm_ctl '{"cmd":"fault","dimm":1,"function":23,"status":5,"count":1}'
	check_not freeze-busy ndctl freeze-security nmem0
	check_not not-frozen frozen
	check freeze ndctl freeze-security nmem0
	check frozen frozen
	check vmm-frozen vmm_has '"frozen":true'
	json security-frozen ndctl list -Di
	require disable-regions-4 ndctl disable-region all
	check_not erase-while-frozen ndctl sanitize-dimm nmem0 --crypto-erase
	check_not remove-while-frozen ndctl remove-passphrase nmem0
	check unfreeze-by-power-cycle power_cycle_reprobe
	check regions-4 regions_back
	check unfrozen security_is unlocked
	check_not not-frozen-after-cycle frozen

	# 5. Remove the passphrase.
	require disable-regions-5 ndctl disable-region all
	check remove-passphrase ndctl remove-passphrase nmem0
	check disabled-again security_is disabled
	check key-discarded no_user_key

	# 6. Crypto erase: a media error first (the command fails, security
	#    stays, the data at the start too), then the data reads as zeros;
	#    the labels stay.
	check setup-again ndctl setup-passphrase nmem0 -k user:nvdimm-master
	require fault-media-error vmm_ctl '{"cmd":"fault","dimm":1,"function":24,"media_error":true,"count":1}'
	check_not erase-media-error ndctl sanitize-dimm nmem0 --crypto-erase
	check still-enabled-after-failure security_is unlocked
	check data-kept-after-failure same_fnv 0 $DATA "$data_fnv"
	check crypto-erase ndctl sanitize-dimm nmem0 --crypto-erase
	check disabled-after-erase security_is disabled
	check erased-data-zero media_zero 0 $DATA
	check labels-kept same_fnv $LABELS $LABEL_SIZE "$label_fnv"
	check user-key-dropped no_user_key
	json security-erased ndctl list -Di

	# 7. Overwrite (no passphrase: the zero key): in progress for the
	#    VMM's 3 s, then the labels are gone too.
	check overwrite ndctl sanitize-dimm nmem0 --overwrite
	check overwrite-in-progress vmm_has '"overwriting":true'
	check wait-overwrite ndctl wait-overwrite nmem0
	check overwrite-done vmm_has '"overwriting":false'
	check disabled-after-overwrite security_is disabled
	check labels-overwritten media_zero $LABELS $LABEL_SIZE
	check data-overwritten media_zero 0 $DATA
	json security-after-overwrite ndctl list -Di

	# 8. Leave a passphrase for boot 2, and the keys on the second DIMM.
	check setup-for-boot-2 ndctl setup-passphrase nmem0 -k user:nvdimm-master
	check enable-second-region ndctl enable-region "$r1"
	check save-keys save_keys
	json security-end-of-boot-1 ndctl list -Di
	;;
2)
	# The DIMM boots locked: without its key the driver cannot unlock it.
	load_nfit 2
	check boots-locked security_is locked
	check vmm-boots-locked vmm_has '"locked":true'
	json security-boot-locked ndctl list -Di
	check restore-keys restore_keys
	check load-keys ndctl load-keys
	check reprobe-with-key reprobe
	check regions-boot-2 regions_back
	check unlocked-at-probe-boot-2 security_is unlocked
	check vmm-unlocked-boot-2 vmm_has '"locked":false'
	json security-boot-2-unlocked ndctl list -Di
	require disable-regions-b2 ndctl disable-region all

	# Master passphrase, master erase (the master passphrase stays; the
	#    user key stays in the keyring, which is why this comes last).
	check setup-master ndctl setup-passphrase nmem0 -m -k user:nvdimm-master
	check vmm-master-set vmm_has '"master_passphrase_set":true'
	check master-erase ndctl sanitize-dimm nmem0 --crypto-erase --master-passphrase
	check disabled-after-master-erase security_is disabled
	check vmm-disabled-after-master-erase vmm_has '"enabled":false'
	check master-kept vmm_has '"master_passphrase_set":true'
	json security-master-erased ndctl list -Di
	;;
esac
