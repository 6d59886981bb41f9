// SPDX-License-Identifier: GPL-2.0
//! Tests of the kernel's ARS buffer handling (`nfit_rs/ars.rs`).

use crate::ars::*;

/// A Query ARS Status output with `records` (handle, address, length).
fn status_out(
    status: u32,
    start: u64,
    len: u64,
    flags: u16,
    records: &[(u32, u64, u64)],
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&status.to_le_bytes());
    let out_length = (STATUS_HDR_LEN - 4 + records.len() * RECORD_LEN) as u32;
    b.extend_from_slice(&out_length.to_le_bytes());
    b.extend_from_slice(&start.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&[0u8; 16]); // restart address and length
    b.extend_from_slice(&ARS_PERSISTENT.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
    b.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for &(h, a, l) in records {
        b.extend_from_slice(&h.to_le_bytes());
        b.extend_from_slice(&[0u8; 4]);
        b.extend_from_slice(&a.to_le_bytes());
        b.extend_from_slice(&l.to_le_bytes());
    }
    b
}

#[test]
fn status_records_round_trip() {
    let out = status_out(
        0,
        1 << 32,
        1 << 28,
        0,
        &[(1, (1 << 32) + 4096, 512), (2, (1 << 32) + 8192, 64)],
    );
    let s = ArsStatus::parse(&out).unwrap();
    assert_eq!((s.address, s.length), (1 << 32, 1 << 28));
    let r: Vec<Record> = s.records().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[1],
        Record {
            handle: 2,
            address: (1 << 32) + 8192,
            length: 64
        }
    );
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &out), 0);
}

#[test]
fn status_counts_beyond_the_buffer_are_rejected() {
    let mut out = status_out(0, 0, 4096, 0, &[(1, 0, 512)]);
    // Claim 1000 records in a buffer holding one.
    out[44..48].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(
        ArsStatus::parse(&out).unwrap_err(),
        StatusError::BadCount(1000)
    );
    // And a count the declared out_length does not cover.
    let mut out = status_out(0, 0, 4096, 0, &[(1, 0, 512)]);
    out[4..8].copy_from_slice(&44u32.to_le_bytes());
    assert!(ArsStatus::parse(&out).is_err());
    // u32::MAX records cannot overflow the size computation.
    out[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(ArsStatus::parse(&out).is_err());
    // Every truncation of a valid answer is handled without a panic.
    let good = status_out(0, 0, 4096, 0, &[(1, 0, 512), (1, 1024, 512)]);
    for n in 0..good.len() {
        let _ = ArsStatus::parse(&good[..n]);
        let _ = xlat_status(FUNC_ARS_STATUS, &[], &good[..n]);
    }
}

#[test]
fn status_translation_matches_c() {
    let busy = status_out(STATUS_BUSY, 0, 0, 0, &[]);
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &busy), -16);
    assert_eq!(
        xlat_status(FUNC_ARS_STATUS, &[], &STATUS_NONE.to_le_bytes()),
        -11
    );
    let overflow = status_out(STATUS_INTR, 0, 0, STATUS_F_OVERFLOW, &[]);
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &overflow), -28);
    let intr = status_out(STATUS_INTR, 0, 0, 0, &[]);
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &intr), 0);
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &4u32.to_le_bytes()), -5);
    // Capabilities: not supported, failed, no persistent/volatile scrub, fine.
    assert_eq!(xlat_status(FUNC_ARS_CAP, &[], &CAP_NONE.to_le_bytes()), -25);
    assert_eq!(xlat_status(FUNC_ARS_CAP, &[], &3u32.to_le_bytes()), -5);
    assert_eq!(xlat_status(FUNC_ARS_CAP, &[], &0u32.to_le_bytes()), -25);
    assert_eq!(
        xlat_status(FUNC_ARS_CAP, &[], &(2u32 << 16).to_le_bytes()),
        0
    );
    assert_eq!(
        xlat_status(FUNC_ARS_START, &[], &START_BUSY.to_le_bytes()),
        -16
    );
    assert_eq!(xlat_status(FUNC_ARS_START, &[], &0u32.to_le_bytes()), 0);
    // Clear error: nothing cleared, partial, complete; a short answer.
    let input = range_input(4096, 512);
    let clear = |st: u32, cleared: u64| {
        let mut b = st.to_le_bytes().to_vec();
        b.extend_from_slice(&[0u8; 4]);
        b.extend_from_slice(&cleared.to_le_bytes());
        b
    };
    assert_eq!(xlat_status(FUNC_CLEAR_ERROR, &input, &clear(0, 0)), -5);
    assert_eq!(xlat_status(FUNC_CLEAR_ERROR, &input, &clear(0, 256)), 256);
    assert_eq!(xlat_status(FUNC_CLEAR_ERROR, &input, &clear(0, 512)), 0);
    assert_eq!(xlat_status(FUNC_CLEAR_ERROR, &input, &[]), -5);
}

