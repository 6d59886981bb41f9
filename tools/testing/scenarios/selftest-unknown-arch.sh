# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a scenario whose arch matches no architecture the harness runs is rejected, not dropped
# arch: x86
# expect-problem: architecture 'x86' matches none

check runs test -d /proc
