#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Edits patches/ as a git branch, the way the series would be kept upstream.
#
#   series.sh checkout DIR [PATH...]
#       DIR becomes a git repository holding the pristine copies of the files
#       the series touches (and of each upstream PATH given, for a patch that
#       is to touch a new file), committed and tagged "pristine", with every
#       patch of patches/series applied on top by 'git am'. Edit there: amend
#       or fix up a commit, add one, reorder with 'git rebase -i pristine'.
#   series.sh export DIR
#       Writes pristine..HEAD of DIR back as patches/NNNN-*.patch
#       (git format-patch -N --zero-commit --no-signature), lists them in
#       patches/series below its comment header, and removes the patches
#       that are no longer part of it.
set -euo pipefail
. "$(dirname "$0")/config.sh"

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: series.sh checkout|export DIR [PATH...]"
shift 2
series=$REPO/patches/series

case "$cmd" in
checkout)
	[ -f "$KSRC_PRISTINE/.unpacked" ] || die "kernel source missing in $KSRC_PRISTINE: run 'make setup'"
	[ ! -e "$dir" ] || die "$dir exists"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	{
		for p in $(series_patches); do
			patch_paths "$REPO/patches/$p"
		done
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} | sort -u | (cd "$KSRC_PRISTINE" && while read -r f; do
		if [ -f "$f" ]; then printf '%s\n' "$f"; else say "not in the pristine source: $f"; fi
	done | cpio -pdm --quiet "$dir")
	git -C "$dir" init -q
	git -C "$dir" config user.name "nvdimm-rs developers"
	git -C "$dir" config user.email "nvdimm-rs@localhost"
	git -C "$dir" add -A
	git -C "$dir" commit -q -m "pristine $KERNEL_PKG $KERNEL_DEB_VERSION (files the series touches)"
	git -C "$dir" tag pristine
	for p in $(series_patches); do
		git -C "$dir" am -q "$REPO/patches/$p" || die "$p does not apply (git am); see $dir"
	done
	say "$dir: $(git -C "$dir" rev-list --count pristine..HEAD) patches on tag pristine"
	;;
export)
	git -C "$dir" rev-parse -q --verify pristine >/dev/null || die "$dir has no tag pristine: make it with 'series.sh checkout'"
	out=$(mktemp -d)
	git -C "$dir" format-patch -q -N --zero-commit --no-signature -o "$out" pristine..HEAD
	for p in $(series_patches); do rm -f "$REPO/patches/$p"; done
	cp "$out"/*.patch "$REPO/patches/"
	{ grep '^#' "$series" || true; (cd "$out" && ls -- *.patch); } >"$series.new"
	mv "$series.new" "$series"
	rm -rf "$out"
	say "patches/series: $(series_patches | wc -l) patches"
	;;
*) die "usage: series.sh checkout|export DIR [PATH...]" ;;
esac
