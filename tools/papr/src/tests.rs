// SPDX-License-Identifier: GPL-2.0
//! The kernel's papr_scm logic against the hypervisor model.

use crate::dt;
use crate::fuzz;
use crate::hcall::*;
use crate::health::{self, PdsmHealth};
use crate::logic::*;
use crate::model::{Dimm, Model};
use crate::pmu::{self, CounterError, EventSet};
use crate::stats;

const DRC: u32 = 0x9000_0000;
const BS: u64 = 256 << 20;

fn geo(blocks: u64) -> Geometry {
    Geometry {
        drc_index: DRC,
        block_size: BS,
        blocks,
    }
}

fn model(blocks: u64) -> Model {
    Model::new(vec![Dimm::qemu(0, blocks, 128 << 10)])
}

// ---- hcall ----

#[test]
fn long_busy_hints() {
    let want = [1, 10, 100, 1000, 10000, 100000];
    for (k, ms) in want.iter().enumerate() {
        let rc = H_LONG_BUSY_ORDER_1_MSEC + k as i64;
        assert!(is_long_busy(rc));
        assert_eq!(long_busy_msecs(rc), *ms);
    }
    assert!(!is_long_busy(H_BUSY) && !is_long_busy(9906) && !is_long_busy(9899));
    assert_eq!(long_busy_msecs(H_BUSY), 1);
    assert_eq!(
        (H_OVERLAP, H_P2, H_P3, H_FUNCTION, H_HARDWARE),
        (-68, -55, -56, -2, -1)
    );
    assert_eq!(
        (H_PARAMETER, H_AUTHORITY, H_NOT_FOUND, H_UNSUPPORTED),
        (-4, -10, -7, -67)
    );
    assert_eq!(
        (H_SCM_READ_METADATA, H_SCM_FLUSH, H_SCM_PERFORMANCE_STATS),
        (0x3E4, 0x44C, 0x418)
    );
}

// ---- bind / unbind ----

#[test]
fn bind_single_call() {
    let mut m = model(4);
    let b = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap();
    assert_eq!(b.how, BindHow::Fresh);
    assert_eq!(b.addr, 0x1_0000_0000);
    assert!(m.dimm(DRC).unwrap().is_bound());
    assert_eq!(m.log[0].args, vec![u64::from(DRC), 0, 4, BIND_ANY_ADDR, 0]);
}

#[test]
fn bind_multi_call_with_tokens() {
    let mut m = model(10);
    m.bind_chunk = 3;
    let b = bind(&mut m, &geo(10), OnOverlap::QueryExisting).unwrap();
    assert_eq!(b.addr, 0x1_0000_0000);
    assert_eq!(m.calls(H_SCM_BIND_MEM), 4);
    // Continue tokens passed back.
    let tokens: Vec<u64> = m.log.iter().map(|c| c.args[4]).collect();
    assert_eq!(tokens, vec![0, 3, 6, 9]);
    assert_eq!(m.rescheds, 3);
    assert!(m.sleeps.is_empty());
}

#[test]
fn bind_busy_and_each_long_busy() {
    for rc in [H_BUSY, 9900, 9901, 9902, 9903, 9904, 9905] {
        let mut m = model(8);
        m.bind_chunk = 2;
        m.inject(H_SCM_BIND_MEM, 1, 3, rc);
        let b = bind(&mut m, &geo(8), OnOverlap::QueryExisting).unwrap();
        assert_eq!(b.addr, 0x1_0000_0000);
        assert!(m.dimm(DRC).unwrap().is_bound());
        if rc == H_BUSY {
            assert!(m.sleeps.is_empty());
        } else {
            // C: drc_pmem_bind() fails the probe on long busy; here the hint
            // is honoured.
            assert_eq!(m.sleeps, vec![long_busy_msecs(rc); 3]);
        }
    }
}

#[test]
fn bind_overlap_reuses_contiguous_binding() {
    let mut m = model(4);
    m.prebind(DRC, 0x2_0000_0000, 4);
    let b = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap();
    assert_eq!(
        b,
        Bound {
            addr: 0x2_0000_0000,
            how: BindHow::Reused
        }
    );
    assert_eq!(m.calls(H_SCM_UNBIND_ALL), 0);
    assert_eq!(m.calls(H_SCM_QUERY_BLOCK_MEM_BINDING), 2);
}

#[test]
fn bind_overlap_rebinds_partial_binding() {
    let mut m = model(4);
    m.prebind(DRC, 0x2_0000_0000, 2);
    m.unbind_chunk = 1;
    let b = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap();
    assert_eq!(b.how, BindHow::Rebound);
    assert_eq!(m.calls(H_SCM_UNBIND_ALL), 2);
    assert!(m.dimm(DRC).unwrap().is_bound());
}

#[test]
fn bind_overlap_rebind_policy() {
    let mut m = model(4);
    m.prebind(DRC, 0x2_0000_0000, 4);
    let b = bind(&mut m, &geo(4), OnOverlap::Rebind).unwrap();
    assert_eq!(b.how, BindHow::Rebound);
    assert_eq!(m.calls(H_SCM_QUERY_BLOCK_MEM_BINDING), 0);
    assert_eq!(b.addr, 0x1_0000_0000);
}

