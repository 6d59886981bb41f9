# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: wait_for gives up at its deadline in seconds, however slow the polled command is
# expect-problem: check 'bounded-wait' failed
# timeout: 40
#
# Each poll takes 3 s and never succeeds. A deadline of 2 s ends the wait
# after the first poll, so the check fails within seconds; a wait_for that
# counted 20 turns of 0.1 s would poll for a minute and the guest would hit
# its timeout instead.

check bounded-wait wait_for 2 sh -c 'sleep 3; false'
