// SPDX-License-Identifier: GPL-2.0
//! The NVDIMM platform's tests.

use super::counters::MAX_COUNTER_KEYS;
use super::*;
use crate::config::{place, NvdimmConfig};
use crate::mailbox::MAX_TRANSFER;

fn platform(name: &str, specs: &[&str]) -> Platform {
    let dir = std::env::temp_dir().join(format!("nvdimm-vmm-model-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfgs: Vec<NvdimmConfig> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = dir.join(format!("d{i}.img"));
            let _ = std::fs::remove_file(&p);
            let c = NvdimmConfig::parse(&format!("path={},{s}", p.display())).unwrap();
            c.create_file().unwrap();
            c
        })
        .collect();
    let (placed, _) = place(&cfgs).unwrap();
    Platform::new(&placed, vec![1, 2, 3]).unwrap()
}

fn call(p: &mut Platform, handle: u32, function: u32, input: &[u8]) -> Vec<u8> {
    p.call(&DsmCall {
        handle,
        uuid: if handle == 0 { ROOT_UUID } else { INTEL_UUID },
        revision: 1,
        function,
        input: Some(input.to_vec()),
    })
    .output
}

fn range(off: u32, len: u32) -> Vec<u8> {
    [off.to_le_bytes(), len.to_le_bytes()].concat()
}

#[test]
fn query_functions() {
    let mut p = platform("query", &["size=4M,label-size=128K", "size=4M"]);
    assert_eq!(call(&mut p, 0, 0, &[]), 0u32.to_le_bytes());
    assert_eq!(call(&mut p, 0, 1, &[]), status(STATUS_NOT_SUPPORTED));
    assert_eq!(call(&mut p, 1, 0, &[]), 0x71u32.to_le_bytes());
    assert_eq!(call(&mut p, 2, 0, &[]), 0u32.to_le_bytes(), "label-less");
    assert_eq!(call(&mut p, 2, 4, &[]), status(STATUS_NOT_SUPPORTED));
    assert_eq!(call(&mut p, 9, 4, &[]), status(STATUS_NO_SUCH_DEVICE));
    let other = p.call(&DsmCall {
        handle: 1,
        uuid: [0x55; 16],
        revision: 1,
        function: 0,
        input: Some(vec![]),
    });
    assert_eq!(other.output, [0], "unknown family: no functions");
    assert_eq!(p.counters.calls[&(1, 0)], 2);
}

#[test]
fn counters_keyed_by_guest_values_are_capped() {
    let mut p = platform("counters", &["size=4M,label-size=128K"]);
    let n = MAX_COUNTER_KEYS as u32 + 100;
    for f in 0..n {
        call(&mut p, 7, f, &[]);
        p.label_method(f, 4, Some(&[]));
    }
    call(&mut p, 7, 0, &[]);
    assert_eq!(p.counters.calls.len(), MAX_COUNTER_KEYS);
    assert_eq!(p.counters.methods.len(), MAX_COUNTER_KEYS);
    assert_eq!(p.counters.calls[&(7, 0)], 2, "known keys still count");
    assert_eq!(p.counters.other_calls, 200);
    let j = p.counters.json();
    assert_eq!(j["calls_other"], 200);
    assert_eq!(j["total"], u64::from(n) * 2 + 1);
}

#[test]
fn label_area() {
    let mut p = platform("labels", &["size=4M,label-size=128K"]);
    let size = call(&mut p, 1, 4, &[]);
    assert_eq!(size.len(), 12);
    assert_eq!(le32(&size, 0), Some(0));
    assert_eq!(le32(&size, 4), Some(128 << 10));
    assert_eq!(le32(&size, 8), Some(MAX_TRANSFER as u32));
    let mut w = range(100, 5);
    w.extend(b"hello");
    assert_eq!(call(&mut p, 1, 6, &w), status(0));
    let r = call(&mut p, 1, 5, &range(98, 9));
    assert_eq!(&r[..4], &[0; 4]);
    assert_eq!(&r[4..], b"\0\0hello\0\0");
    // The bytes are at the end of the file, after the 4 MiB of pmem.
    let file = std::fs::read(std::env::temp_dir().join(format!(
        "nvdimm-vmm-model-{}-labels/d0.img",
        std::process::id()
    )))
    .unwrap();
    assert_eq!(&file[(4 << 20) + 100..(4 << 20) + 105], b"hello");
    // Out of range, overflowing, short and truncated inputs.
    assert_eq!(call(&mut p, 1, 5, &range(128 << 10, 1)), status(3));
    assert_eq!(call(&mut p, 1, 5, &range(u32::MAX, 2)), status(3));
    assert_eq!(call(&mut p, 1, 5, &[1, 2, 3]), status(3));
    assert_eq!(call(&mut p, 1, 6, &range(0, 10)), status(3), "data missing");
    assert_eq!(call(&mut p, 1, 7, &[]), status(STATUS_NOT_SUPPORTED));
    let whole = call(&mut p, 1, 5, &range(0, 128 << 10));
    assert_eq!(whole.len(), 4 + (128 << 10));
    assert_eq!(p.counters.label_bytes_written, 5);
    let bad = p.call(&DsmCall {
        handle: 1,
        uuid: INTEL_UUID,
        revision: 1,
        function: 6,
        input: None,
    });
    assert_eq!(bad.output, status(3));
    assert_eq!(p.counters.bad_requests, 1);
}