#[test]
fn bind_overlap_twice_fails() {
    let mut m = model(4);
    m.inject(H_SCM_BIND_MEM, 0, 2, H_OVERLAP);
    let e = bind(&mut m, &geo(4), OnOverlap::Rebind).unwrap_err();
    assert_eq!(
        e,
        BindError::Hcall {
            opcode: H_SCM_BIND_MEM,
            rc: H_OVERLAP
        }
    );
    assert_eq!(e.errno(), -ENXIO);
}

#[test]
fn bind_overlap_unbind_failure_is_reported() {
    let mut m = model(4);
    m.prebind(DRC, 0x2_0000_0000, 1);
    m.inject(H_SCM_UNBIND_ALL, 0, 1, H_HARDWARE);
    let e = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap_err();
    assert_eq!(
        e,
        BindError::Hcall {
            opcode: H_SCM_UNBIND_ALL,
            rc: H_HARDWARE
        }
    );
    // C would bind again regardless; here no second bind is attempted.
    assert_eq!(m.calls(H_SCM_BIND_MEM), 1);
}

#[test]
fn bind_hardware_error_mid_bind_unbinds() {
    let mut m = model(9);
    m.bind_chunk = 3;
    m.inject(H_SCM_BIND_MEM, 1, 1, H_HARDWARE);
    let e = bind(&mut m, &geo(9), OnOverlap::QueryExisting).unwrap_err();
    assert_eq!(
        e,
        BindError::Partial {
            cause: PartialCause::Hcall(H_HARDWARE),
            cleanup_ok: true
        }
    );
    // C leaves the first 3 blocks bound; here they are unbound.
    let d = m.dimm(DRC).unwrap();
    assert_eq!((d.bound_blocks, d.base), (0, None));
    // And a later probe binds cleanly.
    assert_eq!(
        bind(&mut m, &geo(9), OnOverlap::QueryExisting).unwrap().how,
        BindHow::Fresh
    );
}

#[test]
fn bind_first_call_error_no_unbind() {
    let mut m = model(4);
    m.inject(H_SCM_BIND_MEM, 0, 1, H_P3);
    let e = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap_err();
    assert_eq!(
        e,
        BindError::Hcall {
            opcode: H_SCM_BIND_MEM,
            rc: H_P3
        }
    );
    assert_eq!(m.calls(H_SCM_UNBIND_ALL), 0);
}

#[test]
fn bind_non_contiguous_rejected() {
    let mut m = model(6);
    m.bind_chunk = 2;
    m.bind_gap = 1 << 20;
    let e = bind(&mut m, &geo(6), OnOverlap::QueryExisting).unwrap_err();
    assert_eq!(
        e,
        BindError::Partial {
            cause: PartialCause::NotContiguous,
            cleanup_ok: true
        }
    );
    assert_eq!(m.dimm(DRC).unwrap().bound_blocks, 0);
}

#[test]
fn bind_without_counts_takes_first_address() {
    let mut m = model(6);
    m.bind_chunk = 2;
    m.report_bind_counts = false;
    let b = bind(&mut m, &geo(6), OnOverlap::QueryExisting).unwrap();
    assert_eq!(b.addr, 0x1_0000_0000);
}

#[test]
fn bind_wrong_geometry() {
    let mut m = model(4);
    // The hypervisor refuses a count other than its own.
    assert_eq!(
        bind(&mut m, &geo(5), OnOverlap::QueryExisting).unwrap_err(),
        BindError::Hcall {
            opcode: H_SCM_BIND_MEM,
            rc: H_P3
        }
    );
    let g = Geometry {
        drc_index: DRC,
        block_size: u64::MAX,
        blocks: 2,
    };
    assert_eq!(
        bind(&mut m, &g, OnOverlap::QueryExisting).unwrap_err(),
        BindError::BadGeometry
    );
    let mut m = Model::new(vec![Dimm::new(DRC, BS, 4, 0)]);
    m.next_addr = u64::MAX - BS;
    let e = bind(&mut m, &geo(4), OnOverlap::QueryExisting).unwrap_err();
    assert!(matches!(
        e,
        BindError::Partial {
            cause: PartialCause::AddressOverflow,
            ..
        }
    ));
}

#[test]
fn bind_unknown_drc() {
    let mut m = model(4);
    let g = Geometry {
        drc_index: 7,
        ..geo(4)
    };
    let e = bind(&mut m, &g, OnOverlap::QueryExisting).unwrap_err();
    assert_eq!(
        e,
        BindError::Hcall {
            opcode: H_SCM_BIND_MEM,
            rc: H_PARAMETER
        }
    );
}

#[test]
fn unbind_token_loop_and_busy() {
    for rc in [H_BUSY, 9900, 9901, 9902, 9903, 9904, 9905] {
        let mut m = model(6);
        bind(&mut m, &geo(6), OnOverlap::QueryExisting).unwrap();
        m.unbind_chunk = 2;
        m.inject(H_SCM_UNBIND_ALL, 1, 2, rc);
        unbind(&mut m, DRC).unwrap();
        assert_eq!(m.dimm(DRC).unwrap().base, None);
        let calls: Vec<_> = m
            .log
            .iter()
            .filter(|c| c.opcode == H_SCM_UNBIND_ALL)
            .collect();
        assert_eq!(calls.len(), 5);
        assert!(calls
            .iter()
            .all(|c| c.args[0] == H_UNBIND_SCOPE_DRC && c.args[1] == u64::from(DRC)));
        assert_eq!(calls[0].args[2], 0);
        assert_ne!(calls[1].args[2], 0, "continue token passed back");
        if rc != H_BUSY {
            assert_eq!(m.sleeps, vec![long_busy_msecs(rc); 2]);
        }
    }
    let mut m = model(1);
    m.inject(H_SCM_UNBIND_ALL, 0, 1, H_HARDWARE);
    assert_eq!(
        unbind(&mut m, DRC).unwrap_err(),
        BindError::Hcall {
            opcode: H_SCM_UNBIND_ALL,
            rc: H_HARDWARE
        }
    );
}

