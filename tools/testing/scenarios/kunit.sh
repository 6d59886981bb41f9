# SPDX-License-Identifier: GPL-2.0
# title: the KUnit suites of the Rust code ran (at boot, and from the fault module) and passed
# kernel: default debug
# timeout: 120
# min-checks: 25
#
# Built-in KUnit suites run before init; their KTAP results are in dmesg.
# rust_nvdimm_faults makes the libnvdimm core fail registrations on purpose
# (duplicate sysfs names, which sysfs reports with a stack dump), so it is a
# module that runs its suite when loaded here rather than at every boot.

known_dmesg 'Call Trace|cannot create duplicate filename|failed for dev|nd_async_device_register: failed' \
	'rust_nvdimm_faults makes sysfs refuse duplicate names on purpose (a stack dump)'
check load-rust-nvdimm-faults modprobe rust_nvdimm_faults
check faults-dumped-a-duplicate sh -c "dmesg | grep -q 'cannot create duplicate filename .*/kunit/tag'"
for suite in rust_nvdimm_cmd rust_nvdimm_cookie rust_nvdimm_flags rust_nvdimm_sysfs rust_nvdimm_bus rust_nvdimm_example rust_nvdimm_faults rust_firmware_upload rust_nvdimm_pmu rust_mce rust_module_param; do
	check "kunit-$suite-ran" sh -c "dmesg | grep -q '# Subtest: $suite'"
	check "kunit-$suite-passed" sh -c "dmesg | grep -Eq '^\[[ 0-9.]+\] +ok [0-9]+ $suite\$'"
done
check kunit-no-failures sh -c '! dmesg | grep -E "^\[[ 0-9.]+\] +not ok "'
dmesg | grep -E '# Subtest|ok [0-9]+ ' | head -60
