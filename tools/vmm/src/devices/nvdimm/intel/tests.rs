// SPDX-License-Identifier: GPL-2.0
//! The Intel family's tests: layouts against byte offsets, the SMART,
//! security and firmware state machines, the state file, and the family
//! as the platform serves it.

use std::path::PathBuf;
use std::time::Duration;

use super::firmware::Image;
use super::security::*;
use super::smart::*;
use super::state::*;
use super::*;
use crate::config::{place, NvdimmConfig};
use crate::devices::nvdimm::{Fault, FaultAction, Platform};
use crate::dsm::{DsmCall, INTEL_BUS_UUID, INTEL_UUID, STATUS_CONFIG_LOCKED};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nvdimm-vmm-intel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn platform(name: &str, spec: &str) -> (Platform, PathBuf) {
    let d = dir(name);
    let p = d.join("d0.img");
    let c = NvdimmConfig::parse(&format!("path={},{spec}", p.display())).unwrap();
    c.create_file().unwrap();
    let (placed, _) = place(&[c]).unwrap();
    (Platform::new(&placed, vec![1]).unwrap(), d)
}

fn call(p: &mut Platform, function: u32, input: &[u8]) -> Vec<u8> {
    p.call(&DsmCall {
        handle: 1,
        uuid: INTEL_UUID,
        revision: 1,
        function,
        input: Some(input.to_vec()),
    })
    .output
}

fn bus(p: &mut Platform, function: u32, input: &[u8]) -> Vec<u8> {
    p.call(&DsmCall {
        handle: 0,
        uuid: INTEL_BUS_UUID,
        revision: 1,
        function,
        input: Some(input.to_vec()),
    })
    .output
}

fn st(out: &[u8]) -> u32 {
    u32::from_le_bytes(out[..4].try_into().unwrap())
}

fn pass(b: u8) -> Vec<u8> {
    vec![b; PASSPHRASE_LEN]
}

fn two(a: u8, b: u8) -> Vec<u8> {
    [pass(a), pass(b)].concat()
}

#[test]
fn statuses_are_linux_values() {
    // drivers/acpi/nfit/intel.h and ndctl/lib/intel.h.
    assert_eq!(Status::NotSupported.code(), 1);
    assert_eq!(Status::Retry.code(), 5);
    assert_eq!(Status::InvalidState.code(), 10);
    assert_eq!(Status::InvalidPassphrase.code(), 11);
    assert_eq!(Status::OverwriteInProgress.code(), 0x10007);
    assert_eq!(Status::OverwriteSequence.code(), 0x20007);
    assert_eq!(Status::ConfigLocked.code(), STATUS_CONFIG_LOCKED);
    assert_eq!(Status::ConfigLocked.code() >> 16 & 1, 1, "ND_CONFIG_LOCKED");
    assert_eq!(Status::Extended(3).code(), 0x30007, "FIN_BAD");
    assert_eq!(firmware::BUS_STATUS_NOARM, 6 | 1 << 16);
}

#[test]
fn smart_layout_is_nd_intel_smart() {
    let s = SmartState {
        health: CRITICAL,
        spares: 42,
        life_used: 17,
        media_temperature: encode_celsius(45),
        ctrl_temperature: encode_celsius(-3),
        shutdown_dirty: true,
        shutdown_count: 0x0102_0304,
        ..SmartState::default()
    };
    let o = s.smart();
    assert_eq!(
        o.len(),
        132,
        "BUILD_ASSERT(sizeof(struct nd_intel_smart) == 132)"
    );
    assert_eq!(st(&o), 0);
    let flags = u32::from_le_bytes(o[4..8].try_into().unwrap());
    assert_eq!(
        flags & (1 << 5),
        1 << 5,
        "ND_INTEL_SMART_SHUTDOWN_COUNT_VALID"
    );
    assert_eq!(flags & (1 << 10), 1 << 10, "ND_INTEL_SMART_SHUTDOWN_VALID");
    assert_eq!(flags & 0x21f, 0x21f);
    assert_eq!(o[12], CRITICAL);
    assert_eq!(o[13], 42);
    assert_eq!(o[14], 17);
    assert_eq!(o[15], 0, "no alarm enabled");
    assert_eq!(&o[16..18], &(45u16 * 16).to_le_bytes());
    assert_eq!(&o[18..20], &(0x8000u16 | 48).to_le_bytes());
    assert_eq!(&o[20..24], &0x0102_0304u32.to_le_bytes());
    assert_eq!(o[35], 1, "shutdown_state");
    assert_eq!(&o[36..40], &[0; 4], "vendor_size");
    assert_eq!(at::SHUTDOWN_STATE, 35);
    assert_eq!((at::AIT_STATUS, at::PMIC_TEMPERATURE), (24, 25));
    assert_eq!(at::VENDOR_DATA + 92, 132);
}

