// SPDX-License-Identifier: GPL-2.0
//! The pieces of a QEMU command line that the harness (QEMU's own NVDIMM
//! models) and the VMM (its own, on `pc-dimm`s) write alike.

use std::path::Path;

/// A guest with no default devices, no display and no reboot (`panic=-1`
/// then ends QEMU), its first serial port on stdio: the console.
pub const HEADLESS: [&str; 7] = [
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-serial",
    "stdio",
];

/// The value of `-qmp` for a QMP server on `socket` that does not wait
/// for a client.
pub fn qmp_server(socket: &Path) -> String {
    format!("unix:{},server=on,wait=off", socket.display())
}

/// The value of `-object` for a shared file mapping: the guest's writes
/// reach `path`.
pub fn shared_file_backend(id: &str, path: &Path, size: u64) -> String {
    format!(
        "memory-backend-file,id={id},share=on,mem-path={},size={size}",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        assert_eq!(
            qmp_server(Path::new("/s/qmp.sock")),
            "unix:/s/qmp.sock,server=on,wait=off"
        );
        assert_eq!(
            shared_file_backend("nvmem0", Path::new("/d/a.img"), 4096),
            "memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=4096"
        );
        assert_eq!(
            HEADLESS.join(" "),
            "-nodefaults -no-user-config -display none -no-reboot -serial stdio"
        );
    }
}
