// SPDX-License-Identifier: GPL-2.0

//! DIMM health: `H_SCM_HEALTH`, the health bitmap, the PDSM payloads of
//! `include/uapi/linux/papr_pdsm.h` and the 60-second cache policy.
//!
//! `core`-only; bits and layouts as in `include/linux/papr_scm.h` and
//! `papr_scm.c`.

use super::hcall::{call, Hypervisor, H_FUNCTION, H_SCM_HEALTH, H_SUCCESS};
use core::fmt;

/// Bit `n` of the health bitmap in PAPR (big-endian bit) numbering.
const fn ppc_bit(n: u32) -> u64 {
    1u64 << (63 - n)
}

/// Unable to persist memory contents.
pub const PAPR_PMEM_UNARMED: u64 = ppc_bit(0);
/// Failed to persist memory contents at the last shutdown.
pub const PAPR_PMEM_SHUTDOWN_DIRTY: u64 = ppc_bit(1);
/// Contents persisted from the previous IPL.
pub const PAPR_PMEM_SHUTDOWN_CLEAN: u64 = ppc_bit(2);
/// Contents not persisted from the previous IPL.
pub const PAPR_PMEM_EMPTY: u64 = ppc_bit(3);
/// Remaining life critically low.
pub const PAPR_PMEM_HEALTH_CRITICAL: u64 = ppc_bit(4);
/// Will be garded off at the next IPL.
pub const PAPR_PMEM_HEALTH_FATAL: u64 = ppc_bit(5);
/// Cannot persist because of the platform's health.
pub const PAPR_PMEM_HEALTH_UNHEALTHY: u64 = ppc_bit(6);
/// Cannot persist in certain conditions.
pub const PAPR_PMEM_HEALTH_NON_CRITICAL: u64 = ppc_bit(7);
/// Encrypted.
pub const PAPR_PMEM_ENCRYPTED: u64 = ppc_bit(8);
/// Scrubbed and locked.
pub const PAPR_PMEM_SCRUBBED_AND_LOCKED: u64 = ppc_bit(9);
/// Save failed.
pub const PAPR_PMEM_SAVE_FAILED: u64 = ppc_bit(10);

/// Bits meaning "unarmed" (`NDD_UNARMED`, `not_armed`).
pub const PAPR_PMEM_UNARMED_MASK: u64 = PAPR_PMEM_UNARMED | PAPR_PMEM_HEALTH_UNHEALTHY;
/// Bits meaning "bad shutdown" (`flush_fail`).
pub const PAPR_PMEM_BAD_SHUTDOWN_MASK: u64 = PAPR_PMEM_SHUTDOWN_DIRTY;
/// Bits meaning "bad restore" (`restore_fail`).
pub const PAPR_PMEM_BAD_RESTORE_MASK: u64 = PAPR_PMEM_EMPTY;
/// Bits meaning "smart event" (`smart_notify`).
pub const PAPR_PMEM_SMART_EVENT_MASK: u64 =
    PAPR_PMEM_HEALTH_CRITICAL | PAPR_PMEM_HEALTH_FATAL | PAPR_PMEM_HEALTH_UNHEALTHY;

/// Seconds during which a health reading is reused (`MIN_HEALTH_QUERY_INTERVAL`).
pub const MIN_HEALTH_QUERY_INTERVAL_SECS: u64 = 60;

/// `dimm_health` values.
pub const PAPR_PDSM_DIMM_HEALTHY: u16 = 0;
/// Unhealthy.
pub const PAPR_PDSM_DIMM_UNHEALTHY: u16 = 1;
/// Critical.
pub const PAPR_PDSM_DIMM_CRITICAL: u16 = 2;
/// Fatal.
pub const PAPR_PDSM_DIMM_FATAL: u16 = 3;

/// `extension_flags`: `dimm_fuel_gauge` is valid.
pub const PDSM_DIMM_HEALTH_RUN_GAUGE_VALID: u32 = 1;
/// `extension_flags`: `dimm_dsc` is valid.
pub const PDSM_DIMM_DSC_VALID: u32 = 2;
/// Smart inject flag: fatal health.
pub const PDSM_SMART_INJECT_HEALTH_FATAL: u32 = 1 << 0;
/// Smart inject flag: bad shutdown.
pub const PDSM_SMART_INJECT_BAD_SHUTDOWN: u32 = 1 << 1;