#[test]
fn alarms_follow_thresholds() {
    let mut s = SmartState::default();
    // ndctl: alarm_control u16, spares u8, media u16, ctrl u16.
    let mut set = vec![0u8; SET_THRESHOLD_IN];
    set[..2].copy_from_slice(&u16::from(SPARE_TRIP | MTEMP_TRIP).to_le_bytes());
    set[2] = 20;
    set[3..5].copy_from_slice(&encode_celsius(50).to_le_bytes());
    set[5..7].copy_from_slice(&encode_celsius(60).to_le_bytes());
    s.set_thresholds(&set).unwrap();
    let t = s.thresholds();
    assert_eq!(
        t.len(),
        12,
        "BUILD_ASSERT(sizeof(nd_intel_smart_threshold) == 12)"
    );
    assert_eq!(&t[4..6], &3u16.to_le_bytes());
    assert_eq!(t[6], 20);
    assert_eq!(&t[7..9], &encode_celsius(50).to_le_bytes());
    assert_eq!(&t[9..11], &encode_celsius(60).to_le_bytes());
    assert_eq!(s.alarm_flags(), 0);
    assert_eq!(s.health_now(), 0);
    s.media_temperature = encode_celsius(50);
    assert_eq!(s.alarm_flags(), MTEMP_TRIP);
    assert_eq!(s.health_now(), NON_CRITICAL);
    s.spares = 20;
    assert_eq!(s.alarm_flags(), MTEMP_TRIP | SPARE_TRIP);
    s.ctrl_temperature = encode_celsius(99);
    assert_eq!(s.alarm_flags() & CTEMP_TRIP, 0, "not enabled");
    s.media_temperature = encode_celsius(-60);
    assert_eq!(s.alarm_flags(), SPARE_TRIP, "negative is below");
    set[..2].copy_from_slice(&8u16.to_le_bytes());
    assert_eq!(s.set_thresholds(&set), Err(Status::InvalidInput));
    assert_eq!(s.set_thresholds(&set[..6]), Err(Status::InvalidInput));
}

#[test]
fn inject_as_ndctl_fills_it() {
    let mut s = SmartState::default();
    // nd_intel_smart_inject: flags u64, mtemp_enable, media_temperature
    // u16, spare_enable, spares, fatal_enable, unsafe_shutdown_enable.
    let mut inj = vec![0u8; INJECT_IN];
    inj[..8].copy_from_slice(
        &(INJECT_MTEMP | INJECT_SPARE | INJECT_FATAL | INJECT_SHUTDOWN).to_le_bytes(),
    );
    inj[8] = 1;
    inj[9..11].copy_from_slice(&encode_celsius(70).to_le_bytes());
    inj[11] = 1;
    inj[12] = 3;
    inj[13] = 1;
    inj[14] = 1;
    s.inject(&inj).unwrap();
    let o = s.smart();
    assert_eq!(&o[16..18], &encode_celsius(70).to_le_bytes());
    assert_eq!(o[13], 3);
    assert_eq!(o[12] & FATAL, FATAL);
    assert_eq!((o[35], o[20]), (1, 1), "dirty, counted");
    // Uninject: the flags with the enables 0.
    for b in &mut inj[8..15] {
        *b = 0;
    }
    s.inject(&inj).unwrap();
    let o = s.smart();
    assert_eq!(&o[16..18], &encode_celsius(25).to_le_bytes());
    assert_eq!((o[12], o[13], o[35], o[20]), (0, 100, 0, 1));
    inj[..8].copy_from_slice(&(1u64 << 9).to_le_bytes());
    assert_eq!(s.inject(&inj), Err(Status::InvalidInput));
}

