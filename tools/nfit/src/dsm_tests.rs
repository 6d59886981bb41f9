// SPDX-License-Identifier: GPL-2.0
//! Tests of the kernel's DIMM `_DSM` handling (`nfit_rs/dsm.rs`).

use crate::dsm::*;

/// A GUID in its text form, to the memory order ACPI uses (the first three
/// groups little-endian).
fn guid(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

#[test]
fn family_guids_match_their_text_form() {
    // include/acpi/acuuid.h, in NVDIMM_FAMILY_* order.
    let texts = [
        "4309ac30-0d11-11e4-9191-0800200c9a66",
        "9002c334-acf3-4c0e-9642-a235f0d53bc6",
        "5008664b-b758-41a0-a03c-27c2f2d04f7e",
        "1ee68b36-d4bd-4a1a-9a16-4f8e53d46e05",
        "5746c5f2-a9a2-4264-ad0e-e4ddc9e09e80",
    ];
    for (i, (f, t)) in FAMILIES.iter().zip(texts).enumerate() {
        assert_eq!(f.family, i as u32);
        assert_eq!(f.guid, guid(t), "family {i}");
    }
    assert_eq!(FAMILIES[0].guid, INTEL_GUID);
}

#[test]
fn revisions_follow_the_c_driver() {
    assert_eq!(revision(FAMILY_INTEL, 4), 1);
    assert_eq!(revision(FAMILY_INTEL, 10), 1);
    assert_eq!(revision(FAMILY_INTEL, 11), 2);
    assert_eq!(revision(FAMILY_INTEL, 30), 2);
    assert_eq!(revision(FAMILY_INTEL, 31), 1);
    assert_eq!(revision(4, 11), 1);
}

#[test]
fn offered_functions() {
    let intel = &FAMILIES[0];
    let hyperv = &FAMILIES[4];
    // Function 0 missing: no family.
    assert_eq!(offered(intel, 0x70, 0), None);
    // QEMU: 0, 4, 5, 6 at revision 1; revision 2 unsupported (status 1).
    assert_eq!(offered(intel, 0x71, 1), Some(0x70));
    // Revision-2 functions come from the revision-2 answer only.
    assert_eq!(offered(intel, 0x71 | 1 << 12, 1), Some(0x70));
    assert_eq!(offered(intel, 0x71, 1 | 1 << 12), Some(0x70 | 1 << 12));
    // Functions outside the family's documented set are dropped.
    assert_eq!(offered(hyperv, 0xff, 0), Some(0x1e));
    assert_eq!(offered(intel, u64::MAX, u64::MAX), Some(INTEL_FUNCTIONS));
}

#[test]
fn policy_defaults_keep_the_documented_functions() {
    let p = Policy::DEFAULT;
    for f in &FAMILIES {
        assert_eq!(p.candidates(f), f.functions & !1, "family {}", f.family);
    }
}

#[test]
fn disable_vendor_specific_drops_only_the_vendor_pass_through() {
    let p = Policy {
        disable_vendor_specific: true,
        ..Policy::DEFAULT
    };
    assert_eq!(p.candidates(&FAMILIES[0]), INTEL_FUNCTIONS & !(1 << 9));
    assert_eq!(p.candidates(&FAMILIES[1]), 0x1c_3c76);
    assert_eq!(p.candidates(&FAMILIES[2]), 0x1fe & !(1 << 8));
    assert_eq!(p.candidates(&FAMILIES[3]), 0xffff_fffe);
    assert_eq!(p.candidates(&FAMILIES[4]), 0x1e);
}

#[test]
fn override_mask_replaces_the_family_set_unless_vendor_specific_is_off() {
    let p = Policy {
        override_mask: 0x31,
        ..Policy::DEFAULT
    };
    // Function 0 is never a candidate; bits outside the family's set count.
    assert_eq!(p.candidates(&FAMILIES[4]), 0x30);
    assert_eq!(
        offered_of(4, p.candidates(&FAMILIES[4]), 0xff, 0),
        Some(0x30)
    );
    let both = Policy {
        disable_vendor_specific: true,
        ..p
    };
    // C ignores the override when vendor-specific commands are disabled.
    assert_eq!(both.candidates(&FAMILIES[0]), INTEL_FUNCTIONS & !(1 << 9));
}

/// The family `Policy` picks among `answering` with `default_family`.
fn pick_family(answering: &[&FamilyInfo], default_family: i32) -> Option<u32> {
    Policy {
        default_family,
        ..Policy::DEFAULT
    }
    .choose(answering.iter().copied())
    .map(|f| f.family)
}

#[test]
fn default_family_is_preferred_only_when_it_answers() {
    let pick = |default_family| pick_family(&[&FAMILIES[0], &FAMILIES[3]], default_family);
    assert_eq!(pick(-1), Some(0));
    assert_eq!(pick(3), Some(3));
    // A family the DIMM does not answer: the first in probe order.
    assert_eq!(pick(4), Some(0));
    assert_eq!(pick(i32::MAX), Some(0));
    assert_eq!(Policy::DEFAULT.choose(core::iter::empty()), None);
}

#[test]
fn the_slot_without_a_guid_comes_last() {
    // C's `nfit_uuid[NVDIMM_FAMILY_PAPR]` is never set: all zeros.
    assert_eq!(
        (PAPR_SLOT.family, PAPR_SLOT.guid, PAPR_SLOT.functions),
        (5, [0; 16], 0)
    );
    assert!(FAMILIES.iter().all(|f| f.family < PAPR_SLOT.family));
    let pick = |default_family| pick_family(&[&FAMILIES[3], &PAPR_SLOT], default_family);
    assert_eq!(pick(-1), Some(3));
    assert_eq!(pick(5), Some(5));
    assert_eq!(
        Policy::DEFAULT
            .choose([&PAPR_SLOT].into_iter())
            .map(|f| f.family),
        Some(5)
    );
}

#[test]
fn label_answers() {
    let mut out = vec![0u8; 12];
    out[4..8].copy_from_slice(&(128u32 << 10).to_le_bytes());
    out[8..12].copy_from_slice(&4096u32.to_le_bytes());
    assert_eq!(config_size_fields(&out), Some([0, 128 << 10, 4096]));
    // Copied field by field as acpi_nfit_ctl() copies them: a field the
    // answer does not hold whole is zero, a status-only answer keeps its
    // status (the core's probe then fails with it), none is ENXIO.
    assert_eq!(config_size_fields(&out[..11]), Some([0, 128 << 10, 0]));
    out[0] = 4;
    assert_eq!(config_size_fields(&out[..4]), Some([4, 0, 0]));
    assert_eq!(config_size_fields(&out[..3]), None);
    // The Intel lock is in the extended status.
    assert!(!config_locked(4));
    assert!(config_locked(7 | CONFIG_LOCKED << 16));
    let read = [0, 0, 0, 0, 1, 2, 3];
    assert_eq!(label_data(&read, 3), Ok(&[1u8, 2, 3][..]));
    assert!(label_data(&read, 4).is_err());
    assert_eq!(label_range(1, 2), [1, 0, 0, 0, 2, 0, 0, 0]);
}

#[test]
fn denied_functions_are_security_and_firmware_activation() {
    let denied: Vec<u32> = (0..64).filter(|f| INTEL_DENIED & (1 << f) != 0).collect();
    assert_eq!(denied, (19..=30).collect::<Vec<_>>());
    // All of them are functions C knows for the Intel family.
    assert_eq!(INTEL_DENIED & !INTEL_FUNCTIONS, 0);
}

#[test]
fn config_size_fields_as_acpi_nfit_ctl() {
    let mut a = Vec::new();
    for w in [1u32 << 16, 128 << 10, 4096] {
        a.extend_from_slice(&w.to_le_bytes());
    }
    assert_eq!(config_size_fields(&a), Some([1 << 16, 128 << 10, 4096]));
    assert!(config_locked(1 << 16));
    assert!(!config_locked(1));
    assert!(!config_locked(2 << 16));
    // Whole fields only; missing ones are zero; no status at all is None.
    assert_eq!(config_size_fields(&a[..10]), Some([1 << 16, 128 << 10, 0]));
    assert_eq!(config_size_fields(&a[..4]), Some([1 << 16, 0, 0]));
    assert_eq!(config_size_fields(&a[..3]), None);
}
