#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks the test VMM's ACPI tables with a second implementation, ACPICA
# (Debian package acpica-tools), for every configuration the boot
# scenarios give the VMM and for every malformed-NFIT class:
#
#   - iasl -d disassembles each SSDT and NFIT; iasl recompiles the
#     disassembly: the SSDT with no error, warning or unlisted remark, into
#     our bytes plus the External() declarations iasl adds; a clean NFIT
#     into our bytes; a malformed class's NFIT ends as recorded below;
#   - acpiexec loads each SSDT next to a revision-1 DSDT (QEMU's pc machine
#     has one: 32-bit AML integers) that has \_SB.PCI0 and a stub of the
#     VMM's side of the mailbox, and evaluates the root _DSM, every DIMM's
#     _DSM, _LSI/_LSR/_LSW and _FIT: with no mailbox (MBLO 0), with a
#     mailbox nobody answers (once: the AML's 12 s deadline, under ACPICA's
#     30 s loop timeout, as in the kernel) and with answers the stub gives;
#     each return value and each request written to the mailbox must be
#     exactly what the AML source says, and ACPICA must report no error;
#     and the GED's _EVT;
#   - a negative control: an SSDT patched to answer status 5 must fail.
#
# The configurations come from `nvdimm-harness vmm-configs` (the scenario
# headers, through the harness's own code); `nvdimm-vmm --dry-run` writes
# their tables. Identical tables are checked once.
#
#   acpica.sh [--keep DIR]     (--keep: work in DIR and leave it; DIR must
#                               not exist)
#   acpica.sh --tools          only check that iasl and acpiexec are there,
#                              of the release the outcomes were recorded with
# Build output: $CARGO_TARGET_DIR (default ~/.cache/nvdimm-rs/cargo-target).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
: "${CARGO_TARGET_DIR:=${NVDIMM_RS_CACHE:-$HOME/.cache/nvdimm-rs}/cargo-target}"
export CARGO_TARGET_DIR

die() {
	printf 'acpica: FAILED: %s\n' "$*" >&2
	exit 1
}
say() { printf 'acpica: %s\n' "$*"; }

# The outcomes below (and acpiexec's output format) were recorded with
# this release, Debian bookworm's acpica-tools.
ACPICA_VERSION=20200925

# Remarks iasl may give when it recompiles an SSDT (any other remark, any
# warning or error fails):
#   2173  NCAL declares the mailbox's OperationRegion and Fields inside the
#         method: their address is the ivshmem BAR, read at each call.
#   2132  Timer is cut to 32 bits in a revision-1 table: the AML compares
#         Timer differences masked to 32 bits, never absolute values.
ALLOWED_REMARKS=" 2173 2132 "

# Malformed NFIT classes (nvdimm-vmm --malformed-nfit): what `iasl -d`
# makes of the table, and what recompiling its disassembly gives.
#   disassembly: clean           no diagnostic in the disassembly
#                note:TEXT       disassembled; TEXT is its diagnostic line
#                refused:TEXT    iasl -d fails; TEXT is in its output
#   recompile:   identical       our bytes (checksum, compiler id aside)
#                repaired        compiles, but iasl recomputes a length or
#                                count, so the malformation is gone
#                fails           iasl reports errors
#                -               nothing to recompile
MALFORMED_OUTCOMES="
table-length|refused:Table [NFIT] is too long for file - needs: 0x298, remaining in file: 0x198|-
subtable-length-zero|note:Invalid zero length subtable|fails
subtable-length-overrun|note:/**** ACPI subtable terminates early - may be older version (dump table) */|repaired
spa-length-short|note:/**** ACPI subtable terminates early - may be older version (dump table) */|fails
dcr-length-short|note:/**** ACPI subtable terminates early - may be older version (dump table) */|fails
interleave-count|note:/**** ACPI table terminates in the middle of a data structure! (dump table) */|repaired
flush-hint-count|note:/**** ACPI table terminates in the middle of a data structure! (dump table) */|repaired
memdev-spa-index|clean|identical
memdev-dcr-index|clean|identical
duplicate-spa-index|clean|identical
spa-overlap|clean|identical
spa-unaligned|clean|identical
spa-zero-length|clean|identical
memdev-size-overflow|clean|identical
interleave-ways-zero|clean|identical
duplicate-dcr-index|clean|identical
duplicate-interleave-index|note:/**** ACPI table terminates in the middle of a data structure! (dump table) */|repaired
duplicate-memdev|clean|identical
duplicate-capabilities|clean|identical
flush-hint-handle|clean|identical
unmapped-memdev-dcr-index|clean|identical
memdev-dcr-index-zero|clean|identical
second-memdev-dcr-index|clean|identical
"

keep=
tools_only=
case "${1:-}" in
--keep)
	[ $# -eq 2 ] || die "usage: acpica.sh [--keep DIR | --tools]"
	keep=$2
	;;
--tools) tools_only=1 ;;
"") ;;
*) die "usage: acpica.sh [--keep DIR | --tools]" ;;
esac

