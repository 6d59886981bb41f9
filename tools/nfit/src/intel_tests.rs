// SPDX-License-Identifier: GPL-2.0
//! Tests of the kernel's Intel `_DSM` family handling (`nfit_rs/intel.rs`)
//! against the C driver's `intel.c` and `acpi_nfit_ctl()`.

use crate::intel::*;

#[test]
fn intel_bus_guid_matches_its_text_form() {
    // c7d8acd4-2df8-4b82-9f65-a325335af149, first three groups
    // little-endian.
    let text = "c7d8acd42df84b829f65a325335af149";
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    assert_eq!(INTEL_BUS_GUID, b);
}

/// A SMART answer with `flags`, the shutdown count and state.
fn smart(flags: u32, count: u32, state: u8) -> Vec<u8> {
    let mut s = vec![0u8; SMART_LEN];
    s[4..8].copy_from_slice(&flags.to_le_bytes());
    s[20..24].copy_from_slice(&count.to_le_bytes());
    s[35] = state;
    s
}

#[test]
fn shutdown_status_from_smart() {
    let both = SMART_SHUTDOWN_VALID | SMART_SHUTDOWN_COUNT_VALID;
    assert_eq!(
        ShutdownStatus::parse(&smart(both, 7, 1)),
        Some(ShutdownStatus {
            dirty: true,
            count: Some(7)
        })
    );
    // A state without its valid bit, and a count without its bit.
    assert_eq!(
        ShutdownStatus::parse(&smart(SMART_SHUTDOWN_COUNT_VALID, 3, 1)),
        Some(ShutdownStatus {
            dirty: false,
            count: Some(3)
        })
    );
    assert_eq!(
        ShutdownStatus::parse(&smart(SMART_SHUTDOWN_VALID, 3, 0)),
        Some(ShutdownStatus::default())
    );
    // The status word is not looked at (as C); a short answer gives nothing.
    let mut failed = smart(both, 1, 1);
    failed[0] = 5;
    assert!(ShutdownStatus::parse(&failed).unwrap().dirty);
    assert_eq!(ShutdownStatus::parse(&smart(both, 1, 1)[..131]), None);
    // Longer answers are fine.
    let mut long = smart(both, 2, 0);
    long.extend_from_slice(&[0xff; 16]);
    assert_eq!(ShutdownStatus::parse(&long).unwrap().count, Some(2));
}

