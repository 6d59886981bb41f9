# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a run with fewer checks than the scenario declares fails
# min-checks: 3
# expect-problem: fewer than the scenario's '# min-checks: 3'
# timeout: 60
#
# A scenario that stops early (here: an exit after its first check, as a
# failing 'require' would without reporting) must not pass on what it did.

check runs test -d /proc
exit 0
check second test -d /sys
check third test -d /dev
