#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the test initramfs for one architecture: busybox, ndctl and kmod
# with their libraries, the guest tools of the workspace, the kernel's
# modules, /init with its helpers, and every scenario.
#   x86_64:  the host's own binaries and libraries;
#   ppc64le: Debian ppc64el packages fetched with 'apt-get download' through
#            a separate apt state in the cache and unpacked with 'dpkg -x',
#            and the guest tools cross-built for powerpc64le-unknown-linux-gnu
#            against Debian's ppc64el Rust standard library;
#   powernv: the same userspace as ppc64le, with the PowerNV kernel's
#            modules (build/powernv).
# Usage: initramfs.sh <x86_64|ppc64le|powernv> [default|debug]  (the kernel
# flavour whose modules it takes; see config.sh)
set -euo pipefail
. "$(dirname "$0")/config.sh"

ARCH=${1:?usage: initramfs.sh <x86_64|ppc64le|powernv>}
GUEST_NAME=$ARCH
case "$ARCH" in
x86_64) KARCH=x86_64 ;;
ppc64le | powerpc) ARCH=ppc64le KARCH=powerpc ;;
# KARCH names the build directory (config.sh kbuild_dir).
powernv) ARCH=ppc64le KARCH=powernv ;;
*) die "initramfs for $ARCH is not supported" ;;
esac
set_flavour "${2:-}"
OUT=$(kbuild_dir "$KARCH")
ROOT=$OUT/initramfs-root
# PACKAGE or PACKAGE:BINARY (a package whose guest binary has another name).
GUEST_TOOLS=(pattern nd-ioctl bar-poke ocxlpmem-core:ocxlpmem)

[ -d "$OUT/modules/lib/modules" ] || die "no modules in $OUT/modules: run 'make kernel'"

# --- ppc64le: Debian ppc64el packages and cross-built guest tools ---------
. "$HARNESS/ppc64el.sh"
# The guest's userspace: what toolchain.md lists for busybox, ndctl and kmod,
# plus e2fsprogs (mkfs.ext4 for the fsdax scenarios) and its libraries.
PPC_PKGS=(busybox-static ndctl libndctl6 libdaxctl1 kmod libkmod2 libjson-c5 libuuid1
	libudev1 libc6 libkeyutils1 libiniparser1 liblzma5 libzstd1 libssl3 libcap2
	libgcc-s1 zlib1g libcxl1 libtraceevent1 libtracefs1 e2fsprogs libext2fs2 libss2 libcom-err2 libblkid1)

