#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the test initramfs for one architecture: busybox, ndctl and kmod
# with their libraries, the guest tools of the workspace, the kernel's
# modules, /init with its helpers, and every scenario.
# Usage: initramfs.sh <x86_64>
set -euo pipefail
. "$(dirname "$0")/config.sh"

ARCH=${1:?usage: initramfs.sh <arch>}
OUT=$(kbuild_dir "$ARCH")
ROOT=$OUT/initramfs-root
GUEST_BINS=("$CACHE/cargo-target/release/pattern" "$CACHE/cargo-target/release/nd-ioctl")

[ "$ARCH" = x86_64 ] || die "initramfs for $ARCH is not supported yet"
[ -d "$OUT/modules/lib/modules" ] || die "no modules in $OUT/modules: run 'make kernel'"
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

install -m 0755 /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
add_elf /usr/bin/ndctl /usr/bin/ndctl
add_elf /usr/bin/kmod /sbin/kmod
for t in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf kmod "$ROOT/sbin/$t"; done
for b in "${GUEST_BINS[@]}"; do add_elf "$b" "/usr/bin/$(basename "$b")"; done

cp -a "$OUT/modules/lib/modules" "$ROOT/lib/"
install -m 0755 "$REPO/tools/testing/guest/init" "$ROOT/init"
install -m 0644 "$REPO/tools/testing/guest/lib.sh" "$ROOT/harness/lib.sh"
install -m 0644 "$REPO"/tools/testing/scenarios/*.sh "$ROOT/scenarios/"
echo "root:x:0:0:root:/:/bin/sh" >"$ROOT/etc/passwd"

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 >"$OUT/initramfs.cpio.gz.new"
mv "$OUT/initramfs.cpio.gz.new" "$OUT/initramfs.cpio.gz"
say "initramfs $ARCH: $OUT/initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1))"