// ---- label area ----

#[test]
fn access_sizes_as_c() {
    assert_eq!(
        [1, 2, 3, 4, 7, 8, 17].map(access_len),
        [1, 2, 2, 4, 4, 8, 8]
    );
    let mut m = model(1);
    let mut buf = [0u8; 15];
    read_metadata(&mut m, DRC, 128 << 10, 3, &mut buf).unwrap();
    let lens: Vec<(u64, u64)> = m.log.iter().map(|c| (c.args[1], c.args[2])).collect();
    assert_eq!(lens, vec![(3, 8), (11, 4), (15, 2), (17, 1)]);
}

#[test]
fn metadata_round_trip_all_lengths_and_offsets() {
    for garbage in [false, true] {
        let mut m = Model::new(vec![Dimm::qemu(0, 1, 64)]);
        m.read_garbage = garbage;
        for off in 0..=9u32 {
            for len in 0..=17usize {
                let data: Vec<u8> = (0..len)
                    .map(|i| (i as u8).wrapping_mul(37) ^ off as u8 ^ 0xa5)
                    .collect();
                write_metadata(&mut m, DRC, 64, off, &data).unwrap();
                assert_eq!(
                    &m.dimm(DRC).unwrap().metadata[off as usize..off as usize + len],
                    &data[..]
                );
                let mut back = vec![0u8; len];
                read_metadata(&mut m, DRC, 64, off, &mut back).unwrap();
                assert_eq!(back, data, "off {off} len {len}");
            }
        }
    }
}

#[test]
fn metadata_big_endian_wire_format() {
    let mut m = Model::new(vec![Dimm::qemu(0, 1, 16)]);
    write_metadata(
        &mut m,
        DRC,
        16,
        0,
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    )
    .unwrap();
    let vals: Vec<(u64, u64)> = m.log.iter().map(|c| (c.args[2], c.args[3])).collect();
    assert_eq!(
        vals,
        vec![
            (0x0102_0304_0506_0708, 8),
            (0x090a_0b0c, 4),
            (0x0d0e, 2),
            (0x0f, 1)
        ]
    );
}

#[test]
fn metadata_bounds() {
    let mut m = Model::new(vec![Dimm::qemu(0, 1, 64)]);
    let mut buf = [0u8; 8];
    assert_eq!(
        read_metadata(&mut m, DRC, 64, 57, &mut buf),
        Err(MetaError::OutOfRange)
    );
    assert_eq!(
        read_metadata(&mut m, DRC, 64, u32::MAX, &mut buf),
        Err(MetaError::OutOfRange)
    );
    assert_eq!(
        write_metadata(&mut m, DRC, 64, 60, &buf),
        Err(MetaError::OutOfRange)
    );
    assert_eq!(
        write_metadata(&mut m, DRC, 0, 0, &buf[..1]),
        Err(MetaError::OutOfRange)
    );
    assert!(m.log.is_empty());
    read_metadata(&mut m, DRC, 64, 56, &mut buf).unwrap();
    read_metadata(&mut m, DRC, 0, 0, &mut []).unwrap();
    assert_eq!(MetaError::OutOfRange.errno(), -EINVAL);
}

#[test]
fn metadata_short_read_and_failing_write() {
    let mut m = Model::new(vec![Dimm::qemu(0, 1, 64)]);
    m.meta_read_fail_after = Some((2, H_HARDWARE));
    let mut buf = [0u8; 20];
    let e = read_metadata(&mut m, DRC, 64, 0, &mut buf).unwrap_err();
    assert_eq!(
        e,
        MetaError::Hcall {
            rc: H_HARDWARE,
            done: 16
        }
    );
    assert_eq!(e.errno(), -EINVAL);
    m.meta_write_fail_after = Some((1, H_P2));
    let e = write_metadata(&mut m, DRC, 64, 0, &buf).unwrap_err();
    assert_eq!(e, MetaError::Hcall { rc: H_P2, done: 8 });
    // Bad DRC index: -ENODEV as in C.
    let e = read_metadata(&mut m, 1, 64, 0, &mut buf[..1]).unwrap_err();
    assert_eq!((e, e.errno()), (MetaError::BadDrc { done: 0 }, -ENODEV));
}

// ---- flush ----

#[test]
fn flush_qemu_style_tokens_and_sleeps() {
    let mut m = model(1);
    m.flush_polls = 3;
    flush(&mut m, DRC).unwrap();
    let calls: Vec<_> = m.log.iter().filter(|c| c.opcode == H_SCM_FLUSH).collect();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0].args, vec![u64::from(DRC), 0]);
    let t = calls[1].args[1];
    assert_ne!(t, 0);
    assert!(calls[1..].iter().all(|c| c.args[1] == t));
    assert_eq!(m.sleeps, vec![10; 4]);
    assert_eq!(m.dimm(DRC).unwrap().flushes, 1);
}

