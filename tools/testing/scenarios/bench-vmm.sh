# SPDX-License-Identifier: GPL-2.0
# title: benchmark: test VMM vs QEMU's native nvdimm on the same guest (label _DSM, launch to ndctl-ready, pmem sequential I/O)
# platform: vmm qemu vmm qemu vmm qemu
# boots: 6
# drivers: c
# nvdimm: size=512M label-size=128K
# check: no
# timeout: 600
#
# 'make bench-vmm' (nvdimm-harness bench-vmm) runs this and prints the
# table. Boots alternate between the two platforms, on one backing file,
# so host noise hits both alike. Each boot prints 'BENCH|metric|value'
# lines (microseconds, one per round: the table shows the median and the
# spread of all rounds); '@@ MARK ndctl-ready' tells the harness when to
# stop the launch-to-ready clock.

ROUNDS=9
# t_us CMD...: microseconds CMD took (output discarded); fails with CMD.
t_us() {
	_t0=$(pattern now)
	"$@" >/dev/null 2>&1 || return 1
	_t1=$(pattern now)
	echo $((_t1 - _t0))
}
# bench METRIC CMD...: ROUNDS runs, each printed as a BENCH line.
bench() {
	_m=$1
	shift
	: >/tmp/bench.$_m
	_i=0
	while [ $_i -lt $ROUNDS ]; do
		t_us "$@" >>/tmp/bench.$_m || {
			fail "bench-$_m" "$* failed"
			return 1
		}
		_i=$((_i + 1))
	done
	sed "s/^/BENCH|$_m|/" /tmp/bench.$_m
	pass "bench-$_m"
}

load_nfit 1
emit MARK ndctl-ready
echo "BENCH|ready_uptime|$(awk '{printf "%d", $1 * 1000000}' /proc/uptime)"
if ! ndctl check-labels nmem0 >/dev/null 2>&1; then
	require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
fi
if [ "$(ndctl list -N | grep -c '"name":"bench"')" = 0 ]; then
	require create-bench-namespace sh -c 'ndctl create-namespace -r region0 -m raw -s 256M -n bench >/dev/null'
fi
dev=/dev/$(ndctl list -N | tr -d '\n' | tr '}' '\n' | grep '"name":"bench"' | json_field blockdev)
echo "bench namespace: $dev"

bench spawn true
bench ndctl_list ndctl list -D
bench label_read_256 ndctl read-labels nmem0 -s 256 -o /tmp/small.bin
bench label_read_128k ndctl read-labels nmem0 -o /tmp/labels.bin
ndctl disable-region all >/dev/null
bench label_write_128k ndctl write-labels nmem0 -i /tmp/labels.bin
ndctl enable-region all >/dev/null
check labels-intact ndctl check-labels nmem0
ROUNDS=3
bench pmem_write_128m pattern fill "$dev" 128M 77
bench pmem_read_128m pattern verify "$dev" 128M 77
