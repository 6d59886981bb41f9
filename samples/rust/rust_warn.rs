// SPDX-License-Identifier: GPL-2.0

//! Rust `warn_on!()` sample: the module's init fires one warning and loads.
//!
//! It proves that the architecture provides what Rust's WARN support needs
//! (`ARCH_WARN_ASM`, `ARCH_WARN_REACHABLE`): the kernel must print the
//! warning with this file and line, and execution must continue.

use kernel::prelude::*;

module! {
    type: RustWarn,
    name: "rust_warn",
    authors: ["nvdimm-rs developers"],
    description: "Rust warn_on!() sample",
    license: "GPL",
}

struct RustWarn;

impl kernel::Module for RustWarn {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The boot scenario matches the WARNING line against this line number.
        pr_info!("warn_on at line {}\n", line!() + 1);
        let fired = kernel::warn_on!(true);
        pr_info!("warn_on returned {}\n", fired);
        Ok(RustWarn)
    }
}
