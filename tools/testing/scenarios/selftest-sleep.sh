# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a sleep used as synchronisation rejects the scenario
# expect-problem: 'sleep' is not synchronisation

modprobe nfit
sleep 1
check regions test -e /sys/bus/nd/devices/region0