#[test]
fn flush_each_long_busy_and_busy() {
    for rc in [9900, 9901, 9902, 9903, 9904, 9905] {
        let mut m = model(1);
        m.flush_busy_rc = rc;
        m.flush_polls = 1;
        flush(&mut m, DRC).unwrap();
        assert_eq!(m.sleeps, vec![long_busy_msecs(rc); 2]);
    }
    let mut m = model(1);
    m.flush_busy_rc = H_BUSY;
    m.flush_polls = 4;
    flush(&mut m, DRC).unwrap();
    assert!(m.sleeps.is_empty());
    assert_eq!(m.rescheds, 5);
}

#[test]
fn flush_errors() {
    let mut m = model(1);
    m.flush_result = H_HARDWARE;
    let e = flush(&mut m, DRC).unwrap_err();
    assert_eq!((e.rc, e.errno()), (H_HARDWARE, -EIO));
    let mut m = model(1);
    assert_eq!(flush(&mut m, 5).unwrap_err().rc, H_PARAMETER);
    let mut m = model(1);
    m.inject(H_SCM_FLUSH, 1, 1, H_P2);
    assert_eq!(flush(&mut m, DRC).unwrap_err().rc, H_P2);
}

#[test]
fn flush_step_for_non_sleeping_callers() {
    let mut m = model(1);
    m.flush_polls = 1;
    let mut token = 0;
    assert_eq!(flush_step(&mut m, DRC, &mut token), Ok(FlushStep::Wait(10)));
    assert_ne!(token, 0);
    assert_eq!(flush_step(&mut m, DRC, &mut token), Ok(FlushStep::Wait(10)));
    assert_eq!(flush_step(&mut m, DRC, &mut token), Ok(FlushStep::Done));
    assert!(m.sleeps.is_empty());
}

// ---- health ----

#[test]
fn health_unknown_on_h_function() {
    let mut m = model(1);
    let r = health::query(&mut m, DRC).unwrap();
    assert_eq!(
        r,
        health::Reading {
            bitmap: 0,
            known: false
        }
    );
    assert!(!health::is_unarmed(r.bitmap));
}

#[test]
fn health_bitmap_masked_and_decoded() {
    let mut m = model(1);
    m.health_supported = true;
    m.dimms[0].health_bitmap = health::PAPR_PMEM_UNARMED | health::PAPR_PMEM_HEALTH_FATAL | 1;
    m.dimms[0].health_valid = !1;
    let r = health::query(&mut m, DRC).unwrap();
    assert_eq!(
        r.bitmap,
        health::PAPR_PMEM_UNARMED | health::PAPR_PMEM_HEALTH_FATAL
    );
    assert!(health::is_unarmed(r.bitmap));
    let h = PdsmHealth::from_bitmap(r.bitmap);
    assert!(h.unarmed && !h.bad_shutdown);
    assert_eq!(h.health, health::PAPR_PDSM_DIMM_FATAL);
    let mut s = String::new();
    health::write_flags(r.bitmap, &mut s).unwrap();
    assert_eq!(s, "not_armed smart_notify \n");
    m.inject(H_SCM_HEALTH, 0, 1, H_HARDWARE);
    let e = health::query(&mut m, DRC).unwrap_err();
    assert_eq!((e.rc, e.errno()), (H_HARDWARE, -ENXIO));
}

#[test]
fn health_decoding_table() {
    use health::*;
    let h = PdsmHealth::from_bitmap(PAPR_PMEM_HEALTH_UNHEALTHY);
    assert!(h.unarmed);
    assert_eq!(h.health, PAPR_PDSM_DIMM_UNHEALTHY);
    assert_eq!(
        PdsmHealth::from_bitmap(PAPR_PMEM_HEALTH_CRITICAL | PAPR_PMEM_HEALTH_UNHEALTHY).health,
        PAPR_PDSM_DIMM_CRITICAL
    );
    let h = PdsmHealth::from_bitmap(
        PAPR_PMEM_SCRUBBED_AND_LOCKED
            | PAPR_PMEM_ENCRYPTED
            | PAPR_PMEM_EMPTY
            | PAPR_PMEM_SHUTDOWN_DIRTY,
    );
    assert!(h.scrubbed && h.locked && h.encrypted && h.bad_restore && h.bad_shutdown && !h.unarmed);
    let mut s = String::new();
    write_flags(!0, &mut s).unwrap();
    assert_eq!(
        s,
        "not_armed flush_fail restore_fail encrypted smart_notify scrubbed locked \n"
    );
    s.clear();
    write_flags(PAPR_PMEM_SHUTDOWN_CLEAN, &mut s).unwrap();
    assert_eq!(s, "");
    let p = PdsmHealth {
        dsc: Some(7),
        fuel_gauge: Some(90),
        ..PdsmHealth::from_bitmap(PAPR_PMEM_UNARMED)
    }
    .to_payload();
    assert_eq!(p.len(), 184);
    assert_eq!(u32::from_ne_bytes(p[0..4].try_into().unwrap()), 3);
    assert_eq!(p[4], 1);
    assert_eq!(u16::from_ne_bytes([p[12], p[13]]), 90);
    assert_eq!(u64::from_ne_bytes(p[16..24].try_into().unwrap()), 7);
    assert_eq!(fuel_gauge(1 << 40), u16::MAX);
}

