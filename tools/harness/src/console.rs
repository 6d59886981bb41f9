// SPDX-License-Identifier: GPL-2.0
//! The guest console as both supervisors (`nvdimm-harness` for QEMU's own
//! devices, `nvdimm-vmm` for the test VMM's) handle it: copied line by line
//! to a log and optionally to stdout, watched for a kernel panic, and the
//! child's stderr collected for the error message. `tools/vmm` compiles
//! this file too (`#[path]`), so both classify a guest's end alike.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The console line that marks a kernel panic (`panic=-1` then makes the
/// guest reboot, which `-no-reboot` turns into QEMU's exit).
pub const PANIC_MARK: &str = "Kernel panic - not syncing";

/// A console being copied.
pub struct Console {
    thread: JoinHandle<()>,
    /// Set once a line with [`PANIC_MARK`] went by.
    panicked: Arc<AtomicBool>,
}

impl Console {
    /// Waits for the end of the output (the child is gone); whether the
    /// kernel panicked.
    pub fn finish(self) -> bool {
        let _ = self.thread.join();
        self.panicked.load(Ordering::SeqCst)
    }
}

/// Copies `src` (a child's stdout) to `log` and, with `echo`, to stdout.
pub fn copy<R: Read + Send + 'static>(src: R, mut log: Option<File>, echo: bool) -> Console {
    let panicked = Arc::new(AtomicBool::new(false));
    let seen = panicked.clone();
    let thread = std::thread::spawn(move || {
        let mut reader = BufReader::new(src);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            if String::from_utf8_lossy(&line).contains(PANIC_MARK) {
                seen.store(true, Ordering::SeqCst);
            }
            if let Some(f) = &mut log {
                let _ = f.write_all(&line);
            }
            if echo {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(&line);
                let _ = o.flush();
            }
            line.clear();
        }
    });
    Console { thread, panicked }
}

/// Collects all of `src` (a child's stderr) as text.
pub fn collect<R: Read + Send + 'static>(src: R) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(src).read_to_string(&mut s);
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_spots_panics() {
        let dir = std::env::temp_dir().join(format!("console-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("console.log");
        let text = "boot\n[ 1.0] Kernel panic - not syncing: test\nlast line without newline";
        let c = copy(text.as_bytes(), Some(File::create(&log).unwrap()), false);
        assert!(c.finish());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
        let quiet = copy(&b"all fine\n"[..], None, false);
        assert!(!quiet.finish());
        assert_eq!(collect(&b"err"[..]).join().unwrap(), "err");
    }
}
