// SPDX-License-Identifier: GPL-2.0
//! The guest console as both supervisors (`nvdimm-harness` for QEMU's own
//! devices, `nvdimm-vmm` for the test VMM's) handle it: copied line by line
//! to a log and optionally to stdout, watched for a kernel panic, and the
//! child's stderr collected for the error message. One implementation, so
//! both classify a guest's end alike.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The console line that marks a kernel panic (`panic=-1` then makes the
/// guest reboot, which `-no-reboot` turns into QEMU's exit).
pub const PANIC_MARK: &str = "Kernel panic - not syncing";

/// The longest console line held in memory: a longer one (a guest can
/// print without a newline for ever) is copied in pieces of this size.
pub const MAX_CONSOLE_LINE: usize = 64 << 10;

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
        // The end of the previous piece of a long line, so that a panic
        // mark split between two pieces is still seen.
        let mut tail: Vec<u8> = Vec::new();
        let mut warned = false;
        while (&mut reader)
            .take(MAX_CONSOLE_LINE as u64)
            .read_until(b'\n', &mut line)
            .unwrap_or(0)
            > 0
        {
            let mut seen_text = std::mem::take(&mut tail);
            seen_text.extend_from_slice(&line);
            if String::from_utf8_lossy(&seen_text).contains(PANIC_MARK) {
                seen.store(true, Ordering::SeqCst);
            }
            if !line.ends_with(b"\n") {
                if !warned && line.len() == MAX_CONSOLE_LINE {
                    eprintln!(
                        "console: a line longer than {MAX_CONSOLE_LINE} bytes, copied in pieces"
                    );
                    warned = true;
                }
                let keep = PANIC_MARK.len().min(line.len());
                tail = line[line.len() - keep..].to_vec();
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

    /// A reader that never ends a line and, once it gave out `check_at`
    /// bytes, looks at how much of them reached `log`.
    struct Endless {
        given: usize,
        left: usize,
        check_at: usize,
        log: std::path::PathBuf,
        logged_meanwhile: Arc<std::sync::atomic::AtomicU64>,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.given >= self.check_at && self.check_at > 0 {
                let len = std::fs::metadata(&self.log).map_or(0, |m| m.len());
                self.logged_meanwhile.store(len, Ordering::SeqCst);
                self.check_at = 0;
            }
            let n = buf.len().min(self.left);
            buf[..n].fill(b'x');
            self.left -= n;
            self.given += n;
            Ok(n)
        }
    }

    #[test]
    fn long_lines_are_copied_in_pieces() {
        let dir = std::env::temp_dir().join(format!("console-long-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("console.log");
        // A panic mark across the boundary of two pieces is still seen.
        let mut text = vec![b'x'; MAX_CONSOLE_LINE - 5];
        text.extend_from_slice(PANIC_MARK.as_bytes());
        text.extend_from_slice(&vec![b'y'; 3 * MAX_CONSOLE_LINE]);
        let c = copy(
            std::io::Cursor::new(text.clone()),
            Some(File::create(&log).unwrap()),
            false,
        );
        assert!(c.finish());
        assert_eq!(std::fs::read(&log).unwrap(), text, "copied whole");
        // A line that does not end is written out as it comes, not held
        // in memory until its newline.
        let long = dir.join("long.log");
        let logged = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let src = Endless {
            given: 0,
            left: 8 * MAX_CONSOLE_LINE,
            check_at: 4 * MAX_CONSOLE_LINE,
            log: long.clone(),
            logged_meanwhile: logged.clone(),
        };
        assert!(!copy(src, Some(File::create(&long).unwrap()), false).finish());
        assert!(
            logged.load(Ordering::SeqCst) >= 2 * MAX_CONSOLE_LINE as u64,
            "{} bytes logged after {} given",
            logged.load(Ordering::SeqCst),
            4 * MAX_CONSOLE_LINE
        );
        assert_eq!(
            std::fs::metadata(&long).unwrap().len(),
            8 * MAX_CONSOLE_LINE as u64
        );
    }
}