/// PDSM command numbers.
pub const PAPR_PDSM_HEALTH: u32 = 1;
/// Smart inject.
pub const PAPR_PDSM_SMART_INJECT: u32 = 2;
/// Payload bytes of every PDSM (`ND_PDSM_PAYLOAD_MAX_SIZE`).
pub const ND_PDSM_PAYLOAD_MAX_SIZE: usize = 184;
/// Header bytes of `struct nd_pkg_pdsm` (`cmd_status`, `reserved[2]`).
pub const ND_PDSM_HDR_SIZE: usize = 8;

/// A health reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// `ret[0] & ret[1]` (bitmap masked by its valid bits); 0 when unknown.
    pub bitmap: u64,
    /// False when the hypervisor answered `H_FUNCTION` (QEMU): health
    /// unknown, treated as an empty bitmap as C does.
    pub known: bool,
}

/// `H_SCM_HEALTH` failed with this status (`-ENXIO` in C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthError {
    /// The status.
    pub rc: i64,
}

impl HealthError {
    /// The errno the C driver returns.
    pub fn errno(&self) -> i32 {
        -super::logic::ENXIO
    }
}

/// Queries the health (`__drc_pmem_query_health()` without the cache):
/// `H_FUNCTION` gives an unknown, empty reading, not an error.
pub fn query(hv: &mut impl Hypervisor, drc_index: u32) -> Result<Reading, HealthError> {
    let (rc, ret) = call(hv, H_SCM_HEALTH, &[u64::from(drc_index)]);
    match rc {
        H_SUCCESS => Ok(Reading {
            bitmap: ret[0] & ret[1],
            known: true,
        }),
        H_FUNCTION => Ok(Reading {
            bitmap: 0,
            known: false,
        }),
        rc => Err(HealthError { rc }),
    }
}

/// The bitmap with the injected bits forced on (`health_bitmap_inject`).
pub const fn apply_inject(bitmap: u64, inject_mask: u64) -> u64 {
    (bitmap & !inject_mask) | inject_mask
}

/// Whether the DIMM is registered `NDD_UNARMED`.
pub const fn is_unarmed(bitmap: u64) -> bool {
    bitmap & PAPR_PMEM_UNARMED_MASK != 0
}

/// `time_after(a, b)` on a wrapping 64-bit clock.
pub const fn time_after(a: u64, b: u64) -> bool {
    (b.wrapping_sub(a) as i64) < 0
}

/// The cache policy as a pure function: whether the reading taken at
/// `last` (`None`: never, or invalidated) is still good at `now`, `interval`
/// being 60 s in the clock's unit. As C, a reading is refreshed once `now`
/// is strictly after `last + interval`.
///
/// C invalidates by setting `lasthealth_jiffies = 0`, which does not
/// invalidate while `jiffies` is within `interval` after 0 modulo the
/// wrap, notably in the first minutes after boot where jiffies starts
/// near -300 s: a smart inject is then not seen by `papr/flags` for up to a
/// minute. Here invalidation is explicit (`None`).
pub const fn cache_fresh(now: u64, last: Option<u64>, interval: u64) -> bool {
    match last {
        None => false,
        Some(l) => !time_after(now, l.wrapping_add(interval)),
    }
}

/// Health fields of the `PAPR_PDSM_HEALTH` payload, decoded from a bitmap
/// as `papr_pdsm_health()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdsmHealth {
    /// `dimm_unarmed`.
    pub unarmed: bool,
    /// `dimm_bad_shutdown`.
    pub bad_shutdown: bool,
    /// `dimm_bad_restore`.
    pub bad_restore: bool,
    /// `dimm_scrubbed`.
    pub scrubbed: bool,
    /// `dimm_locked`.
    pub locked: bool,
    /// `dimm_encrypted`.
    pub encrypted: bool,
    /// `dimm_health` (`PAPR_PDSM_DIMM_*`).
    pub health: u16,
    /// `dimm_fuel_gauge`, when statistics gave `MemLife`.
    pub fuel_gauge: Option<u16>,
    /// `dimm_dsc` (always given by C: the dirty shutdown count).
    pub dsc: Option<u64>,
}

