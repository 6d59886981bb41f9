#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs everything the build and the boot tests of the named guest
# architectures need, idempotently, then proves that each tool works:
# Debian packages (QEMU 10 from bookworm-backports), bindgen-cli into the
# cache, the pinned linux-source-7.3 unpacked into the cache and, for
# ppc64le, the Rust sysroot for cross-building the guest tools. A second run
# installs nothing and only proves.
#   setup.sh [--prove-only] [x86_64] [ppc64le]   (no architecture: both)
set -euo pipefail
. "$(dirname "$0")/config.sh"
. "$HARNESS/ppc64el.sh"

PROVE_ONLY=
[ "${1:-}" = --prove-only ] && { PROVE_ONLY=1; shift; }
SETUP_ARCHES=("$@")
[ ${#SETUP_ARCHES[@]} -gt 0 ] || SETUP_ARCHES=(x86_64 ppc64le)
for a in "${SETUP_ARCHES[@]}"; do
	case "$a" in x86_64 | ppc64le) ;; *) die "setup: unknown architecture '$a' (x86_64, ppc64le)" ;; esac
done
want_arch() { [[ " ${SETUP_ARCHES[*]} " == *" $1 "* ]]; }

# Every package is named, never left to Recommends: the installs use
# --no-install-recommends, and a package another machine happened to have
# must not be what makes the build work (the proofs below check that).
APT_PKGS=(
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	clang-19 libclang-19-dev lld-19 llvm-19
	# The debug kernels (KASAN) compile C with the LLVM of rustc-web (22,
	# bookworm-security): C and Rust objects then come from one LLVM's
	# AddressSanitizer (see config.sh, flavour debug).
	clang-22 libclang-22-dev lld-22 llvm-22
	make gcc libc6-dev patch flex bison bc libelf-dev libssl-dev dwarves cpio kmod rsync
	xz-utils gzip
	# iasl and acpiexec: make check-host checks the test VMM's tables with
	# ACPICA (tools/testing/harness/acpica.sh).
	acpica-tools
)
BACKPORTS_PKGS=()
if want_arch x86_64; then
	# The x86 guest's userspace is the host's own binaries.
	APT_PKGS+=(busybox-static ndctl e2fsprogs)
	# The x86 kernels are lz4-compressed (arch/x86/configs/nvdimm_rs.config).
	APT_PKGS+=(lz4)
	BACKPORTS_PKGS+=(qemu-system-x86)
fi
if want_arch ppc64le; then
	# The linker of the cross-built guest tools and the C runtime it links
	# (Scrt1.o, crti.o, libc), which gcc-powerpc64le-linux-gnu only recommends.
	APT_PKGS+=(gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross)
	# qemu-system-data holds the firmware: VOF for pseries, skiboot.lid
	# for the PowerNV guest (harness architecture powernv, which needs
	# nothing else that ppc64le does not).
	BACKPORTS_PKGS+=(qemu-system-ppc qemu-system-data)
fi

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

