# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a scenario that runs no check of its own fails, although finish adds dmesg-clean
# expect-problem: ran no check
# timeout: 60

echo "this scenario checks nothing; finish's dmesg-clean must not count"
