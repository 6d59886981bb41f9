// SPDX-License-Identifier: GPL-2.0
//! DIMM hotplug on a running QEMU.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

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
        qmp.execute(
            "object-add",
            serde_json::json!({
                "qom-type": "memory-backend-file",
                "id": format!("nvmem{}", d.slot),
                "share": true,
                "mem-path": d.config.path.display().to_string(),
                "size": d.config.file_size().map_err(TransportError::from)?,
            }),
        )
        .map_err(TransportError::from)?;
        let added = qmp.execute(
            "device_add",
            serde_json::json!({
                "driver": "pc-dimm",
                "id": format!("nvdimm{}", d.slot),
                "memdev": format!("nvmem{}", d.slot),
                "addr": d.address,
            }),
        );
        if let Err(e) = added {
            // Leave no backend behind: the slot can be tried again.
            let _ = qmp.execute(
                "object-del",
                serde_json::json!({ "id": format!("nvmem{}", d.slot) }),
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
