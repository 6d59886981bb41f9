# SPDX-License-Identifier: GPL-2.0
# title: fsync on a file in an fsdax namespace on an hcall-flush DIMM issues H_SCM_FLUSH
# arch: ppc64le
# drivers: c
# nvdimm: size=256M label-size=128K
# qemu-trace: thread_pool_submit_aio
# timeout: 300
#
# Two witnesses: in the guest, papr_scm's dev_dbg() lines around the hcall
# ("flush drc 0x... complete" after H_SCM_FLUSH returned H_SUCCESS), counted
# before and after the fsync; on the host, QEMU's thread_pool_submit_aio
# trace event, which spapr-nvdimm fires when H_SCM_FLUSH hands the
# fdatasync() of the backing file to its worker thread (the guest has no
# other device that uses QEMU's thread pool: the same guest running
# papr-enum, labels written but no data, logs no such event). The harness
# fails the boot if that event never fired.

flushes() { dmesg | grep -c 'flush drc 0x[0-9a-f]* complete'; }

load_papr_scm 1 dyndbg=+p
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
check region-hcall-flush sh -c 'ls /proc/device-tree/ibm,persistent-memory/*/ibm,hcall-flush-required'
ns_create create-fsdax fsdax 128M || exit 1
# No journal: the only flush after the write is the one fsync asks for.
require mkfs-ext4 mkfs.ext4 -q -F -b 4096 -O ^has_journal "$dev"
mkdir -p /mnt
require mount-dax mount -t ext4 -o dax "$dev" /mnt
check mounted-with-dax sh -c 'grep " /mnt " /proc/mounts | grep -q "dax"'
sync
sleep 1
before=$(flushes)
check write-fsync dd if=/dev/urandom of=/mnt/file bs=64k count=16 conv=fsync
after=$(flushes)
echo "H_SCM_FLUSH completions: $before before the fsync, $after after"
check fsync-issued-h-scm-flush test "$after" -gt "$before"
check no-flush-error sh -c '! dmesg | grep -q "flush error"'
check file-size sh -c '[ "$(stat -c %s /mnt/file)" = 1048576 ]'
check umount umount /mnt
check destroy-fsdax ndctl destroy-namespace -f "$ns"
