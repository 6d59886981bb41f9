// SPDX-License-Identifier: GPL-2.0
//! The SMART side of the `ocxlpmem` tool: the `ND_CMD_CALL` packages it
//! sends through `/dev/nmemN` (family `NVDIMM_FAMILY_OCXL`, the layout of
//! [`crate::smart`]) and the health report it prints as JSON.

use crate::data::{
    ND_CMD_OCXL_SMART, NVDIMM_FAMILY_OCXL, SMART_ATTR_BYTES, SMART_MAX_ATTRS, SMART_PAYLOAD_HEADER,
};
use crate::error::Error;
use crate::smart::{
    self, Answer, Health, HealthState, ND_CMD_PKG_BYTES, PKG_COMMAND, PKG_FAMILY, PKG_FW_SIZE,
    PKG_RESERVED, PKG_SIZE_IN, PKG_SIZE_OUT,
};

/// The header of an `ND_CMD_CALL` package, as a caller fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Package {
    pub family: u64,
    pub command: u64,
    pub size_in: u32,
    pub size_out: u32,
    /// Written into the first reserved word (`nd_reserved2[0]`).
    pub reserved: u32,
}

impl Package {
    /// A SMART request with room for `attrs` attributes.
    pub fn smart(attrs: usize) -> Self {
        let attrs = attrs.min(SMART_MAX_ATTRS);
        Package {
            family: NVDIMM_FAMILY_OCXL,
            command: ND_CMD_OCXL_SMART,
            size_in: 0,
            // At most 8 + 255 * 16 bytes.
            size_out: (SMART_PAYLOAD_HEADER + attrs * SMART_ATTR_BYTES) as u32,
            reserved: 0,
        }
    }

    /// The buffer the ioctl takes: the header, then the input and output
    /// the header declares (zeroed).
    pub fn encode(&self) -> Vec<u8> {
        let payload = self.size_in as usize + self.size_out as usize;
        let mut b = vec![0u8; ND_CMD_PKG_BYTES + payload];
        b[PKG_FAMILY..PKG_FAMILY + 8].copy_from_slice(&self.family.to_ne_bytes());
        b[PKG_COMMAND..PKG_COMMAND + 8].copy_from_slice(&self.command.to_ne_bytes());
        b[PKG_SIZE_IN..PKG_SIZE_IN + 4].copy_from_slice(&self.size_in.to_ne_bytes());
        b[PKG_SIZE_OUT..PKG_SIZE_OUT + 4].copy_from_slice(&self.size_out.to_ne_bytes());
        b[PKG_RESERVED..PKG_RESERVED + 4].copy_from_slice(&self.reserved.to_ne_bytes());
        b
    }

    /// The output part of an answered buffer (empty if the buffer is not
    /// one of this package).
    pub fn output<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let start = ND_CMD_PKG_BYTES + self.size_in as usize;
        buf.get(start..start + self.size_out as usize)
            .unwrap_or_default()
    }
}

/// `nd_fw_size` of an answered buffer.
pub fn fw_size(buf: &[u8]) -> u32 {
    buf.get(PKG_FW_SIZE..PKG_FW_SIZE + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

/// Decodes an answered SMART package.
pub fn decode<'a>(pkg: &Package, buf: &'a [u8]) -> Result<Answer<'a>, Error> {
    smart::decode_answer(pkg.output(buf), fw_size(buf))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".into(), |v| v.to_string())
}

/// The health report of DIMM `dimm` as one JSON object.
pub fn report_json(dimm: &str, answer: &Answer<'_>) -> String {
    let h = Health::from_attributes(answer.attributes());
    let state = match h.health {
        None => "null".to_string(),
        Some(v) => HealthState::from_value(v).map_or_else(
            || format!("\"unknown {v}\""),
            |s| format!("\"{}\"", s.name()),
        ),
    };
    let raw: Vec<String> = answer
        .attributes()
        .map(|a| format!("[{},{}]", a.0[0], a.0[1]))
        .collect();
    format!(
        "{{\"dimm\":\"{dimm}\",\"attributes\":{},\"available\":{},\"complete\":{},\"health\":{state},\"life_used_percent\":{},\"life_remaining_percent\":{},\"spares_percent\":{},\"media_temperature_celsius\":{},\"controller_temperature_celsius\":{},\"dirty_shutdowns\":{},\"power_on_hours\":{},\"media_errors\":{},\"unknown_attributes\":{},\"raw\":[{}]}}",
        answer.count(),
        answer.available,
        answer.complete(),
        opt(h.life_used()),
        opt(h.life_remaining),
        opt(h.spares),
        opt(h.media_temperature),
        opt(h.controller_temperature),
        opt(h.dirty_shutdowns),
        opt(h.power_on_hours),
        opt(h.media_errors),
        h.unknown,
        raw.join(",")
    )
}

