// SPDX-License-Identifier: GPL-2.0
//! The `_DSM` doorbell: the guest's AML rings it after writing a request
//! into the mailbox.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use crate::devices::nvdimm::Platform;
use crate::dsm::DsmCall;
use crate::mailbox::{Mailbox, KIND_DSM, KIND_FIT, KIND_LABEL};

/// Serves the doorbell: each byte means "look at the mailbox".
pub fn serve_doorbell(mut conn: UnixStream, mailbox: Mailbox, platform: Arc<Mutex<Platform>>) {
    let mut buf = [0u8; 64];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while let Some(req) = mailbox.pending() {
            let (output, delay) = {
                let mut p = Platform::lock(&platform);
                match req.kind {
                    KIND_DSM => {
                        let r = p.call(&DsmCall {
                            handle: req.handle,
                            uuid: req.uuid,
                            revision: req.revision,
                            function: req.function,
                            input: req.input.clone(),
                        });
                        (r.output, r.delay)
                    }
                    KIND_FIT => (p.fit(), None),
                    KIND_LABEL => {
                        let r = p.label_method(req.handle, req.function, req.input.as_deref());
                        (r.output, r.delay)
                    }
                    _ => {
                        p.count_bad_request();
                        (
                            crate::dsm::STATUS_INVALID_INPUT.to_le_bytes().to_vec(),
                            None,
                        )
                    }
                }
            };
            if let Some(d) = delay {
                std::thread::sleep(d);
                // The AML gave up waiting and may already be writing its
                // next request into the payload area: a late answer would
                // overwrite it.
                if mailbox.seq() != req.seq {
                    let mut p = Platform::lock(&platform);
                    p.count_abandoned();
                    continue;
                }
            }
            mailbox.complete(req.seq, &output);
        }
    }
}