impl PdsmHealth {
    /// Decodes `bitmap` (fatal over critical over unhealthy).
    pub const fn from_bitmap(bitmap: u64) -> Self {
        let health = if bitmap & PAPR_PMEM_HEALTH_FATAL != 0 {
            PAPR_PDSM_DIMM_FATAL
        } else if bitmap & PAPR_PMEM_HEALTH_CRITICAL != 0 {
            PAPR_PDSM_DIMM_CRITICAL
        } else if bitmap & PAPR_PMEM_HEALTH_UNHEALTHY != 0 {
            PAPR_PDSM_DIMM_UNHEALTHY
        } else {
            PAPR_PDSM_DIMM_HEALTHY
        };
        PdsmHealth {
            unarmed: bitmap & PAPR_PMEM_UNARMED_MASK != 0,
            bad_shutdown: bitmap & PAPR_PMEM_BAD_SHUTDOWN_MASK != 0,
            bad_restore: bitmap & PAPR_PMEM_BAD_RESTORE_MASK != 0,
            scrubbed: bitmap & PAPR_PMEM_SCRUBBED_AND_LOCKED != 0,
            locked: bitmap & PAPR_PMEM_SCRUBBED_AND_LOCKED != 0,
            encrypted: bitmap & PAPR_PMEM_ENCRYPTED != 0,
            health,
            fuel_gauge: None,
            dsc: None,
        }
    }

    /// `struct nd_papr_pdsm_health` in native byte order (a uAPI struct):
    /// `extension_flags` u32 at 0, six u8 flags at 4..10, `dimm_health` u16
    /// at 10, `dimm_fuel_gauge` u16 at 12, `dimm_dsc` u64 at 16, zeros to
    /// 184 bytes.
    pub fn to_payload(self) -> [u8; ND_PDSM_PAYLOAD_MAX_SIZE] {
        let mut p = [0u8; ND_PDSM_PAYLOAD_MAX_SIZE];
        let mut ext = 0u32;
        if self.fuel_gauge.is_some() {
            ext |= PDSM_DIMM_HEALTH_RUN_GAUGE_VALID;
        }
        if self.dsc.is_some() {
            ext |= PDSM_DIMM_DSC_VALID;
        }
        p[0..4].copy_from_slice(&ext.to_ne_bytes());
        p[4] = u8::from(self.unarmed);
        p[5] = u8::from(self.bad_shutdown);
        p[6] = u8::from(self.bad_restore);
        p[7] = u8::from(self.scrubbed);
        p[8] = u8::from(self.locked);
        p[9] = u8::from(self.encrypted);
        p[10..12].copy_from_slice(&self.health.to_ne_bytes());
        p[12..14].copy_from_slice(&self.fuel_gauge.unwrap_or(0).to_ne_bytes());
        p[16..24].copy_from_slice(&self.dsc.unwrap_or(0).to_ne_bytes());
        p
    }
}

/// `dimm_fuel_gauge` from the `MemLife` statistic. C truncates the 64-bit
/// value to 16 bits; here it saturates (a percentage never reaches either).
pub fn fuel_gauge(mem_life: u64) -> u16 {
    u16::try_from(mem_life).unwrap_or(u16::MAX)
}

/// Writes `papr/flags` for `bitmap` exactly as `flags_show()`: the words
/// `not_armed flush_fail restore_fail encrypted smart_notify scrubbed
/// locked`, each followed by a space, and a newline when any was written.
pub fn write_flags(bitmap: u64, out: &mut impl fmt::Write) -> fmt::Result {
    let words: [(u64, &str); 6] = [
        (PAPR_PMEM_UNARMED_MASK, "not_armed "),
        (PAPR_PMEM_BAD_SHUTDOWN_MASK, "flush_fail "),
        (PAPR_PMEM_BAD_RESTORE_MASK, "restore_fail "),
        (PAPR_PMEM_ENCRYPTED, "encrypted "),
        (PAPR_PMEM_SMART_EVENT_MASK, "smart_notify "),
        (PAPR_PMEM_SCRUBBED_AND_LOCKED, "scrubbed locked "),
    ];
    let mut any = false;
    for (mask, word) in words {
        if bitmap & mask != 0 {
            out.write_str(word)?;
            any = true;
        }
    }
    if any {
        out.write_str("\n")?;
    }
    Ok(())
}

