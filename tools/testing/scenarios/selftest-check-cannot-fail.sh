# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a check whose command cannot fail rejects the scenario
# expect-problem: this check cannot fail

modprobe nfit
check probe-returns true
