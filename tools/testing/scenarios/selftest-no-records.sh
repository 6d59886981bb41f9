# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a scenario run with two drivers that records nothing to compare between them fails
# kernel: default
# drivers: c rust
# expect-problem: emitted no JSON record
# timeout: 60

check runs test -d /proc
