// SPDX-License-Identifier: GPL-2.0
//! `nvdimm-testkit`: what `nvdimm-harness` and `nvdimm-vmm` both need, one
//! implementation each: the guest console ([`console`]), a QMP client
//! that matches answers by id ([`qmp`]), how a guest ends and the VMM's
//! exit codes ([`outcome`]), sizes ([`size`]), the accelerator
//! ([`accel`]), the QEMU command lines both write ([`qemu`]) and
//! the values of an NVDIMM spec both read ([`spec`]); and the harness's
//! stop on `SIGINT`/`SIGTERM` ([`stop`]).

pub mod accel;
pub mod console;
pub mod outcome;
pub mod qemu;
pub mod qmp;
pub mod size;
pub mod spec;
pub mod stop;

pub use accel::Accel;
pub use outcome::{Exit, Outcome};
pub use size::{parse_size, SizeError};