#[test]
fn native_replies_follow_acpi_nfit_ctl() {
    // SMART: both fields copied, status 0.
    let answer = smart(1, 2, 3);
    let mut out = [0u8; 132];
    assert_eq!(native_reply(1, &answer, &mut out), Ok(0));
    assert_eq!(&out[..], &answer[..]);
    // A non-zero status is EIO for in-kernel callers; the data stays.
    let mut bad = answer.clone();
    bad[0] = 4;
    assert_eq!(native_reply(1, &bad, &mut out), Ok(EIO));
    assert_eq!(out[0], 4);
    // Only the status came back: copied, the rest untouched.
    let mut out = [0xaau8; 132];
    assert_eq!(native_reply(1, &[0, 0, 0, 0], &mut out), Ok(0));
    assert_eq!(&out[..4], &[0, 0, 0, 0]);
    assert_eq!(out[4], 0xaa);
    // A partial second field is not copied.
    let mut out = [0xaau8; 132];
    assert_eq!(native_reply(1, &answer[..100], &mut out), Ok(0));
    assert_eq!(out[4], 0xaa);
    // Nothing at all: underrun; a field past the output: overrun.
    assert_eq!(
        native_reply(1, &[0, 0], &mut out),
        Err(NativeReplyError::Underrun)
    );
    let mut small = [0u8; 8];
    assert_eq!(
        native_reply(1, &answer, &mut small),
        Err(NativeReplyError::Overrun)
    );
    // Threshold and flags: 4 + 8 and 4 + 4.
    let mut out = [0u8; 12];
    assert_eq!(native_reply(2, &[0u8; 12], &mut out), Ok(0));
    let mut out = [0u8; 8];
    assert_eq!(native_reply(3, &[0u8; 8], &mut out), Ok(0));
    // Vendor: the output length comes from the answer.
    let mut answer = vec![0u8, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3];
    let mut out = [0u8; 16];
    assert_eq!(native_reply(9, &answer, &mut out), Ok(0));
    assert_eq!(&out[..11], &answer[..]);
    answer[4] = 200;
    assert_eq!(native_reply(9, &answer, &mut out), Ok(0));
    answer.resize(208, 0);
    assert_eq!(
        native_reply(9, &answer, &mut out),
        Err(NativeReplyError::Overrun)
    );
    answer[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(native_reply(9, &answer, &mut out), Ok(0));
}

#[test]
fn replies_are_zero_filled() {
    assert_eq!(reply::<4>(&[]), [0; 4]);
    assert_eq!(reply::<4>(&[1, 2, 3, 4, 5, 6]), [1, 2, 3, 4]);
    assert_eq!(reply::<6>(&[1, 2]), [1, 2, 0, 0, 0, 0]);
    assert_eq!(status(&[1, 0, 1, 0]), 0x10001);
}

fn state_reply(status: u32, extended: u8, state: u8) -> [u8; SECURITY_STATE_LEN] {
    let mut r = [0u8; SECURITY_STATE_LEN];
    r[..4].copy_from_slice(&status.to_le_bytes());
    r[4] = extended;
    r[8] = state;
    r
}

#[test]
fn security_flags_follow_intel_security_flags() {
    let user = |state| SecurityState::parse(&state_reply(0, 0, state), false).unwrap();
    let s = |disabled, unlocked, locked, frozen| SecurityState {
        disabled,
        unlocked,
        locked,
        frozen,
    };
    assert_eq!(user(0), s(true, false, false, false));
    assert_eq!(user(0x02), s(false, true, false, false));
    assert_eq!(user(0x02 | 0x04), s(false, false, true, false));
    assert_eq!(user(0x02 | 0x08), s(false, true, false, true));
    assert_eq!(user(0x02 | 0x10), s(false, true, false, true));
    // Frozen without enabled counts for nothing.
    assert_eq!(user(0x08), s(true, false, false, false));
    // Unsupported: no flags at all.
    assert_eq!(user(0x20 | 0x02), SecurityState::default());
    let master = |ext| SecurityState::parse(&state_reply(0, ext, 0), true).unwrap();
    assert_eq!(master(0), s(true, false, false, false));
    assert_eq!(master(1), s(false, true, false, false));
    assert_eq!(master(1 | 2), s(false, true, false, true));
    // A failed query.
    assert_eq!(SecurityState::parse(&state_reply(1, 0, 2), false), None);
}

#[test]
fn security_statuses_follow_intel_c() {
    use SecurityOp::*;
    for op in [
        Freeze,
        ChangeKey,
        Unlock,
        Disable,
        Erase,
        Overwrite,
        QueryOverwrite,
    ] {
        assert_eq!(op.errno(0), 0, "{op:?}");
    }
    assert_eq!(Freeze.errno(11), EIO);
    assert_eq!(ChangeKey.errno(11), EINVAL);
    assert_eq!(ChangeKey.errno(1), EOPNOTSUPP);
    assert_eq!(ChangeKey.errno(10), EIO);
    assert_eq!(Unlock.errno(11), EINVAL);
    assert_eq!(Unlock.errno(1), EIO);
    assert_eq!(Disable.errno(11), EINVAL);
    assert_eq!(Disable.errno(10), ENXIO);
    assert_eq!(Erase.errno(1), EOPNOTSUPP);
    assert_eq!(Erase.errno(11), EINVAL);
    assert_eq!(Erase.errno(5), ENXIO);
    assert_eq!(Overwrite.errno(0x10007), ENOTSUPP);
    assert_eq!(Overwrite.errno(11), EINVAL);
    assert_eq!(Overwrite.errno(10), ENXIO);
    assert_eq!(QueryOverwrite.errno(0x10007), EBUSY);
    assert_eq!(QueryOverwrite.errno(0x20007), ENXIO);
}

fn businfo(state: u8, cap: u8, activate_tmo: u64, max_quiesce: u64) -> Option<[u8; BUSINFO_LEN]> {
    let mut b = [0u8; BUSINFO_LEN];
    b[6] = state;
    b[7] = cap;
    b[8..16].copy_from_slice(&activate_tmo.to_le_bytes());
    b[32..40].copy_from_slice(&max_quiesce.to_le_bytes());
    Some(b)
}

fn no_invalid(_: InvalidState) {
    panic!("unexpected invalid state");
}

#[test]
fn bus_activation_caches_as_c() {
    let mut bus = BusActivation::new();
    // Capability from the first bus info; state armed.
    assert_eq!(
        bus.capability(|| businfo(1, 1, 5, 10), no_invalid),
        FwaCapability::Quiesce
    );
    // Cached: no query while the state is good and the capability known.
    assert_eq!(bus.state(|| panic!("queried"), no_invalid), FwaState::Armed);
    assert_eq!(
        bus.capability(|| panic!("queried"), no_invalid),
        FwaCapability::Quiesce
    );
    // Changing noidle asks for the capability again (the state too).
    bus.set_noidle(true);
    assert!(bus.noidle());
    assert_eq!(
        bus.state(|| businfo(1, 2, 50, 10), no_invalid),
        FwaState::ArmOverflow
    );
    assert_eq!(
        bus.capability(|| panic!("queried"), no_invalid),
        FwaCapability::Live
    );
    // Setting the same value keeps it.
    bus.set_noidle(true);
    assert_eq!(
        bus.capability(|| panic!("queried"), no_invalid),
        FwaCapability::Live
    );
    // Activation sends the I/O state and invalidates the state.
    let mut sent = None;
    assert_eq!(
        bus.activate(
            || panic!("queried"),
            no_invalid,
            |iodev| {
                sent = Some(iodev);
                0
            }
        ),
        0
    );
    assert_eq!(sent, Some(IODEV_OS_IDLE));
    assert_eq!(bus.count, 1);
    // Now idle: activation refused without calling the platform.
    assert_eq!(
        bus.activate(|| businfo(0, 2, 0, 0), no_invalid, |_| panic!("called")),
        ENXIO
    );
    // Idle is cached; after an invalidation (a DIMM armed) it is asked
    // again, and a busy state always is; a failed query is invalid and
    // leaves the cache alone.
    assert_eq!(bus.state(|| panic!("queried"), no_invalid), FwaState::Idle);
    bus.invalidate();
    assert_eq!(
        bus.state(|| businfo(2, 2, 0, 0), no_invalid),
        FwaState::Busy
    );
    assert_eq!(bus.state(|| None, no_invalid), FwaState::Invalid);
    let mut seen = None;
    assert_eq!(
        bus.state(|| businfo(9, 2, 0, 0), |s| seen = Some(s)),
        FwaState::Invalid
    );
    assert_eq!(seen, Some(InvalidState(9)));
    // No capability bits: none.
    let mut bus = BusActivation::new();
    assert_eq!(
        bus.capability(|| businfo(0, 0, 0, 0), no_invalid),
        FwaCapability::None
    );
    let mut bus = BusActivation::new();
    assert_eq!(bus.capability(|| None, no_invalid), FwaCapability::Invalid);
}

fn dimminfo(result: u16, state: u8) -> Option<[u8; DIMMINFO_LEN]> {
    let mut b = [0u8; DIMMINFO_LEN];
    b[4..6].copy_from_slice(&result.to_le_bytes());
    b[6] = state;
    Some(b)
}

#[test]
fn dimm_activation_caches_as_c() {
    let mut d = DimmActivation::new();
    assert_eq!(d.state(0, || dimminfo(2, 0)), FwaState::Idle);
    assert_eq!(d.result(0, || panic!("queried")), FwaResult::Success);
    // Another activation on the bus: asked again.
    assert_eq!(d.result(1, || dimminfo(3, 0)), FwaResult::NeedReset);
    for (code, result) in [
        (0, FwaResult::None),
        (1, FwaResult::NotStaged),
        (4, FwaResult::Fail),
        (7, FwaResult::Fail),
        (99, FwaResult::Fail),
    ] {
        let mut d = DimmActivation::new();
        assert_eq!(d.result(0, || dimminfo(code, 0)), result);
    }
    // Disarming an idle DIMM is done already; arming asks for the call.
    let mut d = DimmActivation::new();
    assert_eq!(d.arm(0, false, || dimminfo(0, 0)), Ok(None));
    assert_eq!(d.arm(0, true, || panic!("queried")), Ok(Some(DIMM_FWA_ARM)));
    // The state is stale after arming.
    assert_eq!(d.arm(0, true, || dimminfo(0, 1)), Ok(None));
    assert_eq!(
        d.arm(0, false, || panic!("queried")),
        Ok(Some(DIMM_FWA_DISARM))
    );
    assert_eq!(d.arm(0, true, || dimminfo(0, 2)), Err(EBUSY));
    assert_eq!(d.arm(0, true, || None), Err(ENXIO));
    assert_eq!(d.arm(0, true, || dimminfo(0, 7)), Err(ENXIO));
    let mut d = DimmActivation::new();
    assert_eq!(d.result(0, || None), FwaResult::Invalid);
}

#[test]
fn booleans_parse_as_kstrtobool() {
    for t in ["1", "y", "Y\n", "yes", "t", "true", "on", "ON"] {
        assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
    }
    for f in ["0", "n", "N\n", "no", "f", "false", "off", "OFF"] {
        assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
    }
    for bad in ["", "\n", "2", "o", "ox", "maybe"] {
        assert_eq!(parse_bool(bad.as_bytes()), None, "{bad}");
    }
}
