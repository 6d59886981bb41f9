// SPDX-License-Identifier: GPL-2.0
//! The `_DSM` mailbox: the wire layout shared by the guest's AML (which
//! [`crate::acpi`] generates) and the VMM, and the host side of it.
//!
//! The mailbox is a small file both QEMU (as the shared-memory BAR of an
//! `ivshmem-plain` device) and the VMM map. One call:
//!
//! 1. the AML writes the input payload at [`DATA`], then `HANDLE`,
//!    `REVISION`, `FUNCTION`, `IN_LEN`, `KIND` and the `_DSM` UUID, then
//!    `SEQ + 1` to `SEQ`;
//! 2. it writes one byte to the doorbell I/O port (an `isa-debugcon`
//!    whose chardev is a socket the VMM listens on);
//! 3. the VMM reads the request, calls the device model, writes the output
//!    payload at [`DATA`] and its length to `OUT_LEN`, and last stores the
//!    request's sequence number in `DONE`;
//! 4. the AML polls `DONE` (with `Stall`, then `Sleep`) and returns the
//!    first `OUT_LEN` bytes of [`DATA`] as the `_DSM`'s buffer.
//!
//! All fields are little-endian `u32`s. Every value read from the mailbox
//! is guest-controlled and is bounds-checked before use.

use std::path::Path;
use std::sync::atomic::{fence, Ordering};

use crate::shm::{SharedFile, ShmError};

/// `MAGIC` field value: the VMM serves this mailbox ("NVMB").
pub const MAGIC_VALUE: u32 = u32::from_le_bytes(*b"NVMB");
/// Layout version.
pub const VERSION_VALUE: u32 = 1;

/// Field offsets.
pub const MAGIC: usize = 0x00;
pub const VERSION: usize = 0x04;
pub const SEQ: usize = 0x08;
pub const DONE: usize = 0x0c;
pub const HANDLE: usize = 0x10;
pub const REVISION: usize = 0x14;
pub const FUNCTION: usize = 0x18;
pub const IN_LEN: usize = 0x1c;
pub const OUT_LEN: usize = 0x20;
pub const KIND: usize = 0x24;
/// Zero tails: the last `OUT_ZERO_TAIL` bytes of the output (VMM) and
/// `IN_ZERO_TAIL` bytes of the input (guest) are zeros that were not
/// written to the payload area: the reader pads them back. The AML moves
/// the payload through fields one `QWordAcc` datum at a time (about 10 ms
/// for 128 KiB under TCG), and a label area is mostly zeros. The guest
/// writes `IN_ZERO_TAIL` only when it leaves a tail out, and the VMM
/// clears it as it reads a request; the VMM leaves out no tail shorter
/// than [`ZERO_TAIL_MIN`] (the AML's extra steps would cost more).
pub const OUT_ZERO_TAIL: usize = 0x28;
pub const IN_ZERO_TAIL: usize = 0x2c;
pub const ZERO_TAIL_MIN: usize = 256;
pub const UUID: usize = 0x30;
/// Start of the payload area.
pub const DATA: usize = 0x1000;
/// The largest label transfer the DIMMs advertise (function 4's "max
/// transfer"): a 128 KiB label area moves in one call.
pub const MAX_TRANSFER: usize = 128 << 10;
/// Payload area size: the largest input (offset, length, data) or
/// output (status, data).
pub const DATA_SIZE: usize = MAX_TRANSFER + 16;
/// Size of the mailbox file: a power of two, as a PCI BAR must be.
pub const SIZE: usize = 256 << 10;

/// `KIND` values.
pub const KIND_DSM: u32 = 0;
pub const KIND_FIT: u32 = 1;
/// A label method (`_LSI`, `_LSR`, `_LSW`): `FUNCTION` is the Intel
/// function of the same meaning (4, 5, 6), the input its layout.
pub const KIND_LABEL: u32 = 2;

