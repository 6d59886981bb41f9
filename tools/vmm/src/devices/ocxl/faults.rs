// SPDX-License-Identifier: GPL-2.0
//! Fault injection for the OpenCAPI pmem card, as data (like the NVDIMM
//! model's `Fault`s): rules matched by admin opcode, each consumed a given
//! number of times or armed until cleared.

/// A fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Admin opcode the rule applies to; `None` for every opcode (and for
    /// the reset-time [`FaultAction::BadArea`]).
    pub opcode: Option<u8>,
    pub action: FaultAction,
    /// Commands left to fault; `None` for every command until cleared.
    pub remaining: Option<u32>,
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status (no data).
    Status(u8),
    /// Consume the request and never answer (`CHI.ACRA` stays clear: the
    /// driver times out).
    NoResponse,
    /// Answer after this many ticks (10 ms each).
    Delay(u32),
    /// Fail fatally on the command: `CHI.CFFS` (firmware), the fatal
    /// interrupt, and no answer to anything until an AFU reset.
    Fatal,
    /// As [`FaultAction::Fatal`] with `CHI.CHFS` (hardware).
    HardwareFatal,
    /// Answer with another command id than the request's.
    WrongId,
    /// Serve the command, then replace the data header's length.
    DataLength(u32),
    /// Serve the command, then replace the data header's identifier.
    DataIdentifier(u16),
    /// At the next reset, describe the admin command area with these raw
    /// `ACMA_CREQO` and `ACMA_CDBO` values (a malformed area).
    BadArea { offsets: u64, data: u64 },
}

impl crate::devices::faults::Rule for Fault {
    type Action = FaultAction;
    fn action(&self) -> &FaultAction {
        &self.action
    }
    fn remaining(&mut self) -> &mut Option<u32> {
        &mut self.remaining
    }
}

/// The armed rules.
pub type Faults = crate::devices::faults::Rules<Fault>;

impl Faults {
    /// Takes the first rule for `opcode` (`None`: reset time) whose action
    /// satisfies `want`, consuming one of its counts.
    pub fn take_command(
        &mut self,
        opcode: Option<u8>,
        want: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        self.take(|r| (r.opcode.is_none() || r.opcode == opcode) && want(&r.action))
    }
}
