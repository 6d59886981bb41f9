#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Count the instruction words the powerpc64 module loader writes with
# patch_instruction() when it relocates a module: every call relocation
# (R_PPC64_REL24), the TOC restore after every call to another object, and
# an eleven-word stub per distinct function called in another object. Under
# TCG each such word costs about 16 us, so this count predicts a module's
# load time; see Documentation/nvdimm-rs/papr-scm-rs.rst, "Load time".
#
# Usage: ko-words.sh MODULE.ko...
set -euo pipefail

readelf="readelf"
nm="nm"
if command -v powerpc64le-linux-gnu-readelf >/dev/null; then
	readelf=powerpc64le-linux-gnu-readelf
	nm=powerpc64le-linux-gnu-nm
fi

printf '%-24s %6s %6s %9s %6s %14s %7s %13s\n' module KB relocs undefined calls "external calls" callees "words patched"
for ko in "$@"; do
	undef=$(mktemp)
	"$nm" -u "$ko" | awk '{print $NF}' | sort -u >"$undef"
	"$readelf" -rW "$ko" | awk -v undef="$undef" -v ko="$(basename "$ko" .ko)" \
		-v kb="$(( ($(stat -c %s "$ko") + 1023) / 1024 ))" '
		BEGIN { while ((getline s < undef) > 0) ext[s] = 1; nundef = length(ext) }
		$1 ~ /^[0-9a-f]+$/ && $3 ~ /^R_PPC64_/ {
			relocs++
			if ($3 != "R_PPC64_REL24")
				next
			calls++
			if ($5 in ext) {
				extcalls++
				callee[$5] = 1
			}
		}
		END {
			ncallees = length(callee)
			printf "%-24s %6d %6d %9d %6d %14d %7d %13d\n", ko, kb, relocs, nundef,
				calls, extcalls, ncallees, calls + extcalls + 11 * ncallees
		}'
	rm -f "$undef"
done
