// SPDX-License-Identifier: GPL-2.0
//! The control socket's server.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{Channel, ControlError, Target, MAX_LINE};

/// The most control connections served at once; one more is answered
/// with an error and closed.
pub const MAX_CONTROL_CONNECTIONS: usize = 8;

/// What [`read_line_within`] read.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    End,
    Line,
    /// Longer than allowed: the rest of it was skipped.
    TooLong,
}

/// Reads one line of at most `max` bytes (the newline not included, not
/// kept) into `buf`; the rest of a longer line is read and dropped.
fn read_line_within(
    r: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<LineRead> {
    buf.clear();
    if r.take(max as u64 + 1).read_until(b'\n', buf)? == 0 {
        return Ok(LineRead::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(LineRead::Line);
    }
    if buf.len() <= max {
        return Ok(LineRead::Line);
    }
    loop {
        let (done, used) = {
            let avail = r.fill_buf()?;
            match avail.iter().position(|b| *b == b'\n') {
                Some(i) => (true, i + 1),
                None => (avail.is_empty(), avail.len()),
            }
        };
        r.consume(used);
        if done {
            buf.clear();
            return Ok(LineRead::TooLong);
        }
    }
}

/// Serves control connections on the control socket: only peers whose
/// uid is `owner` (checked with `SO_PEERCRED`; others are closed unheard),
/// at most [`MAX_CONTROL_CONNECTIONS`] at once, lines of at most
/// [`MAX_LINE`] bytes. `hotplug` takes backing files
/// under `dirs`.
pub fn serve_control(
    listener: UnixListener,
    target: Target,
    owner: u32,
    dirs: crate::host::HotplugDirs,
) {
    let dirs = Arc::new(dirs);
    let open = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        match crate::host::peer_uid(&conn) {
            Ok(uid) if uid == owner => {}
            Ok(uid) => {
                log::warn!(
                    "control: connection from uid {uid} refused (only uid {owner} may connect)"
                );
                continue;
            }
            Err(e) => {
                log::warn!("control: no peer credentials ({e}); connection refused");
                continue;
            }
        }
        if open.load(Ordering::SeqCst) >= MAX_CONTROL_CONNECTIONS {
            let e = format!("more than {MAX_CONTROL_CONNECTIONS} control connections at once");
            log::warn!("control: {e}; connection refused");
            let _ = writeln!(conn, "{}", serde_json::json!({"ok": false, "error": e}));
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let (target, dirs, open) = (target.clone(), dirs.clone(), open.clone());
        std::thread::spawn(move || {
            serve_control_connection(conn, &target, &dirs);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn serve_control_connection(conn: UnixStream, target: &Target, dirs: &crate::host::HotplugDirs) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = Vec::new();
    loop {
        let reply = match read_line_within(&mut reader, MAX_LINE, &mut line) {
            Ok(LineRead::End) | Err(_) => return,
            Ok(LineRead::TooLong) => serde_json::json!({
                "ok": false,
                "error": ControlError::TooLong { max: MAX_LINE }.to_string(),
            }),
            Ok(LineRead::Line) => {
                let text = String::from_utf8_lossy(&line);
                target.handle(text.trim(), Channel::Host { hotplug_dirs: dirs })
            }
        };
        if writeln!(out, "{reply}").is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Mutex;

    #[test]
    fn control_lines_are_bounded() {
        let long = format!("{}\nnext\nlast", "x".repeat(10_000));
        let mut r = BufReader::with_capacity(64, long.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_within(&mut r, 100, &mut buf).unwrap(),
            LineRead::TooLong
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_within(&mut r, 100, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"next");
        assert_eq!(
            read_line_within(&mut r, 4, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_within(&mut r, 4, &mut buf).unwrap(),
            LineRead::End
        );
    }

    fn control_server(name: &str, owner: u32) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nvdimm-vmm-ctlsrv-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("control.sock");
        let l = UnixListener::bind(&sock).unwrap();
        let p = Target {
            platform: Arc::new(Mutex::new(
                crate::devices::nvdimm::Platform::new(&[], vec![]).unwrap(),
            )),
            card: None,
        };
        std::thread::spawn(move || serve_control(l, p, owner, Default::default()));
        sock
    }

    fn request(s: &mut BufReader<UnixStream>, line: &str) -> String {
        let _ = writeln!(s.get_mut(), "{line}");
        let mut reply = String::new();
        let _ = s.read_line(&mut reply);
        reply
    }

    #[test]
    fn control_peers_of_another_uid_are_not_heard() {
        // Served for a uid that is not ours: our own connection is closed
        // before any request is handled.
        let sock = control_server("uid", crate::host::euid().wrapping_add(1));
        let mut s = BufReader::new(UnixStream::connect(&sock).unwrap());
        assert_eq!(request(&mut s, r#"{"cmd":"ping"}"#), "");
    }

    #[test]
    fn control_connections_and_lines_are_capped() {
        let sock = control_server("cap", crate::host::euid());
        let mut open: Vec<_> = (0..MAX_CONTROL_CONNECTIONS)
            .map(|_| BufReader::new(UnixStream::connect(&sock).unwrap()))
            .collect();
        for s in &mut open {
            assert!(request(s, r#"{"cmd":"ping"}"#).contains("true"));
        }
        let mut extra = BufReader::new(UnixStream::connect(&sock).unwrap());
        let mut reply = String::new();
        extra.read_line(&mut reply).unwrap();
        assert!(reply.contains("control connections at once"), "{reply}");
        reply.clear();
        assert_eq!(extra.read_line(&mut reply).unwrap(), 0, "then closed");
        // A line past the limit is refused; the connection goes on.
        let s = &mut open[0];
        let long = "x".repeat(MAX_LINE + 1);
        assert!(request(s, &long).contains("longer than"));
        assert!(request(s, r#"{"cmd":"ping"}"#).contains("true"));
    }
}