QEMU_VERSION=10.0.2
qemu_ok() {
	local b
	want_arch x86_64 && b=qemu-system-x86_64 || b=qemu-system-ppc64
	command -v $b >/dev/null && $b --version | grep -q "version $QEMU_VERSION"
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

# --- proofs: every tool the build uses, run once, in seconds ---------------
# Each failure names the Debian package that provides the tool; all are
# reported together, before any long build starts.
PROOF_DIR=
FAILED=()
prove() {
	local what=$1 pkg=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		return 0
	fi
	FAILED+=("$what (Debian package: $pkg)")
	printf 'setup: FAILED %s: %s\n' "$what" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')" >&2
}
version_is() { # COMMAND PATTERN: COMMAND's first output line matches PATTERN
	local v
	v=$("$1" --version 2>&1 | head -n 1) || return 1
	[[ $v =~ $2 ]] || { echo "$1 --version: '$v', want /$2/"; return 1; }
}
c_links() { # CC [ARGS]: CC compiles and links a hello-world
	"$1" -x c -o "$PROOF_DIR/c-$1" - "${@:2}" <<'EOC'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOC
}
host_libs() {
	gcc -x c -o "$PROOF_DIR/libs" - -lelf -lcrypto <<'EOC'
#include <gelf.h>
#include <openssl/evp.h>
int main(void) { return elf_version(EV_CURRENT) == EV_NONE || EVP_sha256() == NULL; }
EOC
	"$PROOF_DIR/libs"
}
bindgen_runs() {
	printf 'struct nd_probe { unsigned int flags; unsigned long long size; };\n' >"$PROOF_DIR/p.h"
	"$BINDGEN" "$PROOF_DIR/p.h" | grep -q 'pub struct nd_probe'
}
rust_hello() { # [TARGET SYSROOT LINKER]
	printf 'fn main() { println!("hello"); }\n' >"$PROOF_DIR/hello.rs"
	if [ $# -eq 0 ]; then
		/usr/bin/rustc --edition 2021 -o "$PROOF_DIR/hello" "$PROOF_DIR/hello.rs" && "$PROOF_DIR/hello" | grep -qx hello
	else
		/usr/bin/rustc --edition 2021 --target "$1" --sysroot "$2" -C "linker=$3" \
			-o "$PROOF_DIR/hello-$1" "$PROOF_DIR/hello.rs"
	fi
}
same_llvm_major() { # the debug kernels' KASAN: one LLVM for C and Rust
	local r
	r=$(/usr/bin/rustc --version --verbose | sed -n 's/^LLVM version: \([0-9]*\)\..*/\1/p')
	[ "$r" = "${LLVM_DEBUG_SUFFIX#-}" ] || { echo "rustc's LLVM is $r, the debug kernels use LLVM$LLVM_DEBUG_SUFFIX"; return 1; }
}
prove_llvm() { # MAJOR PURPOSE LIBCLANG_DIR: one LLVM's clang, lld, tools and libclang
	local v=$1 why=$2 t
	prove "clang-$v ($why)" "clang-$v" version_is "clang-$v" "clang version $v\\."
	prove "ld.lld-$v ($why)" "lld-$v" version_is "ld.lld-$v" "LLD $v\\."
	prove "llvm-ar-$v ($why)" "llvm-$v" version_is "llvm-ar-$v" "LLVM version $v\\."
	for t in nm objcopy objdump readelf strip; do
		prove "llvm-$t-$v ($why)" "llvm-$v" command -v "llvm-$t-$v"
	done
	prove "libclang $v ($3)" "libclang-$v-dev" test -e "$3/libclang.so"
}
elf_machine() { # FILE MACHINE
	readelf -h "$1" | grep -q "Machine: *$2" || { readelf -h "$1" | grep Machine; return 1; }
}
acpica_round_trip() { # iasl compiles, disassembles and recompiles; acpiexec runs a method
	cat >"$PROOF_DIR/t.asl" <<'EOA'
DefinitionBlock ("", "SSDT", 1, "NVDMRS", "PROOF", 1)
{
    Method (ADD2, 1, Serialized)
    {
        Return (Arg0 + 2)
    }
}
EOA
	(cd "$PROOF_DIR" && iasl t.asl && mkdir re && iasl -d -p re/t t.aml && iasl -p re/t2 re/t.dsl) || return 1
	local out
	out=$(timeout 60 acpiexec -b 'evaluate \ADD2 40' "$PROOF_DIR/re/t2.aml" 2>&1) || { echo "$out"; return 1; }
	grep -q '\[Integer\] = 000000000000002A' <<<"$out" || { echo "acpiexec: ADD2(40) did not give 42: $out"; return 1; }
}
# QEMU's powernv machines load skiboot.lid from its data directory when no
# -bios is given: the file must be there, and be the one QEMU looks up.
SKIBOOT=/usr/share/qemu/skiboot.lid
VOF=/usr/share/qemu/vof.bin
firmware_found() { # FILE: a firmware image where qemu-system-ppc64 looks for it
	[ -s "$1" ] || { echo "$1 missing"; return 1; }
	qemu-system-ppc64 -L help 2>&1 | grep -qx "$(dirname "$1")" ||
		{ echo "qemu-system-ppc64 -L help does not list $(dirname "$1")"; return 1; }
}
lz4_round_trip() {
	[ "$(echo nvdimm-rs | lz4 -q -c | lz4 -q -d -c)" = nvdimm-rs ]
}
ppc_c_links() {
	c_links powerpc64le-linux-gnu-gcc && elf_machine "$PROOF_DIR/c-powerpc64le-linux-gnu-gcc" PowerPC64
}
ppc_rust_links() {
	rust_hello "$RUST_TARGET" "$RUST_SYSROOT" powerpc64le-linux-gnu-gcc &&
		elf_machine "$PROOF_DIR/hello-$RUST_TARGET" PowerPC64
}

prove_all() {
	PROOF_DIR=$(mktemp -d)
	trap 'rm -rf "$PROOF_DIR"' EXIT
	prove "rustc 1.96 (/usr/bin/rustc)" rustc-web version_is /usr/bin/rustc '^rustc 1\.96\.'
	prove "Rust core source ($RUST_LIB_SRC)" rust-web-src test -f "$RUST_LIB_SRC/core/src/lib.rs"
	prove "rustc builds and runs a program" rustc-web rust_hello
	prove "clippy-driver" rust-web-clippy version_is /usr/bin/clippy-driver '^clippy 0\.1\.96'
	prove "rustfmt" rustfmt-web version_is /usr/bin/rustfmt '^rustfmt 1\.'
	prove_llvm "${LLVM_SUFFIX#-}" "LLVM=$LLVM_SUFFIX builds" "$LIBCLANG_PATH"
	prove_llvm "${LLVM_DEBUG_SUFFIX#-}" "debug kernels" "/usr/lib/llvm$LLVM_DEBUG_SUFFIX/lib"
	prove "rustc and clang$LLVM_DEBUG_SUFFIX share an LLVM major" "rustc-web clang$LLVM_DEBUG_SUFFIX" same_llvm_major
	prove "bindgen 0.72 runs on a header" "cargo install bindgen-cli (make setup)" bindgen_runs
	prove "cargo" "rustup (the machine's toolchain)" version_is cargo '^cargo 1\.'
	prove "gcc links a C program" "gcc libc6-dev" c_links gcc
	prove "libelf and libcrypto headers and libraries" "libelf-dev libssl-dev" host_libs
	for t in "flex flex" "bison bison" "bc bc" "pahole dwarves" "cpio cpio" "depmod kmod" \
		"rsync rsync" "xz xz-utils" "patch patch" "make make"; do
		prove "${t% *}" "${t#* }" command -v "${t% *}"
	done
	prove "iasl and acpiexec of the ACPICA release acpica.sh expects" acpica-tools "$HARNESS/acpica.sh" --tools
	prove "iasl compiles, disassembles and recompiles; acpiexec evaluates" acpica-tools acpica_round_trip
	prove "kernel source $KERNEL_DEB_VERSION" "$KERNEL_PKG (make setup)" test -f "$KSRC_PRISTINE/.unpacked"
	if want_arch x86_64; then
		prove "qemu-system-x86_64 $QEMU_VERSION" "qemu-system-x86 (bookworm-backports)" \
			version_is qemu-system-x86_64 "version $QEMU_VERSION"
		prove "busybox (static)" busybox-static test -x /bin/busybox
		prove "ndctl" ndctl version_is ndctl '^[0-9]+'
		prove "mke2fs" e2fsprogs test -x /sbin/mke2fs
		prove "lz4 compresses and decompresses (the x86 kernel image)" lz4 lz4_round_trip
	fi
	if want_arch ppc64le; then
		prove "qemu-system-ppc64 $QEMU_VERSION" "qemu-system-ppc (bookworm-backports)" \
			version_is qemu-system-ppc64 "version $QEMU_VERSION"
		prove "skiboot.lid, the PowerNV guest's firmware ($SKIBOOT)" "qemu-system-data (bookworm-backports)" \
			firmware_found "$SKIBOOT"
		prove "vof.bin, the pseries guest's firmware ($VOF)" "qemu-system-data (bookworm-backports)" \
			firmware_found "$VOF"
		prove "powerpc64le-linux-gnu-gcc links a C program" \
			"gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross" ppc_c_links
		prove "rustc links a $RUST_TARGET program (sysroot $RUST_SYSROOT)" \
			"libc6-dev-ppc64el-cross; libstd-rust-web-dev:ppc64el (make setup)" ppc_rust_links
	fi
	if [ ${#FAILED[@]} -gt 0 ]; then
		printf 'error: setup: %d tool(s) do not work:\n' ${#FAILED[@]} >&2
		printf '  - %s\n' "${FAILED[@]}" >&2
		printf 'Install the packages named above (or run make setup) and try again.\n' >&2
		exit 1
	fi
	say "setup proved: ${#SETUP_ARCHES[@]} architecture(s) (${SETUP_ARCHES[*]}), every tool works"
}

mkdir -p "$CACHE"
if [ -z "$PROVE_ONLY" ]; then
	# bindgen-cli compiles for about two minutes with the machine's own
	# cargo, which needs nothing from apt: build it while the downloads run.
	install_bindgen >"$CACHE/bindgen-install.log" 2>&1 &
	bindgen_pid=$!
	install_apt
	fetch_kernel
	want_arch ppc64le && make_rust_sysroot
	wait "$bindgen_pid" || { cat "$CACHE/bindgen-install.log" >&2; die "installing bindgen-cli failed (log above)"; }
	grep '^==>' "$CACHE/bindgen-install.log" >&2
fi
prove_all
say "setup done (cache: $CACHE)"