#[test]
fn health_cache_policy() {
    use health::cache_fresh;
    let i = 60_000;
    assert!(!cache_fresh(5, None, i));
    assert!(cache_fresh(1000, Some(1000), i));
    assert!(cache_fresh(61_000, Some(1000), i));
    assert!(!cache_fresh(61_001, Some(1000), i));
    // Wrapping clock (jiffies start near -300 s).
    let last = u64::MAX - 10;
    assert!(cache_fresh(5, Some(last), i));
    assert!(!cache_fresh(last.wrapping_add(i + 1), Some(last), i));
    // C's "lasthealth = 0" is not an invalidation early after boot: the
    // clock at -200 s is not after 0 + 60 s.
    assert!(cache_fresh(0u64.wrapping_sub(200_000), Some(0), i));
}

#[test]
fn smart_inject() {
    use health::*;
    let mut payload = [0u8; 184];
    payload[0..4].copy_from_slice(
        &(PDSM_SMART_INJECT_HEALTH_FATAL | PDSM_SMART_INJECT_BAD_SHUTDOWN | 8).to_ne_bytes(),
    );
    payload[4] = 1;
    let req = SmartInject::decode(&payload).unwrap();
    let (mask, flags) = req.apply(PAPR_PMEM_SHUTDOWN_DIRTY | PAPR_PMEM_ENCRYPTED);
    assert_eq!(mask, PAPR_PMEM_HEALTH_FATAL | PAPR_PMEM_ENCRYPTED);
    assert_eq!(flags, 3);
    assert_eq!(apply_inject(0, mask), mask);
    assert!(SmartInject::decode(&payload[..5]).is_none());
}

// ---- statistics ----

fn stats_model() -> Model {
    let mut m = model(1);
    m.stats_supported = true;
    m.dimms[0].stats = vec![
        (*b"MemLife ", 93),
        (*b"PonSecs ", 12345),
        (*b"HostLCnt", 1 << 40),
    ];
    m
}

#[test]
fn stats_unsupported_on_h_function_or_parameter() {
    let mut m = model(1);
    assert_eq!(stats::query_size(&mut m, DRC), Ok(None));
    let mut m = stats_model();
    m.stats_rc = H_PARAMETER;
    assert_eq!(stats::query_size(&mut m, DRC), Ok(None));
    m.stats_rc = H_UNSUPPORTED;
    assert_eq!(stats::query_size(&mut m, DRC), Ok(None));
    m.stats_rc = H_AUTHORITY;
    assert_eq!(stats::query_size(&mut m, DRC).unwrap_err().errno(), -EPERM);
    m.stats_rc = H_HARDWARE;
    assert_eq!(stats::query_size(&mut m, DRC).unwrap_err().errno(), -EIO);
}

#[test]
fn stats_all_and_one() {
    let mut m = stats_model();
    let size = stats::query_size(&mut m, DRC).unwrap().unwrap();
    assert_eq!(size, 16 + 3 * 16);
    let mut buf = vec![0u8; size];
    let s = stats::query(&mut m, DRC, &mut buf, &[]).unwrap();
    assert_eq!(s.len(), 3);
    assert!(s.eyecatcher_ok());
    assert_eq!(s.version(), 1);
    assert_eq!(s.get(&stats::MEM_LIFE), Some(93));
    let mut text = String::new();
    s.write_text(&mut text).unwrap();
    assert_eq!(
        text,
        "MemLife  = 0x000000000000005D\nPonSecs  = 0x0000000000003039\nHostLCnt = 0x0000010000000000\n"
    );
    let mut one = [0u8; stats::ONE_STAT_LEN];
    assert_eq!(
        stats::query_one(&mut m, DRC, stats::pmu_event(3).unwrap(), &mut one),
        Ok(12345)
    );
    assert_eq!(m.log.last().unwrap().args, vec![u64::from(DRC), 32]);
    let e = stats::query_one(&mut m, DRC, stats::pmu_event(16).unwrap(), &mut one).unwrap_err();
    assert_eq!((e, e.errno()), (stats::StatsError::UnknownStat, -ENOENT));
    assert!(stats::pmu_event(0).is_none() && stats::pmu_event(17).is_none());
    let mut small = [0u8; 20];
    assert_eq!(
        stats::query_one(&mut m, DRC, &stats::MEM_LIFE, &mut small),
        Err(stats::StatsError::Truncated)
    );
}

#[test]
fn stats_bad_hypervisor_answers() {
    let mut m = stats_model();
    m.stats_count_bias = 1000;
    let mut buf = vec![0u8; 64];
    // C would print 1003 entries from a 64-byte buffer.
    assert_eq!(
        stats::query(&mut m, DRC, &mut buf, &[]).unwrap_err(),
        stats::StatsError::Truncated
    );
    for bad in [0, 15, 1 << 40, (64 << 10) + 1] {
        m.stats_size_override = Some(bad);
        assert_eq!(
            stats::query_size(&mut m, DRC),
            Err(stats::StatsError::BadSize(bad))
        );
    }
    assert!(stats::Stats::parse(&[0u8; 15]).is_err());
    let mut b = [0u8; 16];
    b[15] = 1;
    assert!(stats::Stats::parse(&b).is_err());
}

// ---- nvdimm PMU counters ----

/// Probes the PMU as the driver does: size, then all statistics.
fn pmu_probe(m: &mut Model) -> Result<EventSet, CounterError> {
    let len = stats::query_size(m, DRC)?.ok_or(CounterError::NoEvents)?;
    let mut buf = vec![0u8; len];
    pmu::check_events(m, DRC, &mut buf)
}

