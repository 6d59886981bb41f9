# SPDX-License-Identifier: GPL-2.0
# title: test VMM self-test: a hung guest is killed by nvdimm-vmm at its timeout (exit code 4), and the harness reports it
# platform: vmm
# expect: timeout
# timeout: 15

echo "hanging on purpose"
while :; do sleep 1; done
