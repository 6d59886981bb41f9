// SPDX-License-Identifier: GPL-2.0
//! The boundary between a register-file device model (the OpenCAPI pmem
//! card) and the transport that serves it to a guest.
//!
//! A transport (the `ivshmem-doorbell` one in `crate::transport::ivshmem`, or a test
//! harness) owns a window of memory the guest maps: the device's register
//! file (memory the device exposes is attached separately). When the
//! guest rings the doorbell, the transport calls [`Device::doorbell`]; it
//! calls [`Device::tick`] periodically for time-driven behaviour, and raises
//! the interrupt vectors either returns. Models never see the transport.
//!
//! Everything in the window is guest-controlled and may change under the
//! model at any time: models read each register once per decision and
//! bounds-check every value read.

/// Little-endian register access to the device's register file.
pub trait Registers {
    /// Size of the register file in bytes.
    #[allow(
        dead_code,
        reason = "every register file has a size; only tests ask it yet"
    )]
    fn len(&self) -> usize;
    /// Reads `buf.len()` bytes at `offset`; bytes past the end read as 0.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Writes `data` at `offset`; bytes past the end are dropped.
    fn write(&mut self, offset: usize, data: &[u8]);

    #[cfg(test)]
    fn read_u32(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }

    fn read_u64(&self, offset: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read(offset, &mut b);
        u64::from_le_bytes(b)
    }

    #[cfg(test)]
    fn write_u32(&mut self, offset: usize, value: u32) {
        self.write(offset, &value.to_le_bytes());
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        self.write(offset, &value.to_le_bytes());
    }
}

/// Plain memory as a register file (host tests).
impl Registers for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        buf.fill(0);
        if let Some(src) = self.get(offset..) {
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        if let Some(dst) = self.get_mut(offset..) {
            let n = dst.len().min(data.len());
            dst[..n].copy_from_slice(&data[..n]);
        }
    }
}

/// Interrupt vectors to raise, as a bitmask (vector `n` is bit `n`).
pub type Vectors = u32;

/// A device model behind a register file.
pub trait Device: Send {
    /// Bytes of register file the device needs at the start of the window.
    fn register_bytes(&self) -> usize;
    /// Puts power-on values into the register file (called once, before
    /// the guest runs, and after a reset the transport performs).
    fn reset(&mut self, regs: &mut dyn Registers);
    /// The guest rang the doorbell: act on what it wrote.
    fn doorbell(&mut self, regs: &mut dyn Registers) -> Vectors;
    /// Called about every 10 ms: delayed completions, timeouts.
    fn tick(&mut self, _regs: &mut dyn Registers) -> Vectors {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_registers_are_bounded_and_little_endian() {
        let mut r = vec![0u8; 16];
        r.write_u64(8, 0x1122_3344_5566_7788);
        assert_eq!(r[8], 0x88);
        assert_eq!(r.read_u32(12), 0x1122_3344);
        // Past the end: reads zero, writes dropped, no panic.
        r.write_u64(12, u64::MAX);
        assert_eq!(r.read_u64(12), 0xffff_ffff);
        assert_eq!(r.read_u64(100), 0);
        r.write_u32(usize::MAX, 1);
        assert_eq!(Registers::len(&r), 16);
    }
}