#[test]
fn pmu_absent_on_qemu() {
    // QEMU: H_FUNCTION, so no size and no PMU (and no error to report).
    let mut m = model(1);
    assert_eq!(stats::query_size(&mut m, DRC), Ok(None));
    assert_eq!(pmu_probe(&mut m), Err(CounterError::NoEvents));
    // One size query each time, nothing else.
    assert_eq!(m.log.len(), 2);
    assert!(m
        .log
        .iter()
        .all(|c| c.opcode == H_SCM_PERFORMANCE_STATS && c.rc == H_FUNCTION));
}

#[test]
fn pmu_events_are_the_reported_statistics() {
    let mut m = stats_model();
    let events = pmu_probe(&mut m).unwrap();
    // MemLife (4), PonSecs (3), HostLCnt (6).
    assert_eq!(events.len(), 3);
    assert!(events.contains(3) && events.contains(4) && events.contains(6));
    assert!(!events.contains(1) && !events.contains(0) && !events.contains(17));
    assert_eq!(pmu::read_counter(&mut m, DRC, events, 6), Ok(1 << 40));
    // One-statistic request: 32 bytes.
    assert_eq!(m.log.last().unwrap().args, vec![u64::from(DRC), 32]);
    m.dimms[0].stats[1].1 += 7;
    assert_eq!(pmu::read_counter(&mut m, DRC, events, 3), Ok(12352));
    for config in pmu::EVENT_CONFIGS {
        assert!(stats::pmu_event(config).is_some());
        assert!(EventSet::ALL.contains(config));
    }
    assert_eq!(EventSet::ALL.len(), 16);
}

#[test]
fn pmu_unknown_events_make_no_call() {
    let mut m = stats_model();
    let events = pmu_probe(&mut m).unwrap();
    let calls = m.log.len();
    for config in [0, 1, 16, 17, u64::MAX] {
        let e = pmu::read_counter(&mut m, DRC, events, config).unwrap_err();
        assert_eq!(
            (e, e.errno()),
            (CounterError::UnknownEvent(config), -EINVAL)
        );
    }
    assert_eq!(m.log.len(), calls);
}

#[test]
fn pmu_probe_failures_register_nothing() {
    // No statistic of the event list.
    let mut m = stats_model();
    m.dimms[0].stats = vec![(*b"Other   ", 1)];
    assert_eq!(pmu_probe(&mut m), Err(CounterError::NoEvents));
    // The size answer works, the fetch fails.
    let mut m = stats_model();
    m.inject(H_SCM_PERFORMANCE_STATS, 1, 1, H_HARDWARE);
    let e = pmu_probe(&mut m).unwrap_err();
    assert_eq!(
        (e, e.errno()),
        (
            CounterError::Stats(stats::StatsError::Hcall(H_HARDWARE)),
            -EIO
        )
    );
    let mut m = stats_model();
    m.inject(H_SCM_PERFORMANCE_STATS, 1, 1, H_AUTHORITY);
    assert_eq!(pmu_probe(&mut m).unwrap_err().errno(), -EPERM);
    // A count beyond the buffer the size answer gave.
    let mut m = stats_model();
    m.stats_count_bias = 1;
    assert_eq!(
        pmu_probe(&mut m),
        Err(CounterError::Stats(stats::StatsError::Truncated))
    );
    // A size answer too small for the statistics: the hypervisor refuses.
    let mut m = stats_model();
    m.stats_size_override = Some(16);
    assert!(pmu_probe(&mut m).is_err());
}

#[test]
fn pmu_malformed_counter_answers_are_errors() {
    let mut m = stats_model();
    let events = pmu_probe(&mut m).unwrap();
    // A count larger than the one-statistic buffer.
    m.stats_count_override = Some(2);
    let e = pmu::read_counter(&mut m, DRC, events, 4).unwrap_err();
    assert_eq!(
        (e, e.errno()),
        (CounterError::Stats(stats::StatsError::Truncated), -EIO)
    );
    m.stats_count_override = Some(u32::MAX);
    assert!(pmu::read_counter(&mut m, DRC, events, 4).is_err());
    // No statistic in the answer.
    m.stats_count_override = Some(0);
    let e = pmu::read_counter(&mut m, DRC, events, 4).unwrap_err();
    assert_eq!((e, e.errno()), (CounterError::WrongStatistic, -EIO));
    // Another statistic than asked for (C would return its value).
    m.stats_count_override = None;
    m.stats_answer_id = Some(*b"PonSecs ");
    assert_eq!(
        pmu::read_counter(&mut m, DRC, events, 4),
        Err(CounterError::WrongStatistic)
    );
    m.stats_answer_id = None;
    assert_eq!(pmu::read_counter(&mut m, DRC, events, 4), Ok(93));
}

#[test]
fn pmu_counter_call_failures_are_errors() {
    let mut m = stats_model();
    let events = pmu_probe(&mut m).unwrap();
    // The statistic went away after probe: H_PARTIAL.
    m.dimms[0].stats.retain(|(id, _)| id != b"MemLife ");
    let e = pmu::read_counter(&mut m, DRC, events, 4).unwrap_err();
    assert_eq!(
        (e, e.errno()),
        (CounterError::Stats(stats::StatsError::UnknownStat), -ENOENT)
    );
    for rc in [H_HARDWARE, H_BUSY, H_LONG_BUSY_ORDER_1_MSEC, H_FUNCTION] {
        m.inject(H_SCM_PERFORMANCE_STATS, 0, 1, rc);
        assert!(
            pmu::read_counter(&mut m, DRC, events, 3).is_err(),
            "rc {rc}"
        );
    }
    // No retry, no sleep: the read runs with interrupts disabled.
    assert!(m.sleeps.is_empty() && m.rescheds == 0);
    assert_eq!(pmu::read_counter(&mut m, DRC, events, 3), Ok(12345));
}

