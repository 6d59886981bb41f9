# SPDX-License-Identifier: GPL-2.0
# title: harness self-test (debug kernel): a leak that kmemleak finds fails the scenario
# kernel: debug
# expect-problem: check 'kmemleak-clean' failed
# timeout: 120
#
# samples/kmemleak (CONFIG_SAMPLE_KMEMLEAK=m in the debug fragment) leaks
# kmalloc, vmalloc and per-CPU objects on purpose when it loads: finish's
# kmemleak scan must find them and fail kmemleak-clean (the harness also
# sees the "unreferenced object" lines on the console).

check load-kmemleak-test modprobe kmemleak-test
