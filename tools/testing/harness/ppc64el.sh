# SPDX-License-Identifier: GPL-2.0
#
# The ppc64el side of the harness, sourced by setup.sh and initramfs.sh after
# config.sh: a private apt state (the system's package state and architecture
# list stay untouched) that downloads Debian ppc64el packages into the cache,
# and the Rust sysroot for cross-building the guest tools.

PPC_APT=$CACHE/apt-ppc64el
PPC_DEBS=$PPC_APT/debs
RUST_TARGET=powerpc64le-unknown-linux-gnu
RUST_SYSROOT=$CACHE/ppc64el/rust-sysroot
# Debian's ppc64el build of the Rust standard library of /usr/bin/rustc.
RUST_STD_PKGS=(libstd-rust-web-dev libstd-rust-web-1.96)

ppc_apt_opts() {
	printf '%s\n' -o APT::Architecture=ppc64el -o APT::Architectures::=ppc64el \
		-o Dir::State::status=/dev/null -o Dir::Etc::SourceList=/dev/null \
		-o "Dir::Etc::SourceParts=$PPC_APT/parts" -o "Dir::State::Lists=$PPC_APT/lists" \
		-o "Dir::Cache=$PPC_APT/cache" -o APT::Sandbox::User=root
}

ppc_apt() {
	local opts
	mapfile -t opts < <(ppc_apt_opts)
	apt-get "${opts[@]}" -q "$@"
}

have_deb() { compgen -G "$PPC_DEBS/${1}_*_ppc64el.deb" >/dev/null || compgen -G "$PPC_DEBS/${1}_*_all.deb" >/dev/null; }

# The machine's own sources, in the private apt state.
ppc_apt_update() {
	[ -n "${PPC_APT_UPDATED:-}" ] && return
	mkdir -p "$PPC_APT/parts" "$PPC_APT/lists/partial" "$PPC_APT/cache/archives/partial" "$PPC_DEBS"
	rm -f "$PPC_APT/parts/"*.sources
	cp /etc/apt/sources.list.d/debian.sources "$PPC_APT/parts/"
	say "updating the ppc64el package lists ($PPC_APT)"
	# An index that fails to download (a mirror mid-sync) leaves apt with the
	# rest: the version checks of the callers catch what matters.
	ppc_apt update >/dev/null 2>"$PPC_APT/update.err" || true
	PPC_APT_UPDATED=1
}

# The ppc64el libstd must be the exact build of the host's rustc-web.
fetch_rust_std() {
	local want p miss=() idx m sec file sha opts
	want=$(dpkg-query -W -f='${Version}' rustc-web)
	for p in "${RUST_STD_PKGS[@]}"; do
		compgen -G "$PPC_DEBS/${p}_${want//+/?}_ppc64el.deb" >/dev/null || miss+=("$p")
	done
	[ ${#miss[@]} -eq 0 ] && return
	ppc_apt_update
	mapfile -t opts < <(ppc_apt_opts)
	if [ "$(apt-cache "${opts[@]}" policy libstd-rust-web-dev | awk '/Candidate:/{print $2}')" = "$want" ]; then
		say "apt-get download (ppc64el): ${miss[*]}"
		(cd "$PPC_DEBS" && ppc_apt download "${miss[@]/%/=$want}") || die "cannot download ${miss[*]}"
		return
	fi
	# Measured 2026-11-26: the mirror serves a bookworm-security ppc64el
	# Packages.xz whose size does not match its signed InRelease, so apt drops
	# that index and offers only bookworm's older libstd. Fall back to the
	# served index: take each package's pool path and SHA256 from it and let
	# apt's own download helper verify the deb against that hash.
	say "bookworm-security ppc64el index unusable through apt ($(tail -n 1 "$PPC_APT/update.err" 2>/dev/null)); using the served index"
	m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	sec=$(awk '/^URIs:/{u=$2} /^Suites:.*-security/{print u; exit}' /etc/apt/sources.list.d/debian.sources)
	[ -n "$sec" ] || sec=${m%/debian}/debian-security
	idx=$PPC_APT/security-Packages.xz
	/usr/lib/apt/apt-helper download-file "$sec/dists/bookworm-security/main/binary-ppc64el/Packages.xz" "$idx" >/dev/null 2>&1 ||
		die "cannot fetch the bookworm-security ppc64el index"
	for p in "${miss[@]}"; do
		read -r file sha < <(xz -dc "$idx" | awk -v p="$p" -v v="$want" '
			/^Package: /{ok=($2==p)} ok&&/^Version: /{ok=($2==v)}
			ok&&/^Filename: /{f=$2} ok&&/^SHA256: /{print f, $2; exit}')
		[ -n "${file:-}" ] || die "$p $want (ppc64el) is not in the bookworm-security index"
		/usr/lib/apt/apt-helper download-file "$sec/$file" "$PPC_DEBS/$(basename "$file")" "SHA256:$sha" >/dev/null 2>&1 ||
			die "cannot download $file"
	done
}

# $RUST_SYSROOT holds the ppc64el libstd of the host's rustc-web.
make_rust_sysroot() {
	fetch_rust_std
	local want stamp=$RUST_SYSROOT/.version d
	want=$(dpkg-query -W -f='${Version}' rustc-web)
	[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return
	say "Rust sysroot for $RUST_TARGET ($want)"
	rm -rf "$RUST_SYSROOT" "$RUST_SYSROOT.x"
	mkdir -p "$RUST_SYSROOT.x"
	for d in "${RUST_STD_PKGS[@]}"; do dpkg-deb -x "$(ls "$PPC_DEBS/${d}_"*_ppc64el.deb | head -n 1)" "$RUST_SYSROOT.x"; done
	mkdir -p "$RUST_SYSROOT/lib/rustlib"
	mv "$RUST_SYSROOT.x/usr/lib/rustlib/$RUST_TARGET" "$RUST_SYSROOT/lib/rustlib/"
	rm -rf "$RUST_SYSROOT.x"
	echo "$want" >"$stamp"
}