#[test]
fn security_state_machine() {
    let mut s = SecurityState::default();
    assert_eq!(s.state_bits(false), (0, ESTATE_ENABLED));
    assert_eq!(s.freeze(), Err(Status::InvalidState), "nothing to freeze");
    assert_eq!(s.disable(&pass(0)), Err(Status::InvalidState));
    // Set up: the old passphrase of a disabled DIMM is the zero key.
    assert_eq!(s.set_passphrase(&two(9, 1)), Err(Status::InvalidPassphrase));
    s.set_passphrase(&two(0, 1)).unwrap();
    assert_eq!(s.state_bits(false).0, STATE_ENABLED);
    s.set_passphrase(&two(1, 2)).unwrap();
    // Power cycle: locked.
    s.power_cycle();
    assert_eq!(s.state_bits(false).0, STATE_ENABLED | STATE_LOCKED);
    assert_eq!(s.set_passphrase(&two(2, 3)), Err(Status::InvalidState));
    assert_eq!(s.unlock(&pass(1)), Err(Status::InvalidPassphrase));
    s.unlock(&pass(2)).unwrap();
    assert_eq!(s.unlock(&pass(2)), Err(Status::InvalidState), "not locked");
    s.freeze().unwrap();
    assert_eq!(s.state_bits(false).0, STATE_ENABLED | STATE_FROZEN);
    assert_eq!(s.disable(&pass(2)), Err(Status::InvalidState));
    assert_eq!(s.user_erase(&pass(2)), Err(Status::InvalidState));
    s.power_cycle();
    s.unlock(&pass(2)).unwrap();
    s.disable(&pass(2)).unwrap();
    assert_eq!(s.state_bits(false).0, 0);
    // The passphrase limit: five wrong ones, then nothing until a cycle.
    s.set_passphrase(&two(0, 4)).unwrap();
    for _ in 0..PASS_LIMIT {
        assert_eq!(s.disable(&pass(7)), Err(Status::InvalidPassphrase));
    }
    assert_eq!(s.state_bits(false).0, STATE_ENABLED | STATE_PLIMIT);
    assert_eq!(s.disable(&pass(4)), Err(Status::InvalidState));
    s.power_cycle();
    s.unlock(&pass(4)).unwrap();
    // Master: zeros as shipped; erase keeps it, clears the user's.
    s.set_master_passphrase(&two(0, 8)).unwrap();
    assert_eq!(s.master_erase(&pass(0)), Err(Status::InvalidPassphrase));
    s.master_erase(&pass(8)).unwrap();
    assert!(!s.enabled());
    assert_eq!(s.master_passphrase, Some([8; PASSPHRASE_LEN]));
    assert_eq!(s.state_bits(true).0, STATE_OVERWRITE);
}

