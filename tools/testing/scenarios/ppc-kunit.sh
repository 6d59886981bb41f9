# SPDX-License-Identifier: GPL-2.0
# title: the KUnit suites of the Rust code ran at boot on pseries and on PowerNV, and passed
# kernel: default debug
# arch: ppc64le powernv
# timeout: 120
# min-checks: 17
#
# Built-in KUnit suites run before init; their KTAP results are in dmesg.
# pseries has the PAPR and PMU suites (the PowerNV configuration has no perf
# events); PowerNV is the only configuration with the ocxl core, so
# kernel::ocxl's suite (rust_kernel_ocxl) runs there, with the sysfs and
# firmware-upload suites its card driver's configuration brings.

suites="rust_nvdimm_cmd rust_nvdimm_cookie rust_nvdimm_flags rust_nvdimm_bus rust_nvdimm_example rust_mce"
if grep -Eq '^platform[[:space:]]*: PowerNV$' /proc/cpuinfo; then
	suites="$suites rust_kernel_ocxl rust_nvdimm_sysfs rust_firmware_upload"
else
	suites="$suites rust_nvdimm_papr rust_nvdimm_pmu"
fi
for suite in $suites; do
	check "kunit-$suite-ran" sh -c "dmesg | grep -q '# Subtest: $suite'"
	check "kunit-$suite-passed" sh -c "dmesg | grep -Eq '^\[[ 0-9.]+\] +ok [0-9]+ $suite\$'"
done
check kunit-no-failures sh -c '! dmesg | grep -E "^\[[ 0-9.]+\] +not ok "'
dmesg | grep -E '# Subtest|ok [0-9]+ ' | head -40
