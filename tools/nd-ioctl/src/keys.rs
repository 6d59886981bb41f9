// SPDX-License-Identifier: GPL-2.0
//! `add-key`: a key in the caller's user keyring (the guest has no
//! `keyctl`; ndctl's `setup-passphrase -k user:NAME` needs the key
//! encryption key there), and `fw-image`: a firmware image in the test
//! VMM's format (`Documentation/nvdimm-rs/vmm.rst`).

use std::ffi::CString;
use std::io::{Error, ErrorKind, Read};

/// `KEY_SPEC_USER_KEYRING`.
const USER_KEYRING: libc::c_long = -4;

fn invalid(why: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, why.to_string())
}

/// The payload: 2N hex digits, or `random` (32 bytes of /dev/urandom).
fn payload(spec: &str) -> Result<Vec<u8>, Error> {
    if spec == "random" {
        let mut b = vec![0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
        return Ok(b);
    }
    if spec.is_empty() || !spec.len().is_multiple_of(2) {
        return Err(invalid(
            "the payload is an even number of hex digits or 'random'",
        ));
    }
    (0..spec.len())
        .step_by(2)
        .map(|i| {
            spec.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid("the payload is hex digits or 'random'"))
        })
        .collect()
}

/// Adds a key of `kind` named `desc` to the user keyring; returns its
/// serial.
pub fn add_key(kind: &str, desc: &str, spec: &str) -> Result<i64, Error> {
    let data = payload(spec)?;
    let kind = CString::new(kind).map_err(|_| invalid("NUL in the key type"))?;
    let desc = CString::new(desc).map_err(|_| invalid("NUL in the description"))?;
    // SAFETY: add_key(2) with NUL-terminated strings and a buffer of
    // `data.len()` bytes, all alive across the call.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            kind.as_ptr(),
            desc.as_ptr(),
            data.as_ptr(),
            data.len(),
            USER_KEYRING,
        )
    };
    if serial < 0 {
        return Err(Error::last_os_error());
    }
    Ok(serial)
}

/// FNV-1a 32, the image checksum.
fn fnv1a(payload: &[u8]) -> u32 {
    payload.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Writes a firmware image of `version` with `len` bytes of payload to
/// `out`; `bad` spoils its checksum (the VMM must refuse it at finish).
pub fn fw_image(version: u64, len: usize, out: &str, bad: bool) -> Result<(), Error> {
    if version == 0 {
        return Err(invalid("version 0 is not an image's"));
    }
    let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let mut sum = fnv1a(&payload);
    if bad {
        sum ^= 1;
    }
    let mut image = b"NVDFWIMG".to_vec();
    image.extend(version.to_le_bytes());
    image.extend(
        u32::try_from(len)
            .map_err(|_| invalid("payload too large"))?
            .to_le_bytes(),
    );
    image.extend(sum.to_le_bytes());
    image.extend([0u8; 8]);
    image.extend(&payload);
    std::fs::write(out, image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(payload("00ff10").unwrap(), [0, 255, 16]);
        assert_eq!(payload("random").unwrap().len(), 32);
        for bad in ["", "abc", "zz", "é0"] {
            assert!(payload(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images() {
        let p = std::env::temp_dir().join(format!("nd-ioctl-fw-{}", std::process::id()));
        let p = p.to_str().unwrap();
        fw_image(0x42, 5, p, false).unwrap();
        let i = std::fs::read(p).unwrap();
        assert_eq!(&i[..8], b"NVDFWIMG");
        assert_eq!(i.len(), 37);
        assert_eq!(&i[16..20], &5u32.to_le_bytes());
        assert_eq!(&i[20..24], &fnv1a(&i[32..]).to_le_bytes());
        fw_image(0x42, 5, p, true).unwrap();
        let j = std::fs::read(p).unwrap();
        assert_ne!(&j[20..24], &fnv1a(&j[32..]).to_le_bytes());
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        std::fs::remove_file(p).unwrap();
    }
}