fetch_ppc_debs() {
	local p miss=()
	for p in "${PPC_PKGS[@]}"; do have_deb "$p" || miss+=("$p"); done
	[ ${#miss[@]} -eq 0 ] && return
	ppc_apt_update
	say "apt-get download (ppc64el): ${miss[*]}"
	(cd "$PPC_DEBS" && ppc_apt download "${miss[@]}") || die "cannot download ppc64el packages: ${miss[*]}"
}

# Cross-builds the guest tools with /usr/bin/rustc (the version of the
# ppc64el libstd) and the powerpc64le-linux-gnu GCC as linker ('make setup'
# proved that this pair links a program).
build_ppc_tools() {
	make_rust_sysroot
	command -v powerpc64le-linux-gnu-gcc >/dev/null || die "powerpc64le-linux-gnu-gcc missing: run 'make setup'"
	local t=${RUST_TARGET^^}
	t=${t//-/_}
	(cd "$REPO/tools" && env CARGO_TARGET_DIR="$CACHE/cargo-target" RUSTC=/usr/bin/rustc \
		"CARGO_TARGET_${t}_LINKER=powerpc64le-linux-gnu-gcc" \
		"CARGO_TARGET_${t}_RUSTFLAGS=--sysroot=$RUST_SYSROOT" \
		cargo build -q --release --locked --target "$RUST_TARGET" $(for t in "${GUEST_TOOLS[@]}"; do printf -- '-p %s ' "${t%%:*}"; done)) ||
		die "cross-building the guest tools for $RUST_TARGET failed"
}

if [ "$ARCH" = ppc64le ]; then
	fetch_ppc_debs
	build_ppc_tools
	GUEST_BINS=()
	for t in "${GUEST_TOOLS[@]}"; do GUEST_BINS+=("$CACHE/cargo-target/$RUST_TARGET/release/${t##*:}"); done
else
	GUEST_BINS=()
	for t in "${GUEST_TOOLS[@]}"; do GUEST_BINS+=("$CACHE/cargo-target/release/${t##*:}"); done
fi
for b in "${GUEST_BINS[@]}"; do [ -x "$b" ] || die "$b missing: run 'make tools'"; done

rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,etc,lib,harness,scenarios,proc,sys,dev,tmp,run}

# Host binary plus every shared library it needs, at the same paths.
add_elf() {
	local src=$1 dst=$2 lib
	install -D -m 0755 "$src" "$ROOT$dst"
	for lib in $(ldd "$src" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
		[ -e "$ROOT$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ROOT$lib"
	done
}

if [ "$ARCH" = ppc64le ]; then
	for p in "${PPC_PKGS[@]}"; do dpkg-deb -x "$(ls "$PPC_DEBS/${p}_"*.deb | head -n 1)" "$ROOT"; done
	# Debian 12 packages still ship /bin, /sbin and /lib: /init and lib.sh
	# expect busybox in /bin and kmod's tools in /sbin.
	[ -x "$ROOT/bin/busybox" ] || die "busybox missing from the ppc64el root"
	ln -sf busybox "$ROOT/bin/sh"
	for t in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf /bin/kmod "$ROOT/sbin/$t"; done
	for b in "${GUEST_BINS[@]}"; do install -D -m 0755 "$b" "$ROOT/usr/bin/$(basename "$b")"; done
	# Every library a guest binary needs must be in the root.
	for b in "$ROOT/usr/bin/ndctl" "$ROOT/bin/kmod" "$ROOT/sbin/mke2fs" "${GUEST_BINS[@]}"; do
		for l in $(powerpc64le-linux-gnu-readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			compgen -G "$ROOT/lib/powerpc64le-linux-gnu/$l" >/dev/null ||
				compgen -G "$ROOT/usr/lib/powerpc64le-linux-gnu/$l" >/dev/null ||
				die "$(basename "$b") needs $l, which no ppc64el package of PPC_PKGS provides"
		done
	done
	rm -rf "$ROOT/usr/share"
else
	install -m 0755 /bin/busybox "$ROOT/bin/busybox"
	ln -s busybox "$ROOT/bin/sh"
	add_elf /usr/bin/ndctl /usr/bin/ndctl
	add_elf /usr/bin/kmod /sbin/kmod
	for t in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf kmod "$ROOT/sbin/$t"; done
	add_elf /sbin/mke2fs /sbin/mke2fs
	ln -sf mke2fs "$ROOT/sbin/mkfs.ext4"
	for b in "${GUEST_BINS[@]}"; do add_elf "$b" "/usr/bin/$(basename "$b")"; done
fi

cp -a "$OUT/modules/lib/modules" "$ROOT/lib/"
install -m 0755 "$REPO/tools/testing/guest/init" "$ROOT/init"
install -m 0644 "$REPO/tools/testing/guest/lib.sh" "$ROOT/harness/lib.sh"
install -m 0644 "$REPO"/tools/testing/scenarios/*.sh "$ROOT/scenarios/"
echo "root:x:0:0:root:/:/bin/sh" >"$ROOT/etc/passwd"

# Not compressed: a guest under TCG takes about a second (the debug
# pseries guest five) to gunzip it, on every boot; QEMU loads the bigger
# file in milliseconds.
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
	>"$OUT/initramfs.cpio.new"
mv "$OUT/initramfs.cpio.new" "$OUT/initramfs.cpio"
rm -f "$OUT/initramfs.cpio.gz"
say "initramfs $GUEST_NAME: $OUT/initramfs.cpio ($(du -h "$OUT/initramfs.cpio" | cut -f1))"
