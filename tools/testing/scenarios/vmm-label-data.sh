# SPDX-License-Identifier: GPL-2.0
# title: test VMM: label data of every density round-trips through the _DSM and the label methods (the mailbox sends a zero tail as a count: dense, sparse, empty and boundary-sized data)
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K label-methods=on
# timeout: 420
# min-checks: 58
#
# The mailbox moves only the bytes before an output's zero tail and the AML
# pads them back (and the reverse for label writes): see vmm.rst, "Zero
# tails". Each DIMM's whole label area is written with N bytes of a seeded
# pattern then zeros, for N around each payload field's size (256, 4 KiB,
# 32 KiB) and the area's own, read back whole and as its first 256 bytes,
# and compared.
# nmem0 serves labels through the Intel _DSM, nmem1 through _LSR/_LSW.

load_nfit 2
for d in nmem0 nmem1; do
	check "orig-$d" ndctl read-labels "$d" -o "/tmp/orig-$d.bin"
done
ndctl disable-region all >/dev/null
: >/tmp/rand.bin
require pattern-data pattern fill /tmp/rand.bin 128K 7
: >/tmp/sums
for n in 131072 131000 32769 20000 4097 3000 257 100 0; do
	head -c $n /tmp/rand.bin >/tmp/w.bin
	dd if=/dev/zero bs=1 count=$((131072 - n)) 2>/dev/null >>/tmp/w.bin
	for d in nmem0 nmem1; do
		check "write-$d-$n" ndctl write-labels "$d" -i /tmp/w.bin
		check "read-$d-$n" sh -c "ndctl read-labels $d -o /tmp/r.bin && cmp /tmp/w.bin /tmp/r.bin"
		echo "$d $n $(sha256sum </tmp/r.bin | cut -c1-16)" >>/tmp/sums
		check "read-256-$d-$n" sh -c "ndctl read-labels $d -s 256 -o /tmp/r256.bin && head -c 256 /tmp/w.bin | cmp - /tmp/r256.bin"
	done
done
# The data read back, the same under both drivers (the pattern is seeded).
sums_json() {
	printf '{'
	awk '{ printf "%s\"%s-%s\": \"%s\"", NR > 1 ? ", " : "", $1, $2, $3 }' /tmp/sums
	printf '}\n'
}
json read-back sums_json
for d in nmem0 nmem1; do
	check "restore-$d" ndctl write-labels "$d" -i "/tmp/orig-$d.bin"
done
ndctl enable-region all >/dev/null
