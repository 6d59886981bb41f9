# SPDX-License-Identifier: GPL-2.0
# title: the KUnit suites of the Rust code ran at boot on pseries and passed
# kernel: default debug
# arch: ppc64le
# timeout: 120
# min-checks: 17
#
# Built-in KUnit suites run before init; their KTAP results are in dmesg.

for suite in rust_nvdimm_cmd rust_nvdimm_cookie rust_nvdimm_flags rust_nvdimm_bus rust_nvdimm_example rust_nvdimm_papr rust_nvdimm_pmu rust_mce; do
	check "kunit-$suite-ran" sh -c "dmesg | grep -q '# Subtest: $suite'"
	check "kunit-$suite-passed" sh -c "dmesg | grep -Eq '^\[[ 0-9.]+\] +ok [0-9]+ $suite\$'"
done
check kunit-no-failures sh -c '! dmesg | grep -E "^\[[ 0-9.]+\] +not ok "'
dmesg | grep -E '# Subtest|ok [0-9]+ ' | head -40