for t in iasl acpiexec; do
	command -v $t >/dev/null || die "$t not found (Debian package acpica-tools; run make setup)"
done
# version TOOL: the release TOOL -v names.
version() {
	local out
	out=$("$1" -v 2>&1) || die "'$1 -v' failed: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
	printf '%s\n' "$out" | sed -n 's/.*version \([0-9]\{8\}\).*/\1/p' | head -n 1
}
v=$(version iasl)
[ "$v" = "$ACPICA_VERSION" ] ||
	die "iasl is version '$v'; the expected outcomes here were recorded with $ACPICA_VERSION (acpica-tools of Debian bookworm): check them against the new release and update ACPICA_VERSION"
v2=$(version acpiexec)
[ "$v2" = "$ACPICA_VERSION" ] || die "acpiexec is version '$v2', iasl $v: both must be $ACPICA_VERSION"
if [ -n "$tools_only" ]; then
	say "iasl and acpiexec $v"
	exit 0
fi

if [ -n "$keep" ]; then
	mkdir "$keep" || die "--keep $keep: cannot create it (it must not exist)"
	work=$(cd "$keep" && pwd)
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi

cargo build --release --locked --quiet --manifest-path "$repo/tools/Cargo.toml" \
	-p nvdimm-vmm -p nvdimm-harness
vmm=$CARGO_TARGET_DIR/release/nvdimm-vmm
harness=$CARGO_TARGET_DIR/release/nvdimm-harness

# --- small helpers ---------------------------------------------------------