/// Writes `value` in decimal (as `"%llu"`) with nothing but
/// [`fmt::Write::write_str`]: the kernel module's attributes carry no
/// `core::fmt` formatting code (each formatting function a module calls
/// costs the powerpc module loader a stub).
pub fn write_decimal(out: &mut impl fmt::Write, mut value: u64) -> fmt::Result {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for (i, slot) in digits.iter_mut().enumerate().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        start = i;
        if value == 0 {
            break;
        }
    }
    write_ascii(out, digits.get(start..).unwrap_or_default())
}

/// Writes `value` in hexadecimal with at least `min_digits` digits (at
/// most 16), zero-padded, upper case or lower case, without a prefix (as
/// `"%0*llX"` / `"%0*llx"`), like [`write_decimal`] without `core::fmt`.
pub fn write_hex(
    out: &mut impl fmt::Write,
    value: u64,
    min_digits: usize,
    upper: bool,
) -> fmt::Result {
    let alphabet: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut digits = [0u8; 16];
    for (pair, byte) in digits.chunks_exact_mut(2).zip(value.to_be_bytes()) {
        pair[0] = alphabet[usize::from(byte >> 4)];
        pair[1] = alphabet[usize::from(byte & 0xf)];
    }
    let leading_zeros = (value.leading_zeros() / 4) as usize;
    let start = leading_zeros.min(digits.len().saturating_sub(min_digits.max(1)));
    write_ascii(out, digits.get(start..).unwrap_or_default())
}

/// Writes ASCII digits, one character at a time (`str::from_utf8()` would
/// be a call into `core` again).
fn write_ascii(out: &mut impl fmt::Write, ascii: &[u8]) -> fmt::Result {
    ascii
        .iter()
        .try_for_each(|&b| out.write_char(char::from(b)))
}

/// A `PAPR_PDSM_SMART_INJECT` request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmartInject {
    /// `flags` (`PDSM_SMART_INJECT_*`).
    pub flags: u32,
    /// `fatal_enable`.
    pub fatal_enable: bool,
    /// The uapi field `unsafe_shutdown_enable` (a dirty shutdown to inject).
    pub dirty_shutdown_enable: bool,
}

impl SmartInject {
    /// Decodes the payload (`flags` u32 native at 0, two u8 at 4 and 5);
    /// `None` when shorter than 6 bytes.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let flags = match payload.get(0..4)? {
            &[a, b, c, d] => u32::from_ne_bytes([a, b, c, d]),
            _ => return None,
        };
        Some(SmartInject {
            flags,
            fatal_enable: *payload.get(4)? != 0,
            dirty_shutdown_enable: *payload.get(5)? != 0,
        })
    }

    /// Applies the request to the inject mask as `papr_pdsm_smart_inject()`;
    /// returns the new mask and the supported flags to return in `flags`.
    pub fn apply(&self, mask: u64) -> (u64, u32) {
        let (mut inject, mut clear, mut supported) = (0u64, 0u64, 0u32);
        if self.flags & PDSM_SMART_INJECT_HEALTH_FATAL != 0 {
            supported |= PDSM_SMART_INJECT_HEALTH_FATAL;
            if self.fatal_enable {
                inject |= PAPR_PMEM_HEALTH_FATAL;
            } else {
                clear |= PAPR_PMEM_HEALTH_FATAL;
            }
        }
        if self.flags & PDSM_SMART_INJECT_BAD_SHUTDOWN != 0 {
            supported |= PDSM_SMART_INJECT_BAD_SHUTDOWN;
            if self.dirty_shutdown_enable {
                inject |= PAPR_PMEM_SHUTDOWN_DIRTY;
            } else {
                clear |= PAPR_PMEM_SHUTDOWN_DIRTY;
            }
        }
        ((mask & !clear) | inject, supported)
    }
}
