// SPDX-License-Identifier: GPL-2.0
//! DIMM hotplug on a running QEMU.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use crate::acpi::ssdt::notify_byte;
use crate::config::PlacedDimm;
use crate::devices::nvdimm::HotplugBackend;
use crate::dsm::Notification;

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
    fn add(&mut self, d: &PlacedDimm) -> Result<(), String> {
        if self.qmp.is_none() {
            self.qmp = Some(nvdimm_testkit::qmp::Qmp::connect(&self.qmp_socket)?);
        }
        let qmp = self.qmp.as_mut().ok_or("no QMP")?;
        qmp.execute(
            "object-add",
            serde_json::json!({
                "qom-type": "memory-backend-file",
                "id": format!("nvmem{}", d.slot),
                "share": true,
                "mem-path": d.config.path.display().to_string(),
                "size": d.config.file_size()?,
            }),
        )?;
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
            return Err(e.into());
        }
        Ok(())
    }

    fn notify(&mut self, n: Notification) -> Result<(), String> {
        let byte =
            notify_byte(n).ok_or_else(|| format!("{n:?}: past the notification line's range"))?;
        self.notify
            .write_all(&[byte])
            .map_err(|e| format!("notification line: {e}"))
    }
}
