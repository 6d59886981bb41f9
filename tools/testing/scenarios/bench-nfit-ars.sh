# SPDX-License-Identifier: GPL-2.0
# title: benchmark: Rust nfit_rs vs C nfit on the test VMM with ARS (modprobe to region with the long scrub pending)
# platform: vmm
# vmm-args: --ars --ars-ms 600000
# nvdimm: size=512M label-size=128K
# check: no
# timeout: 900
#
# Prints 'BENCH|' table lines (make bench shows them after bench-nfit's).
# A scan of the media takes ten minutes here: each load finds the platform
# idle (the previous scan ended through the control protocol), asks for
# the previous scan's records at probe and leaves the long scrub pending;
# the clock stops when region0 is bound, which must not wait for the scan.
# The drivers alternate within each round, in the same boot, and each is
# unloaded with its scrub in flight.

ROUNDS=9
: >/tmp/c.ars
: >/tmp/rust.ars
load_pmem_drivers

# _bench_ars MODULE: microseconds from modprobe to region0 bound, with a
# long scrub pending when the region is there (else it fails).
_bench_ars() {
	vmm_ctl '{"cmd":"ars-finish"}' >/dev/null || return 1
	_t0=$(pattern now)
	modprobe "$1" || return 1
	_t1=$(pattern wait /sys/bus/nd/drivers/nd_region region 30000) || return 1
	case "$(cat /sys/bus/nd/devices/ndbus0/nfit/scrub)" in
	*+) ;;
	*) return 1 ;;
	esac
	echo $((_t1 - _t0))
}

ok=1
r=0
while [ $r -lt $ROUNDS ] && [ $ok = 1 ]; do
	order="nfit nfit_rs"
	[ $((r % 2)) = 1 ] && order="nfit_rs nfit"
	for drv in $order; do
		tag=c
		[ "$drv" = nfit_rs ] && tag=rust
		t=$(_bench_ars "$drv") || {
			ok=0
			break
		}
		echo "$t" >>/tmp/$tag.ars
		ndctl disable-region all >/dev/null 2>&1
		rmmod "$drv" || {
			ok=0
			break
		}
	done
	r=$((r + 1))
done
check bench-ars-completed test $ok = 1
echo "BENCH| median of $ROUNDS rounds, QEMU TCG, 1 vCPU, test VMM --ars | C            | Rust         | Rust/C"
BENCH_SPREAD=1 _bench_row "modprobe -> region, long scrub pending" ars
