# SPDX-License-Identifier: GPL-2.0
#
# nvdimm-rs: a Rust NVDIMM guest driver stack for Linux 7.3, built as an
# overlay of the pinned kernel source, and its test VMM.
#
#   make run      build, boot an x86 guest with a vNVDIMM, create a namespace,
#                 write and read it back, show 'ndctl list'
#   make check    everything: host tests, every boot scenario, and the debug lane
#   make check-debug  every Rust-driver scenario on the debug kernels (KASAN,
#                 lockdep, atomic sleep, debug objects, kmemleak); a splat fails it
#   make scenario S=NAME [DRIVER=rust|c] [GUEST=x86_64|ppc64le|powernv] [KERNEL=debug]  one scenario
#   make bench    benchmark tables (Rust vs C drivers on one guest)
#   make bench-vmm  the test VMM vs QEMU's native nvdimm (label _DSM, boot, pmem I/O)
#
# Downloads and builds live in $(NVDIMM_RS_CACHE) (default ~/.cache/nvdimm-rs).

H := tools/testing/harness
comma := ,
# The guests: x86_64 (QEMU pc), ppc64le (pseries), powernv (a ppc64le kernel
# of its own configuration on QEMU's powernv9 with skiboot). The debug lane
# has no PowerNV kernel.
ARCHES := x86_64 ppc64le powernv
DEBUG_ARCHES = $(filter-out powernv,$(ARCHES))
export NVDIMM_RS_CACHE ?= $(HOME)/.cache/nvdimm-rs
CARGO_TARGET := $(NVDIMM_RS_CACHE)/cargo-target
CARGO := CARGO_TARGET_DIR=$(CARGO_TARGET) cargo
RUNNER := $(CARGO_TARGET)/release/nvdimm-harness

.PHONY: all setup kernel initramfs tools run scenario check check-host check-guest bench bench-vmm \
	scenarios rustfmt clean-cache help kernel-debug initramfs-debug check-debug

all: kernel initramfs

help:
	@sed -n 's/^#   //p' Makefile

# Installs what both architectures need, then proves every tool works
# (seconds when all is there; a missing piece is named before any build).
setup:
	$(H)/setup.sh x86_64 ppc64le

kernel: setup
	@for a in $(ARCHES); do $(H)/kernel.sh $$a || exit 1; done

tools: setup
	$(CARGO) build --release --locked --manifest-path tools/Cargo.toml

initramfs: kernel tools
	@for a in $(ARCHES); do $(H)/initramfs.sh $$a || exit 1; done

# The debug kernels: nvdimm_rs.config + nvdimm_rs_debug.config, LLVM 22,
# their own build directories ($(NVDIMM_RS_CACHE)/build/<arch>-debug).
kernel-debug: setup
	@for a in $(DEBUG_ARCHES); do $(H)/kernel.sh $$a debug || exit 1; done

initramfs-debug: kernel-debug tools
	@for a in $(DEBUG_ARCHES); do $(H)/initramfs.sh $$a debug || exit 1; done

# The main job: one guest, one vNVDIMM, the Rust nfit_rs, a namespace written
# and read. It builds the x86 guest only (target-specific ARCHES reach its
# prerequisites).
run: ARCHES := x86_64
run: initramfs
	$(RUNNER) run demo --driver rust
	@echo
	@echo "Next:"
	@echo "  make scenario S=demo DRIVER=c           # the same on the C nfit driver"
	@echo "  make scenarios                          # list every scenario"
	@echo "  make scenario S=vmm-ndctl               # one scenario (rebuilds what changed first)"
	@echo "  make scenario S=papr-enum GUEST=ppc64le # one on a pseries guest"
	@echo "  make check                              # the whole suite, both architectures"

