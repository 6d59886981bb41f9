// SPDX-License-Identifier: GPL-2.0
//! A file both the VMM and QEMU map shared: the `_DSM` mailbox, the flush
//! hint page, the card's register window. The guest writes it while the
//! VMM reads it, so every access is volatile and bounded (bytes past the
//! end read as zero and are not written), and no Rust reference into the
//! mapping is ever made. Aligned 4- and 8-byte accesses are single loads
//! and stores, as a register access from the guest would be.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Why a shared file could not be made or mapped.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// `source` happened on the file at `path`.
    #[error("{}: {source}", path.display())]
    At {
        path: PathBuf,
        source: Box<ShmError>,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("file too large to map")]
    TooLarge,
    #[error("an empty file cannot be mapped")]
    Empty,
    #[error("mmap: {0}")]
    Mmap(io::Error),
}

impl ShmError {
    fn at(path: &Path) -> impl FnOnce(ShmError) -> Self + '_ {
        |e| ShmError::At {
            path: path.to_path_buf(),
            source: Box::new(e),
        }
    }
}

/// A shared mapping of a whole file.
pub struct SharedFile {
    ptr: *mut u8,
    len: usize,
    file: File,
}

// SAFETY: the mapping is owned by the SharedFile and lives until drop;
// every access goes through volatile operations on in-bounds offsets, so
// the owner may move to (and be shared with) other threads.
unsafe impl Send for SharedFile {}
// SAFETY: as above: no access creates a Rust reference into the mapping.
unsafe impl Sync for SharedFile {}

impl std::fmt::Debug for SharedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFile")
            .field("len", &self.len)
            .finish()
    }
}

impl SharedFile {
    /// Creates `path` (emptied if it exists) with `len` zero bytes and
    /// maps it.
    pub fn create(path: &Path, len: usize) -> Result<Self, ShmError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| ShmError::at(path)(e.into()))?;
        file.set_len(len as u64)
            .map_err(|e| ShmError::at(path)(e.into()))?;
        Self::map(file).map_err(ShmError::at(path))
    }

    /// Maps all of an open (read-write) file.
    pub fn map(file: File) -> Result<Self, ShmError> {
        let len = file.metadata()?.len();
        let len = usize::try_from(len).map_err(|_| ShmError::TooLarge)?;
        if len == 0 {
            return Err(ShmError::Empty);
        }
        // SAFETY: a fresh shared mapping of the whole file; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(ShmError::Mmap(io::Error::last_os_error()));
        }
        Ok(SharedFile {
            ptr: ptr.cast(),
            len,
            file,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The file (its descriptor goes to QEMU).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The in-bounds part of `[offset, offset + n)`: `(start, count)`.
    fn clip(&self, offset: usize, n: usize) -> (usize, usize) {
        let start = offset.min(self.len);
        let end = offset.saturating_add(n).min(self.len);
        (start, end - start)
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        buf.fill(0);
        let (start, n) = self.clip(offset, buf.len());
        if n == 0 {
            return;
        }
        // SAFETY: [start, start + n) is inside the mapping (clip); the
        // pointer is aligned where a single wide access is used.
        unsafe {
            let p = self.ptr.add(start);
            match n {
                8 if p.align_offset(8) == 0 && n == buf.len() => {
                    let v = std::ptr::read_volatile(p.cast::<u64>());
                    buf.copy_from_slice(&v.to_ne_bytes());
                }
                4 if p.align_offset(4) == 0 && n == buf.len() => {
                    let v = std::ptr::read_volatile(p.cast::<u32>());
                    buf.copy_from_slice(&v.to_ne_bytes());
                }
                _ => {
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        *b = std::ptr::read_volatile(p.add(i));
                    }
                }
            }
        }
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) {
        let (start, n) = self.clip(offset, data.len());
        if n == 0 {
            return;
        }
        // SAFETY: as in read().
        unsafe {
            let p = self.ptr.add(start);
            match n {
                8 if p.align_offset(8) == 0 && n == data.len() => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(data);
                    std::ptr::write_volatile(p.cast::<u64>(), u64::from_ne_bytes(b));
                }
                4 if p.align_offset(4) == 0 && n == data.len() => {
                    let mut b = [0u8; 4];
                    b.copy_from_slice(data);
                    std::ptr::write_volatile(p.cast::<u32>(), u32::from_ne_bytes(b));
                }
                _ => {
                    for (i, b) in data[..n].iter().enumerate() {
                        std::ptr::write_volatile(p.add(i), *b);
                    }
                }
            }
        }
    }

    pub fn read_u32(&self, offset: usize) -> u32 {
        let mut b = [0u8; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn write_u32(&self, offset: usize, v: u32) {
        self.write(offset, &v.to_le_bytes());
    }

    pub fn read_u64(&self, offset: usize) -> u64 {
        let mut b = [0u8; 8];
        self.read(offset, &mut b);
        u64::from_le_bytes(b)
    }

    pub fn write_u64(&self, offset: usize, v: u64) {
        self.write(offset, &v.to_le_bytes());
    }
}

impl Drop for SharedFile {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in map(), once.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_are_little_endian_shared_and_bounded() {
        let p = std::env::temp_dir().join(format!("nvdimm-vmm-shm-{}", std::process::id()));
        let s = SharedFile::create(&p, 4096).unwrap();
        assert_eq!(s.len(), 4096);
        s.write_u64(8, 0x1122_3344_5566_7788);
        s.write_u32(100, 0xaabb_ccdd);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes[8], 0x88);
        assert_eq!(bytes[100..104], [0xdd, 0xcc, 0xbb, 0xaa]);
        assert_eq!(s.read_u32(12), 0x1122_3344);
        // Past the end: zeros read, nothing written, no panic.
        s.write_u64(4092, u64::MAX);
        assert_eq!(s.read_u64(4092), 0xffff_ffff);
        assert_eq!(s.read_u64(usize::MAX), 0);
        s.write(usize::MAX - 1, &[1, 2, 3]);
        // The file is emptied when created again.
        drop(s);
        let s = SharedFile::create(&p, 4096).unwrap();
        assert_eq!(s.read_u64(8), 0);
        assert!(SharedFile::map(File::open("/dev/null").unwrap()).is_err());
        let _ = std::fs::remove_file(&p);
    }
}
