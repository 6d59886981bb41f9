// SPDX-License-Identifier: GPL-2.0
//! A placeholder register-file device for `--ocxlpmem`, served until the
//! OpenCAPI pmem card model is wired in: it proves the transport end to
//! end (`tools/bar-poke` and the `vmm-ivshmem` scenario).
//!
//! Registers (little-endian `u64`s at the start of BAR2):
//!
//! ```text
//! 0x00 MAGIC      "OCXLECHO", written on reset
//! 0x08 IN         written by the guest
//! 0x10 OUT        on each doorbell: a copy of IN
//! 0x18 DOORBELLS  doorbells served since reset
//! ```
//!
//! Each doorbell raises vector 0. Everything past [`REGISTER_BYTES`] is
//! plain memory the placeholder never touches (it persists in the file).

use crate::card::{Device, Registers, Vectors};

pub const MAGIC: usize = 0x00;
pub const IN: usize = 0x08;
pub const OUT: usize = 0x10;
pub const DOORBELLS: usize = 0x18;
/// The magic value ("OCXLECHO" in memory order).
pub const MAGIC_VALUE: u64 = u64::from_le_bytes(*b"OCXLECHO");
/// The register file: one page.
pub const REGISTER_BYTES: usize = 0x1000;

#[derive(Debug, Default)]
pub struct Echo {
    doorbells: u64,
}

impl Device for Echo {
    fn register_bytes(&self) -> usize {
        REGISTER_BYTES
    }

    fn reset(&mut self, regs: &mut dyn Registers) {
        self.doorbells = 0;
        regs.write(0, &[0u8; REGISTER_BYTES]);
        regs.write_u64(MAGIC, MAGIC_VALUE);
    }

    fn doorbell(&mut self, regs: &mut dyn Registers) -> Vectors {
        let v = regs.read_u64(IN);
        regs.write_u64(OUT, v);
        self.doorbells = self.doorbells.wrapping_add(1);
        regs.write_u64(DOORBELLS, self.doorbells);
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_and_raises_vector_0() {
        let mut r = vec![0xffu8; REGISTER_BYTES];
        let mut d = Echo::default();
        d.reset(&mut r);
        assert_eq!(r.read_u64(MAGIC), MAGIC_VALUE);
        assert_eq!(r.read_u64(IN), 0);
        assert_eq!(&r[..8], b"OCXLECHO");
        r.write_u64(IN, 42);
        assert_eq!(d.doorbell(&mut r), 1);
        assert_eq!((r.read_u64(OUT), r.read_u64(DOORBELLS)), (42, 1));
        assert_eq!(d.tick(&mut r), 0);
        // A too-small register file: clipped, no panic.
        let mut tiny = vec![0u8; 4];
        d.reset(&mut tiny);
        assert_eq!(d.doorbell(&mut tiny), 1);
    }
}
