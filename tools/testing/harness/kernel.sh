#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel for one architecture from the pinned source plus this
# repository's overlay:
#   1. the build tree is the pristine source with patches/series applied
#      (re-created only when the series changes);
#   2. the repository's kernel-path directories are copied over it (only
#      files whose content changed are rewritten, so kbuild rebuilds little);
#   3. generated hook lines make Kbuild see the overlay: the repository's
#      top-level Kconfig is sourced from the kernel's, and every
#      <dir>/Makefile.overlay is included from <dir>/Makefile;
#   4. .config = tinyconfig + arch/<arch>/configs/nvdimm_rs.config (the debug
#      flavour adds arch/<arch>/configs/nvdimm_rs_debug.config), made again
#      only when a fragment or Kconfig file of the overlay changes;
#   5. make vmlinux/bzImage and modules, then install modules into
#      $CACHE/build/<arch>[-debug]/modules for the initramfs.
# Usage: kernel.sh <x86_64|powerpc|ppc64le> [default|debug] [extra make targets]
# (ppc64le, the harness's name for a little-endian pseries guest, builds ARCH=powerpc)
set -euo pipefail
. "$(dirname "$0")/config.sh"

ARCH=${1:?usage: kernel.sh <arch> [default|debug]}
shift
case "${1:-}" in default | debug) set_flavour "$1"; shift ;; esac
[ "$ARCH" = ppc64le ] && ARCH=powerpc
OUT=$(kbuild_dir "$ARCH")
# Kernel-path directories of the repository that are copied into the tree.
OVERLAY_DIRS=(Documentation arch drivers include kernel lib rust samples)
HOOK_MARK='# --- nvdimm-rs overlay hook (generated) ---'

# One build at a time per cache: the tree and O= directories are shared.
mkdir -p "$CACHE/build"
exec 9>"$CACHE/build/.lock"
flock 9

[ -f "$KSRC_PRISTINE/.unpacked" ] || die "kernel source missing in $KSRC_PRISTINE: run 'make setup'"
[ -x "$BINDGEN" ] || die "bindgen missing at $BINDGEN: run 'make setup'"

series_id() {
	(cd "$REPO" && { cat patches/series 2>/dev/null; for p in $(grep -v '^#' patches/series 2>/dev/null); do cat "patches/$p"; done; } | sha256sum | cut -c1-16)
}

make_tree() {
	local want have
	want=$(series_id)
	have=$(cat "$KTREE/.nvdimm-rs-series" 2>/dev/null || true)
	[ "$want" = "$have" ] && return
	say "assembling build tree $KTREE (patch series $want)"
	rm -rf "$KTREE.new"
	cp -a "$KSRC_PRISTINE" "$KTREE.new"
	local p
	for p in $(grep -v '^#' "$REPO/patches/series" 2>/dev/null); do
		say "  applying $p"
		patch -d "$KTREE.new" -p1 -s --no-backup-if-mismatch -F0 -i "$REPO/patches/$p" ||
			die "patch $p does not apply to $KERNEL_PKG $KERNEL_DEB_VERSION"
	done
	rm -rf "$KTREE"
	mv "$KTREE.new" "$KTREE"
	echo "$want" >"$KTREE/.nvdimm-rs-series"
	rm -f "$KTREE/.nvdimm-rs-manifest"
}

# Copy overlay files; restore or remove files that left the overlay.
copy_overlay() {
	local d new old f
	new=$(mktemp)
	(cd "$REPO" && for d in "${OVERLAY_DIRS[@]}"; do [ -d "$d" ] && git ls-files --cached --others --exclude-standard -- "$d" 2>/dev/null || true; done) | sort >"$new"
	old=$KTREE/.nvdimm-rs-manifest
	if [ -f "$old" ]; then
		comm -23 "$old" "$new" | while read -r f; do
			if [ -e "$KSRC_PRISTINE/$f" ]; then cp -p "$KSRC_PRISTINE/$f" "$KTREE/$f"; else rm -f "$KTREE/$f"; fi
		done
	fi
	(cd "$REPO" && rsync -rc --files-from="$new" . "$KTREE/")
	mv "$new" "$old"
}

