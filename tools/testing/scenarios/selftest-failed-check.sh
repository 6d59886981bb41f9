# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a failing check fails the scenario
# expect: failed-check
# timeout: 60

check passes test -d /proc
check fails false
