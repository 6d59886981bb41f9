// SPDX-License-Identifier: GPL-2.0
//! One NVDIMM's label area and its Intel-family functions.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::error::PlatformError;
use super::faults::Faults;
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
}

impl Nvdimm {
    /// Opens the backing file of a placed DIMM (for its label area).
    pub fn open(d: &PlacedDimm) -> Result<Self, PlatformError> {
        let path = || d.config.path.clone();
        let label_size = u32::try_from(d.config.label_size)
            .map_err(|_| PlatformError::LabelAreaTooLarge { path: path() })?;
        let file = if label_size == 0 {
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
        })
    }

    /// Intel function 0's mask: functions 4, 5 and 6 when there is a
    /// label area served through the `_DSM`; 0 (not this family) with
    /// `label-methods=on`, where the label methods serve it and the DIMM
    /// is of the Microsoft family ([`MSFT_UUID`]).
    pub fn functions(&self) -> u32 {
        match (&self.file, self.methods.dsm()) {
            (None, _) | (Some(_), false) => 0,
            (Some(_), true) => {
                1 | 1 << FN_GET_CONFIG_SIZE | 1 << FN_GET_CONFIG_DATA | 1 << FN_SET_CONFIG_DATA
            }
        }
    }

    /// Whether the DIMM answers as the Microsoft family (no functions).
    pub fn msft_family(&self) -> bool {
        self.has_methods() && !self.methods.dsm()
    }

    /// Whether the DIMM has the label methods.
    pub fn has_methods(&self) -> bool {
        self.file.is_some() && self.methods.methods()
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
        let Some(file) = &self.file else {
            return status(STATUS_NOT_SUPPORTED);
        };
        let served = if method {
            self.methods.methods()
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