/// The AML reads and writes the payload through fields of these sizes
/// (the smallest that holds the payload), so a small call does not move
/// 128 KiB through the interpreter.
pub const DATA_FIELDS: [usize; 4] = [256, 4096, 32768, DATA_SIZE];

const _: () = assert!(DATA + DATA_SIZE <= SIZE);
const _: () = assert!(OUT_ZERO_TAIL == KIND + 4 && IN_ZERO_TAIL == KIND + 8 && UUID == KIND + 12);

/// One request as read from the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub seq: u32,
    pub kind: u32,
    pub handle: u32,
    pub revision: u32,
    pub function: u32,
    pub uuid: [u8; 16],
    /// The input payload; `None` when the guest's `IN_LEN` exceeds the
    /// payload area (the AML could not have written it).
    pub input: Option<Vec<u8>>,
}

/// The host mapping of the mailbox file.
pub struct Mailbox {
    shm: SharedFile,
}

impl Mailbox {
    /// Creates (or resets) the mailbox file and maps it shared.
    pub fn create(path: &Path) -> Result<Self, ShmError> {
        let mb = Mailbox {
            shm: SharedFile::create(path, SIZE)?,
        };
        mb.write_u32(VERSION, VERSION_VALUE);
        mb.write_u32(SEQ, 0);
        mb.write_u32(DONE, 0);
        fence(Ordering::Release);
        mb.write_u32(MAGIC, MAGIC_VALUE);
        Ok(mb)
    }

    fn read_u32(&self, off: usize) -> u32 {
        self.shm.read_u32(off)
    }

    fn write_u32(&self, off: usize, v: u32) {
        self.shm.write_u32(off, v)
    }

    fn read_bytes(&self, off: usize, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        self.shm.read(off, &mut b);
        b
    }

    fn write_bytes(&self, off: usize, data: &[u8]) {
        self.shm.write(off, data)
    }

