// SPDX-License-Identifier: GPL-2.0
//! A register window over memory.

use crate::regs::Mmio;

/// Plain memory as a register window (little-endian). Out-of-range reads
/// give 0 and writes are dropped: the protocol code checks bounds before
/// calling, and the fuzzer makes sure it does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemWindow(pub Vec<u8>);

impl MemWindow {
    /// `size` zero bytes.
    pub fn new(size: usize) -> Self {
        MemWindow(vec![0; size])
    }
}

impl Mmio for MemWindow {
    fn size(&self) -> usize {
        self.0.len()
    }

    fn read_u64(&self, offset: usize) -> u64 {
        let mut b = [0u8; 8];
        if let Some(s) = offset.checked_add(8).and_then(|e| self.0.get(offset..e)) {
            b.copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        if let Some(d) = offset
            .checked_add(8)
            .and_then(|e| self.0.get_mut(offset..e))
        {
            d.copy_from_slice(&value.to_le_bytes());
        }
    }
}