// ---- device tree ----

#[test]
fn dt_qemu_node() {
    let c = fuzz::Case::qemu();
    let cfg = dt::parse(&c.as_props()).unwrap();
    assert_eq!(cfg.drc_index, 0x9000_0000);
    assert_eq!((cfg.block_size, cfg.blocks, cfg.size), (BS, 4, 4 * BS));
    assert_eq!(cfg.metadata_size, 128 << 10);
    assert!(!cfg.is_volatile && !cfg.hcall_flush_required && cfg.qemu_aligned());
    assert_eq!(cfg.dirty_shutdown_count, 0);
}

#[test]
fn dt_cookies_as_c() {
    // The example in papr_scm_probe().
    let u = dt::parse_uuid(b"72511b67-0b3b-42fd-8d1d-5be3cae8bcaa").unwrap();
    let c = dt::cookies(&u);
    assert_eq!(
        (c.cookie1, c.cookie2, c.altcookie),
        (0xfd423b0b671b5172, 0xaabce8cae35b1d8d, 0)
    );
    assert_eq!(
        dt::parse_uuid(b"72511B67-0B3B-42FD-8D1D-5BE3CAE8BCAAxyz"),
        Some(u)
    );
    assert!(dt::parse_uuid(b"72511b67-0b3b-42fd-8d1d-5be3cae8bca").is_none());
    assert!(dt::parse_uuid(b"72511b67+0b3b-42fd-8d1d-5be3cae8bcaa").is_none());
}

#[test]
fn dt_errors_name_properties() {
    let mut c = fuzz::Case::qemu();
    c.props[0] = None;
    assert_eq!(
        dt::parse(&c.as_props()),
        Err(dt::DtError::Missing("ibm,my-drc-index"))
    );
    let mut c = fuzz::Case::qemu();
    c.props[2] = Some(vec![0; 7]);
    assert_eq!(
        dt::parse(&c.as_props()),
        Err(dt::DtError::TooShort("ibm,block-size", 7))
    );
    let mut c = fuzz::Case::qemu();
    c.props[3] = Some(0u64.to_be_bytes().to_vec());
    assert_eq!(
        dt::parse(&c.as_props()),
        Err(dt::DtError::Zero("ibm,number-of-blocks"))
    );
    let mut c = fuzz::Case::qemu();
    c.props[3] = Some((1u64 << 40).to_be_bytes().to_vec());
    assert_eq!(
        dt::parse(&c.as_props()),
        Err(dt::DtError::SizeOverflow("ibm,number-of-blocks"))
    );
    let mut c = fuzz::Case::qemu();
    c.props[1] = Some(b"75a3cdd7-6a2f-4791-8d15-fe0a920e8e9e".to_vec());
    assert_eq!(
        dt::parse(&c.as_props()),
        Err(dt::DtError::NotAString("ibm,unit-guid"))
    );
    let mut c = fuzz::Case::qemu();
    c.props[4] = Some(vec![0, 2]);
    let e = dt::parse(&c.as_props()).unwrap_err();
    assert_eq!(e.to_string(), "ibm,metadata-size: 2 bytes is too short");
    let mut c = fuzz::Case::qemu();
    c.props[4] = None;
    c.props[5] = None;
    c.props[6] = Some(vec![]);
    c.props[7] = Some(5u64.to_be_bytes().to_vec());
    let cfg = dt::parse(&c.as_props()).unwrap();
    assert_eq!(cfg.metadata_size, 0);
    assert!(cfg.is_volatile && cfg.hcall_flush_required);
    assert_eq!(cfg.dirty_shutdown_count, 5);
}

#[test]
fn dt_fuzz_200k() {
    let stats = fuzz::run(200_000, 0x5eed)
        .unwrap_or_else(|c| panic!("{} at {}:\n{}", c.message, c.iteration, c.case));
    assert_eq!(stats.cases, 200_000);
    assert!(stats.outcomes["ok"] > 10_000);
    for kind in [
        "missing",
        "too-short",
        "not-a-string",
        "bad-uuid",
        "zero",
        "size-overflow",
        "too-large",
    ] {
        assert!(
            stats.outcomes.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never hit"
        );
    }
}

// ---- a probe as the kernel module will run it ----

#[test]
fn probe_sequence_on_qemu_model() {
    let c = fuzz::Case::qemu();
    let cfg = dt::parse(&c.as_props()).unwrap();
    let mut m = model(cfg.blocks);
    m.bind_chunk = 1;
    let g = Geometry {
        drc_index: cfg.drc_index,
        block_size: cfg.block_size,
        blocks: cfg.blocks,
    };
    let b = bind(&mut m, &g, OnOverlap::QueryExisting).unwrap();
    assert!(b.addr.checked_add(cfg.size).is_some());
    assert_eq!(stats::query_size(&mut m, cfg.drc_index), Ok(None));
    let h = health::query(&mut m, cfg.drc_index).unwrap();
    assert!(!h.known && !health::is_unarmed(h.bitmap));
    let mut label = vec![0u8; 256];
    read_metadata(&mut m, cfg.drc_index, cfg.metadata_size, 0, &mut label).unwrap();
    flush(&mut m, cfg.drc_index).unwrap();
    unbind(&mut m, cfg.drc_index).unwrap();
    assert!(!m.dimm(DRC).unwrap().is_bound());
    // Probe again after a "kexec" that left it bound.
    m.prebind(DRC, 0x4_0000_0000, cfg.blocks);
    assert_eq!(
        bind(&mut m, &g, OnOverlap::QueryExisting).unwrap().how,
        BindHow::Reused
    );
}

