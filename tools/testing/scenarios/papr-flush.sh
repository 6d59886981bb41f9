# SPDX-License-Identifier: GPL-2.0
# title: fsync on a file in an fsdax namespace on an hcall-flush DIMM issues H_SCM_FLUSH
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K
# qemu-trace: thread_pool_submit_aio
# timeout: 300
# min-checks: 20
#
# Two witnesses: in the guest, the powerpc hcall_entry trace event filtered
# on H_SCM_FLUSH, counted before and after the fsync (the same for both
# drivers); on the host, QEMU's thread_pool_submit_aio trace event, which
# spapr-nvdimm fires when H_SCM_FLUSH hands the fdatasync() of the backing
# file to its worker thread (the guest has no other device that uses QEMU's
# thread pool). The harness fails the boot if that event never fired.

load_papr_scm 1
hcall_trace_start
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
check region-hcall-flush sh -c 'ls /proc/device-tree/ibm,persistent-memory/*/ibm,hcall-flush-required'
ns_create create-fsdax fsdax 128M || exit 1
json fsdax ndctl list -N -n "$ns"
# No journal, the inode tables zeroed by mkfs and no block bitmap prefetch
# (so no ext4lazyinit thread works on the mount in the background): the
# only flush after the write is the one fsync asks for.
require mkfs-ext4 mkfs.ext4 -q -F -b 4096 -O ^has_journal -E lazy_itable_init=0 "$dev"
mkdir -p /mnt
require mount-dax mount -t ext4 -o dax,noinit_itable,no_prefetch_block_bitmaps "$dev" /mnt
check mounted-with-dax sh -c 'grep " /mnt " /proc/mounts | grep -q "dax"'
check no-background-writer sh -c '! grep -qx ext4lazyinit /proc/[0-9]*/comm'
# sync returns once everything dirty is written and flushed: from here on
# only the fsync below asks for a flush.
require sync sync
before=$(hcall_count "$H_SCM_FLUSH")
check write-fsync dd if=/dev/urandom of=/mnt/file bs=64k count=16 conv=fsync
after=$(hcall_count "$H_SCM_FLUSH")
echo "H_SCM_FLUSH calls: $before before the fsync, $after after"
check fsync-issued-h-scm-flush test "$after" -gt "$before"
check no-flush-error sh -c '! dmesg | grep -q "flush error"'
check file-size sh -c '[ "$(stat -c %s /mnt/file)" = 1048576 ]'
check umount umount /mnt
check destroy-fsdax ndctl destroy-namespace -f "$ns"
