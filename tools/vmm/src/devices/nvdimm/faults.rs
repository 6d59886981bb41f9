// SPDX-License-Identifier: GPL-2.0
//! The NVDIMM platform's fault rules (the control protocol's `fault`).

use crate::dsm::FN_SET_CONFIG_DATA;

/// A fault rule, as given on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// DIMM handle the rule applies to; `None` for every DIMM (and root).
    pub handle: Option<u32>,
    /// Function the rule applies to; `None` for every function.
    pub function: Option<u32>,
    pub action: FaultAction,
    /// Calls left to fault; `None` for every call until cleared.
    pub remaining: Option<u32>,
}

/// What an injected fault does to a matching call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and no payload.
    Status(u32),
    /// Serve the call, then cut the output to this many bytes.
    Short(usize),
    /// Label writes: write only this many bytes, then answer hardware error.
    TornWrite(usize),
    /// Serve the call after this many milliseconds.
    Delay(u64),
    /// Intel secure erase, overwrite, firmware finish: the media fails
    /// (half the data erased, hardware error; an overwrite fails at the
    /// end; a firmware image is not staged).
    MediaError,
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

/// The armed fault rules.
pub type Faults = crate::devices::faults::Rules<Fault>;

impl Faults {
    /// Takes the first rule matching a call whose action satisfies `want`
    /// (consuming one of its counts).
    pub(super) fn take_call(
        &mut self,
        handle: u32,
        function: u32,
        want: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        self.take(|r| {
            r.handle.is_none_or(|h| h == handle)
                && r.function.is_none_or(|f| f == function)
                && want(&r.action)
        })
    }

    /// Whether a media-error rule matches the call (taking it).
    pub(super) fn media_error(&mut self, handle: u32, function: u32) -> bool {
        self.take_call(handle, function, |a| matches!(a, FaultAction::MediaError))
            .is_some()
    }

    pub(super) fn torn_write(&mut self, handle: u32) -> Option<usize> {
        match self.take_call(handle, FN_SET_CONFIG_DATA, |a| {
            matches!(a, FaultAction::TornWrite(_))
        })? {
            FaultAction::TornWrite(n) => Some(n),
            _ => None,
        }
    }
}
