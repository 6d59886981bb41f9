// SPDX-License-Identifier: GPL-2.0
//! DIMM hotplug on a running QEMU.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nvdimm_testkit::qemu::Prop;

use super::launch::{dimm_backend, dimm_device};
use crate::acpi::ssdt::notify_byte;
use crate::config::PlacedDimm;
use crate::devices::nvdimm::{BackendError, HotplugBackend};
use crate::dsm::Notification;
use crate::transport::error::TransportError;

/// Hot-adds DIMMs to the running QEMU (QMP `object-add` and `device_add`
/// of a `pc-dimm` at the DIMM's address) and raises the notification line.
pub struct QemuHotplug {
    qmp_socket: PathBuf,
    qmp: Option<nvdimm_testkit::qmp::Qmp>,
    notify: UnixStream,
}

impl QemuHotplug {
    /// QMP is connected at the first hot-add; `notify` is the connected
    /// notification line.
    pub fn new(qmp_socket: PathBuf, notify: UnixStream) -> Self {
        QemuHotplug {
            qmp_socket,
            qmp: None,
            notify,
        }
    }
}

impl HotplugBackend for QemuHotplug {
    fn add(&mut self, d: &PlacedDimm) -> Result<(), BackendError> {
        let qmp = match &mut self.qmp {
            Some(q) => q,
            None => self.qmp.insert(
                nvdimm_testkit::qmp::Qmp::connect(&self.qmp_socket)
                    .map_err(TransportError::from)?,
            ),
        };
        // The same objects as a boot DIMM's (see `launch`).
        let size = d.config.file_size().map_err(TransportError::from)?;
        let backend = dimm_backend(d.slot, &d.config.path, size);
        qmp.execute("object-add", backend.qmp_args())
            .map_err(TransportError::from)?;
        let added = qmp.execute("device_add", dimm_device(d.slot, d.address).qmp_args());
        if let Err(e) = added {
            // Leave no backend behind: the slot can be tried again.
            let _ = qmp.execute(
                "object-del",
                serde_json::json!({ "id": backend.get("id").map(Prop::json) }),
            );
            return Err(TransportError::from(e).into());
        }
        Ok(())
    }

    fn notify(&mut self, n: Notification) -> Result<(), BackendError> {
        let byte = notify_byte(n).ok_or(TransportError::NotificationRange(n))?;
        self.notify
            .write_all(&[byte])
            .map_err(TransportError::NotificationLine)?;
        Ok(())
    }
}
