# SPDX-License-Identifier: GPL-2.0
# title: papr_scm bus, DIMMs and regions enumerate with health; labels initialise
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K
# nvdimm: size=256M label-size=128K pmem=on
# timeout: 180
# min-checks: 13
#
# QEMU's spapr-nvdimm on a plain file asks for H_SCM_FLUSH
# (ibm,hcall-flush-required); with pmem=on it does not.

load_papr_scm 2
ndctl list -BDRH
check two-buses sh -c '[ "$(ndctl list -B | grep -c "\"provider\":\"ibm,persistent-memory:ibm,pmemory@")" = 2 ]'
check two-dimms sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 2 ]'
check health-ok sh -c '[ "$(ndctl list -DH | grep -c "\"health_state\":\"ok\"")" = 2 ]'
check two-regions sh -c '[ "$(ndctl list -R | grep -c "\"dev\":\"region")" = 2 ]'
check region-size sh -c 'ndctl list -R | grep -q "\"size\":268435456"'
check papr-flags sh -c 'cat /sys/bus/nd/devices/nmem0/papr/flags'
check label-area sh -c 'ndctl read-labels -j nmem0 >/dev/null'
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f all && ndctl enable-region all'
check labels-valid ndctl check-labels nmem0 nmem1
json bdrh ndctl list -BDRH