#[test]
fn records_are_clipped_to_the_scrubbed_range() {
    let r = |address, length| Record {
        handle: 0,
        address,
        length,
    };
    assert_eq!(clip(&r(100, 50), 0, 1000), Some((100, 50)));
    assert_eq!(clip(&r(0, 200), 100, 1000), Some((100, 100)));
    assert_eq!(clip(&r(900, 200), 0, 1000), Some((900, 100)));
    assert_eq!(clip(&r(2000, 10), 0, 1000), None);
    assert_eq!(clip(&r(u64::MAX - 1, 10), 0, 1000), None);
}

#[test]
fn inputs_have_the_uapi_layout() {
    let s = start_input(0x1122, 0x3344, ARS_PERSISTENT, 0);
    assert_eq!(&s[..8], &0x1122u64.to_le_bytes());
    assert_eq!(&s[8..16], &0x3344u64.to_le_bytes());
    assert_eq!(&s[16..18], &2u16.to_le_bytes());
    assert!(s[18..].iter().all(|&b| b == 0));
    // struct nd_cmd_ars_start: the flags byte follows the type.
    let s = start_input(0, 0, ARS_PERSISTENT, START_RETURN_PREV_DATA);
    assert_eq!(s[18], 2);
    assert!(s[19..].iter().all(|&b| b == 0));
    assert_eq!(input_len(FUNC_ARS_START), Some(24));
    assert_eq!(input_len(9), None);
}

#[test]
fn overflow_continues_from_the_restart_address() {
    let mut out = status_out(
        STATUS_INTR,
        0x1000_0000,
        0x10_0000,
        STATUS_F_OVERFLOW,
        &[(1, 0x1000_2000, 512)],
    );
    // Restart address and length: the scrub stopped 1 MiB - 64 KiB short.
    out[24..32].copy_from_slice(&0x100f_0000u64.to_le_bytes());
    out[32..40].copy_from_slice(&0x1_0000u64.to_le_bytes());
    assert_eq!(xlat_status(FUNC_ARS_STATUS, &[], &out), -28, "ENOSPC");
    let s = ArsStatus::parse(&out).unwrap();
    assert_eq!(s.ty, ARS_PERSISTENT);
    assert_eq!(
        s.continuation(),
        start_input(0x100f_0000, 0x1_0000, ARS_PERSISTENT, 0)
    );
    assert_eq!(s.records().count(), 1, "the records that fit are kept");
}

#[test]
fn completion_needs_the_end_of_the_range() {
    let range = (0x1000_0000u64, 0x10_0000u64);
    let whole = status_out(0, range.0, range.1, 0, &[]);
    assert!(ArsStatus::parse(&whole)
        .unwrap()
        .completes(range.0, range.1));
    // A continuation from inside the range that reaches its end.
    let tail = status_out(0, 0x100f_0000, 0x1_0000, 0, &[]);
    assert!(ArsStatus::parse(&tail).unwrap().completes(range.0, range.1));
    // The first part of an overflowed scrub does not.
    let head = status_out(0, range.0, 0xf_0000, 0, &[]);
    assert!(!ArsStatus::parse(&head).unwrap().completes(range.0, range.1));
    // Another range's scrub does not either.
    let other = status_out(0, 0x2000_0000, 0x10_0000, 0, &[]);
    assert!(!ArsStatus::parse(&other)
        .unwrap()
        .completes(range.0, range.1));
    // A status carrying the status word only (busy) completes nothing.
    let busy = STATUS_BUSY.to_le_bytes();
    assert!(!ArsStatus::parse(&busy).unwrap().completes(range.0, range.1));
}

#[test]
fn capabilities_give_the_status_size() {
    let mut cap = Vec::new();
    cap.extend_from_slice(&(2u32 << 16).to_le_bytes());
    cap.extend_from_slice(&1584u32.to_le_bytes());
    assert_eq!(max_status_out(&cap), Some(1584));
    assert_eq!(max_status_out(&cap[..6]), None);
}
