#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel for one architecture from the pinned source plus this
# repository's overlay:
#   1. the build tree is the pristine source with patches/series applied; when
#      the series changes, it is applied again to pristine copies of the files
#      it touches in a scratch directory, and only files whose content differs
#      are rewritten in the tree (so kbuild rebuilds what the change touches);
#   2. the repository's kernel-path directories are copied over it (new files
#      only; only files whose content changed are rewritten);
#   3. .config = tinyconfig + arch/<arch>/configs/nvdimm_rs.config (the debug
#      flavour adds arch/<arch>/configs/nvdimm_rs_debug.config; powernv is
#      tinyconfig + arch/powerpc/configs/nvdimm_rs_powernv.config), made again
#      only when a fragment or a Kconfig file of the series or the overlay
#      changes;
#   4. make vmlinux/bzImage and modules, then install modules into
#      $CACHE/build/<arch>[-debug]/modules for the initramfs (build/powernv
#      for powernv).
# Kbuild sees the overlay's new files through the Kconfig and Makefile lines
# that the series adds to upstream files; nothing is generated here.
# Usage: kernel.sh <x86_64|powerpc|ppc64le|powernv> [default|debug] [extra make targets]
# (ppc64le, the harness's name for a little-endian pseries guest, builds ARCH=powerpc;
# powernv, a little-endian PowerNV guest, builds ARCH=powerpc into build/powernv)
set -euo pipefail
. "$(dirname "$0")/config.sh"

ARCH=${1:?usage: kernel.sh <arch> [default|debug]}
shift
case "${1:-}" in default | debug) set_flavour "$1"; shift ;; esac
[ "$ARCH" = ppc64le ] && ARCH=powerpc
[ "$ARCH" != powernv ] || [ -z "$FLAVOUR" ] || die "powernv has no debug flavour"
OUT=$(kbuild_dir "$ARCH")
# Kernel-path directories of the repository that are copied into the tree.
OVERLAY_DIRS=(Documentation arch drivers include kernel lib rust samples)
# The patched versions of the files the series touches, and their list.
SERIES_DIR=$KTREE.series
PATCHED_LIST=$KTREE/.nvdimm-rs-patched

# One build at a time per cache: the tree and O= directories are shared.
mkdir -p "$CACHE/build"
exec 9>"$CACHE/build/.lock"
flock 9

[ -f "$KSRC_PRISTINE/.unpacked" ] || die "kernel source missing in $KSRC_PRISTINE: run 'make setup'"
[ -x "$BINDGEN" ] || die "bindgen missing at $BINDGEN: run 'make setup'"

series_id() {
	(cd "$REPO" && { cat patches/series 2>/dev/null; for p in $(series_patches); do cat "patches/$p"; done; } | sha256sum | cut -c1-16)
}

# Apply the series to pristine copies of the files it touches, in a scratch
# directory: $SERIES_DIR.new holds the patched files, $SERIES_DIR.new.list
# every path the series touches (a path missing from the directory is one
# the series deletes).
assemble_series() {
	local p paths=$SERIES_DIR.new.list
	rm -rf "$SERIES_DIR.new"
	mkdir -p "$SERIES_DIR.new"
	for p in $(series_patches); do
		[ -f "$REPO/patches/$p" ] || die "patches/series names $p, which does not exist"
		patch_paths "$REPO/patches/$p"
	done | sort -u >"$paths"
	(cd "$KSRC_PRISTINE" && while read -r f; do if [ -f "$f" ]; then printf '%s\n' "$f"; fi; done <"$paths") |
		(cd "$KSRC_PRISTINE" && cpio -pdm --quiet "$SERIES_DIR.new")
	for p in $(series_patches); do
		say "  applying $p"
		patch -d "$SERIES_DIR.new" -p1 -s --no-backup-if-mismatch -F0 -i "$REPO/patches/$p" ||
			die "patch $p does not apply to $KERNEL_PKG $KERNEL_DEB_VERSION"
	done
}

