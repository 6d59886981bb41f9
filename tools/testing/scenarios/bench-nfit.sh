# SPDX-License-Identifier: GPL-2.0
# title: benchmark: Rust nfit_rs vs C nfit on one guest (insmod to regions ready, create/destroy loop)
# nvdimm: size=512M label-size=128K
# check: no
# timeout: 900
#
# Prints 'BENCH|' table lines (make bench shows them). Both drivers run in
# the same boot, interleaved, so host noise hits both alike.

ROUNDS=7
LOOPS=10
load_pmem_drivers
label_once() {
	modprobe nfit && wait_for 30 have_regions 1 && ndctl disable-region all &&
		ndctl init-labels -f nmem0 && rmmod nfit
}
require init-labels label_once

region0_enabled() { ndctl list -R | grep -q '"dev":"region0"'; }

# insmod_to_ready MODULE: microseconds from modprobe to an enabled region.
insmod_to_ready() {
	t0=$(pattern now)
	modprobe "$1" && wait_for 30 have_regions 1 &&
		wait_for 30 region0_enabled || return 1
	t1=$(pattern now)
	echo $((t1 - t0))
}

# create_destroy MODULE: microseconds for LOOPS fsdax create+destroy cycles.
create_destroy() {
	t0=$(pattern now)
	i=0
	while [ $i -lt $LOOPS ]; do
		ndctl create-namespace -r region0 -m fsdax -s 32M >/dev/null &&
			ndctl destroy-namespace -f all >/dev/null 2>&1 || return 1
		i=$((i + 1))
	done
	t1=$(pattern now)
	echo $((t1 - t0))
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

: >/tmp/c.load; : >/tmp/rust.load; : >/tmp/c.loop; : >/tmp/rust.loop
ok=1
r=0
while [ $r -lt $ROUNDS ] && [ $ok = 1 ]; do
	# Alternate which driver goes first, so neither always runs on a
	# warmer guest.
	order="nfit nfit_rs"
	[ $((r % 2)) = 1 ] && order="nfit_rs nfit"
	for drv in $order; do
		tag=c
		[ $drv = nfit_rs ] && tag=rust
		t=$(insmod_to_ready $drv) || { ok=0; break; }
		echo "$t" >>/tmp/$tag.load
		t=$(create_destroy $drv) || { ok=0; break; }
		echo "$t" >>/tmp/$tag.loop
		ndctl disable-region all >/dev/null 2>&1
		rmmod $drv || { ok=0; break; }
	done
	r=$((r + 1))
done
check bench-completed test $ok = 1

row() {
	c=$(median </tmp/c.$2)
	rs=$(median </tmp/rust.$2)
	awk -v n="$1" -v c="$c" -v r="$rs" 'BEGIN { printf "BENCH| %-44s | %9.1f ms | %9.1f ms | %5.2fx\n", n, c / 1000, r / 1000, r / c }'
}
echo "BENCH| median of $ROUNDS rounds, QEMU TCG, 1 vCPU                | C nfit       | Rust nfit_rs | Rust/C"
row "insmod -> region0 enabled (1 DIMM)" load
row "$LOOPS x fsdax create-namespace + destroy" loop
