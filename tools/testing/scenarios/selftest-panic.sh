# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a kernel panic is caught and classified
# expect: panic
# timeout: 60

echo "crashing the kernel on purpose"
echo c >/proc/sysrq-trigger