#[test]
fn state_file_round_trip_and_refusals() {
    let d = dir("state");
    let p = d.join("nmem.json");
    assert_eq!(
        IntelState::load(&p).unwrap(),
        IntelState::default(),
        "missing: fresh"
    );
    let mut s = IntelState::default();
    s.security.passphrase = Some([0xab; PASSPHRASE_LEN]);
    s.security.locked = true;
    s.smart.shutdown_count = 7;
    s.firmware.staged_version = Some(5);
    s.store(&p).unwrap();
    assert_eq!(IntelState::load(&p).unwrap(), s);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(&"ab".repeat(32)), "{text}");
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left");
    // A temporary name that is taken: the store fails, the file stays.
    let taken = d.join(format!(".nmem.json.tmp{}", std::process::id()));
    std::fs::write(&taken, b"theirs").unwrap();
    assert!(s.store(&p).is_err());
    assert_eq!(std::fs::read(&taken).unwrap(), b"theirs");
    std::fs::remove_file(&taken).unwrap();
    for (bad, want) in [
        ("{", "not an Intel DIMM state file"),
        (r#"{"smart":{"spares":101}}"#, "smart.spares"),
        (r#"{"smart":{"colour":1}}"#, "unknown field"),
        (r#"{"security":{"passphrase":"12"}}"#, "64 hex digits"),
        (
            r#"{"security":{"locked":true}}"#,
            "locked without a passphrase",
        ),
        (r#"[]"#, "not an Intel DIMM state file"),
    ] {
        std::fs::write(&p, bad).unwrap();
        let e = IntelState::load(&p).unwrap_err().to_string();
        assert!(e.contains(want), "{bad}: {e}");
    }
    assert!(matches!(
        IntelState::load(&d),
        Err(StateError::NotAFile { .. })
    ));
}

#[test]
fn a_dimm_with_a_passphrase_boots_locked_and_keeps_its_labels() {
    let d = dir("boot-locked");
    let state = d.join("s.json");
    let mut s = IntelState::default();
    s.security.passphrase = Some([5; PASSPHRASE_LEN]);
    s.store(&state).unwrap();
    let (mut p, _) = platform(
        "boot-locked-p",
        &format!("size=4M,label-size=128K,intel=on,state={}", state.display()),
    );
    let mask = u32::from_le_bytes(call(&mut p, 0, &[])[..4].try_into().unwrap());
    assert_eq!(mask, 1 | 0x70 | FUNCTIONS);
    assert_eq!(mask & 1 << 10, 1 << 10);
    let sec = call(&mut p, FN_GET_SECURITY_STATE, &[]);
    assert_eq!(sec.len(), 12);
    assert_eq!(sec[8], STATE_ENABLED | STATE_LOCKED);
    // Capacity locked, labels readable (Linux: -EACCES from the size,
    // then it reads the labels with the size it was given).
    let size = call(&mut p, 4, &[]);
    assert_eq!(st(&size), STATUS_CONFIG_LOCKED);
    assert_eq!(&size[4..8], &(128u32 << 10).to_le_bytes());
    let read = [0u32.to_le_bytes(), 16u32.to_le_bytes()].concat();
    assert_eq!(call(&mut p, 5, &read), [0u8; 20]);
    let write = [read.clone(), vec![1; 16]].concat();
    assert_eq!(st(&call(&mut p, 6, &write)), STATUS_CONFIG_LOCKED);
    assert_eq!(st(&call(&mut p, FN_UNLOCK_UNIT, &pass(5))), 0);
    assert_eq!(st(&call(&mut p, 4, &[])), 0);
    // The state file followed (unlocked is not kept: a cycle locks).
    let saved = IntelState::load(&state).unwrap();
    assert!(!saved.security.locked);
    p.power_cycle(Some(1)).unwrap();
    assert_eq!(
        call(&mut p, FN_GET_SECURITY_STATE, &[])[8],
        STATE_ENABLED | STATE_LOCKED
    );
    assert!(IntelState::load(&state).unwrap().security.locked);
}

#[test]
fn without_intel_nothing_changes() {
    let (mut p, _) = platform("plain", "size=4M,label-size=128K");
    assert_eq!(call(&mut p, 0, &[]), 0x71u32.to_le_bytes());
    assert_eq!(st(&call(&mut p, FN_SMART, &[])), 1);
    assert_eq!(bus(&mut p, 0, &[]), [0], "no Intel bus family");
    assert!(p.power_cycle(Some(1)).is_err());
    let (mut p, _) = platform("labelless", "size=4M,intel=on");
    let mask = u32::from_le_bytes(call(&mut p, 0, &[])[..4].try_into().unwrap());
    assert_eq!(mask & 0x70, 0, "no label functions without a label area");
    assert_eq!(call(&mut p, FN_SMART, &[]).len(), 132);
}

fn data_at(d: &std::path::Path, off: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(d.join("d0.img")).unwrap();
    let mut b = vec![0u8; len];
    f.read_exact_at(&mut b, off).unwrap();
    b
}

fn fill(d: &std::path::Path) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join("d0.img"))
        .unwrap();
    f.write_all_at(&[0x5a; 4096], 0).unwrap();
    f.write_all_at(&[0x5a; 4096], (2 << 20) + 4096).unwrap();
    f.write_all_at(&[0x6b; 4096], 4 << 20).unwrap();
}

#[test]
fn erase_and_overwrite_change_the_data() {
    let (mut p, d) = platform("erase", "size=4M,label-size=128K,intel=on,overwrite-ms=150");
    fill(&d);
    assert_eq!(st(&call(&mut p, FN_SET_PASSPHRASE, &two(0, 3))), 0);
    assert_eq!(st(&call(&mut p, FN_SECURE_ERASE, &pass(4))), 11);
    assert_eq!(data_at(&d, 0, 4), [0x5a; 4], "refused: untouched");
    // A media error: half the data erased, hardware error, security kept.
    p.arm_fault(Fault {
        handle: Some(1),
        function: Some(FN_SECURE_ERASE),
        action: FaultAction::MediaError,
        remaining: Some(1),
    })
    .unwrap();
    assert_eq!(st(&call(&mut p, FN_SECURE_ERASE, &pass(3))), 4);
    assert_eq!(data_at(&d, 0, 4), [0x5a; 4]);
    assert_eq!(data_at(&d, (2 << 20) + 4096, 4), [0; 4]);
    assert_eq!(call(&mut p, FN_GET_SECURITY_STATE, &[])[8], STATE_ENABLED);
    assert_eq!(st(&call(&mut p, FN_SECURE_ERASE, &pass(3))), 0);
    assert_eq!(data_at(&d, 0, 4), [0; 4]);
    assert_eq!(
        data_at(&d, 4 << 20, 4),
        [0x6b; 4],
        "crypto erase keeps labels"
    );
    // The host's view (the control protocol's `media`).
    assert!(p.media_digest(1, 0, 4 << 20).unwrap().0);
    let (zero, fnv) = p.media_digest(1, 4 << 20, 4096).unwrap();
    assert!(!zero);
    assert_eq!(fnv, Image::checksum(&[0x6b; 4096]));
    assert!(p.media_digest(1, 4 << 20, (128 << 10) + 1).is_err());
    assert_eq!(
        call(&mut p, FN_GET_SECURITY_STATE, &[])[8],
        0,
        "disabled after"
    );
    // Overwrite: the zero key of a disabled DIMM; labels too; in
    // progress until the time has passed.
    fill(&d);
    assert_eq!(st(&call(&mut p, FN_QUERY_OVERWRITE, &[])), 0x20007);
    assert_eq!(st(&call(&mut p, FN_OVERWRITE, &pass(1))), 11);
    assert_eq!(st(&call(&mut p, FN_OVERWRITE, &pass(0))), 0);
    assert_eq!(st(&call(&mut p, FN_QUERY_OVERWRITE, &[])), 0x10007);
    assert_eq!(call(&mut p, FN_GET_SECURITY_STATE, &[])[8], STATE_OVERWRITE);
    assert_eq!(st(&call(&mut p, 4, &[])), 0, "labels reachable");
    assert_eq!(st(&call(&mut p, FN_OVERWRITE, &pass(0))), 5);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(st(&call(&mut p, FN_QUERY_OVERWRITE, &[])), 0);
    assert_eq!(data_at(&d, 0, 4), [0; 4]);
    assert_eq!(data_at(&d, 4 << 20, 4), [0; 4], "overwrite wipes labels");
    assert_eq!(st(&call(&mut p, FN_QUERY_OVERWRITE, &[])), 0x20007);
}

#[test]
fn firmware_update_stages_and_activation_runs_it() {
    let (mut p, _) = platform("fw", "size=4M,intel=on");
    let info = call(&mut p, FN_GET_FWINFO, &[]);
    assert_eq!(
        info.len(),
        44,
        "BUILD_ASSERT(sizeof(struct nd_intel_fw_info) == 44)"
    );
    let old = u64::from_le_bytes(info[28..36].try_into().unwrap());
    let image = Image::build(0x77, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let start = call(&mut p, FN_START_FWUPDATE, &[]);
    assert_eq!((start.len(), st(&start)), (8, 0));
    let ctx = start[4..8].to_vec();
    assert_eq!(st(&call(&mut p, FN_START_FWUPDATE, &[])), 0x10007, "busy");
    for (i, chunk) in image.chunks(16).enumerate() {
        let mut send = ctx.clone();
        send.extend(((i * 16) as u32).to_le_bytes());
        send.extend((chunk.len() as u32).to_le_bytes());
        send.extend(chunk);
        assert_eq!(st(&call(&mut p, FN_SEND_FWUPDATE, &send)), 0);
    }
    let finish = [[0u8; 4].to_vec(), ctx.clone()].concat();
    assert_eq!(st(&call(&mut p, FN_FINISH_FWUPDATE, &finish)), 0);
    let q = call(&mut p, FN_QUERY_FWUPDATE, &ctx);
    assert_eq!((q.len(), st(&q)), (12, 0));
    assert_eq!(u64::from_le_bytes(q[4..12].try_into().unwrap()), 0x77);
    let info = call(&mut p, FN_GET_FWINFO, &[]);
    assert_eq!(
        u64::from_le_bytes(info[28..36].try_into().unwrap()),
        old,
        "not yet"
    );
    assert_eq!(u64::from_le_bytes(info[36..44].try_into().unwrap()), 0x77);
    // The bus: the Intel bus family, exactly functions 1 and 2.
    assert_eq!(bus(&mut p, 0, &[]), 7u32.to_le_bytes());
    let b = bus(&mut p, 1, &[]);
    assert_eq!((b.len(), b[6], b[7]), (40, 0, 2));
    assert_eq!(st(&bus(&mut p, 2, &[0])), 6 | 1 << 16, "nothing armed");
    assert_eq!(st(&call(&mut p, FN_FW_ACTIVATE_ARM, &[1])), 0);
    let di = call(&mut p, FN_FW_ACTIVATE_DIMMINFO, &[]);
    assert_eq!((di.len(), di[6]), (14, 1));
    assert_eq!(bus(&mut p, 1, &[])[6], 1);
    assert_eq!(st(&bus(&mut p, 2, &[0])), 0);
    let info = call(&mut p, FN_GET_FWINFO, &[]);
    assert_eq!(u64::from_le_bytes(info[28..36].try_into().unwrap()), 0x77);
    let di = call(&mut p, FN_FW_ACTIVATE_DIMMINFO, &[]);
    assert_eq!((di[4], di[6]), (2, 0), "success, idle");
    // A bad image fails at finish.
    let mut bad = Image::build(0x78, &[1, 2, 3]);
    bad[33] ^= 1;
    let start = call(&mut p, FN_START_FWUPDATE, &[]);
    let ctx = start[4..8].to_vec();
    let mut send = ctx.clone();
    send.extend(0u32.to_le_bytes());
    send.extend((bad.len() as u32).to_le_bytes());
    send.extend(&bad);
    assert_eq!(st(&call(&mut p, FN_SEND_FWUPDATE, &send)), 0);
    let finish = [[0u8; 4].to_vec(), ctx.clone()].concat();
    assert_eq!(st(&call(&mut p, FN_FINISH_FWUPDATE, &finish)), 0x30007);
    assert_eq!(
        u64::from_le_bytes(call(&mut p, FN_GET_FWINFO, &[])[36..44].try_into().unwrap()),
        0
    );
    // A power cycle runs a staged image.
    let good = Image::build(0x79, &[]);
    let ctx = call(&mut p, FN_START_FWUPDATE, &[])[4..8].to_vec();
    let mut send = ctx.clone();
    send.extend(0u32.to_le_bytes());
    send.extend((good.len() as u32).to_le_bytes());
    send.extend(&good);
    call(&mut p, FN_SEND_FWUPDATE, &send);
    assert_eq!(
        st(&call(
            &mut p,
            FN_FINISH_FWUPDATE,
            &[[0u8; 4].to_vec(), ctx].concat()
        )),
        0
    );
    p.power_cycle(None).unwrap();
    let info = call(&mut p, FN_GET_FWINFO, &[]);
    assert_eq!(u64::from_le_bytes(info[28..36].try_into().unwrap()), 0x79);
}

#[test]
fn image_format() {
    let i = Image::build(3, b"payload");
    assert_eq!(Image::verify(&i), Some(3));
    assert_eq!(&i[..8], b"NVDFWIMG");
    assert_eq!(Image::verify(&i[..i.len() - 1]), None, "short");
    assert_eq!(Image::verify(&Image::build(0, b"x")), None, "version 0");
    let mut m = i.clone();
    m[0] = b'X';
    assert_eq!(Image::verify(&m), None);
    // FNV-1a 32 of "a" (a published test vector).
    assert_eq!(Image::checksum(b"a"), 0xe40c_292c);
}
