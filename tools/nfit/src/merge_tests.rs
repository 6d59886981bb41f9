// SPDX-License-Identifier: GPL-2.0
//! Tests of the `_FIT` update rule of the kernel's table code: as C's
//! `acpi_nfit_check_deletions()`, an update may add entries, never drop or
//! change one (`table::deleted_entry`).

use crate::builder::{bdw, capabilities, flush, interleave, smbios, wrap, DcrEntry, Qemu};
use crate::table::{self, Deletion, Nfit};

const MIB: u64 = 1 << 20;

/// The deletion found between two `_FIT` bodies (both must parse).
fn deleted(prev: &[u8], next: &[u8]) -> Option<Deletion> {
    let p = Nfit::parse_fit(prev).expect("previous body refused");
    let n = Nfit::parse_fit(next).expect("new body refused");
    table::deleted_entry(&p, &n)
}

fn qemu(n: u16) -> Vec<u8> {
    Qemu::new(n, 256 * MIB).body()
}

/// Offset (as the parser reports offsets: from the table's start) of the
/// subtable at `at` bytes into a body.
fn offset(at: usize) -> usize {
    at + table::HEADER_LEN
}

/// The length of QEMU's subtables for one DIMM: SPA, memory device, DCR.
const QEMU_DIMM_LEN: usize = 56 + 48 + 80;

#[test]
fn same_description_deletes_nothing() {
    assert_eq!(deleted(&qemu(2), &qemu(2)), None);
    assert_eq!(deleted(&[], &[]), None);
}

#[test]
fn hot_added_dimms_delete_nothing() {
    assert_eq!(deleted(&[], &qemu(1)), None);
    assert_eq!(deleted(&qemu(1), &qemu(3)), None);
}

#[test]
fn removed_dimm_is_a_deletion_of_its_first_entry() {
    assert_eq!(
        deleted(&qemu(3), &qemu(2)),
        Some(Deletion {
            kind: table::TYPE_SPA,
            offset: offset(2 * QEMU_DIMM_LEN),
        })
    );
    assert_eq!(
        deleted(&qemu(1), &[]),
        Some(Deletion {
            kind: table::TYPE_SPA,
            offset: offset(0),
        })
    );
}

#[test]
fn changed_entry_is_a_deletion() {
    // The same DIMM, now not armed: its memory device entry differs.
    let mut q = Qemu::new(1, 256 * MIB);
    q.dimms[0].unarmed = true;
    assert_eq!(
        deleted(&qemu(1), &q.body()),
        Some(Deletion {
            kind: table::TYPE_MEMDEV,
            offset: offset(56),
        })
    );
}

#[test]
fn order_does_not_matter() {
    let two = qemu(2);
    let (a, b) = two.split_at(QEMU_DIMM_LEN);
    let swapped = [b, a].concat();
    assert_eq!(deleted(&two, &swapped), None);
    assert_eq!(deleted(&swapped, &two), None);
}

#[test]
fn repeated_entry_counts() {
    // Two identical flush hint structures for DIMM 1, then one.
    let f = flush(1, &[0x1000], None);
    let one = [qemu(1), f.clone()].concat();
    let twice = [qemu(1), f.clone(), f].concat();
    assert_eq!(deleted(&one, &twice), None);
    assert_eq!(
        deleted(&twice, &one),
        Some(Deletion {
            kind: table::TYPE_FLUSH,
            offset: offset(QEMU_DIMM_LEN + 24),
        })
    );
}

#[test]
fn entries_c_does_not_keep_do_not_count() {
    let with = [qemu(1), capabilities(1, 3), smbios(&[1, 2, 3, 4])].concat();
    assert_eq!(deleted(&with, &qemu(1)), None);
}

#[test]
fn control_region_compares_as_c_sizes_it() {
    // Without block windows C compares the first 32 bytes only: a change
    // past them is no deletion, one inside is.
    let base = qemu(1);
    let dcr_at = 56 + 48;
    let mut tail = base.clone();
    tail[dcr_at + 40] = 0xaa;
    assert_eq!(deleted(&base, &tail), None);
    let mut serial = base.clone();
    serial[dcr_at + 24] ^= 1;
    assert_eq!(
        deleted(&base, &serial),
        Some(Deletion {
            kind: table::TYPE_DCR,
            offset: offset(dcr_at),
        })
    );
    // With block windows, all 80 bytes.
    let windows = |fill: u8| {
        let mut d = DcrEntry {
            windows: 1,
            ..DcrEntry::qemu(0)
        }
        .bytes();
        d[40] = fill;
        [base[..dcr_at].to_vec(), d, bdw(3, 1)].concat()
    };
    assert_eq!(deleted(&windows(0), &windows(0)), None);
    assert_eq!(
        deleted(&windows(0), &windows(1)),
        Some(Deletion {
            kind: table::TYPE_DCR,
            offset: offset(dcr_at),
        })
    );
}

#[test]
fn interleave_and_flush_compare_their_lines_and_hints() {
    let idt = |line: u32| [qemu(1), interleave(1, 256, &[0, line], None)].concat();
    assert_eq!(deleted(&idt(4), &idt(4)), None);
    assert_eq!(
        deleted(&idt(4), &idt(8)),
        Some(Deletion {
            kind: table::TYPE_INTERLEAVE,
            offset: offset(QEMU_DIMM_LEN),
        })
    );
    let hints = |h: &[u64]| [qemu(1), flush(1, h, None)].concat();
    assert_eq!(
        deleted(&hints(&[0x1000]), &hints(&[0x1000, 0x2000])).map(|d| d.kind),
        Some(table::TYPE_FLUSH)
    );
}

#[test]
fn static_table_and_fit_agree() {
    // The probe's static NFIT followed by the same subtables from _FIT.
    let t = wrap(&qemu(2));
    let p = Nfit::parse(&t).expect("table refused");
    let body = qemu(2);
    let n = Nfit::parse_fit(&body).expect("_FIT refused");
    assert_eq!(table::deleted_entry(&p, &n), None);
    let less = qemu(1);
    let n = Nfit::parse_fit(&less).expect("_FIT refused");
    assert_eq!(
        table::deleted_entry(&p, &n),
        Some(Deletion {
            kind: table::TYPE_SPA,
            offset: offset(QEMU_DIMM_LEN),
        })
    );
}

#[test]
fn deletion_message_names_type_and_offset() {
    let d = Deletion {
        kind: 1,
        offset: 96,
    };
    assert_eq!(
        d.to_string(),
        "type 1 subtable at offset 96 of the previous NFIT is missing"
    );
}