// ---- randomized sequences against random faults ----

#[test]
fn bind_random_faults_leave_hypervisor_consistent() {
    let mut rng = fuzz::Rng::new(7);
    let codes = [
        H_BUSY, 9900, 9901, 9902, 9903, 9904, 9905, H_HARDWARE, H_OVERLAP, H_P2, H_FUNCTION,
    ];
    for _ in 0..20_000 {
        let blocks = 1 + rng.below(12);
        let mut m = model(blocks);
        m.bind_chunk = rng.below(5);
        m.unbind_chunk = rng.below(3);
        m.report_bind_counts = rng.below(4) != 0;
        if rng.below(3) == 0 {
            m.prebind(DRC, 0x8_0000_0000, rng.below(blocks + 1));
        }
        for _ in 0..rng.below(3) {
            let op = if rng.below(2) == 0 {
                H_SCM_BIND_MEM
            } else {
                H_SCM_UNBIND_ALL
            };
            let rc = codes[rng.below(codes.len() as u64) as usize];
            m.inject(op, rng.below(4) as u32, 1 + rng.below(2) as u32, rc);
        }
        let policy = if rng.below(2) == 0 {
            OnOverlap::QueryExisting
        } else {
            OnOverlap::Rebind
        };
        match bind(&mut m, &geo(blocks), policy) {
            Ok(b) => {
                let d = m.dimm(DRC).unwrap();
                assert!(d.is_bound());
                assert_eq!(Some(b.addr), d.base);
            }
            Err(BindError::Partial {
                cleanup_ok: true, ..
            }) => {
                assert_eq!(m.dimm(DRC).unwrap().bound_blocks, 0);
            }
            Err(_) => {}
        }
        // Whatever happened, unbind (remove) leaves nothing bound unless
        // the hypervisor fails it.
        if unbind(&mut m, DRC).is_ok() {
            assert_eq!(m.dimm(DRC).unwrap().bound_blocks, 0);
        }
    }
}

#[test]
fn stats_parse_random_bytes() {
    let mut rng = fuzz::Rng::new(9);
    for _ in 0..100_000 {
        let len = rng.below(80) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if len >= 16 && rng.below(2) == 0 {
            b[12..16].copy_from_slice(&(rng.below(6) as u32).to_be_bytes());
        }
        if let Ok(s) = stats::Stats::parse(&b) {
            assert!(16 + s.len() * 16 <= b.len());
            let mut t = String::new();
            s.write_text(&mut t).unwrap();
            assert_eq!(t.lines().count(), s.len());
        }
        let _ = health::SmartInject::decode(&b);
    }
}

// ---- text without core::fmt (what the kernel module writes and logs) ----

#[test]
fn numbers_as_printf_writes_them() {
    let dec = |v: u64| {
        let mut s = String::new();
        health::write_decimal(&mut s, v).unwrap();
        s
    };
    for v in [0, 7, 10, 4096, 12_345_678_901, u64::MAX] {
        assert_eq!(dec(v), format!("{v}"));
    }
    let hex = |v: u64, width: usize, upper: bool| {
        let mut s = String::new();
        health::write_hex(&mut s, v, width, upper).unwrap();
        s
    };
    for v in [0, 1, 0xabc, 0x5d, 1 << 40, u64::MAX] {
        assert_eq!(hex(v, 1, false), format!("{v:x}"));
        assert_eq!(hex(v, 16, true), format!("{v:016X}"));
        assert_eq!(hex(v, 0, false), format!("{v:x}"));
        assert_eq!(hex(v, 40, false), format!("{v:016x}"));
    }
    // A full page stops the writer with an error, as fmt::Write does.
    struct Full;
    impl std::fmt::Write for Full {
        fn write_str(&mut self, _: &str) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }
    assert!(health::write_decimal(&mut Full, 1).is_err());
    assert!(health::write_hex(&mut Full, 1, 1, false).is_err());
}

#[test]
fn errors_describe_themselves_without_fmt() {
    let e = BindError::Hcall {
        opcode: H_SCM_BIND_MEM,
        rc: H_HARDWARE,
    };
    assert_eq!((e.what(), e.value()), ("hcall failed", H_HARDWARE));
    let e = BindError::Partial {
        cause: PartialCause::Hcall(H_P2),
        cleanup_ok: false,
    };
    assert_eq!((e.what(), e.value()), ("partial bind, unbind failed", H_P2));
    let e = BindError::NotContiguous {
        expected: 0x1000,
        got: 0x2000,
    };
    assert_eq!(e.value(), 0x2000);
    assert_eq!(BindError::NoAddress.value(), 0);
    let e = MetaError::Hcall { rc: H_P3, done: 8 };
    assert_eq!((e.what(), e.rc()), ("hcall failed", H_P3));
    assert_eq!(MetaError::BadDrc { done: 0 }.rc(), H_PARAMETER);
    assert_eq!(MetaError::OutOfRange.rc(), 0);
    assert_eq!(dt::DtError::TooLarge("p", 0x10).value(), Some(0x10));
    assert_eq!(dt::DtError::TooShort("p", 2).value(), Some(2));
    assert_eq!(dt::DtError::Missing("p").value(), None);
}