    /// The request the guest posted, if `SEQ` moved past `DONE`.
    pub fn pending(&self) -> Option<Request> {
        fence(Ordering::Acquire);
        let seq = self.read_u32(SEQ);
        if seq == self.read_u32(DONE) {
            return None;
        }
        let in_len = self.read_u32(IN_LEN) as usize;
        let sent = in_len - (self.read_u32(IN_ZERO_TAIL) as usize).min(in_len);
        self.write_u32(IN_ZERO_TAIL, 0);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&self.read_bytes(UUID, 16));
        Some(Request {
            seq,
            kind: self.read_u32(KIND),
            handle: self.read_u32(HANDLE),
            revision: self.read_u32(REVISION),
            function: self.read_u32(FUNCTION),
            uuid,
            input: (in_len <= DATA_SIZE).then(|| {
                let mut b = self.read_bytes(DATA, sent);
                b.resize(in_len, 0);
                b
            }),
        })
    }

    /// The guest's latest request number.
    pub fn seq(&self) -> u32 {
        fence(Ordering::Acquire);
        self.read_u32(SEQ)
    }

    /// Answers request `seq` with `output` (cut to the payload area).
    pub fn complete(&self, seq: u32, output: &[u8]) {
        let out = &output[..output.len().min(DATA_SIZE)];
        // Up to the last non-zero byte (at least 8 bytes), when that
        // leaves out ZERO_TAIL_MIN bytes or more.
        let nz = out
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1)
            .max(8);
        let sent = if out.len() >= nz + ZERO_TAIL_MIN {
            nz
        } else {
            out.len()
        };
        self.write_bytes(DATA, &out[..sent]);
        self.write_u32(OUT_ZERO_TAIL, (out.len() - sent) as u32);
        self.write_u32(OUT_LEN, out.len() as u32);
        fence(Ordering::Release);
        self.write_u32(DONE, seq);
    }

    /// Plays the guest's part of a call (for tests): posts a request as
    /// the AML would.
    #[cfg(test)]
    pub fn post(&self, r: &Request) {
        let input = r.input.as_deref().unwrap_or(&[]);
        self.write_bytes(DATA, &input[..input.len().min(DATA_SIZE)]);
        self.write_u32(HANDLE, r.handle);
        self.write_u32(REVISION, r.revision);
        self.write_u32(FUNCTION, r.function);
        self.write_u32(
            IN_LEN,
            if r.input.is_some() {
                input.len() as u32
            } else {
                u32::MAX
            },
        );
        self.write_u32(KIND, r.kind);
        self.write_u32(IN_ZERO_TAIL, 0);
        self.write_bytes(UUID, &r.uuid);
        fence(Ordering::Release);
        self.write_u32(SEQ, r.seq);
    }

    /// The answer of the last completed call: `(done, output)`.
    #[cfg(test)]
    pub fn answer(&self) -> (u32, Vec<u8>) {
        fence(Ordering::Acquire);
        let len = (self.read_u32(OUT_LEN) as usize).min(DATA_SIZE);
        let sent = len - (self.read_u32(OUT_ZERO_TAIL) as usize).min(len);
        let mut b = self.read_bytes(DATA, sent);
        b.resize(len, 0);
        (self.read_u32(DONE), b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = std::env::temp_dir().join(format!("nvdimm-vmm-mb-{}", std::process::id()));
        let mb = Mailbox::create(&p).unwrap();
        assert_eq!(std::fs::read(&p).unwrap()[..4], *b"NVMB");
        assert!(mb.pending().is_none());
        let req = Request {
            seq: 1,
            kind: KIND_DSM,
            handle: 2,
            revision: 1,
            function: 5,
            uuid: [9; 16],
            input: Some(vec![0, 0, 0, 0, 16, 0, 0, 0]),
        };
        mb.post(&req);
        assert_eq!(mb.pending(), Some(req));
        mb.complete(1, &[0; 20]);
        assert!(mb.pending().is_none());
        assert_eq!(mb.answer(), (1, vec![0; 20]));
        // A guest length past the payload area is reported, not followed.
        mb.post(&Request {
            seq: 2,
            kind: KIND_DSM,
            handle: 1,
            revision: 1,
            function: 6,
            uuid: [0; 16],
            input: None,
        });
        assert_eq!(mb.pending().unwrap().input, None);
        // An oversized answer is cut to the payload area.
        mb.complete(2, &vec![1; DATA_SIZE + 100]);
        assert_eq!(mb.answer().1.len(), DATA_SIZE);
        // Zero tails: only the bytes up to the last non-zero one move.
        let mut out = vec![0u8; 4 + MAX_TRANSFER];
        out[700] = 7;
        mb.complete(3, &out);
        assert_eq!(mb.read_u32(OUT_ZERO_TAIL) as usize, out.len() - 701);
        assert_eq!(mb.answer(), (3, out));
        mb.complete(4, &[0; 300]);
        assert_eq!(mb.read_u32(OUT_ZERO_TAIL), 292);
        assert_eq!(mb.answer(), (4, vec![0; 300]));
        // A short tail moves.
        mb.complete(5, &[0; 200]);
        assert_eq!(mb.read_u32(OUT_ZERO_TAIL), 0);
        // The guest's input tail: stale payload bytes past what it wrote
        // read as zeros.
        let req = Request {
            seq: 6,
            kind: KIND_LABEL,
            handle: 1,
            revision: 1,
            function: 6,
            uuid: [0; 16],
            input: Some(vec![5; 300]),
        };
        mb.post(&req);
        mb.write_u32(IN_ZERO_TAIL, 44);
        let mut want = vec![5u8; 256];
        want.resize(300, 0);
        assert_eq!(mb.pending().unwrap().input, Some(want));
        // Read once: the next request writes it only if it has a tail.
        assert_eq!(mb.pending().unwrap().input, Some(vec![5; 300]));
        mb.write_u32(IN_ZERO_TAIL, u32::MAX);
        assert_eq!(mb.pending().unwrap().input, Some(vec![0; 300]));
        let _ = std::fs::remove_file(&p);
    }
}
