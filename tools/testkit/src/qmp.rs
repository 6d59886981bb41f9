// SPDX-License-Identifier: GPL-2.0
//! A minimal QMP client: enough to hot-add NVDIMMs to a running guest.
//!
//! QEMU listens on a Unix socket (`-qmp unix:PATH,server=on,wait=off`); the
//! harness and the VMM connect when a guest asks for a hotplug, negotiate
//! capabilities and send one command at a time.
//!
//! Every command carries an `id` of its own (`nvdimm-<n>`, counting up per
//! connection), which QEMU copies into its answer. The reader takes as the
//! answer only a `return` or `error` with the awaited id: the asynchronous
//! events QEMU interleaves, and the late answer to an earlier command that
//! timed out, are skipped, so that answer can never be taken for the next
//! command's.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

/// How long one answer may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong talking QMP.
#[derive(Debug)]
pub enum QmpError {
    /// The socket could not be reached.
    Connect(String, std::io::Error),
    /// Reading or writing the socket failed (a timeout included).
    Io(&'static str, std::io::Error),
    /// QEMU closed the connection.
    Closed,
    /// A line that is not JSON.
    BadMessage(String, serde_json::Error),
    /// The first message was not QMP's greeting.
    Greeting(Value),
    /// QEMU answered the command with an error.
    Command(String, Value),
}

impl fmt::Display for QmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QmpError::Connect(socket, e) => write!(f, "QMP {socket}: {e}"),
            QmpError::Io(what, e) => write!(f, "QMP {what}: {e}"),
            QmpError::Closed => write!(f, "QMP: connection closed"),
            QmpError::BadMessage(line, e) => write!(f, "QMP: bad message '{line}': {e}"),
            QmpError::Greeting(g) => write!(f, "QMP: unexpected greeting {g}"),
            QmpError::Command(command, e) => write!(f, "QMP {command}: {e}"),
        }
    }
}

impl std::error::Error for QmpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QmpError::Connect(_, e) | QmpError::Io(_, e) => Some(e),
            QmpError::BadMessage(_, e) => Some(e),
            _ => None,
        }
    }
}

/// The callers' errors are still text.
impl From<QmpError> for String {
    fn from(e: QmpError) -> String {
        e.to_string()
    }
}

pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// The number of the next command's id.
    next_id: u64,
}

impl Qmp {
    /// Connects and leaves the capabilities negotiation mode.
    pub fn connect(socket: &Path) -> Result<Self, QmpError> {
        let stream = UnixStream::connect(socket)
            .map_err(|e| QmpError::Connect(socket.display().to_string(), e))?;
        Self::handshake(stream, READ_TIMEOUT)
    }

