// SPDX-License-Identifier: GPL-2.0
//! What can go wrong starting, connecting and driving QEMU.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use crate::config::ConfigError;
use crate::dsm::Notification;
use crate::host::HostError;
use crate::shm::ShmError;

/// Why the transport could not start QEMU, connect it, or hot-add a
/// DIMM to it.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A file or socket of the state directory.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Mailbox(#[from] ShmError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The card's register window or its ivshmem server.
    #[error("{}: {source}", path.display())]
    CardWindow {
        path: PathBuf,
        source: crate::transport::ivshmem::IvshmemError,
    },
    #[error(transparent)]
    Card(#[from] crate::transport::ivshmem::IvshmemError),
    #[error("cannot start {qemu}: {source}")]
    Spawn { qemu: String, source: io::Error },
    #[error("no QEMU {0}")]
    NoPipe(&'static str),
    #[error("QEMU exited with {0} before connecting")]
    ExitedEarly(ExitStatus),
    #[error("QEMU did not connect to the VMM's sockets")]
    NotConnected,
    #[error("stopped by signal {0}")]
    Stopped(i32),
    #[error("waiting for QEMU: {0}")]
    Wait(io::Error),
    #[error(transparent)]
    Qmp(#[from] nvdimm_testkit::qmp::QmpError),
    #[error("{0:?}: past the notification line's range")]
    NotificationRange(Notification),
    #[error("notification line: {0}")]
    NotificationLine(io::Error),
}
