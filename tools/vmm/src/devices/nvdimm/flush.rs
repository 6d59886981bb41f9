// SPDX-License-Identifier: GPL-2.0
//! The flush hint page: the NFIT's flush hint address structures (type 6)
//! name 8-byte slots in one small `pc-dimm` whose backing file the VMM
//! maps too, so it can see which hints the guest wrote.
//!
//! Linux writes `1` to one hint of every DIMM of a region on each region
//! flush (`generic_nvdimm_flush`: `echo 1 > regionN/deep_flush`, fsync on
//! a pmem namespace, a BTT's flog update). The page is guest memory, so
//! the write is an ordinary store the VMM sees in the shared mapping;
//! [`FlushPage::take`] reads a slot and clears it.
//!
//! Layout: DIMM slot `s` has the 4 KiB page at `FLUSH_BASE + s * 4 KiB`,
//! hint `i` at offset `i * 64` in it ([`crate::config::flush_hint_address`]).

use std::path::Path;

use crate::config::{FLUSH_PAGE, FLUSH_SIZE, FLUSH_STRIDE, MAX_FLUSH_HINTS};
use crate::shm::{SharedFile, ShmError};

/// The host mapping of the flush hint page's backing file.
pub struct FlushPage {
    shm: SharedFile,
}

impl FlushPage {
    /// Creates (or resets to zero) the backing file and maps it shared.
    pub fn create(path: &Path) -> Result<Self, ShmError> {
        Ok(FlushPage {
            shm: SharedFile::create(path, FLUSH_SIZE as usize)?,
        })
    }

    fn offset(slot: u16, hint: u8) -> Option<usize> {
        let off = u64::from(slot) * FLUSH_PAGE + u64::from(hint) * FLUSH_STRIDE;
        (hint < MAX_FLUSH_HINTS && off + 8 <= FLUSH_SIZE).then_some(off as usize)
    }

    /// Whether the guest wrote hint `hint` of the DIMM in `slot` (a
    /// non-zero slot) since the last call; clears it. Out-of-range slots
    /// read as unwritten.
    pub fn take(&self, slot: u16, hint: u8) -> bool {
        let Some(off) = Self::offset(slot, hint) else {
            return false;
        };
        let v = self.shm.read_u64(off);
        if v != 0 {
            self.shm.write_u64(off, 0);
        }
        v != 0
    }

    /// Plays the guest's part (for tests): writes hint `hint` of `slot`.
    #[cfg(test)]
    pub fn write(&self, slot: u16, hint: u8, v: u64) {
        let off = Self::offset(slot, hint).unwrap();
        self.shm.write_u64(off, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_seen_and_cleared() {
        let p = std::env::temp_dir().join(format!("nvdimm-vmm-flush-{}", std::process::id()));
        let f = FlushPage::create(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), FLUSH_SIZE);
        assert!(!f.take(0, 0));
        f.write(1, 2, 1);
        assert!(!f.take(0, 2), "another DIMM's page");
        assert!(!f.take(1, 1), "another hint");
        assert!(f.take(1, 2));
        assert!(!f.take(1, 2), "cleared");
        // The file holds the write at the documented address offset.
        f.write(3, 7, 0x55);
        let bytes = std::fs::read(&p).unwrap();
        let off = (crate::config::flush_hint_address(3, 7) - crate::config::FLUSH_BASE) as usize;
        assert_eq!(bytes[off], 0x55);
        // Out of range: never followed.
        assert!(!f.take(u16::MAX, 0));
        assert!(!f.take(0, MAX_FLUSH_HINTS));
        let _ = std::fs::remove_file(&p);
    }
}