# hex FILE [SKIP [COUNT]]: the bytes as one uppercase hex string.
hex() {
	local a=(-An -v -tx1 -j "${2:-0}")
	[ -z "${3:-}" ] || a+=(-N "$3")
	od "${a[@]}" "$1" | tr -d ' \n' | tr a-f A-F
}
size() { stat -c %s "$1"; }
# uuid_hex UUID: the 16 bytes of ToUUID(UUID), as hex.
uuid_hex() {
	local u=${1//-/} out='' i
	for i in 6 4 2 0 10 8 14 12; do out+=${u:i:2}; done
	out+=${u:16:16}
	printf '%s' "${out^^}"
}
# args_hex HEX: "(xx xx ...)", a buffer argument of the AML debugger.
args_hex() { printf '(%s)' "$(printf '%s' "$1" | sed 's/../& /g; s/ $//')"; }
zeros() { printf "%0$(($1 * 2))d" 0; }
# hexn N: N as acpiexec prints an integer (uppercase hex, no leading zeros).
hexn() { printf '%X' "$1"; }
# buflen N: a buffer length as acpiexec prints it (two digits at least).
buflen() { printf '%02X' "$1"; }

ROOT_UUID=2f10e7a4-9e91-11e4-89d3-123b93f75cba
INTEL_UUID=4309ac30-0d11-11e4-9191-0800200c9a66
ROOT_HEX=$(uuid_hex $ROOT_UUID)
INTEL_HEX=$(uuid_hex $INTEL_UUID)
NO_UUID=$(zeros 16)
HW_ERROR=B:04:04000000 # NCAL's answer when the VMM cannot be reached

# --- acpiexec --------------------------------------------------------------

# canon: acpiexec's output as one line per evaluation, "PATH RESULT":
# none, fail:STATUS, I:HEX, B:LEN:HEXBYTES, P:COUNT followed by its
# elements, and before them N:DEVICE:VALUE[*COUNT] for the Notify()s the
# AML made.
canon() {
	awk '
	# Notifications run on their own threads: their order is not fixed, so
	# they are sorted and counted (N:DEV:VAL*COUNT).
	function flush(   i, j, t, out, run) {
		if (path == "") return
		for (i = 2; i <= nn; i++)
			for (j = i; j > 1 && nt[j - 1] > nt[j]; j--) { t = nt[j]; nt[j] = nt[j - 1]; nt[j - 1] = t }
		out = ""
		for (i = 1; i <= nn; i += run) {
			for (run = 1; i + run <= nn && nt[i + run] == nt[i]; run++);
			out = out " " nt[i] (run > 1 ? "*" run : "")
		}
		res = out res
		sub(/^ /, "", res)
		print path, res
		nn = 0
	}
	function bytes(from,   i) {
		for (i = from; i <= NF; i++) {
			if ($i == "//") break
			if ($i ~ /^[0-9A-F][0-9A-F][0-9A-F][0-9A-F]:$/) { inhex = 1; continue }
			if (inhex) res = res $i
		}
	}
	/^Evaluating / { flush(); path = $2; res = ""; inbuf = 0; next }
	/^No object was returned/ { res = res " none"; next }
	/Received a .*Notify on \[/ {
		dev = $0; sub(/.*Notify on \[/, "", dev); sub(/\].*/, "", dev)
		val = $0; sub(/.*Value 0x/, "", val); sub(/ .*/, "", val)
		nt[++nn] = "N:" dev ":" toupper(val); next
	}
	/^Evaluation of .* failed with status/ { res = res " fail:" $NF; next }
	/^ +\[Package\] Contains / { res = res " P:" $3; inbuf = 0; next }
	/^ +\[Integer\] = / { n = $NF; sub(/^0+/, "", n); if (n == "") n = "0"; res = res " I:" n; inbuf = 0; next }
	/^ +\[Buffer\] Length / { res = res " B:" $3 ":"; inbuf = 1; inhex = 0; bytes(4); next }
	inbuf && /^ +[0-9A-F][0-9A-F][0-9A-F][0-9A-F]: / { inhex = 0; bytes(1); next }
	/^$/ { inbuf = 0 }
	END { flush() }'
}

# What ACPICA reports when AML goes wrong.
ACPI_TROUBLE='ACPI Error|ACPI Exception|ACPI Warning|Firmware Error|Firmware Warning|Failed at AML|AE_AML_|AE_NOT_FOUND|AE_TYPE|AE_BAD_|AE_SUPPORT|AE_LIMIT|Method parse/execution failed|Could not resolve'

# A batch of acpiexec commands and the result each must give. acpiexec's
# batch line holds about a kilobyte (longer ones run nothing), so groups
# of commands are packed into runs of at most BATCH_MAX characters.
BATCH_MAX=900
declare -a group_cmds=() group_want=()
declare -a run_cmds=() run_want=()
run_no=0
# cmd COMMAND WANT: one command of the current group.
cmd() {
	local path=${1#* }
	group_cmds+=("$1")
	group_want+=("${path%% *} $2")
}
# end_group DIR DSDT SSDT: the group's commands join the current run,
# which is run first if they would not fit.
end_group() {
	local len=0 c
	for c in "${run_cmds[@]}" "${group_cmds[@]}"; do len=$((len + ${#c} + 1)); done
	[ $len -le $BATCH_MAX ] || flush_run "$@"
	run_cmds+=("${group_cmds[@]}")
	run_want+=("${group_want[@]}")
	group_cmds=()
	group_want=()
}
# flush_run DIR DSDT SSDT: the current run, one acpiexec process.
flush_run() {
	local dir=$1 dsdt=$2 ssdt=$3 batch out
	[ ${#run_cmds[@]} -gt 0 ] || return 0
	run_no=$((run_no + 1))
	out=$dir/acpiexec-$run_no.log
	batch=$(IFS=';'; printf '%s' "${run_cmds[*]}")
	# The kernel's loop timeout (acpiexec's own default is shorter).
	timeout 120 acpiexec -to 30 -b "$batch" "$dsdt" "$ssdt" >"$out" 2>&1 ||
		die "acpiexec failed or timed out ($out)"
	printf '%s\n' "${run_want[@]}" | sed 's/  *$//' >"$dir/want-$run_no"
	canon <"$out" | sed 's/  *$//' >"$dir/got-$run_no"
	if grep -E -q "$ACPI_TROUBLE" "$out"; then
		grep -E -n "$ACPI_TROUBLE" "$out" | head -n 5 >&2
		die "ACPICA reported an AML problem (log: $out)"
	fi
	grep -q 'successfully acquired and loaded' "$out" || die "acpiexec did not load the tables ($out)"
	# ACPICA's allocation tracker: nothing the AML made is left over.
	[ "$(tail -n 1 "$out")" = "ACPI: No outstanding allocations" ] ||
		die "ACPICA reports objects left allocated at exit ($out)"
	if ! diff -u "$dir/want-$run_no" "$dir/got-$run_no" >"$dir/diff-$run_no"; then
		cut -c1-300 "$dir/diff-$run_no" | head -n 20 >&2
		die "acpiexec results differ from the AML's (log: $out)"
	fi
	run_cmds=()
	run_want=()
}

# The DSDT the SSDT is loaded with: \_SB.PCI0 (the SSDT's Scope) and the
# VMM's side of the mailbox, at the address the stub gives the BAR
# (acpiexec backs every region with zeroed memory, shared by regions at
# the same address). Methods:
#   BHI(n)      the BAR's upper 32 bits
#   MBAR        the BAR at MAILBOX with the VMM's magic
#   ANSW(buf)   answer the next request with buf (it is written at the
#               payload before the call: it stays only if the call has no
#               input, which the AML writes over it)
#   ALEN(n)     answer the next request with n bytes of the payload as the
#               request leaves it (its input, then zeros)
#   HUNG        a mailbox nobody answers
#   AFIT        ANSW(FITB), the NFIT's structures
#   REQ         the last request: HNDL REVI FUNC ILEN KIND UUID input
#   UART(b)     the notification UART (0x3e8) has byte b to read; as
#               nothing reads it out of the stub, _EVT reads it 64 times,
#               its bound
#   UEMP        the UART has nothing to read
#   LSWN(n)     _LSW(0, n, n zero bytes) of the first DIMM with labels
#   LSRN(n)     _LSR(0, n) of that DIMM, as {status, size, first 8 bytes,
#               last 8 bytes} (the debugger cannot show 128 KiB)
MAILBOX=0x80000000
write_dsdt() { # FILE NFIT LSW_DEVICE
	local fit
	fit=$(od -An -v -tx1 -j 40 "$2" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/\([0-9a-f][0-9a-f]\)/0x\1,/g; s/,$//')
	cat >"$1" <<EOF
DefinitionBlock ("", "DSDT", 1, "NVDMRS", "ACPICHK", 1)
{
    External (\_SB.PCI0.NVMB.MBLO, FieldUnitObj)
    External (\_SB.PCI0.NVMB.MBHI, FieldUnitObj)
$([ -z "$3" ] || printf '    External (\\_SB.NVDR.%s.%s, MethodObj)\n' "$3" _LSR "$3" _LSW)
    Scope (\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_BBN, Zero)
        }
    }
    OperationRegion (SMBX, SystemMemory, $MAILBOX, 0x40000)
    Field (SMBX, DWordAcc, NoLock, Preserve)
    {
        MAGI, 32, VERS, 32, SEQN, 32, DONE, 32, HNDL, 32, REVI, 32, FUNC, 32, ILEN, 32,
        OLEN, 32, KIND, 32, Offset (0x30), UUID, 128
    }
    Field (SMBX, ByteAcc, NoLock, Preserve)
    {
        Offset (0x1000), DATA, 32768
    }
    OperationRegion (SUAR, SystemIO, 0x03E8, 0x08)
    Field (SUAR, ByteAcc, NoLock, Preserve)
    {
        URBR, 8, UIER, 8, UIIR, 8, ULCR, 8, UMCR, 8, ULSR, 8
    }
    Name (FITB, Buffer () { $fit })
    Method (UART, 1, Serialized)
    {
        URBR = Arg0
        ULSR = One
    }
    Method (UEMP, 0, Serialized)
    {
        ULSR = Zero
    }
    Method (BHI, 1, Serialized)
    {
        \_SB.PCI0.NVMB.MBHI = Arg0
    }
    Method (MBAR, 0, Serialized)
    {
        \_SB.PCI0.NVMB.MBLO = $MAILBOX
        MAGI = 0x424D564E
        VERS = One
    }
    Method (ANSW, 1, Serialized)
    {
        MBAR ()
        DONE = (SEQN + One)
        OLEN = SizeOf (Arg0)
        DATA = Arg0
    }
    Method (ALEN, 1, Serialized)
    {
        MBAR ()
        DONE = (SEQN + One)
        OLEN = Arg0
    }
    Method (HUNG, 0, Serialized)
    {
        MBAR ()
        DONE = SEQN
    }
    Method (AFIT, 0, Serialized)
    {
        ANSW (FITB)
    }
    Method (REQ, 0, Serialized)
    {
        Local0 = Package (0x07) {}
        Local0 [Zero] = HNDL
        Local0 [One] = REVI
        Local0 [0x02] = FUNC
        Local0 [0x03] = ILEN
        Local0 [0x04] = KIND
        Local0 [0x05] = UUID
        Local0 [0x06] = Mid (DATA, Zero, ILEN)
        Return (Local0)
    }
$([ -z "$3" ] || cat <<EOM
    Method (LSWN, 1, Serialized)
    {
        Return (\\_SB.NVDR.$3._LSW (Zero, Arg0, Buffer (Arg0) {}))
    }
    Method (LSRN, 1, Serialized)
    {
        Local0 = \\_SB.NVDR.$3._LSR (Zero, Arg0)
        Local1 = DerefOf (Local0 [One])
        Local2 = Package (0x04) {}
        Local2 [Zero] = DerefOf (Local0 [Zero])
        Local2 [One] = SizeOf (Local1)
        Local2 [0x02] = Mid (Local1, Zero, 0x08)
        Local2 [0x03] = Mid (Local1, SizeOf (Local1) - 0x08, 0x08)
        Return (Local2)
    }
EOM
)
}
EOF
}

# req HANDLE REVISION FUNCTION ILEN KIND UUIDHEX INPUTHEX: what REQ must
# show.
req() {
	local n=$((${#7} / 2))
	printf 'P:7 I:%X I:%X I:%X I:%X I:%X B:10:%s B:%s:%s' "$1" "$2" "$3" "$4" "$5" "$6" "$(buflen $n)" "$7"
}

# check_ssdt DIR NAME: disassembly, recompilation and evaluation of
# DIR/ssdt.aml (DIR/nfit.aml gives _FIT's answer).
hung_checked=
check_ssdt() {
	local d=$1 name=$2
	(cd "$d" && iasl -dl ssdt.aml >dis.log 2>&1) || die "$name: iasl -d ssdt.aml failed ($d/dis.log)"
	! grep -E -q -i 'error|warning' "$d/dis.log" || die "$name: iasl -d reports problems ($d/dis.log)"
	mkdir "$d/re"
	cp "$d/ssdt.dsl" "$d/re/"
	# -oa: no optimisation, so iasl encodes what the disassembly says.
	(cd "$d/re" && iasl -oa ssdt.dsl >re.log 2>&1) || die "$name: the disassembled SSDT does not compile ($d/re/re.log)"
	grep -q 'Compilation successful. 0 Errors, 0 Warnings' "$d/re/re.log" ||
		die "$name: recompiling the SSDT gives errors or warnings ($d/re/re.log)"
	local r
	while read -r r; do
		[[ $ALLOWED_REMARKS == *" $r "* ]] || die "$name: iasl remark $r is not an expected one ($d/re/re.log)"
	done < <(sed -n 's/^Remark *\([0-9]*\) .*/\1/p' "$d/re/re.log" | sort -u)
	# Our bytes: the header (less length, checksum, compiler id and
	# revision, which are iasl's) and the body after the External()
	# declaration iasl adds for \_SB.PCI0 (encoded as If (Zero) {
	# External (...) }: A0 len 00 15 ...).
	local ours=$d/ssdt.aml re=$d/re/ssdt.aml ext
	[ "$(hex "$ours" 0 4)$(hex "$ours" 8 1)$(hex "$ours" 10 18)" = "$(hex "$re" 0 4)$(hex "$re" 8 1)$(hex "$re" 10 18)" ] ||
		die "$name: the recompiled SSDT's header differs from ours"
	ext=$(($(size "$re") - $(size "$ours")))
	if [ $ext -le 0 ] || ! [[ $(hex "$re" 36 4) =~ ^A0..0015$ ]] || ! grep -q '^    External (' "$d/ssdt.dsl"; then
		die "$name: the recompiled SSDT does not start with the External() iasl adds"
	fi
	cmp -s <(tail -c +37 "$ours") <(tail -c +$((37 + ext)) "$re") ||
		die "$name: the recompiled SSDT's AML differs from ours ($ours, $re)"

	# What the SSDT has: DIMM devices, those with label methods, _FIT.
	local -a dimms=() labelled=() writable=()
	mapfile -t dimms < <(sed -n 's/^ *Device (\(NV[0-9A-F][0-9A-F]\))$/\1/p' "$d/ssdt.dsl")
	mapfile -t labelled < <(awk '/^ *Device \(NV[0-9A-F][0-9A-F]\)$/ { dev = substr($2, 2, 4) }
		/^ *Method \(_LSI,/ { print dev }' "$d/ssdt.dsl")
	# Those with _LSW too (label-methods=ro leaves it out).
	mapfile -t writable < <(awk '/^ *Device \(NV[0-9A-F][0-9A-F]\)$/ { dev = substr($2, 2, 4) }
		/^ *Method \(_LSW,/ { print dev }' "$d/ssdt.dsl")
	local fit='' evt=''
	grep -q '^ *Method (_FIT,' "$d/ssdt.dsl" && fit=1
	grep -q '^ *Method (_EVT,' "$d/ssdt.dsl" && evt=1
	[ ${#dimms[@]} -gt 0 ] || die "$name: no DIMM device in the SSDT"
	can_write() { [[ " ${writable[*]} " == *" $1 "* ]]; }
	# The whole-area transfers go through a DIMM with _LSW if there is one.
	local lab0=${writable[0]:-${labelled[0]:-}}
	write_dsdt "$d/dsdt.asl" "$d/nfit.aml" "$lab0"
	(cd "$d" && iasl dsdt.asl >dsdt.log 2>&1) || die "$name: the test DSDT does not compile ($d/dsdt.log)"
	local dsdt=$d/dsdt.aml ssdt=$d/ssdt.aml dev h root=\\_SB.NVDR

	# No mailbox (the BAR reads 0): every method gives NCAL's status 4.
	cmd "evaluate $root._DSM $(args_hex "$ROOT_HEX") 1 0 [ ]" "$HW_ERROR"
	end_group "$d" "$dsdt" "$ssdt"
	# A BAR above 4 GiB, out of reach of 32-bit integers: status 4 too.
	cmd "execute \\BHI 1" none
	cmd "evaluate $root._DSM $(args_hex "$ROOT_HEX") 1 0 [ ]" "$HW_ERROR"
	cmd "execute \\BHI 0" none
	end_group "$d" "$dsdt" "$ssdt"
	for dev in "${dimms[@]}"; do
		cmd "evaluate $root.$dev._DSM $(args_hex "$INTEL_HEX") 1 4 [ ]" "$HW_ERROR"
		end_group "$d" "$dsdt" "$ssdt"
	done
	for dev in "${labelled[@]}"; do
		# The label methods pass NCAL's status on as theirs.
		cmd "evaluate $root.$dev._LSI" "P:3 I:4 I:0 I:0"
		cmd "evaluate $root.$dev._LSR 0 8" "P:2 I:4 B:00:"
		can_write "$dev" && cmd "evaluate $root.$dev._LSW 0 4 (01 02 03 04)" "I:4"
		end_group "$d" "$dsdt" "$ssdt"
	done
	[ -z "$fit" ] || { cmd "evaluate $root._FIT" "$HW_ERROR"; end_group "$d" "$dsdt" "$ssdt"; }
	flush_run "$d" "$dsdt" "$ssdt"

	# Answered calls: the request in the mailbox and the return value.
	cmd "execute \\ANSW (00 00 00 00 01 00 00 00)" none
	cmd "evaluate $root._DSM $(args_hex "$ROOT_HEX") 1 0 [ ]" "B:08:0000000001000000"
	cmd "evaluate \\REQ" "$(req 0 1 0 0 0 "$ROOT_HEX" "")"
	end_group "$d" "$dsdt" "$ssdt"
	for dev in "${dimms[@]}"; do
		h=$((16#${dev#NV} + 1))
		cmd "execute \\ANSW (00 00 00 00 00 00 02 00 00 00 02 00)" none
		cmd "evaluate $root.$dev._DSM $(args_hex "$INTEL_HEX") 1 4 [ ]" "B:0C:000000000000020000000200"
		cmd "evaluate \\REQ" "$(req $h 1 4 0 0 "$INTEL_HEX" "")"
		end_group "$d" "$dsdt" "$ssdt"
		# An input buffer is written at the payload, where the answer is.
		cmd "execute \\ALEN 12" none
		cmd "evaluate $root.$dev._DSM $(args_hex "$INTEL_HEX") 1 5 [(10 00 00 00 08 00 00 00)]" \
			"B:0C:100000000800000000000000"
		cmd "evaluate \\REQ" "$(req $h 1 5 8 0 "$INTEL_HEX" 1000000008000000)"
		end_group "$d" "$dsdt" "$ssdt"
	done
	local big=$((128 << 10))
	for dev in "${labelled[@]}"; do
		h=$((16#${dev#NV} + 1))
		cmd "execute \\ANSW (00 00 00 00 00 00 02 00 00 00 02 00)" none
		cmd "evaluate $root.$dev._LSI" "P:3 I:0 I:20000 I:20000"
		cmd "evaluate \\REQ" "$(req $h 1 4 0 2 "$NO_UUID" "")"
		end_group "$d" "$dsdt" "$ssdt"
		cmd "execute \\ALEN 4" none
		cmd "evaluate $root.$dev._LSI" "P:3 I:1 I:0 I:0" # too short: status 1
		end_group "$d" "$dsdt" "$ssdt"
		cmd "execute \\ALEN 12" none
		cmd "evaluate $root.$dev._LSR 0 8" "P:2 I:0 B:08:0800000000000000"
		cmd "evaluate \\REQ" "$(req $h 1 5 8 2 "$NO_UUID" 0000000008000000)"
		end_group "$d" "$dsdt" "$ssdt"
		cmd "execute \\ALEN 12" none
		cmd "evaluate $root.$dev._LSR 0x10 8" "P:2 I:10 B:00:" # a failure status passes
		cmd "execute \\ALEN 8" none
		cmd "evaluate $root.$dev._LSR 0 8" "P:2 I:1 B:00:" # data short of length: status 1
		end_group "$d" "$dsdt" "$ssdt"
		can_write "$dev" || continue
		cmd "execute \\ALEN 4" none
		cmd "evaluate $root.$dev._LSW 0 4 (01 02 03 04)" "I:0"
		cmd "evaluate \\REQ" "$(req $h 1 6 12 2 "$NO_UUID" 000000000400000001020304)"
		end_group "$d" "$dsdt" "$ssdt"
	done
	if [ -n "$lab0" ]; then
		# A whole 128 KiB label area each way (the largest payload field),
		# through a DIMM with labels (one with _LSW if any).
		h=$((16#${lab0#NV} + 1))
		cmd "execute \\ALEN $((big + 4))" none
		cmd "evaluate \\LSRN $big" "P:4 I:0 I:$(hexn $big) B:08:0000020000000000 B:08:$(zeros 8)"
		cmd "evaluate \\REQ" "$(req $h 1 5 8 2 "$NO_UUID" 0000000000000200)"
		end_group "$d" "$dsdt" "$ssdt"
		if can_write "$lab0"; then
			cmd "execute \\ALEN 4" none
			cmd "evaluate \\LSWN $big" "I:0"
			cmd "evaluate \\REQ" "$(req $h 1 6 $((big + 8)) 2 "$NO_UUID" "0000000000000200$(zeros $((4096 - 8)))")"
			end_group "$d" "$dsdt" "$ssdt"
		fi
	fi
	if [ -n "$fit" ]; then
		local n
		n=$(($(size "$d/nfit.aml") - 40))
		cmd "execute \\AFIT" none
		cmd "evaluate $root._FIT" "B:$(buflen $n):$(hex "$d/nfit.aml" 40)"
		cmd "evaluate \\REQ" "$(req 0 0 0 0 1 "$NO_UUID" "")"
		end_group "$d" "$dsdt" "$ssdt"
	fi
	if [ -n "$evt" ]; then
		# The GED's _EVT: the low five bits of each byte (see aml::ged).
		# Past the last DIMM device's slot (a DIMM may have none:
		# acpi-device=off).
		local last=${dimms[${#dimms[@]} - 1]}
		local past=$((16#${last#NV} + 1 + 2))
		cmd "execute \\UEMP" none
		cmd "evaluate \\_SB.NVGE._EVT 0" "N:NVDR:80 none" # nothing read: re-read _FIT
		cmd "execute \\UART 0x80" none
		cmd "evaluate \\_SB.NVGE._EVT 0" "N:NVDR:80 none"
		cmd "execute \\UART 0x81" none
		cmd "evaluate \\_SB.NVGE._EVT 0" "N:NVDR:81 none"
		end_group "$d" "$dsdt" "$ssdt"
		# A DIMM's health byte notifies the DIMM; it leaves _EVT's flags
		# at 0, so the root gets 0x80 too (If (Local2 == 0 || Local2 & 1)).
		cmd "execute \\UART 0x82" none
		cmd "evaluate \\_SB.NVGE._EVT 0" "N:NV00:81*64 N:NVDR:80 none"
		end_group "$d" "$dsdt" "$ssdt"
		if [ $past -lt 32 ]; then
			# A slot past the devices: an update.
			cmd "execute \\UART $((0x80 | past))" none
			cmd "evaluate \\_SB.NVGE._EVT 0" "N:NVDR:80 none"
			end_group "$d" "$dsdt" "$ssdt"
		fi
	fi
	flush_run "$d" "$dsdt" "$ssdt"

	# A mailbox nobody answers, once: NCAL gives up at its own deadline
	# (12 s of Timer), inside ACPICA's 30 s loop timeout.
	if [ -z "$hung_checked" ]; then
		local t0 t1
		t0=$(date +%s)
		cmd "execute \\HUNG" none
		cmd "evaluate $root._DSM $(args_hex "$ROOT_HEX") 1 0 [ ]" "$HW_ERROR"
		end_group "$d" "$dsdt" "$ssdt"
		flush_run "$d" "$dsdt" "$ssdt"
		t1=$(date +%s)
		[ $((t1 - t0)) -ge 12 ] || die "$name: an unanswered call ended after $((t1 - t0)) s, before the AML's 12 s deadline"
		hung_checked=1
	fi
}

# nfit_outcome DIR: "DISASSEMBLY|RECOMPILE" for DIR/nfit.aml (see
# MALFORMED_OUTCOMES).
nfit_outcome() {
	local d=$1 note dis re
	if (cd "$d" && iasl -d nfit.aml >nfit-dis.log 2>&1); then
		note=$(awk '/^ *(\/\*\*\*\*|Invalid )/ { sub(/^ */, ""); sub(/ *$/, ""); print; exit }' "$d/nfit.dsl")
		if [ -n "$note" ]; then
			dis="note:$note"
		elif grep -E -q -i 'error|warning' "$d/nfit-dis.log"; then
			dis="note:$(grep -E -i -m 1 'error|warning' "$d/nfit-dis.log")"
		else
			dis=clean
		fi
		mkdir "$d/nfit-re"
		cp "$d/nfit.dsl" "$d/nfit-re/"
		if (cd "$d/nfit-re" && iasl nfit.dsl >re.log 2>&1) && grep -q 'Compilation successful' "$d/nfit-re/re.log"; then
			local ours=$d/nfit.aml back=$d/nfit-re/nfit.aml
			# Checksum (9) and compiler id and revision (28-35) are iasl's.
			if [ "$(size "$ours")" = "$(size "$back")" ] &&
				[ "$(hex "$ours" 0 9)$(hex "$ours" 10 18)$(hex "$ours" 36)" = "$(hex "$back" 0 9)$(hex "$back" 10 18)$(hex "$back" 36)" ]; then
				re=identical
			else
				re=repaired
			fi
		else
			re=fails
		fi
	else
		dis="refused:$(grep -E -m 1 'Table \[|[Ee]rror|[Ii]nvalid|not contain' "$d/nfit-dis.log")"
		re=-
	fi
	printf '%s|%s\n' "$dis" "$re"
}

declare -A ssdt_seen=() nfit_seen=() class_checked=()
configs=0
tables=0

# check_config NAME RUN_DIR NVDIMM-VMM-ARGS...: the tables of one
# configuration (each distinct SSDT and NFIT once).
check_config() {
	local name=$1 rundir=$2 state='' class='' i d sum want got
	shift 2
	local -a args=("$@")
	for ((i = 0; i + 1 < ${#args[@]}; i++)); do
		case ${args[i]} in
		--state-dir) state=${args[i + 1]} ;;
		--malformed-nfit) class=${args[i + 1]} ;;
		esac
	done
	[ -n "$state" ] || die "$name: no --state-dir in its arguments"
	mkdir -p "$rundir"
	"$vmm" "${args[@]}" --dry-run --quiet >"$rundir/$name-dry-run.log" 2>&1 ||
		die "$name: nvdimm-vmm --dry-run failed ($rundir/$name-dry-run.log)"
	configs=$((configs + 1))
	sum=$(sha256sum <"$state/ssdt.aml" | cut -c1-64)
	if [ -z "${ssdt_seen[$sum]:-}" ]; then
		tables=$((tables + 1))
		d=$work/tables/$tables-$name
		mkdir -p "$d"
		cp "$state/ssdt.aml" "$state/nfit.aml" "$d/"
		local runs=$run_no
		check_ssdt "$d" "$name"
		ssdt_seen[$sum]=$name
		say "$name: SSDT ($(size "$d/ssdt.aml") bytes): disassembled, recompiled to our AML; $((run_no - runs)) acpiexec runs"
	fi
	sum=$(sha256sum <"$state/nfit.aml" | cut -c1-64)/$class
	if [ -z "${nfit_seen[$sum]:-}" ]; then
		tables=$((tables + 1))
		d=$work/tables/$tables-$name-nfit
		mkdir -p "$d"
		cp "$state/nfit.aml" "$d/"
		if [ -z "$class" ]; then
			want="clean|identical"
		else
			want=$(printf '%s\n' "$MALFORMED_OUTCOMES" | sed -n "s/^$class|//p")
			[ -n "$want" ] || die "$name: class $class has no expected outcome in MALFORMED_OUTCOMES"
		fi
		got=$(nfit_outcome "$d")
		[ "$got" = "$want" ] ||
			die "$name: NFIT${class:+ of class $class}: iasl gives '$got', expected '$want' (files: $d)"
		nfit_seen[$sum]=$name
		say "$name: NFIT${class:+ ($class)}: $got"
	fi
	[ -z "$class" ] || class_checked[$class]=1
}

say "ACPICA $v; configurations from the scenario headers (nvdimm-harness vmm-configs)"
: >"$work/bzImage"
: >"$work/initramfs"
"$harness" --repo "$repo" --cache "$work/cache" vmm-configs \
	--kernel "$work/bzImage" --initrd "$work/initramfs" >"$work/configs.tsv" ||
	die "nvdimm-harness vmm-configs failed"
[ -s "$work/configs.tsv" ] || die "no scenario boots the test VMM"

# The classes nvdimm-vmm has, which the outcome table must list exactly.
mapfile -t classes < <("$vmm" --help | sed -n '/--malformed-nfit/,/^ *--[a-z]/p' |
	sed -n 's/^ *- \([a-z0-9-]*\): .*/\1/p')
[ ${#classes[@]} -gt 0 ] || die "cannot read the malformed classes from 'nvdimm-vmm --help'"
listed=$(printf '%s\n' "$MALFORMED_OUTCOMES" | sed -n 's/^\([a-z0-9-]*\)|.*/\1/p' | sort)
[ "$listed" = "$(printf '%s\n' "${classes[@]}" | sort)" ] ||
	die "MALFORMED_OUTCOMES lists [${listed//$'\n'/ }], nvdimm-vmm has [${classes[*]}]"

while IFS=$'\t' read -r -u 3 -a f; do
	check_config "${f[@]}"
done 3<"$work/configs.tsv"

# A class no scenario boots is checked on two DIMMs, as vmm-malformed has.
for c in "${classes[@]}"; do
	[ -z "${class_checked[$c]:-}" ] || continue
	say "class $c: no scenario boots it; checking it on two DIMMs"
	x=$work/extra/$c
	check_config "extra-$c" "$x" --kernel "$work/bzImage" --state-dir "$x/state" \
		--nvdimm "path=$x/a.img,size=256M,label-size=128K" \
		--nvdimm "path=$x/b.img,size=256M,label-size=128K" --malformed-nfit "$c"
done

# Negative control: the checks must catch an SSDT whose NCAL answers 5,
# not 4, when the VMM cannot be reached (checksum kept valid). It runs
# in a subshell of its own with errexit, whose failure is the result.
first=$(find "$work/tables" -mindepth 1 -maxdepth 1 -name '1-*' -print -quit)
bad=$work/tables/control
mkdir "$bad"
cp "$first/nfit.aml" "$bad/"
hw=11070A0404000000
body=$(hex "$first/ssdt.aml")
[[ $body == *"$hw"* ]] || die "negative control: NCAL's status-4 buffer ($hw) is not in $first/ssdt.aml"
body=${body//"$hw"/11070A0405000000}
body=${body:0:18}00${body:20}
sum=0
for ((i = 0; i < ${#body}; i += 2)); do sum=$(((sum + 16#${body:i:2}) % 256)); done
body=${body:0:18}$(printf '%02X' $(((256 - sum) % 256)))${body:20}
printf '%b' "$(printf '%s' "$body" | sed 's/../\\x&/g')" >"$bad/ssdt.aml"
set +e
(
	set -e
	check_ssdt "$bad" control
) >"$bad/check.log" 2>&1
status=$?
set -e
[ $status -ne 0 ] || die "negative control: an SSDT answering status 5 passed the checks ($bad)"
grep -q 'acpiexec results differ' "$bad/check.log" ||
	die "negative control: failed for another reason than its results ($bad/check.log)"

say "passed: $configs configurations, ${#ssdt_seen[@]} distinct SSDTs, ${#nfit_seen[@]} distinct NFITs, ${#classes[@]} malformed classes; the negative control failed as it must${keep:+ (files in $work)}"