/// The malformed packages `ocxlpmem smart-malformed` sends, each with the
/// name it reports under.
pub fn malformed() -> Vec<(&'static str, Package)> {
    let ok = Package::smart(SMART_MAX_ATTRS);
    vec![
        // Refused by the core: the family is not the bus's, or above
        // NVDIMM_FAMILY_MAX.
        ("other_family", Package { family: 5, ..ok }),
        ("family_past_max", Package { family: 7, ..ok }),
        // Refused by the driver.
        ("unknown_function", Package { command: 2, ..ok }),
        ("function_zero", Package { command: 0, ..ok }),
        ("input_given", Package { size_in: 8, ..ok }),
        ("short_output", Package { size_out: 7, ..ok }),
        ("no_output", Package { size_out: 0, ..ok }),
        ("reserved_set", Package { reserved: 1, ..ok }),
    ]
}

/// The name of errno `n`, as the scenarios compare it.
pub fn errno_name(n: i32) -> String {
    match n {
        libc::EINVAL => "EINVAL".into(),
        libc::ENOTTY => "ENOTTY".into(),
        libc::ENODEV => "ENODEV".into(),
        libc::ENXIO => "ENXIO".into(),
        libc::EIO => "EIO".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::ETIMEDOUT => "ETIMEDOUT".into(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".into(),
        n => format!("errno {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SmartAttribute;
    use crate::smart::{attr, PackageError};

    /// What the driver does with a package: check it, take `card` (the
    /// card's data buffer bytes, little-endian) and answer.
    fn answer(pkg: &Package, card: &[SmartAttribute]) -> Result<Vec<u8>, PackageError> {
        let mut buf = pkg.encode();
        let reserved = buf[PKG_RESERVED..PKG_FW_SIZE].iter().all(|&b| b == 0);
        let room = smart::check_package(
            pkg.command,
            reserved,
            pkg.size_in as usize,
            pkg.size_out as usize,
        )?;
        let le: Vec<u8> = card
            .iter()
            .flat_map(|a| a.0.iter().flat_map(|w| w.to_le_bytes()))
            .collect();
        let copied = room.min(card.len());
        let start = ND_CMD_PKG_BYTES + pkg.size_in as usize;
        smart::encode_answer(&mut buf[start..], &le, copied);
        let fw = smart::answer_size(card.len());
        buf[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&fw.to_ne_bytes());
        Ok(buf)
    }

    fn card() -> Vec<SmartAttribute> {
        vec![
            SmartAttribute([attr::LIFE_REMAINING, 90]),
            SmartAttribute([attr::MEDIA_TEMPERATURE, (-5i64) as u64]),
            SmartAttribute([attr::DIRTY_SHUTDOWNS, 2]),
            SmartAttribute([attr::SPARES, 40]),
            SmartAttribute([attr::HEALTH, HealthState::NonCritical.value()]),
            SmartAttribute([0x99, 7]),
        ]
    }

    #[test]
    fn package_layout_is_nd_cmd_pkg() {
        let p = Package::smart(2);
        let b = p.encode();
        assert_eq!(b.len(), 64 + 8 + 32);
        assert_eq!(u64::from_ne_bytes(b[0..8].try_into().unwrap()), 6);
        assert_eq!(u64::from_ne_bytes(b[8..16].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(b[20..24].try_into().unwrap()), 40);
        assert_eq!(fw_size(&b), 0);
        // ND_IOCTL_CALL: _IOWR('N', 10, 64 bytes).
        assert_eq!(smart::nd_ioctl_call(&crate::uapi::IOC_GENERIC), 0xc040_4e0a);
        assert_eq!(smart::nd_ioctl_call(&crate::uapi::IOC_POWERPC), 0xc040_4e0a);
        assert_eq!(Package::smart(1000).size_out, 8 + 255 * 16);
    }

    #[test]
    fn whole_answer_decodes_to_health() {
        let p = Package::smart(SMART_MAX_ATTRS);
        let buf = answer(&p, &card()).unwrap();
        let a = decode(&p, &buf).unwrap();
        assert_eq!((a.count(), a.available, a.complete()), (6, 6, true));
        assert_eq!(a.attribute(1), Some(SmartAttribute([2, (-5i64) as u64])));
        assert_eq!(a.attribute(6), None);
        let h = Health::from_attributes(a.attributes());
        assert_eq!(h.life_used(), Some(10));
        assert_eq!(h.media_temperature, Some(-5));
        assert_eq!(h.controller_temperature, None);
        assert_eq!(h.dirty_shutdowns, Some(2));
        assert_eq!(h.unknown, 1);
        let j = report_json("nmem0", &a);
        assert!(j.starts_with("{\"dimm\":\"nmem0\",\"attributes\":6,\"available\":6,\"complete\":true,\"health\":\"non-critical\",\"life_used_percent\":10,"), "{j}");
        assert!(j.contains("\"media_temperature_celsius\":-5,"), "{j}");
        assert!(
            j.contains("\"controller_temperature_celsius\":null,"),
            "{j}"
        );
        assert!(j.ends_with("\"unknown_attributes\":1,\"raw\":[[1,90],[2,18446744073709551611],[3,2],[5,40],[8,1],[153,7]]}"), "{j}");
    }

    #[test]
    fn short_output_returns_what_fits_and_the_whole_size() {
        let p = Package::smart(2);
        let buf = answer(&p, &card()).unwrap();
        assert_eq!(fw_size(&buf), 8 + 6 * 16);
        let a = decode(&p, &buf).unwrap();
        assert_eq!((a.count(), a.available, a.complete()), (2, 6, false));
        // An output with a partial attribute at its end: whole ones only.
        let p = Package {
            size_out: 8 + 16 + 15,
            ..Package::smart(0)
        };
        let buf = answer(&p, &card()).unwrap();
        assert_eq!(decode(&p, &buf).unwrap().count(), 1);
        // Room for the header only.
        let p = Package::smart(0);
        let buf = answer(&p, &card()).unwrap();
        let a = decode(&p, &buf).unwrap();
        assert_eq!((a.count(), a.available), (0, 6));
        // A card without attributes.
        let p = Package::smart(4);
        let buf = answer(&p, &[]).unwrap();
        let a = decode(&p, &buf).unwrap();
        assert_eq!((a.count(), a.available, a.complete()), (0, 0, true));
        assert!(report_json("x", &a).contains("\"health\":null,\"life_used_percent\":null"));
    }

    #[test]
    fn malformed_packages_are_refused_with_their_errno() {
        let ok = Package::smart(4);
        let refused = |p: Package| answer(&p, &card()).unwrap_err();
        assert_eq!(
            refused(Package { command: 2, ..ok }),
            PackageError::UnknownFunction(2)
        );
        assert_eq!(PackageError::UnknownFunction(2).errno(), -libc::ENOTTY);
        assert_eq!(
            refused(Package {
                command: u64::MAX,
                ..ok
            }),
            PackageError::UnknownFunction(u64::MAX)
        );
        assert_eq!(
            refused(Package { size_in: 8, ..ok }),
            PackageError::Input(8)
        );
        assert_eq!(
            refused(Package { size_out: 7, ..ok }),
            PackageError::ShortOutput(7)
        );
        assert_eq!(
            refused(Package { reserved: 1, ..ok }),
            PackageError::Reserved
        );
        for e in [
            PackageError::Input(1),
            PackageError::ShortOutput(0),
            PackageError::Reserved,
        ] {
            assert_eq!(e.errno(), -libc::EINVAL);
        }
        // Every malformed package the tool sends is refused somewhere.
        for (name, p) in malformed() {
            let core = p.family != NVDIMM_FAMILY_OCXL;
            assert!(core || answer(&p, &card()).is_err(), "{name}");
        }
    }

    #[test]
    fn driver_answers_are_checked() {
        let p = Package::smart(4);
        let good = answer(&p, &card()).unwrap();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            decode(&p, &b).map(|a| (a.count(), a.available))
        };
        // A count beyond the output, or beyond what the size says.
        assert!(with(&|b| b[64] = 5).is_err());
        assert!(with(
            &|b| b[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&(8u32 + 16).to_ne_bytes())
        )
        .is_err());
        // A size that is not whole attributes, or shorter than the header.
        assert!(with(
            &|b| b[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&(8u32 + 17).to_ne_bytes())
        )
        .is_err());
        assert!(
            with(&|b| b[PKG_FW_SIZE..PKG_FW_SIZE + 4].copy_from_slice(&4u32.to_ne_bytes()))
                .is_err()
        );
        // Reserved bytes set.
        assert!(with(&|b| b[65] = 1).is_err());
        // An output shorter than the header.
        assert!(smart::decode_answer(&[0; 7], 8).is_err());
        // The encoder never writes past its output, whatever it is given.
        let mut tiny = [0xffu8; 5];
        assert_eq!(smart::encode_answer(&mut tiny, &[1; 64], 4), 0);
        let mut out = [0xffu8; 8 + 16];
        assert_eq!(smart::encode_answer(&mut out, &[1; 8], 4), 0);
        assert_eq!(smart::encode_answer(&mut out, &[1; 64], 9), 1);
        assert_eq!(smart::answer_size(10_000), 8 + 255 * 16);
    }

    /// Random packages and answers through every function of the SMART
    /// protocol: no panic, and what the encoder writes always decodes.
    #[test]
    fn random_packages_and_answers_never_panic() {
        let mut rng = fuzz_rng::Rng::new(0x5a17);
        for _ in 0..20_000 {
            let size_out = rng.below(300) as usize;
            let room = smart::check_package(
                rng.below(4),
                rng.chance(7, 8),
                rng.below(3) as usize * 8,
                size_out,
            );
            let attrs: Vec<u8> = (0..rng.below(400)).map(|_| rng.next_u64() as u8).collect();
            let mut out = vec![0xa5u8; size_out];
            let copied = rng.below(300) as usize;
            let count = smart::encode_answer(&mut out, &attrs, copied);
            let available = attrs.len() / SMART_ATTR_BYTES;
            if let Ok(room) = room {
                assert!(usize::from(count) <= room.min(copied).min(available));
                let a = smart::decode_answer(&out, smart::answer_size(available)).unwrap();
                assert_eq!(a.count(), usize::from(count));
                let _ = Health::from_attributes(a.attributes());
            }
            // Whatever the driver says.
            let mut junk: Vec<u8> = (0..rng.below(100)).map(|_| rng.next_u64() as u8).collect();
            if rng.chance(1, 2) && !junk.is_empty() {
                junk[1..].iter_mut().take(7).for_each(|b| *b = 0);
            }
            if let Ok(a) = smart::decode_answer(&junk, rng.next_u64() as u32) {
                assert!(a.count() <= a.available);
                assert_eq!(a.attributes().count(), a.count());
            }
        }
    }

    #[test]
    fn health_tolerates_any_values() {
        let h = Health::from_attributes(
            [
                SmartAttribute([attr::LIFE_REMAINING, 250]),
                SmartAttribute([attr::HEALTH, 9]),
            ]
            .into_iter(),
        );
        assert_eq!(h.life_used(), Some(0));
        assert_eq!(HealthState::from_value(9), None);
        let p = Package::smart(4);
        let buf = answer(
            &p,
            &[
                SmartAttribute([attr::HEALTH, 9]),
                SmartAttribute([attr::LIFE_REMAINING, 250]),
            ],
        )
        .unwrap();
        let j = report_json("nmem1", &decode(&p, &buf).unwrap());
        assert!(
            j.contains("\"health\":\"unknown 9\",\"life_used_percent\":0,"),
            "{j}"
        );
        assert_eq!(errno_name(libc::ENOTTY), "ENOTTY");
        assert_eq!(errno_name(1000), "errno 1000");
    }
}
