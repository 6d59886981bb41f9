# SPDX-License-Identifier: GPL-2.0
# title: harness self-test (debug kernel): an out-of-bounds write that KASAN reports fails the scenario
# kernel: debug
# expect-problem: BUG: KASAN: slab-out-of-bounds in lkdtm_SLAB_LINEAR_OVERFLOW
# timeout: 120
#
# LKDTM (CONFIG_LKDTM=m in the x86_64 debug fragment) writes one word past
# a 1020-byte kmalloc() when SLAB_LINEAR_OVERFLOW is written to its DIRECT
# file. KASAN reports the write and the kernel goes on. The scenario
# excuses the report in dmesg-clean, so the run can only fail by the
# harness's own reading of the console, which no known_dmesg can excuse.
# x86_64 only: rustc has no kernel-address sanitizer for powerpc64le.

known_dmesg 'KASAN|Call Trace' 'LKDTM overflows a slab object on purpose'
[ -d /sys/kernel/debug/provoke-crash ] || mount -t debugfs debugfs /sys/kernel/debug
require load-lkdtm modprobe lkdtm
check provoke-overflow sh -c 'echo SLAB_LINEAR_OVERFLOW >/sys/kernel/debug/provoke-crash/DIRECT'
check unload-lkdtm rmmod lkdtm
