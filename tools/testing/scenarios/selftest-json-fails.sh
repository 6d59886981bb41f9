# SPDX-License-Identifier: GPL-2.0
# title: harness self-test: a JSON record whose command fails is a failed check that keeps the error, not an empty list
# expect-problem: check 'json-list' failed
# timeout: 60
#
# Two drivers whose 'ndctl list' both fail used to record '[]' and compare
# equal.

check runs test -d /proc
json list ndctl list --no-such-option
