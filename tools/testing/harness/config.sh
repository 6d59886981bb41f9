# SPDX-License-Identifier: GPL-2.0
#
# Shared settings of the build and boot harness. Sourced by every harness script.

# Pinned kernel source: Debian's linux-source-7.3 from trixie-backports. A
# different version served by the mirror is an error, never a silent rebuild.
KERNEL_PKG=linux-source-7.3
KERNEL_DEB_VERSION='7.3.4-1~bpo13+1'
KERNEL_TARBALL=linux-source-7.3.tar.xz
KERNEL_SUITE=trixie-backports

# bindgen-cli version range accepted by the kernel's Rust build (7.3 needs >= 0.71.1).
BINDGEN_VERSION='^0.72'

# Everything downloaded or built lives here, outside the clone.
CACHE=${NVDIMM_RS_CACHE:-$HOME/.cache/nvdimm-rs}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
HARNESS=$REPO/tools/testing/harness

KSRC_PRISTINE=$CACHE/src/linux-$KERNEL_DEB_VERSION
KTREE=$CACHE/tree                   # pristine + patches + overlay

# Kernel flavour: '' (the guests of make check) or 'debug' (KASAN, lockdep,
# atomic-sleep checks, debug objects, kmemleak, Rust debug assertions: the
# fragment arch/<arch>/configs/nvdimm_rs_debug.config on top of
# nvdimm_rs.config). Each flavour has its own O= directory, modules and
# initramfs; the scripts take it as the argument after the architecture.
FLAVOUR=${NVDIMM_RS_FLAVOUR:-}
set_flavour() {
	case "$1" in
	'' | default) FLAVOUR= ;;
	debug) FLAVOUR=debug ;;
	*) die "unknown kernel flavour '$1' (default, debug)" ;;
	esac
}
# Per-architecture (and flavour) O= directory: build/x86_64, build/x86_64-debug,
# build/powernv.
kbuild_dir() { echo "$CACHE/build/$1${FLAVOUR:+-$FLAVOUR}"; }

# The patches of patches/series, in order.
series_patches() { grep -v '^#' "$REPO/patches/series" 2>/dev/null || true; }
# Paths a patch creates, changes or deletes (both sides of every file header).
patch_paths() {
	sed -n -e 's|^--- a/\([^[:space:]]*\).*|\1|p' -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

BINDGEN=$CACHE/bindgen/bin/bindgen
# The core library source of rustc-web (package rust-web-src).
RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

# The C compiler of each architecture's kernel. x86 builds with GCC: Rust
# on x86 needs no clang (bindgen reads GCC's flags), and a fresh x86 build
# took 6.5 minutes on two cores against 10 with clang-19 (2026-12-03).
# powerpc builds with LLVM: bindgen fails on GCC's -mprofile-kernel.
# The x86 debug kernel builds with the LLVM of rustc-web (22): KASAN with
# Rust needs clang (init/Kconfig: RUST depends on !KASAN || CC_IS_CLANG), and
# one LLVM then instruments C and Rust alike. powerpc has no KASAN with Rust
# (see arch/powerpc/configs/nvdimm_rs_debug.config) and keeps LLVM 19.
LLVM_DEBUG_SUFFIX=-22
llvm_for() {
	case "$1" in
	powerpc | ppc64le | powernv) echo "LLVM=$LLVM_SUFFIX" ;;
	*) [ "$FLAVOUR" != debug ] || echo "LLVM=$LLVM_DEBUG_SUFFIX" ;;
	esac
}

# The kbuild ARCH of a build name: powernv (the PowerNV guest, its own
# configuration and O= directory) is a powerpc kernel.
kbuild_arch() { case "$1" in ppc64le | powernv) echo powerpc ;; *) echo "$1" ;; esac; }

# Kernel make with the Rust toolchain of toolchain.md. Rust is always built
# through clippy with warnings as errors, so a lint is a build failure (and
# switching CLIPPY on and off never forces a rebuild).
kmake() {
	local arch=$1; shift
	# bindgen parses with the libclang of the C compiler's LLVM.
	case "$(llvm_for "$arch")" in
	"LLVM=$LLVM_DEBUG_SUFFIX") export LIBCLANG_PATH=/usr/lib/llvm${LLVM_DEBUG_SUFFIX}/lib ;;
	esac
	# shellcheck disable=SC2046
	make -C "$KTREE" O="$(kbuild_dir "$arch")" ARCH="$(kbuild_arch "$arch")" $(llvm_for "$arch") \
		RUSTC=/usr/bin/rustc RUST_LIB_SRC="$RUST_LIB_SRC" \
		RUSTFMT=/usr/bin/rustfmt CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver \
		KRUSTFLAGS=-Dwarnings BINDGEN="$BINDGEN" -j"$(nproc)" "$@"
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
