# SPDX-License-Identifier: GPL-2.0
# title: the Rust sample provider: bus, DIMM, region, labels, an fsdax namespace, bad ioctls, load cycles
# kernel: default debug
# arch: x86_64 ppc64le
# memory: 2G
# cmdline[x86_64]: mem=1G
# cmdline[ppc64le]: mem=1G
# timeout: 400
# min-checks: 46
#
# The sample serves a 512 MiB range at 1 GiB through the Rust libnvdimm
# abstractions; stock ndctl labels it and creates a namespace. mem=1G keeps
# the kernel off the guest's second GiB, which is then free physical address
# space: the region claims it in /proc/iomem as "Persistent Memory".

params="phys_addr=0x40000000 size=0x20000000"
load_pmem_drivers
check_not refuse-empty-range modprobe rust_nvdimm phys_addr=0x40000000 size=0
check_not refuse-system-ram modprobe rust_nvdimm phys_addr=0x1000000 size=0x1000000
check refusals-explained sh -c 'dmesg | grep -q "overlaps system RAM"'
require insmod modprobe rust_nvdimm $params
require regions-ready wait_for 30 have_regions 1
check bus-listed sh -c 'ndctl list -B | grep -q "\"provider\":\"rust_nvdimm\""'
check dimm-listed sh -c 'ndctl list -D | grep -q "\"dev\":\"nmem0\""'
check region-size sh -c 'ndctl list -R | grep -q "\"size\":536870912"'
json bdr ndctl list -BDR
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
check labels-valid ndctl check-labels nmem0
attrs=/sys/bus/nd/devices/nmem0/rust_sample
check sysfs-label-counters sh -c "[ \$(cat $attrs/label_reads) -gt 0 ] && [ \$(cat $attrs/label_writes) -gt 0 ]"
check sysfs-invisible-attribute test ! -e $attrs/poisoned
require create-fsdax sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M >/tmp/ns.json'
cat /tmp/ns.json
dev=/dev/$(json_field blockdev </tmp/ns.json)
ns=$(json_field dev </tmp/ns.json)
check write-pattern pattern fill "$dev" 32M 11
check read-back pattern verify "$dev" 32M 11
check reenable-namespace sh -c "ndctl disable-namespace $ns && ndctl enable-namespace $ns"
check data-after-reenable pattern verify "$dev" 32M 11
json namespaces ndctl list -N
check destroy ndctl destroy-namespace -f "$ns"
# The core pins a provider module while its regions are enabled, and only
# lets label writes through while they are disabled.
require disable-region ndctl disable-region all
check bad-ioctls nd-ioctl bad-input /dev/nmem0 /dev/ndctl0 131072
check stale-fd-after-rmmod nd-ioctl stale /dev/nmem0 rust_nvdimm
check bus-gone sh -c '! ls -d /sys/bus/nd/devices/ndbus* 2>/dev/null'
cycles_ok=1
for i in 1 2 3 4 5 6 7 8 9 10; do
	modprobe rust_nvdimm $params && wait_for 30 have_regions 1 &&
		ndctl disable-region all >/dev/null && rmmod rust_nvdimm || {
		cycles_ok=0
		break
	}
done
check ten-load-cycles test "$cycles_ok" = 1
check no-bus-left sh -c '! ls -d /sys/bus/nd/devices/ndbus* 2>/dev/null'

# Bus events: a bad range reported by the provider becomes badblocks of the
# region and of a raw namespace over it; reads there fail, others work.
require insmod-poisoned modprobe rust_nvdimm $params poison=0x2000000
require regions-ready-poisoned wait_for 30 have_regions 1
check sysfs-poisoned-shown sh -c "grep -qx '0x42000000 4096' $attrs/poisoned"
check region-badblocks sh -c 'grep -qx "65536 8" /sys/bus/nd/devices/region0/badblocks'
require init-labels-poisoned sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-raw sh -c 'ndctl create-namespace -r region0 -m raw -s 64M >/tmp/raw.json'
raw=/dev/$(json_field blockdev </tmp/raw.json)
# 4 KiB at namespace offset 32 MiB: 8 sectors from sector 65536.
check media-errors-listed sh -c 'ndctl list -N --media-errors | tr -d " \n" | grep -q "\"badblock_count\":8,\"badblocks\":\[{\"offset\":65536,\"length\":8"'
json media-errors ndctl list -N --media-errors
check good-block-round-trips sh -c "pattern fill $raw 4K 5 16M && pattern verify $raw 4K 5 16M"
check_not poisoned-block-read-fails pattern verify "$raw" 4K 5 32M
check unload-poisoned sh -c 'ndctl destroy-namespace -f all && ndctl disable-region all && rmmod rust_nvdimm'

# An asynchronous region: fsync on a namespace must reach Provider::flush.
require insmod-async modprobe rust_nvdimm $params async_flush=1
require regions-ready-async wait_for 30 have_regions 1
check flushes-start-at-zero grep -qx 0 $attrs/flushes
require init-labels-async sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-fsdax-async sh -c 'ndctl create-namespace -r region0 -m fsdax -s 64M >/tmp/async.json'
check write-with-fsync pattern fill "/dev/$(json_field blockdev </tmp/async.json)" 4M 9
check fsync-reached-provider sh -c "[ \$(cat $attrs/flushes) -gt 0 ]"
echo "provider flushes: $(cat $attrs/flushes)"
check unload-async sh -c 'ndctl destroy-namespace -f all && ndctl disable-region all && rmmod rust_nvdimm'
