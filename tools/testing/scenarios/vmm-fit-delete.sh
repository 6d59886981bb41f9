# SPDX-License-Identifier: GPL-2.0
# title: test VMM: a _FIT that deletes a DIMM (the VMM's fit-delete, then Notify 0x80) is refused as C refuses it; the bus keeps its DIMMs, regions, namespaces and data, and takes new namespaces on the DIMM the _FIT left out
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K
# timeout: 300
# min-checks: 24
#
# Neither QEMU nor the VMM can take an NVDIMM's memory away, but firmware
# announces a removal by serving a _FIT without the DIMM and notifying the
# root device. C's acpi_nfit_init() refuses such a table ("new nfit deletes
# entries (unsupported)", ENXIO, then "failed to merge updated NFIT") and
# keeps what it registered; nfit_rs must do the same.

known_dmesg 'new nfit deletes entries \(unsupported\)|failed to merge updated NFIT' \
	'the VMM serves a _FIT without DIMM 2 on purpose'

fit_reads() { vmm_ctl '{"cmd":"stats"}' | sed -n 's/.*"fit_reads":\([0-9]*\).*/\1/p'; }
fit_reads_past() { [ "$(fit_reads)" -gt "$1" ]; }
said() { dmesg | grep -q "$1"; }
bdr() { ndctl list -BDR; }

load_nfit 2
check dimm1-labels sh -c "ndctl disable-region region0 && ndctl init-labels -f nmem0 && ndctl enable-region region0"
ns_create ns-before fsdax 64M
before_dev=$dev
check before-write pattern fill "$before_dev" 16M 51
bdr >/tmp/before.json
json before bdr

reads=$(fit_reads)
check fit-reads-known test -n "$reads"
check fit-delete vmm_ctl '{"cmd":"fit-delete","dimm":2}'
check fit-reread wait_for 30 fit_reads_past "$reads"
check deletion-refused wait_for 30 said 'new nfit deletes entries (unsupported)'
check merge-failed wait_for 30 said 'failed to merge updated NFIT'

# Nothing registered went away: the same bus, DIMMs and regions.
bdr >/tmp/after.json
check bus-unchanged cmp /tmp/before.json /tmp/after.json
json after-refusal bdr
check dimm2-still-listed sh -c 'ndctl list -D -d nmem1 | grep -q "\"handle\":2"'
check data-kept pattern verify "$before_dev" 16M 51

# DIMM 2's region still takes a namespace.
r=$(ndctl list -R -d nmem1 | json_field dev)
check dimm2-region-known test -n "$r"
check dimm2-labels sh -c "ndctl disable-region $r && ndctl init-labels -f nmem1 && ndctl enable-region $r"
check dimm2-namespace sh -c "ndctl create-namespace -r $r -m fsdax -s 64M >/tmp/ns2.json"
dev2=/dev/$(json_field blockdev </tmp/ns2.json)
check dimm2-write pattern fill "$dev2" 16M 52
check dimm2-read-back pattern verify "$dev2" 16M 52
json after-namespace ndctl list -BDRN
check disable-all ndctl disable-region all
check unload rmmod "$(nfit_module)"
