# SPDX-License-Identifier: GPL-2.0
# title: test VMM self-test: a guest kernel panic ends nvdimm-vmm with its panic exit code, and the harness reports it
# platform: vmm
# expect: panic
# timeout: 60

echo "crashing the kernel on purpose"
echo c >/proc/sysrq-trigger
