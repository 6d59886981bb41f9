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

/// The armed rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
    /// Commands (or resets) an injected fault changed.
    pub injected: u64,
}

impl Faults {
    pub fn add(&mut self, f: Fault) {
        self.rules.push(f);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn armed(&self) -> usize {
        self.rules.len()
    }

    /// Takes the first rule for `opcode` (`None`: reset time) whose action
    /// satisfies `want`, consuming one of its counts.
    pub fn take(
        &mut self,
        opcode: Option<u8>,
        want: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        let i = self
            .rules
            .iter()
            .position(|r| (r.opcode.is_none() || r.opcode == opcode) && want(&r.action))?;
        let action = self.rules[i].action.clone();
        if let Some(n) = &mut self.rules[i].remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        self.injected += 1;
        Some(action)
    }
}