    /// Negotiates on an open stream, answers to wait at most `timeout`.
    pub fn handshake(stream: UnixStream, timeout: Duration) -> Result<Self, QmpError> {
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| QmpError::Io("timeout", e))?;
        let writer = stream.try_clone().map_err(|e| QmpError::Io("clone", e))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            next_id: 0,
        };
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Greeting(greeting));
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn read_message(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| QmpError::Io("read", e))?;
        if n == 0 {
            return Err(QmpError::Closed);
        }
        serde_json::from_str(&line).map_err(|e| QmpError::BadMessage(line.trim().to_string(), e))
    }

    /// Runs one command; its `return` value, or its `error` as an error.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, QmpError> {
        let id = format!("nvdimm-{}", self.next_id);
        self.next_id += 1;
        let msg = json!({ "execute": command, "arguments": arguments, "id": id });
        writeln!(self.writer, "{msg}").map_err(|e| QmpError::Io("write", e))?;
        loop {
            let m = self.read_message()?;
            // An event ({"event": ...}) or the late answer to an earlier
            // command: not this command's answer.
            if m.get("id").and_then(Value::as_str) != Some(id.as_str()) {
                continue;
            }
            if let Some(r) = m.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = m.get("error") {
                return Err(QmpError::Command(command.to_string(), e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::thread::JoinHandle;

    /// A fake QEMU on the other end of a socket pair: sends the greeting,
    /// then for each command read calls `answer` with it and writes back
    /// the lines it returns. The commands it saw, at the end.
    fn fake(
        mut answer: impl FnMut(&Value) -> Vec<Value> + Send + 'static,
    ) -> (UnixStream, JoinHandle<Vec<Value>>) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let mut w = theirs.try_clone().unwrap();
            writeln!(w, r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#).unwrap();
            let mut seen = Vec::new();
            for line in BufReader::new(theirs).lines() {
                let Ok(line) = line else { break };
                let cmd: Value = serde_json::from_str(&line).unwrap();
                for reply in answer(&cmd) {
                    writeln!(w, "{reply}").unwrap();
                }
                seen.push(cmd);
            }
            seen
        });
        (ours, server)
    }

    fn ok(cmd: &Value, ret: Value) -> Value {
        json!({ "return": ret, "id": cmd["id"] })
    }

    #[test]
    fn every_command_carries_its_own_id() {
        let (s, server) = fake(|cmd| vec![ok(cmd, json!({}))]);
        let mut q = Qmp::handshake(s, READ_TIMEOUT).unwrap();
        q.execute("query-status", json!({})).unwrap();
        q.execute("query-status", json!({})).unwrap();
        drop(q);
        let seen = server.join().unwrap();
        let ids: Vec<&str> = seen.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["nvdimm-0", "nvdimm-1", "nvdimm-2"]);
        assert_eq!(seen[0]["execute"], "qmp_capabilities");
    }

    #[test]
    fn events_and_other_ids_are_skipped() {
        let (s, _server) = fake(|cmd| {
            vec![
                json!({ "event": "DEVICE_DELETED", "data": {} }),
                json!({ "return": "not mine", "id": "nvdimm-99" }),
                json!({ "return": "no id" }),
                json!({ "error": { "class": "GenericError" }, "id": "other" }),
                ok(cmd, json!(cmd["execute"])),
            ]
        });
        let mut q = Qmp::handshake(s, READ_TIMEOUT).unwrap();
        assert_eq!(q.execute("object-add", json!({})).unwrap(), "object-add");
    }

    #[test]
    fn a_late_answer_never_answers_the_next_command() {
        // The first object-add is answered only after the client gave up
        // on it; the answer arrives just before device_add's own.
        let mut held: Option<Value> = None;
        let (s, _server) = fake(move |cmd| match cmd["execute"].as_str().unwrap() {
            "object-add" => {
                held = Some(json!({ "error": { "desc": "late" }, "id": cmd["id"] }));
                vec![]
            }
            _ => {
                let mut out: Vec<Value> = held.take().into_iter().collect();
                out.push(ok(cmd, json!("device_add answered")));
                out
            }
        });
        let mut q = Qmp::handshake(s, Duration::from_millis(200)).unwrap();
        assert!(matches!(
            q.execute("object-add", json!({})),
            Err(QmpError::Io("read", _))
        ));
        assert_eq!(
            q.execute("device_add", json!({})).unwrap(),
            "device_add answered"
        );
    }

    #[test]
    fn errors_and_bad_peers() {
        let (s, _server) = fake(|cmd| match cmd["execute"].as_str().unwrap() {
            "qmp_capabilities" => vec![ok(cmd, json!({}))],
            _ => {
                vec![json!({ "error": { "class": "GenericError", "desc": "no" }, "id": cmd["id"] })]
            }
        });
        let mut q = Qmp::handshake(s, READ_TIMEOUT).unwrap();
        let e = q.execute("device_add", json!({})).unwrap_err();
        assert!(matches!(&e, QmpError::Command(c, _) if c == "device_add"));
        assert!(String::from(e).starts_with("QMP device_add: "));

        let (ours, theirs) = UnixStream::pair().unwrap();
        writeln!(&theirs, r#"{{"hello": 1}}"#).unwrap();
        assert!(matches!(
            Qmp::handshake(ours, READ_TIMEOUT),
            Err(QmpError::Greeting(_))
        ));
        let (ours, theirs) = UnixStream::pair().unwrap();
        writeln!(&theirs, "not json").unwrap();
        assert!(matches!(
            Qmp::handshake(ours, READ_TIMEOUT),
            Err(QmpError::BadMessage(..))
        ));
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        assert!(matches!(
            Qmp::handshake(ours, READ_TIMEOUT),
            Err(QmpError::Closed)
        ));
        assert!(matches!(
            Qmp::connect(Path::new("/nonexistent/qmp.sock")),
            Err(QmpError::Connect(..))
        ));
    }
}