#[test]
fn label_methods() {
    let mut p = platform(
        "lsx",
        &[
            "size=4M,label-size=128K,label-methods=on",
            "size=4M,label-size=128K,label-methods=both",
            "size=4M,label-size=128K",
        ],
    );
    // on: not the Intel family (function 0 lists nothing) but Microsoft's,
    // and the _DSM refuses the label functions.
    assert_eq!(call(&mut p, 1, 0, &[]), 0u32.to_le_bytes());
    let hv = |p: &mut Platform, h: u32, f: u32| {
        p.call(&DsmCall {
            handle: h,
            uuid: MSFT_UUID,
            revision: 1,
            function: f,
            input: Some(vec![]),
        })
        .output
    };
    assert_eq!(hv(&mut p, 1, 0), 1u32.to_le_bytes());
    assert_eq!(hv(&mut p, 1, 1), status(STATUS_NOT_SUPPORTED));
    assert_eq!(hv(&mut p, 2, 0), [0], "both: Intel only");
    assert_eq!(hv(&mut p, 3, 0), [0], "off: Intel only");
    assert_eq!(call(&mut p, 1, 4, &[]), status(STATUS_NOT_SUPPORTED));
    assert_eq!(
        call(&mut p, 1, 5, &range(0, 4)),
        status(STATUS_NOT_SUPPORTED)
    );
    assert_eq!(call(&mut p, 2, 0, &[]), 0x71u32.to_le_bytes(), "both");
    assert_eq!(call(&mut p, 3, 0, &[]), 0x71u32.to_le_bytes(), "off");
    let m =
        |p: &mut Platform, h: u32, f: u32, input: &[u8]| p.label_method(h, f, Some(input)).output;
    let lsi = m(&mut p, 1, 4, &[]);
    assert_eq!(lsi.len(), 12);
    assert_eq!(le32(&lsi, 0), Some(LS_SUCCESS));
    assert_eq!(le32(&lsi, 4), Some(128 << 10));
    assert_eq!(le32(&lsi, 8), Some(MAX_TRANSFER as u32));
    let mut w = range(10, 3);
    w.extend(b"abc");
    assert_eq!(m(&mut p, 1, 6, &w), status(LS_SUCCESS));
    assert_eq!(&m(&mut p, 1, 5, &range(10, 3))[4..], b"abc");
    // Invalid input is the methods' 2, not the _DSM's 3 ("locked").
    assert_eq!(
        m(&mut p, 1, 5, &range(128 << 10, 1)),
        status(LS_INVALID_INPUT)
    );
    assert_eq!(m(&mut p, 1, 6, &range(0, 10)), status(LS_INVALID_INPUT));
    assert_eq!(m(&mut p, 1, 7, &[]), status(LS_INVALID_INPUT));
    // DIMMs without the methods, unknown handles, no input.
    assert_eq!(m(&mut p, 3, 4, &[]), status(LS_HW_ERROR));
    assert_eq!(m(&mut p, 9, 4, &[]), status(LS_HW_ERROR));
    assert_eq!(p.label_method(2, 4, None).output, status(LS_INVALID_INPUT));
    assert_eq!(m(&mut p, 2, 4, &[]).len(), 12, "both: the methods work too");
    // Faults keyed by the function hit the method too; injected
    // statuses pass unchanged (3: locked).
    p.faults
        .add(Fault {
            handle: Some(1),
            function: Some(5),
            action: FaultAction::Status(LS_LOCKED),
            remaining: Some(1),
        })
        .unwrap();
    assert_eq!(m(&mut p, 1, 5, &range(10, 3)), status(LS_LOCKED));
    p.faults
        .add(Fault {
            handle: None,
            function: Some(5),
            action: FaultAction::Short(5),
            remaining: Some(1),
        })
        .unwrap();
    assert_eq!(m(&mut p, 1, 5, &range(10, 3)).len(), 5);
    let s = p.counters.json();
    assert_eq!(s["calls"]["1:LSR"], 4);
    assert_eq!(s["calls"]["1:LSW"], 2);
    assert_eq!(s["calls"]["1:LSI"], 1);
    assert_eq!(s["calls"]["1:5"], 1);
    assert_eq!(p.counters.label_bytes_written, 3);
}

