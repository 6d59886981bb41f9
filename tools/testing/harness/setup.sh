#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs everything the build and the boot tests need, idempotently:
# Debian packages (QEMU 10 from bookworm-backports), bindgen-cli into the
# cache, and the pinned linux-source-7.3 package unpacked into the cache.
# A second run does nothing but checks.
set -euo pipefail
. "$(dirname "$0")/config.sh"

APT_PKGS=(
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	clang-19 libclang-19-dev lld-19 llvm-19
	make gcc flex bison bc libelf-dev libssl-dev dwarves cpio kmod rsync xz-utils
	busybox-static ndctl
	# ppc64le guests: the linker of the cross-built guest tools (initramfs.sh)
	gcc-powerpc64le-linux-gnu
)
BACKPORTS_PKGS=(qemu-system-x86 qemu-system-ppc)

mirror() {
	local m
	m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[ -n "$m" ] || die "cannot derive the Debian mirror from /etc/apt/sources.list.d/debian.sources"
	echo "$m"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
	done
}

qemu_ok() {
	command -v qemu-system-x86_64 >/dev/null &&
		qemu-system-x86_64 --version | grep -q 'version 10\.'
}

install_apt() {
	local miss bp_miss
	miss=$(missing_pkgs "${APT_PKGS[@]}")
	bp_miss=$(missing_pkgs "${BACKPORTS_PKGS[@]}")
	qemu_ok || bp_miss="${BACKPORTS_PKGS[*]}"
	if [ -z "$miss" ] && [ -z "$bp_miss" ]; then
		say "apt packages: all present"
		return
	fi
	local src=/etc/apt/sources.list.d/nvdimm-rs-backports.sources
	if [ ! -f "$src" ]; then
		say "adding bookworm-backports ($src)"
		as_root tee "$src" >/dev/null <<EOS
Types: deb
URIs: $(mirror)
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	fi
	say "apt-get install: $miss $bp_miss"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q
	# shellcheck disable=SC2086
	[ -z "$miss" ] || as_root apt-get install -y -q --no-install-recommends $miss
	# shellcheck disable=SC2086
	[ -z "$bp_miss" ] || as_root apt-get install -y -q --no-install-recommends \
		-t bookworm-backports $bp_miss
	qemu_ok || die "QEMU 10 from bookworm-backports did not install"
}

install_bindgen() {
	if [ -x "$BINDGEN" ] && "$BINDGEN" --version | grep -q '^bindgen 0\.72\.'; then
		say "bindgen: $("$BINDGEN" --version)"
		return
	fi
	command -v cargo >/dev/null || die "cargo not found (the machine's rustup toolchain is needed for bindgen-cli)"
	say "cargo install bindgen-cli $BINDGEN_VERSION into $CACHE/bindgen"
	cargo install bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$CACHE/bindgen"
}

fetch_kernel() {
	if [ -f "$KSRC_PRISTINE/.unpacked" ]; then
		say "kernel source: $KSRC_PRISTINE"
		return
	fi
	local a=$CACHE/apt
	mkdir -p "$a/parts" "$a/lists/partial" "$a/cache/archives/partial" "$CACHE/src"
	cat >"$a/parts/kernel.sources" <<EOS
Types: deb
URIs: $(mirror)
Suites: $KERNEL_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	local apto=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$a/parts"
		-o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache"
		-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
	local deb
	deb=$(ls "$a"/${KERNEL_PKG}_*.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		say "downloading $KERNEL_PKG=$KERNEL_DEB_VERSION from $KERNEL_SUITE"
		apt-get "${apto[@]}" update -q
		local served
		served=$(apt-cache "${apto[@]}" policy "$KERNEL_PKG" | awk '/Candidate:/{print $2}')
		[ "$served" = "$KERNEL_DEB_VERSION" ] ||
			die "the mirror serves $KERNEL_PKG '$served', but this project is pinned to '$KERNEL_DEB_VERSION' (tools/testing/harness/config.sh); update the pin and the patches deliberately"
		(cd "$a" && apt-get "${apto[@]}" download "$KERNEL_PKG=$KERNEL_DEB_VERSION")
		deb=$(ls "$a"/${KERNEL_PKG}_*.deb | head -n1)
	fi
	local v
	v=$(dpkg-deb -f "$deb" Version)
	[ "$v" = "$KERNEL_DEB_VERSION" ] || die "$deb has version $v, pinned is $KERNEL_DEB_VERSION"
	say "unpacking $deb"
	rm -rf "$KSRC_PRISTINE" "$CACHE/src/deb"
	dpkg-deb -x "$deb" "$CACHE/src/deb"
	mkdir -p "$KSRC_PRISTINE"
	tar -xf "$CACHE/src/deb/usr/src/$KERNEL_TARBALL" -C "$KSRC_PRISTINE" --strip-components=1
	rm -rf "$CACHE/src/deb"
	touch "$KSRC_PRISTINE/.unpacked"
}

mkdir -p "$CACHE"
install_apt
install_bindgen
fetch_kernel
say "setup done (cache: $CACHE)"
