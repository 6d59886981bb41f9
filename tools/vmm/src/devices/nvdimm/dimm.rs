// SPDX-License-Identifier: GPL-2.0
//! One NVDIMM's label area and its Intel-family functions.

use std::fs::File;
use std::os::unix::fs::FileExt;

use std::time::Duration;

use super::error::PlatformError;
use super::faults::Faults;
use super::intel::{self, IntelDimm, Media};
use crate::config::{LabelMethods, PlacedDimm};
use crate::dsm::*;
use crate::mailbox::MAX_TRANSFER;

/// One NVDIMM: its label area is the last `label_size` bytes of the
/// backing file (QEMU's layout), accessed with positioned I/O.
pub struct Nvdimm {
    pub handle: u32,
    file: Option<File>,
    label_offset: u64,
    label_size: u32,
    methods: LabelMethods,
    /// `zero-uuid=on`: function 0 of the all-zero UUID answers.
    zero_uuid: bool,
    /// The rest of the Intel family (`intel=on`).
    intel: Option<IntelDimm>,
}

impl Nvdimm {
    /// Opens the backing file of a placed DIMM (for its label area).
    pub fn open(d: &PlacedDimm) -> Result<Self, PlatformError> {
        let path = || d.config.path.clone();
        let label_size = u32::try_from(d.config.label_size)
            .map_err(|_| PlatformError::LabelAreaTooLarge { path: path() })?;
        let intel = if d.config.intel {
            Some(
                IntelDimm::new(
                    d.config.intel_state.clone(),
                    Duration::from_millis(d.config.overwrite_ms),
                )
                .map_err(PlatformError::IntelState)?,
            )
        } else {
            None
        };
        let file = if label_size == 0 && intel.is_none() {
            None
        } else {
            Some(
                File::options()
                    .read(true)
                    .write(true)
                    .open(&d.config.path)
                    .map_err(|source| PlatformError::Io {
                        path: path(),
                        source,
                    })?,
            )
        };
        Ok(Nvdimm {
            handle: u32::from(d.slot) + 1,
            file,
            label_offset: d.config.size,
            label_size,
            methods: d.config.label_methods,
            zero_uuid: d.config.zero_uuid,
            intel,
        })
    }

    /// The Intel family beyond the label functions, with `intel=on`.
    pub fn intel(&mut self) -> Option<&mut IntelDimm> {
        self.intel.as_mut()
    }