struct FakeBackend(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl HotplugBackend for FakeBackend {
    fn add(&mut self, d: &PlacedDimm) -> Result<(), BackendError> {
        self.0.lock().unwrap().push(format!("add {:#x}", d.address));
        Ok(())
    }
    fn notify(&mut self, n: Notification) -> Result<(), BackendError> {
        self.0.lock().unwrap().push(format!("notify {n:?}"));
        Ok(())
    }
}

#[test]
fn hotplug_regenerates_fit() {
    let mut p = platform("hotplug", &["size=4M,label-size=128K"]);
    let cfg = |name: &str| {
        let f = std::env::temp_dir().join(format!(
            "nvdimm-vmm-model-{}-hotplug/{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&f);
        NvdimmConfig::parse(&format!("path={},size=4M,label-size=128K", f.display())).unwrap()
    };
    assert!(p
        .hotplug(cfg("h1.img"))
        .unwrap_err()
        .to_string()
        .contains("no hotplug slots"));
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    p.hotplug = Some(HotplugRoom {
        backend: Box::new(FakeBackend(log.clone())),
        slots: 1,
        limit: crate::config::DEVICE_MEMORY_BASE + (1 << 30),
        capabilities: 0,
        spas: Vec::new(),
    });
    let d = p.hotplug(cfg("h1.img")).unwrap();
    assert_eq!(d.slot, 1);
    assert_eq!(d.address, crate::config::DEVICE_MEMORY_BASE + (128 << 20));
    assert_eq!(*log.lock().unwrap(), ["add 0x108000000", "notify Update"]);
    let t = crate::acpi::nfit(&p.fit);
    let n = nfit_table::table::Nfit::parse(&t).unwrap();
    assert_eq!(n.memdevs().count(), 2);
    assert_eq!(
        call(&mut p, 2, 0, &[]),
        0x71u32.to_le_bytes(),
        "the new DIMM answers"
    );
    // A _FIT without DIMM 1 (announced), then without an unknown one.
    p.fit_delete(1).unwrap();
    let t = crate::acpi::nfit(&p.fit);
    let n = nfit_table::table::Nfit::parse(&t).unwrap();
    let handles: Vec<u32> = n.memdevs().map(|m| m.device_handle).collect();
    assert_eq!(handles, [2]);
    assert!(matches!(
        p.fit_delete(9),
        Err(PlatformError::NoSuchHandle(9))
    ));
    assert_eq!(
        *log.lock().unwrap(),
        ["add 0x108000000", "notify Update", "notify Update"]
    );
    assert!(p
        .hotplug(cfg("h2.img"))
        .unwrap_err()
        .to_string()
        .contains("no hotplug slot left"));
    p.hotplug.as_mut().unwrap().slots = 1;
    let mut big = cfg("h3.img");
    big.size = 2 << 30;
    assert!(p
        .hotplug(big)
        .unwrap_err()
        .to_string()
        .contains("does not fit"));
    assert!(!std::env::temp_dir()
        .join(format!(
            "nvdimm-vmm-model-{}-hotplug/h3.img",
            std::process::id()
        ))
        .exists());
}

#[test]
fn root_ars_functions() {
    let mut p = platform("ars", &["size=4M,label-size=128K"]);
    assert_eq!(
        call(&mut p, 0, 0, &[]),
        0u32.to_le_bytes(),
        "off by default"
    );
    assert_eq!(call(&mut p, 0, 1, &[0; 16]), status(STATUS_NOT_SUPPORTED));
    p.ars = Some(crate::devices::nvdimm::ars::Ars::default());
    assert_eq!(
        call(&mut p, 0, 0, &[]),
        crate::devices::nvdimm::ars::FUNCTIONS.to_le_bytes()
    );
    let base = crate::config::DEVICE_MEMORY_BASE;
    let mut inj = [(base + 4096).to_le_bytes(), 512u64.to_le_bytes()].concat();
    inj.push(0);
    assert_eq!(call(&mut p, 0, 7, &inj), [0; 4]);
    let mut start = [base.to_le_bytes(), (4u64 << 20).to_le_bytes()].concat();
    start.extend(2u16.to_le_bytes());
    start.extend([0; 6]);
    assert_eq!(call(&mut p, 0, 2, &start)[..4], [0; 4]);
    let st = call(&mut p, 0, 3, &[]);
    assert_eq!(
        u32::from_le_bytes(st[48..52].try_into().unwrap()),
        1,
        "DIMM handle"
    );
    assert_eq!(
        Platform::handle_of(&p.placed, base + (4 << 20)),
        0,
        "past the pmem"
    );
}

use fuzz_rng::Rng;

#[test]
fn random_guest_calls_never_panic_and_stay_in_bounds() {
    let mut p = platform("random", &["size=4M,label-size=128K", "size=4M"]);
    p.ars = Some(crate::devices::nvdimm::ars::Ars::default());
    let mut rng = Rng::new(0x6e76_6469_6d6d_0001);
    let label = std::fs::read(std::env::temp_dir().join(format!(
        "nvdimm-vmm-model-{}-random/d1.img",
        std::process::id()
    )))
    .unwrap();
    for i in 0..20_000u32 {
        let handle = rng.below(5) as u32;
        let function = if rng.below(4) == 0 {
            rng.next_u64() as u32
        } else {
            rng.below(11) as u32
        };
        let uuid = match rng.below(3) {
            0 => ROOT_UUID,
            1 => INTEL_UUID,
            _ => [rng.next_u64() as u8; 16],
        };
        let len = match rng.below(4) {
            0 => 0,
            1 => 8,
            2 => rng.below(64) as usize,
            _ => rng.below(crate::mailbox::DATA_SIZE as u64 + 1) as usize,
        };
        let mut input: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Half the label calls get a plausible (offset, length).
        if len >= 8 && rng.below(2) == 0 {
            let off = rng.below(140 << 10) as u32;
            let n = rng.below(140 << 10) as u32;
            input[..8].copy_from_slice(&[off.to_le_bytes(), n.to_le_bytes()].concat());
        }
        let out = p.call(&DsmCall {
            handle,
            uuid,
            revision: 1,
            function,
            input: if i % 97 == 0 { None } else { Some(input) },
        });
        assert!(!out.output.is_empty(), "every call answers");
        assert!(
            out.output.len() <= crate::mailbox::DATA_SIZE,
            "an answer fits the mailbox ({} bytes)",
            out.output.len()
        );
    }
    // The label-less DIMM's file was never written (it has no label area).
    let after = std::fs::read(std::env::temp_dir().join(format!(
        "nvdimm-vmm-model-{}-random/d1.img",
        std::process::id()
    )))
    .unwrap();
    assert_eq!(label, after);
}

#[test]
fn faults() {
    let mut p = platform(
        "faults",
        &["size=4M,label-size=128K", "size=4M,label-size=128K"],
    );
    p.faults
        .add(Fault {
            handle: Some(1),
            function: Some(5),
            action: FaultAction::Status(STATUS_HW_ERROR),
            remaining: Some(1),
        })
        .unwrap();
    assert_eq!(call(&mut p, 1, 5, &range(0, 4)), status(4));
    assert_eq!(
        call(&mut p, 1, 5, &range(0, 4)).len(),
        8,
        "one-shot rule consumed"
    );
    p.faults
        .add(Fault {
            handle: None,
            function: Some(4),
            action: FaultAction::Short(6),
            remaining: None,
        })
        .unwrap();
    assert_eq!(call(&mut p, 2, 4, &[]).len(), 6);
    assert_eq!(call(&mut p, 1, 4, &[]).len(), 6, "persistent rule");
    p.faults.clear();
    assert_eq!(call(&mut p, 1, 4, &[]).len(), 12);
    p.faults
        .add(Fault {
            handle: Some(2),
            function: None,
            action: FaultAction::TornWrite(2),
            remaining: Some(1),
        })
        .unwrap();
    let mut w = range(0, 4);
    w.extend(b"ABCD");
    assert_eq!(call(&mut p, 2, 6, &w), status(4));
    assert_eq!(&call(&mut p, 2, 5, &range(0, 4))[4..], b"AB\0\0");
    p.faults
        .add(Fault {
            handle: None,
            function: None,
            action: FaultAction::Delay(5),
            remaining: Some(1),
        })
        .unwrap();
    let r = p.call(&DsmCall {
        handle: 1,
        uuid: INTEL_UUID,
        revision: 1,
        function: 4,
        input: Some(vec![]),
    });
    assert_eq!(r.delay, Some(Duration::from_millis(5)));
    assert_eq!(r.output.len(), 12);
    assert_eq!(p.faults.injected, 5);
    assert_eq!(p.faults.armed(), 0);
}

#[test]
fn guest_health_changes_notify_the_dimm() {
    let mut p = platform("intel-notify", &["size=4M,intel=on"]);
    // Without a notification line nothing is raised (and nothing fails).
    let inject = |temp_c: u16| {
        let mut b = vec![0u8; 15];
        b[0] = 1; // ND_INTEL_SMART_INJECT_MTEMP
        b[8] = 1;
        b[9..11].copy_from_slice(&(temp_c * 16).to_le_bytes());
        b
    };
    assert_eq!(call(&mut p, 1, 18, &inject(90)), status(0));
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    p.hotplug = Some(HotplugRoom {
        backend: Box::new(FakeBackend(log.clone())),
        slots: 0,
        limit: crate::config::DEVICE_MEMORY_BASE + (1 << 30),
        capabilities: 0,
        spas: Vec::new(),
    });
    // No alarm enabled: the temperature changes, the health does not.
    assert_eq!(call(&mut p, 1, 18, &inject(95)), status(0));
    assert!(log.lock().unwrap().is_empty());
    // Enabling the media temperature alarm at 80 °C trips it: notified.
    let mut set = vec![2u8, 0, 10];
    set.extend((80u16 * 16).to_le_bytes());
    set.extend((90u16 * 16).to_le_bytes());
    assert_eq!(call(&mut p, 1, 17, &set), status(0));
    assert_eq!(*log.lock().unwrap(), ["notify DimmHealth(0)"]);
    // Reading SMART changes nothing.
    call(&mut p, 1, 1, &[]);
    assert_eq!(log.lock().unwrap().len(), 1);
    // Cooling down clears the alarm: notified again.
    assert_eq!(call(&mut p, 1, 18, &inject(30)), status(0));
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[test]
fn read_only_label_methods_and_zero_uuid() {
    let mut p = platform(
        "ro",
        &[
            "size=4M,label-size=128K,label-methods=ro,zero-uuid=on",
            "size=4M,label-size=128K",
        ],
    );
    let m =
        |p: &mut Platform, h: u32, f: u32, input: &[u8]| p.label_method(h, f, Some(input)).output;
    // ro: the Microsoft family, labels read through _LSI/_LSR, no write.
    assert_eq!(call(&mut p, 1, 0, &[]), 0u32.to_le_bytes());
    assert_eq!(le32(&m(&mut p, 1, 4, &[]), 0), Some(LS_SUCCESS));
    assert_eq!(le32(&m(&mut p, 1, 5, &range(0, 4)), 0), Some(LS_SUCCESS));
    let mut w = range(10, 3);
    w.extend(b"abc");
    assert_ne!(le32(&m(&mut p, 1, 6, &w), 0), Some(LS_SUCCESS));
    assert_eq!(&m(&mut p, 1, 5, &range(10, 3))[4..], [0, 0, 0]);
    // zero-uuid=on: function 0 of the all-zero UUID offers no function;
    // without it the UUID is unknown.
    let zero = |p: &mut Platform, h: u32, f: u32| {
        p.call(&DsmCall {
            handle: h,
            uuid: [0; 16],
            revision: 1,
            function: f,
            input: Some(vec![]),
        })
        .output
    };
    assert_eq!(zero(&mut p, 1, 0), 1u32.to_le_bytes());
    assert_eq!(zero(&mut p, 1, 1), status(STATUS_NOT_SUPPORTED));
    assert_eq!(zero(&mut p, 2, 0), [0]);
}