# One scenario (see the header), after rebuilding what changed in its
# guest's kernel and initramfs (an edited driver: seconds).
DRIVER ?= rust
GUEST ?= x86_64
KERNEL ?= default
scenario: ARCHES = $(GUEST)
scenario: $(if $(filter debug,$(KERNEL)),initramfs-debug,initramfs)
	@[ -n "$(S)" ] || { echo "usage: make scenario S=NAME [DRIVER=rust|c] [GUEST=x86_64|ppc64le|powernv] [KERNEL=debug]"; exit 2; }
	$(RUNNER) --kernel $(KERNEL) run $(S) --driver $(DRIVER) --arch $(GUEST)

check-host: tools
	cd tools && $(CARGO) fmt --all --check
	cd tools && $(CARGO) clippy --release --locked --all-targets -- -D warnings
	cd tools && $(CARGO) test --release --locked
	# One million inputs each through the NFIT and PAPR device-tree parsers.
	CARGO_TARGET_DIR=$(CARGO_TARGET) tools/nfit/fuzz.sh 1000000
	CARGO_TARGET_DIR=$(CARGO_TARGET) tools/papr/fuzz.sh 1000000
	CARGO_TARGET_DIR=$(CARGO_TARGET) tools/ocxlpmem/fuzz.sh 1000000
	# The test VMM's SSDT and NFIT of every scenario configuration through
	# ACPICA: iasl -d, iasl, acpiexec (Documentation/nvdimm-rs/vmm.rst).
	CARGO_TARGET_DIR=$(CARGO_TARGET) $(H)/acpica.sh

# Three guests at once on two cores: a guest waits (on the test VMM, on a
# scenario's deadline, on QEMU) for part of its run, and two at once left
# about 40 % of the CPU idle.
JOBS ?= 3
check-guest: initramfs
	$(RUNNER) check --jobs $(JOBS) --arch $(subst $(eval) ,$(comma),$(ARCHES))

# The debug lane: every Rust-driver scenario (and the Rust KUnit suites) on
# the debug kernels; any lockdep, KASAN, atomic-sleep, debug-objects or
# kmemleak report fails the scenario (Documentation/nvdimm-rs/testing.rst).
# The x86_64 and pseries guests (there is no PowerNV debug kernel); KASAN on
# x86_64 only (rustc has none for powerpc64le).
# Three guests at once on two cores: a debug guest leaves its core idle for
# a third of its run (kmemleak's 6 s ageing wait at the end of each boot,
# waits on the test VMM), and the timeouts are four times the default's.
DEBUG_JOBS ?= 3
check-debug: initramfs-debug
	$(RUNNER) --kernel debug check --jobs $(DEBUG_JOBS) --arch $(subst $(eval) ,$(comma),$(DEBUG_ARCHES))

check: check-host check-guest check-debug

# Benchmarks print tables; they are never part of check.
bench: initramfs
	$(RUNNER) run bench-nfit --quiet
	$(RUNNER) run bench-nfit-ars --quiet
	$(RUNNER) run bench-papr --arch ppc64le --quiet
	@grep -h '^BENCH|' $(NVDIMM_RS_CACHE)/results/x86_64/bench-nfit-c/console-boot1.log \
		$(NVDIMM_RS_CACHE)/results/x86_64/bench-nfit-ars-c/console-boot1.log \
		$(NVDIMM_RS_CACHE)/results/ppc64le/bench-papr-c/console-boot1.log | sed 's/^BENCH//'

# The test VMM against QEMU's own nvdimm, boots alternating on one guest.
bench-vmm: initramfs
	$(RUNNER) bench-vmm

scenarios: tools
	@$(RUNNER) list

# Format the overlay's kernel Rust with the kernel's rustfmt settings (the
# kernel build checks it with 'make rustfmtcheck').
rustfmt:
	/usr/bin/rustfmt --edition 2021 --config-path $(NVDIMM_RS_CACHE)/tree/.rustfmt.toml \
		$$(git ls-files -co --exclude-standard -- 'rust/*.rs' 'samples/*.rs' 'drivers/*.rs')
	cd tools && cargo fmt --all

clean-cache:
	rm -rf $(NVDIMM_RS_CACHE)/build $(NVDIMM_RS_CACHE)/tree $(NVDIMM_RS_CACHE)/tree.series $(CARGO_TARGET)