    /// Whether `[offset, offset + length)` of the backing file (data, then
    /// labels) reads as zeros, and its FNV-1a 32 (the control protocol's
    /// `media`: what an erase did, seen from the host).
    pub fn digest(&self, offset: u64, length: u64) -> Result<(bool, u32), PlatformError> {
        let file = self
            .file
            .as_ref()
            .filter(|_| self.intel.is_some())
            .ok_or(PlatformError::NotIntel(self.handle))?;
        let end = offset
            .checked_add(length)
            .filter(|e| *e <= self.label_offset + u64::from(self.label_size))
            .ok_or(PlatformError::MediaRange)?;
        let mut buf = vec![0u8; 1 << 20];
        let (mut zero, mut hash) = (true, 0x811c_9dc5u32);
        let mut at = offset;
        while at < end {
            let n = (end - at).min(buf.len() as u64) as usize;
            file.read_exact_at(&mut buf[..n], at)
                .map_err(|source| PlatformError::Io {
                    path: std::path::PathBuf::from(format!("DIMM {}", self.handle)),
                    source,
                })?;
            zero &= buf[..n].iter().all(|&b| b == 0);
            hash = buf[..n]
                .iter()
                .fold(hash, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
            at += n as u64;
        }
        Ok((zero, hash))
    }

    fn labels(&self) -> bool {
        self.label_size > 0 && self.methods.dsm()
    }

    /// Intel function 0's mask: functions 4, 5 and 6 when there is a
    /// label area served through the `_DSM`; 0 (not this family) with
    /// `label-methods=on`, where the label methods serve it and the DIMM
    /// is of the Microsoft family ([`MSFT_UUID`]).
    /// With `intel=on` the rest of the family too ([`intel::FUNCTIONS`]).
    pub fn functions(&self) -> u32 {
        let labels = if self.labels() {
            1 | 1 << FN_GET_CONFIG_SIZE | 1 << FN_GET_CONFIG_DATA | 1 << FN_SET_CONFIG_DATA
        } else {
            0
        };
        match &self.intel {
            Some(_) => 1 | labels | intel::FUNCTIONS,
            None => labels,
        }
    }

    /// Whether the DIMM answers function 0 of the all-zero UUID
    /// (`zero-uuid=on`, no functions).
    pub fn zero_uuid(&self) -> bool {
        self.zero_uuid
    }

    /// Whether the DIMM answers as the Microsoft family (no functions).
    pub fn msft_family(&self) -> bool {
        self.has_methods() && !self.methods.dsm()
    }

    /// Whether the DIMM has the label methods.
    pub fn has_methods(&self) -> bool {
        self.label_size > 0 && self.methods.methods()
    }

    /// Checks `(offset, length)` of a label call against the label area.
    fn range(&self, input: &[u8]) -> Option<(u64, usize)> {
        let off = le32(input, 0)?;
        let len = le32(input, 4)?;
        let end = u64::from(off) + u64::from(len);
        (end <= u64::from(self.label_size) && len as usize <= MAX_TRANSFER)
            .then(|| (self.label_offset + u64::from(off), len as usize))
    }

    /// Serves one Intel-family function (from the `_DSM`, or from a label
    /// method: `method`).
    pub fn dsm(
        &mut self,
        function: u32,
        input: &[u8],
        faults: &mut Faults,
        method: bool,
    ) -> Vec<u8> {
        let label_fn = matches!(
            function,
            FN_GET_CONFIG_SIZE | FN_GET_CONFIG_DATA | FN_SET_CONFIG_DATA
        );
        if !label_fn && !method {
            let media_error = faults.media_error(self.handle, function);
            let media = self.file.as_ref().map(|file| Media {
                file,
                data_len: self.label_offset,
                label_offset: self.label_offset,
                label_len: u64::from(self.label_size),
            });
            return self
                .intel
                .as_mut()
                .and_then(|i| i.call(function, input, media.as_ref(), media_error))
                .unwrap_or_else(|| status(STATUS_NOT_SUPPORTED));
        }
        let Some(file) = self.file.as_ref().filter(|_| self.label_size > 0) else {
            return status(STATUS_NOT_SUPPORTED);
        };
        // A locked Intel DIMM: its capacity is locked, its labels are
        // not. Get Config Size answers with the extended status
        // ND_CONFIG_LOCKED and the sizes (Linux reads them, marks the DIMM
        // locked and enumerates its namespaces without enabling them);
        // reads work, writes answer "locked".
        let blocked = self.intel.as_mut().and_then(|i| i.labels_blocked());
        let locked_size = match (blocked, function) {
            (Some(s), FN_SET_CONFIG_DATA) => return s.out(),
            (Some(s), FN_GET_CONFIG_SIZE) if !method => Some(s.code()),
            _ => None,
        };
        if let Some(code) = locked_size {
            let mut out = code.to_le_bytes().to_vec();
            out.extend(self.label_size.to_le_bytes());
            out.extend((MAX_TRANSFER as u32).to_le_bytes());
            return out;
        }
        let served = if method {
            // `label-methods=ro` has no `_LSW` to call.
            self.methods.methods() && (function != FN_SET_CONFIG_DATA || self.methods.writes())
        } else {
            self.methods.dsm()
        };
        if !served {
            return status(STATUS_NOT_SUPPORTED);
        }
        match function {
            FN_GET_CONFIG_SIZE => {
                let mut out = status(STATUS_SUCCESS);
                out.extend(self.label_size.to_le_bytes());
                out.extend((MAX_TRANSFER as u32).to_le_bytes());
                out
            }
            FN_GET_CONFIG_DATA => {
                let Some((pos, len)) = self.range(input) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let mut out = status(STATUS_SUCCESS);
                out.resize(4 + len, 0);
                match file.read_exact_at(&mut out[4..], pos) {
                    Ok(()) => out,
                    Err(_) => status(STATUS_HW_ERROR),
                }
            }
            FN_SET_CONFIG_DATA => {
                let Some((pos, len)) = self.range(input) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let Some(data) = input.get(8..8 + len) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let (data, fail) = match faults.torn_write(self.handle) {
                    Some(keep) => (&data[..keep.min(len)], true),
                    None => (data, false),
                };
                if file.write_all_at(data, pos).is_err() || fail {
                    return status(STATUS_HW_ERROR);
                }
                status(STATUS_SUCCESS)
            }
            _ => status(STATUS_NOT_SUPPORTED),
        }
    }
}