# Make $KTREE the pristine source plus the series. A tree made before by this
# function is updated by content: a file is rewritten (with a new time, so
# that what depends on it rebuilds) only when its patched content differs,
# and a file the previous series touched but this one does not goes back to
# its pristine content (or away, if the previous series created it).
make_tree() {
	local want have f src
	want=$(series_id)
	have=$(cat "$KTREE/.nvdimm-rs-series" 2>/dev/null || true)
	if [ -f "$KTREE/.nvdimm-rs-pristine" ] && [ "$(cat "$KTREE/.nvdimm-rs-pristine")" != "$KERNEL_DEB_VERSION" ]; then
		say "the pinned source changed: removing $KTREE"
		rm -rf "$KTREE"
	fi
	[ "$want" = "$have" ] && [ -f "$PATCHED_LIST" ] && return
	say "applying patch series $want"
	assemble_series
	if [ ! -d "$KTREE" ]; then
		say "copying the pristine source to $KTREE"
		rm -rf "$KTREE.new"
		cp -a "$KSRC_PRISTINE" "$KTREE.new"
		mv "$KTREE.new" "$KTREE"
		: >"$PATCHED_LIST"
	elif [ ! -f "$PATCHED_LIST" ]; then
		# A tree whose patched files are not recorded (made by an older
		# version of this script): compare the rest of it with the
		# pristine source once, rewriting only what differs.
		say "restoring upstream files of $KTREE by content"
		sed 's|^|/|' "$SERIES_DIR.new.list" | rsync -rlc --exclude-from=- "$KSRC_PRISTINE/" "$KTREE/"
		: >"$PATCHED_LIST"
	fi
	sort -u "$PATCHED_LIST" "$SERIES_DIR.new.list" | while read -r f; do
		if [ -f "$SERIES_DIR.new/$f" ]; then
			src=$SERIES_DIR.new/$f
		elif grep -qxF "$f" "$SERIES_DIR.new.list" || [ ! -f "$KSRC_PRISTINE/$f" ]; then
			src= # deleted by this series, or created only by the previous one
		else
			src=$KSRC_PRISTINE/$f
		fi
		if [ -z "$src" ]; then
			rm -f "$KTREE/$f"
		elif ! cmp -s "$src" "$KTREE/$f"; then
			mkdir -p "$(dirname "$KTREE/$f")"
			cp "$src" "$KTREE/$f"
		fi
	done
	rm -rf "$SERIES_DIR"
	mv "$SERIES_DIR.new" "$SERIES_DIR"
	mv "$SERIES_DIR.new.list" "$PATCHED_LIST"
	echo "$KERNEL_DEB_VERSION" >"$KTREE/.nvdimm-rs-pristine"
	echo "$want" >"$KTREE/.nvdimm-rs-series"
}

# Copy overlay files; restore or remove files that left the overlay. The
# overlay holds only new files: a change to an upstream file is a patch.
copy_overlay() {
	local d new old f upstream
	new=$(mktemp)
	(cd "$REPO" && for d in "${OVERLAY_DIRS[@]}"; do [ -d "$d" ] && git ls-files --cached --others --exclude-standard -- "$d" 2>/dev/null || true; done) | sort >"$new"
	upstream=$(while read -r f; do if [ -e "$KSRC_PRISTINE/$f" ]; then printf ' %s' "$f"; fi; done <"$new")
	[ -z "$upstream" ] || die "the overlay replaces upstream files (change them with a patch in patches/):$upstream"
	old=$KTREE/.nvdimm-rs-manifest
	if [ -f "$old" ]; then
		comm -23 "$old" "$new" | while read -r f; do
			if [ -f "$SERIES_DIR/$f" ]; then cp "$SERIES_DIR/$f" "$KTREE/$f"
			elif [ -e "$KSRC_PRISTINE/$f" ]; then cp "$KSRC_PRISTINE/$f" "$KTREE/$f"
			else rm -f "$KTREE/$f"; fi
		done
	fi
	(cd "$REPO" && rsync -rc --files-from="$new" . "$KTREE/")
	mv "$new" "$old"
}

# The config fragments of the flavour, in merge order.
fragments() {
	if [ "$ARCH" = powernv ]; then
		echo nvdimm_rs_powernv
		return
	fi
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
	# The inputs of the config: the fragments, and every Kconfig file that the
	# series changes or the overlay adds.
	want=$({ llvm_for "$ARCH"; cat "${frags[@]}"; { grep -h '\(^\|/\)Kconfig[^/]*$' "$PATCHED_LIST" "$KTREE/.nvdimm-rs-manifest" || true; } |
		sort -u | while read -r f; do if [ -f "$KTREE/$f" ]; then echo "$f"; cat "$KTREE/$f"; fi; done; } | sha256sum | cut -c1-16)
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

srcarch() { case "$ARCH" in x86_64) echo x86 ;; *) kbuild_arch "$ARCH" ;; esac; }

image_target() { case "$ARCH" in x86_64) echo bzImage ;; powerpc | powernv) echo vmlinux ;; esac; }

make_tree
copy_overlay
configure
say "building $ARCH in $OUT"
kmake "$ARCH" "$(image_target)" modules "$@"
kmake "$ARCH" rustfmtcheck || die "Rust code is not rustfmt-clean (diff above): run 'make rustfmt'"
rm -rf "$OUT/modules.new"
kmake "$ARCH" INSTALL_MOD_PATH="$OUT/modules.new" modules_install >/dev/null
rm -rf "$OUT/modules"
mv "$OUT/modules.new" "$OUT/modules"
say "kernel $ARCH ready: $(kmake "$ARCH" -s kernelrelease)"
