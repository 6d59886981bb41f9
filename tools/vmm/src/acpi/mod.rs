// SPDX-License-Identifier: GPL-2.0
//! The ACPI tables the VMM hands to the guest.
//!
//! - [`sdt`]: the table header;
//! - [`nfit`]: the NFIT, laid out exactly as QEMU's;
//! - [`ssdt`]: the SSDT with the NVDIMM root device, its DIMMs and the
//!   `_DSM`, label and `_FIT` methods that call the VMM through the
//!   mailbox, and the notification line's GED;
//! - [`aml`]: the AML encoder they are written with (and, for tests, a
//!   decoder of what it emits);
//! - [`malformed`]: malformed NFITs for the robustness campaign.
//!
//! The modules use the configuration, the mailbox layout and the `_DSM`
//! interface ([`crate::dsm`]); no device model.

pub mod aml;
pub mod malformed;
pub mod nfit;
pub mod sdt;
pub mod ssdt;
#[cfg(test)]
mod tests;

pub use malformed::Malformed;
pub use nfit::{nfit, nfit_body};
pub use ssdt::{ssdt, Doorbell, NotifyLine};
