# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a header key with a typo rejects the scenario instead of being ignored
# drviers: c rust
# expect-problem: 'drviers': unknown header key

check runs test -d /proc
