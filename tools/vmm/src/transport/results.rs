// SPDX-License-Identifier: GPL-2.0
//! The guest's results port.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use crate::control::{Channel, Target, MAX_LINE};

/// The results port: appended to `file`; `@@ VMM {json}` lines are
/// control requests whose replies go back to the guest as
/// `@@ VMM-REPLY {json}`.
pub fn serve_results(conn: UnixStream, file: PathBuf, target: Target) {
    let Ok(mut out) = File::options().create(true).append(true).open(&file) else {
        log::error!("cannot open {}", file.display());
        return;
    };
    let Ok(mut reply_to) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = Vec::new();
    // The guest writes this port: a line longer than a request can be is
    // copied to the file in pieces and never taken for a request.
    let mut continuing = false;
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE as u64 + 16)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = out.write_all(&line);
        let fragment = continuing;
        continuing = !line.ends_with(b"\n");
        if fragment || continuing {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if let Some(req) = text.strip_prefix("@@ VMM ") {
            log::debug!("results port request: {}", req.trim());
            let reply = target.handle(req.trim(), Channel::Guest);
            let written = writeln!(reply_to, "@@ VMM-REPLY {reply}");
            log::debug!(
                "results port reply ({} bytes): {written:?}",
                reply.to_string().len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn results_port_requests() {
        let dir = std::env::temp_dir().join(format!("nvdimm-vmm-res-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("results.txt");
        let _ = std::fs::remove_file(&file);
        let p = Target {
            platform: Arc::new(Mutex::new(
                crate::devices::nvdimm::Platform::new(&[], vec![]).unwrap(),
            )),
            card: None,
        };
        let (mut guest, vmm) = UnixStream::pair().unwrap();
        let f = file.clone();
        let t = std::thread::spawn(move || serve_results(vmm, f, p));
        // A huge line that contains a request is copied, not obeyed.
        let long = format!(
            "@@ VMM {{\"cmd\":\"ping\",\"x\":\"{}\"}}\n",
            "a".repeat(100_000)
        );
        guest.write_all(long.as_bytes()).unwrap();
        let rest = "@@ PASS x\r\n@@ VMM {\"cmd\":\"stats\"}\n\
                    @@ VMM {\"cmd\":\"hotplug\",\"nvdimm\":\"path=/etc/passwd\"}\n";
        guest.write_all(rest.as_bytes()).unwrap();
        let mut r = BufReader::new(guest.try_clone().unwrap());
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap();
        assert!(
            reply.starts_with("@@ VMM-REPLY {\"ok\":true,\"stats\""),
            "{reply}"
        );
        reply.clear();
        r.read_line(&mut reply).unwrap();
        assert!(reply.contains("host request"), "{reply}");
        drop(r);
        guest.shutdown(std::net::Shutdown::Both).unwrap();
        t.join().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, long + rest, "everything copied, in order");
        assert!(text.contains("@@ PASS x"));
    }
}