# Append (or refresh) generated lines at the end of an upstream file.
hook() {
	local file=$1 lines=$2 cur tmp
	cur=$(sed "/^$HOOK_MARK\$/,\$d" "$file")
	tmp=$(mktemp)
	printf '%s\n%s\n%s\n' "$cur" "$HOOK_MARK" "$lines" >"$tmp"
	if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
}

install_hooks() {
	cp_if_changed "$REPO/Kconfig" "$KTREE/Kconfig.nvdimm-rs"
	hook "$KTREE/Kconfig" 'source "Kconfig.nvdimm-rs"'
	local m dir
	while read -r m; do
		dir=$(dirname "$m")
		[ -f "$KTREE/$dir/Makefile" ] || die "$m: $dir has no upstream Makefile to hook into"
		hook "$KTREE/$dir/Makefile" "include \$(srctree)/$m"
	done < <(grep '/Makefile\.overlay$' "$KTREE/.nvdimm-rs-manifest" || true)
}

cp_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }

# The config fragments of the flavour, in merge order.
fragments() {
	echo nvdimm_rs
	[ "$FLAVOUR" != debug ] || echo nvdimm_rs_debug
}

configure() {
	local frags=() f
	for f in $(fragments); do
		frags+=("$KTREE/arch/$(srcarch)/configs/$f.config")
		[ -f "${frags[-1]}" ] || die "no config fragment arch/$(srcarch)/configs/$f.config in the overlay"
	done
	local want
	want=$({ llvm_for "$ARCH"; cat "${frags[@]}" "$KTREE/Kconfig.nvdimm-rs" $(grep 'Kconfig' "$KTREE/.nvdimm-rs-manifest" | sed "s|^|$KTREE/|"); } | sha256sum | cut -c1-16)
	if [ -f "$OUT/.config" ] && [ "$(cat "$OUT/.nvdimm-rs-config" 2>/dev/null)" = "$want" ]; then
		return
	fi
	say "configuring $ARCH${FLAVOUR:+ ($FLAVOUR)}: tinyconfig + $(fragments | sed 's/$/.config/' | paste -sd+ | sed 's/+/ + /g')"
	mkdir -p "$OUT"
	kmake "$ARCH" rustavailable >/dev/null || die "Rust is not available to the kernel build (see 'make rustavailable' output)"
	# Generate in a scratch directory: tinyconfig there would otherwise touch
	# every symbol's timestamp in $OUT and force a full rebuild.
	local scratch=$OUT.config-scratch
	rm -rf "$scratch"
	mkdir -p "$scratch"
	kmake "$ARCH" O="$scratch" tinyconfig >/dev/null
	for f in $(fragments); do
		kmake "$ARCH" O="$scratch" "$f.config" >/dev/null
	done
	# Every =y/=m and numeric line of the fragments must have survived
	# olddefconfig.
	local line missing=
	while read -r line; do
		case "$line" in CONFIG_*=[ym] | CONFIG_*=[0-9]*) grep -qx "$line" "$scratch/.config" || missing="$missing $line" ;; esac
	done < <(cat "${frags[@]}")
	[ -z "$missing" ] || die "config symbols dropped by Kconfig (unmet dependencies?):$missing"
	cmp -s "$scratch/.config" "$OUT/.config" || cp "$scratch/.config" "$OUT/.config"
	rm -rf "$scratch"
	kmake "$ARCH" olddefconfig >/dev/null
	echo "$want" >"$OUT/.nvdimm-rs-config"
}

srcarch() { case "$ARCH" in x86_64) echo x86 ;; *) echo "$ARCH" ;; esac; }

image_target() { case "$ARCH" in x86_64) echo bzImage ;; powerpc) echo vmlinux ;; esac; }

make_tree
copy_overlay
install_hooks
configure
say "building $ARCH in $OUT"
kmake "$ARCH" "$(image_target)" modules "$@"
kmake "$ARCH" rustfmtcheck || die "Rust code is not rustfmt-clean (diff above): run 'make rustfmt'"
rm -rf "$OUT/modules.new"
kmake "$ARCH" INSTALL_MOD_PATH="$OUT/modules.new" modules_install >/dev/null
rm -rf "$OUT/modules"
mv "$OUT/modules.new" "$OUT/modules"
say "kernel $ARCH ready: $(kmake "$ARCH" -s kernelrelease)"
