# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a hung guest is killed at its timeout
# expect: timeout
# timeout: 15

echo "hanging on purpose"
while :; do sleep 1; done
