// SPDX-License-Identifier: GPL-2.0
//! Request lines as types: what serde checks (the command, field names
//! and types) and what the types then check (one action per fault,
//! ranges) before anything reaches a device model.
//!
//! Commands without fields are written `Ping {}`, not `Ping`: serde
//! ignores unknown fields of an internally tagged unit variant even under
//! `deny_unknown_fields`, and refuses them for a struct variant. The
//! newtype variants' structs deny unknown fields themselves (the enum's
//! attribute does not reach them); `cmd` is taken out before they see it.

use serde::Deserialize;

use super::error::ControlError;
use crate::devices::nvdimm::intel::SmartChange;
use crate::devices::nvdimm::{Fault, FaultAction};
use crate::devices::ocxl::faults as card;
use crate::devices::ocxl::smart::SmartChange as CardSmartChange;

/// Longest injectable delay: past the AML's polling budget (about 12 s in
/// a TCG guest), so that its timeout can be tested too.
pub const MAX_DELAY_MS: u64 = 60_000;

/// Longest delay of a card answer (in ticks of 10 ms).
pub const MAX_CARD_DELAY_MS: u32 = 60_000;

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    Ping {},
    Stats {},
    ResetStats {},
    Fault(FaultRequest),
    ClearFaults {},
    Poison {
        #[serde(deserialize_with = "field::address")]
        address: u64,
        #[serde(deserialize_with = "field::length")]
        length: u64,
    },
    Notify {
        #[serde(deserialize_with = "field::value")]
        value: u64,
        #[serde(default, deserialize_with = "field::dimm")]
        dimm: Option<u32>,
    },
    FlushHints {},
    /// Ends the ARS scan in progress now (with `--ars-ms`, it takes time).
    ArsFinish {},
    Hotplug {
        #[serde(deserialize_with = "field::nvdimm")]
        nvdimm: String,
    },
    /// Serves `_FIT` without the entries of DIMM `dimm` and raises the
    /// `_FIT` notification, as a platform announcing a removal would: the
    /// DIMM stays mapped (QEMU cannot unplug NVDIMM memory), and the next
    /// hot-add serves every DIMM again.
    FitDelete {
        #[serde(deserialize_with = "field::handle")]
        dimm: u32,
    },
    CardFault(CardFaultRequest),
    CardClearFaults {},
    /// Powers the card off and on: a fresh controller (faults armed stay)
    /// that reports ready (`CHI.CRDY`) and memory available (`CHI.MA`)
    /// these many milliseconds later (0 or left out: at once).
    CardReset {
        #[serde(default, deserialize_with = "field::ready_after_ms")]
        ready_after_ms: Option<u32>,
        #[serde(default, deserialize_with = "field::memory_after_ms")]
        memory_after_ms: Option<u32>,
    },
    Smart(SmartRequest),
    CardSmart(CardSmartRequest),
    PowerCycle {
        #[serde(default, deserialize_with = "field::dimm")]
        dimm: Option<u32>,
    },
    IntelState {
        #[serde(deserialize_with = "field::handle")]
        dimm: u32,
    },
    Media {
        #[serde(deserialize_with = "field::handle")]
        dimm: u32,
        #[serde(deserialize_with = "field::offset")]
        offset: u64,
        #[serde(deserialize_with = "field::length")]
        length: u64,
    },
}

/// `smart`: change the SMART values of an Intel DIMM (`intel=on`), and
/// with `notify` raise its health notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmartRequest {
    #[serde(deserialize_with = "field::handle")]
    pub dimm: u32,
    #[serde(default, deserialize_with = "field::health")]
    pub health: Option<Health>,
    #[serde(default, deserialize_with = "field::spares")]
    pub spares: Option<u8>,
    #[serde(default, deserialize_with = "field::life_used")]
    pub life_used: Option<u8>,
    #[serde(default, deserialize_with = "field::media_celsius")]
    pub media_celsius: Option<i16>,
    #[serde(default, deserialize_with = "field::ctrl_celsius")]
    pub ctrl_celsius: Option<i16>,
    /// A dirty shutdown happened: the shutdown state says dirty and the
    /// count grows.
    #[serde(default, deserialize_with = "field::dirty_shutdown")]
    pub dirty_shutdown: bool,
    #[serde(default, deserialize_with = "field::notify")]
    pub notify: bool,
}

/// `card-smart`: wear the OpenCAPI pmem card's media or inject a SMART
/// fault; its next `SMART` answer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSmartRequest {
    #[serde(default, deserialize_with = "field::life_used")]
    pub life_used: Option<u8>,
    #[serde(default, deserialize_with = "field::spares")]
    pub spares: Option<u8>,
    #[serde(default, deserialize_with = "field::media_celsius")]
    pub media_celsius: Option<i16>,
    #[serde(default, deserialize_with = "field::ctrl_celsius")]
    pub ctrl_celsius: Option<i16>,
    /// One more dirty shutdown.
    #[serde(default, deserialize_with = "field::dirty_shutdown")]
    pub dirty_shutdown: bool,
    /// This many more uncorrectable media errors.
    #[serde(default, deserialize_with = "field::media_errors")]
    pub media_errors: Option<u32>,
}

/// A percentage field of a SMART request: at most 100.
fn percent(field: &'static str, v: Option<u8>) -> Result<Option<u8>, ControlError> {
    match v {
        Some(p) if p > 100 => Err(ControlError::OutOfRange { field, max: 100 }),
        v => Ok(v),
    }
}

/// A temperature field of a SMART request, in degrees Celsius: from
/// absolute zero to 1000.
fn celsius(field: &'static str, v: Option<i16>) -> Result<Option<i16>, ControlError> {
    match v {
        Some(t) if !(-273..=1000).contains(&t) => Err(ControlError::Temperature { field }),
        v => Ok(v),
    }
}

/// Most media errors one `card-smart` adds.
pub const MAX_CARD_MEDIA_ERRORS: u32 = 1_000_000;

impl TryFrom<&CardSmartRequest> for CardSmartChange {
    type Error = ControlError;

    fn try_from(r: &CardSmartRequest) -> Result<Self, ControlError> {
        let media_errors = match r.media_errors {
            Some(n) if n > MAX_CARD_MEDIA_ERRORS => {
                return Err(ControlError::OutOfRange {
                    field: "media_errors",
                    max: MAX_CARD_MEDIA_ERRORS.into(),
                })
            }
            n => n.unwrap_or(0),
        };
        let change = CardSmartChange {
            life_used: percent("life_used", r.life_used)?,
            spares: percent("spares", r.spares)?,
            media_celsius: celsius("media_celsius", r.media_celsius)?,
            controller_celsius: celsius("ctrl_celsius", r.ctrl_celsius)?,
            dirty_shutdown: r.dirty_shutdown,
            media_errors,
        };
        if change == CardSmartChange::default() {
            return Err(ControlError::CardSmartChange);
        }
        Ok(change)
    }
}

/// A DIMM's health, as the host sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    Ok,
    NonCritical,
    Critical,
    Fatal,
}

impl TryFrom<&SmartRequest> for SmartChange {
    type Error = ControlError;

    fn try_from(r: &SmartRequest) -> Result<Self, ControlError> {
        Ok(SmartChange {
            health: r.health.map(|h| match h {
                Health::Ok => 0,
                Health::NonCritical => 1,
                Health::Critical => 2,
                Health::Fatal => 4,
            }),
            spares: percent("spares", r.spares)?,
            life_used: percent("life_used", r.life_used)?,
            media_celsius: celsius("media_celsius", r.media_celsius)?,
            ctrl_celsius: celsius("ctrl_celsius", r.ctrl_celsius)?,
            dirty_shutdown: r.dirty_shutdown,
        })
    }
}

impl Request {
    /// Parses one line: JSON, an object, then a request.
    pub fn parse(line: &str) -> Result<Self, ControlError> {
        serde_json::from_str::<serde::de::IgnoredAny>(line).map_err(ControlError::Json)?;
        // An internally tagged enum also reads `["ping"]`.
        if !line.trim_start().starts_with('{') {
            return Err(ControlError::NotAnObject);
        }
        serde_json::from_str(line).map_err(ControlError::Malformed)
    }
}

/// `fault`: a fault rule of the NVDIMM platform. `null` leaves out
/// `dimm`, `function` and `count`; an action field must not be `null`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    #[serde(default, deserialize_with = "field::dimm")]
    pub dimm: Option<u32>,
    #[serde(default, deserialize_with = "field::function")]
    pub function: Option<u32>,
    #[serde(default, deserialize_with = "field::count")]
    pub count: Option<u32>,
    #[serde(default, deserialize_with = "field::status")]
    pub status: Option<u32>,
    #[serde(default, deserialize_with = "field::short")]
    pub short: Option<u32>,
    #[serde(default, deserialize_with = "field::torn")]
    pub torn: Option<u32>,
    #[serde(default, deserialize_with = "field::delay_ms")]
    pub delay_ms: Option<u32>,
    /// Intel erase, overwrite, firmware finish: a media error.
    #[serde(default, deserialize_with = "field::media_error")]
    pub media_error: Option<bool>,
}

impl TryFrom<FaultRequest> for Fault {
    type Error = ControlError;

    fn try_from(r: FaultRequest) -> Result<Self, ControlError> {
        let media = r.media_error == Some(true);
        if r.media_error == Some(false) {
            return Err(ControlError::FaultAction);
        }
        let action = match (r.status, r.short, r.torn, r.delay_ms, media) {
            (Some(s), None, None, None, false) => FaultAction::Status(s),
            (None, Some(n), None, None, false) => FaultAction::Short(n as usize),
            (None, None, Some(n), None, false) => FaultAction::TornWrite(n as usize),
            (None, None, None, Some(ms), false) if u64::from(ms) > MAX_DELAY_MS => {
                return Err(ControlError::OutOfRange {
                    field: "delay_ms",
                    max: MAX_DELAY_MS,
                });
            }
            (None, None, None, Some(ms), false) => FaultAction::Delay(u64::from(ms)),
            (None, None, None, None, true) => FaultAction::MediaError,
            _ => return Err(ControlError::FaultAction),
        };
        Ok(Fault {
            handle: r.dimm,
            function: r.function,
            action,
            remaining: nonzero_count(r.count, "call")?,
        })
    }
}

/// `card-fault`: a fault rule of the OpenCAPI pmem card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFaultRequest {
    #[serde(default, deserialize_with = "field::opcode")]
    pub opcode: Option<u32>,
    #[serde(default, deserialize_with = "field::count")]
    pub count: Option<u32>,
    #[serde(default, deserialize_with = "field::status")]
    pub status: Option<u32>,
    #[serde(default, deserialize_with = "field::action")]
    pub action: Option<CardAction>,
    #[serde(default, deserialize_with = "field::delay_ms")]
    pub delay_ms: Option<u32>,
    /// Serve the command, then put this length in its data header.
    #[serde(default, deserialize_with = "field::data_length")]
    pub data_length: Option<u32>,
    /// Serve the command, then put this identifier in its data header.
    #[serde(default, deserialize_with = "field::data_identifier")]
    pub data_identifier: Option<u32>,
    /// At the card's next reset, describe its admin command area with
    /// these raw register values.
    #[serde(default, deserialize_with = "field::bad_area")]
    pub bad_area: Option<BadAreaRequest>,
}

/// A `card-fault`'s `bad_area`: the raw `ACMA_CREQO` and `ACMA_CDBO`
/// values the card then shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadAreaRequest {
    pub offsets: u64,
    pub data: u64,
}

/// A `card-fault`'s `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardAction {
    NoResponse,
    Fatal,
    HardwareFatal,
    WrongId,
}

impl TryFrom<CardFaultRequest> for card::Fault {
    type Error = ControlError;

    fn try_from(r: CardFaultRequest) -> Result<Self, ControlError> {
        let given = [
            r.status.is_some(),
            r.action.is_some(),
            r.delay_ms.is_some(),
            r.data_length.is_some(),
            r.data_identifier.is_some(),
            r.bad_area.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(ControlError::CardFaultAction);
        }
        let action = if let Some(s) = r.status {
            card::FaultAction::Status(byte("status", s)?)
        } else if let Some(a) = r.action {
            match a {
                CardAction::NoResponse => card::FaultAction::NoResponse,
                CardAction::Fatal => card::FaultAction::Fatal,
                CardAction::HardwareFatal => card::FaultAction::HardwareFatal,
                CardAction::WrongId => card::FaultAction::WrongId,
            }
        } else if let Some(ms) = r.delay_ms {
            if ms > MAX_CARD_DELAY_MS {
                return Err(ControlError::OutOfRange {
                    field: "delay_ms",
                    max: MAX_CARD_DELAY_MS.into(),
                });
            }
            // In ticks of 10 ms, at least one.
            card::FaultAction::Delay((ms / 10).max(1))
        } else if let Some(l) = r.data_length {
            card::FaultAction::DataLength(l)
        } else if let Some(i) = r.data_identifier {
            card::FaultAction::DataIdentifier(u16::try_from(i).map_err(|_| {
                ControlError::OutOfRange {
                    field: "data_identifier",
                    max: u16::MAX.into(),
                }
            })?)
        } else if let Some(a) = r.bad_area {
            // Taken at the card's next reset, whatever the opcode.
            if r.opcode.is_some() {
                return Err(ControlError::CardFaultAction);
            }
            card::FaultAction::BadArea {
                offsets: a.offsets,
                data: a.data,
            }
        } else {
            return Err(ControlError::CardFaultAction);
        };
        Ok(card::Fault {
            opcode: r.opcode.map(|o| byte("opcode", o)).transpose()?,
            action,
            remaining: nonzero_count(r.count, "command")?,
        })
    }
}

fn byte(field: &'static str, n: u32) -> Result<u8, ControlError> {
    u8::try_from(n).map_err(|_| ControlError::OutOfRange {
        field,
        max: u8::MAX.into(),
    })
}

/// `count`: left out for every `per` until cleared, else at least 1.
fn nonzero_count(count: Option<u32>, per: &'static str) -> Result<Option<u32>, ControlError> {
    match count {
        Some(0) => Err(ControlError::ZeroCount { per }),
        c => Ok(c),
    }
}

/// Field readers whose errors name their field: serde's own messages for
/// an internally tagged request (buffered before its variant reads it)
/// carry no path.
mod field {
    use serde::de::{Deserialize, Deserializer, Error};

    use crate::control::request::{BadAreaRequest, CardAction, Health};

    /// `T`, `null` included if `T` takes it (an `Option` does).
    fn named<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
        field: &str,
    ) -> Result<T, D::Error> {
        T::deserialize(d).map_err(|e| D::Error::custom(format_args!("'{field}': {e}")))
    }

    /// An optional field that is given a value if it is there at all.
    fn given<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
        field: &str,
    ) -> Result<Option<T>, D::Error> {
        named(d, field).map(Some)
    }

    macro_rules! fields {
        ($($name:ident: $t:ty = $read:ident;)*) => {$(
            pub(super) fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                $read(d, stringify!($name))
            }
        )*};
    }

    fields! {
        address: u64 = named;
        length: u64 = named;
        value: u64 = named;
        nvdimm: String = named;
        dimm: Option<u32> = named;
        function: Option<u32> = named;
        count: Option<u32> = named;
        opcode: Option<u32> = named;
        status: Option<u32> = given;
        short: Option<u32> = given;
        torn: Option<u32> = given;
        delay_ms: Option<u32> = given;
        data_length: Option<u32> = given;
        data_identifier: Option<u32> = given;
        bad_area: Option<BadAreaRequest> = given;
        ready_after_ms: Option<u32> = given;
        memory_after_ms: Option<u32> = given;
        action: Option<CardAction> = given;
        media_error: Option<bool> = given;
        handle: u32 = named;
        offset: u64 = named;
        health: Option<Health> = given;
        spares: Option<u8> = given;
        life_used: Option<u8> = given;
        media_celsius: Option<i16> = given;
        ctrl_celsius: Option<i16> = given;
        dirty_shutdown: bool = named;
        media_errors: Option<u32> = given;
        notify: bool = named;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: &str) -> String {
        Request::parse(line).unwrap_err().to_string()
    }

    #[test]
    fn requests_parse() {
        assert_eq!(
            Request::parse(r#"{"cmd":"ping"}"#).unwrap(),
            Request::Ping {}
        );
        assert_eq!(
            Request::parse(r#" {"cmd":"notify","value":129,"dimm":null}"#).unwrap(),
            Request::Notify {
                value: 129,
                dimm: None
            }
        );
        assert_eq!(
            Request::parse(r#"{"function":5,"cmd":"fault","dimm":1,"short":100}"#).unwrap(),
            Request::Fault(FaultRequest {
                dimm: Some(1),
                function: Some(5),
                count: None,
                status: None,
                short: Some(100),
                torn: None,
                delay_ms: None,
                media_error: None,
            })
        );
        assert_eq!(
            Request::parse(r#"{"cmd":"card-fault","action":"wrong-id","opcode":null}"#).unwrap(),
            Request::CardFault(CardFaultRequest {
                opcode: None,
                count: None,
                status: None,
                action: Some(CardAction::WrongId),
                delay_ms: None,
                data_length: None,
                data_identifier: None,
                bad_area: None,
            })
        );
    }

    #[test]
    fn card_faults_on_answers_and_the_admin_area() {
        let fault = |line: &str| -> Result<card::Fault, ControlError> {
            match Request::parse(line)? {
                Request::CardFault(f) => f.try_into(),
                r => panic!("{r:?}"),
            }
        };
        assert_eq!(
            fault(r#"{"cmd":"card-fault","opcode":6,"data_length":8}"#)
                .unwrap()
                .action,
            card::FaultAction::DataLength(8)
        );
        assert_eq!(
            fault(r#"{"cmd":"card-fault","opcode":6,"data_identifier":4660}"#)
                .unwrap()
                .action,
            card::FaultAction::DataIdentifier(0x1234)
        );
        assert_eq!(
            fault(r#"{"cmd":"card-fault","bad_area":{"offsets":1,"data":2}}"#)
                .unwrap()
                .action,
            card::FaultAction::BadArea {
                offsets: 1,
                data: 2
            }
        );
        for (line, want) in [
            (
                r#"{"cmd":"card-fault","data_identifier":65536}"#,
                "'data_identifier' must be",
            ),
            (
                r#"{"cmd":"card-fault","opcode":0,"bad_area":{"offsets":1,"data":2}}"#,
                "exactly one",
            ),
            (
                r#"{"cmd":"card-fault","data_length":8,"status":1}"#,
                "exactly one",
            ),
            (
                r#"{"cmd":"card-fault","bad_area":{"offsets":1}}"#,
                "'bad_area'",
            ),
            (
                r#"{"cmd":"card-fault","bad_area":{"offsets":1,"data":2,"x":3}}"#,
                "'bad_area'",
            ),
        ] {
            let e = fault(line).unwrap_err().to_string();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_in_every_shape() {
        for line in [
            // Without fields.
            r#"{"cmd":"ping","x":1}"#,
            r#"{"cmd":"stats","x":1}"#,
            r#"{"cmd":"reset-stats","x":1}"#,
            r#"{"cmd":"clear-faults","x":1}"#,
            r#"{"cmd":"flush-hints","x":1}"#,
            r#"{"cmd":"card-clear-faults","x":1}"#,
            r#"{"cmd":"card-reset","x":1}"#,
            // With fields of their own.
            r#"{"cmd":"poison","address":1,"length":1,"x":1}"#,
            r#"{"cmd":"notify","value":129,"x":1}"#,
            r#"{"cmd":"hotplug","nvdimm":"path=/tmp/x,size=4M","x":1}"#,
            // Through a struct of their own.
            r#"{"cmd":"fault","status":1,"x":1}"#,
            r#"{"cmd":"card-fault","status":1,"x":1}"#,
            r#"{"cmd":"smart","dimm":1,"spares":3,"x":1}"#,
            r#"{"cmd":"power-cycle","dimm":1,"x":1}"#,
            r#"{"cmd":"intel-state","dimm":1,"x":1}"#,
            r#"{"cmd":"media","dimm":1,"offset":0,"length":1,"x":1}"#,
            // A field of another request.
            r#"{"cmd":"card-fault","status":1,"dimm":1}"#,
            r#"{"cmd":"fault","status":1,"opcode":1}"#,
        ] {
            let e = error(line);
            assert!(e.contains("unknown field"), "{line} -> {e}");
            let field = if line.contains("\"x\"") {
                "`x`"
            } else if line.contains("dimm") {
                "`dimm`"
            } else {
                "`opcode`"
            };
            assert!(e.contains(field), "{line} -> {e}");
        }
    }

    #[test]
    fn unknown_commands_are_refused_with_the_known_ones() {
        let e = error(r#"{"cmd":"reboot"}"#);
        assert!(e.contains("`reboot`"), "{e}");
        for cmd in [
            "ping",
            "stats",
            "reset-stats",
            "fault",
            "clear-faults",
            "poison",
            "notify",
            "flush-hints",
            "ars-finish",
            "hotplug",
            "card-fault",
            "card-clear-faults",
            "card-reset",
            "smart",
            "card-smart",
            "power-cycle",
            "intel-state",
            "media",
        ] {
            assert!(e.contains(&format!("`{cmd}`")), "{cmd}: {e}");
        }
        assert!(error(r#"{"x":1}"#).contains("missing field `cmd`"));
        assert!(error(r#"{"cmd":7}"#).starts_with("bad request"));
    }

    #[test]
    fn wrong_types_are_refused_naming_the_field() {
        for (line, field) in [
            (r#"{"cmd":"fault","status":"4"}"#, "'status'"),
            (r#"{"cmd":"fault","status":null}"#, "'status'"),
            (r#"{"cmd":"fault","status":-1}"#, "'status'"),
            (r#"{"cmd":"fault","torn":4294967296}"#, "'torn'"),
            (r#"{"cmd":"fault","status":4,"dimm":1.5}"#, "'dimm'"),
            (r#"{"cmd":"fault","status":4,"count":true}"#, "'count'"),
            (r#"{"cmd":"card-fault","action":"explode"}"#, "'action'"),
            (r#"{"cmd":"card-fault","action":null}"#, "'action'"),
            (
                r#"{"cmd":"card-fault","status":1,"opcode":"0"}"#,
                "'opcode'",
            ),
            (r#"{"cmd":"poison","address":-1,"length":2}"#, "'address'"),
            (r#"{"cmd":"poison","address":1,"length":[]}"#, "'length'"),
            (r#"{"cmd":"notify","value":"129"}"#, "'value'"),
            (r#"{"cmd":"notify","value":129,"dimm":-1}"#, "'dimm'"),
            (r#"{"cmd":"hotplug","nvdimm":7}"#, "'nvdimm'"),
        ] {
            let e = error(line);
            assert!(e.starts_with("bad request: "), "{line} -> {e}");
            assert!(e.contains(field), "{line} -> {e}");
        }
    }

    #[test]
    fn missing_and_repeated_fields_are_refused() {
        for (line, field) in [
            (
                r#"{"cmd":"poison","address":4096}"#,
                "missing field `length`",
            ),
            (r#"{"cmd":"notify"}"#, "missing field `value`"),
            (r#"{"cmd":"hotplug"}"#, "missing field `nvdimm`"),
            (
                r#"{"cmd":"poison","address":1,"length":1,"length":2}"#,
                "duplicate field `length`",
            ),
            (r#"{"cmd":"fault","cmd":"ping"}"#, "duplicate field `cmd`"),
        ] {
            let e = error(line);
            assert!(e.contains(field), "{line} -> {e}");
        }
    }

    #[test]
    fn smart_requests_are_checked() {
        let change = |line: &str| match Request::parse(line) {
            Ok(Request::Smart(r)) => SmartChange::try_from(&r).map_err(|e| e.to_string()),
            r => Err(format!("{r:?}")),
        };
        let c = change(
            r#"{"cmd":"smart","dimm":1,"health":"critical","spares":5,"life_used":90,
                "media_celsius":-5,"ctrl_celsius":70,"dirty_shutdown":true,"notify":true}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            SmartChange {
                health: Some(2),
                spares: Some(5),
                life_used: Some(90),
                media_celsius: Some(-5),
                ctrl_celsius: Some(70),
                dirty_shutdown: true,
            }
        );
        for (line, e) in [
            (
                r#"{"cmd":"smart","dimm":1,"spares":101}"#,
                "'spares' must be",
            ),
            (r#"{"cmd":"smart","dimm":1,"life_used":300}"#, "'life_used'"),
            (
                r#"{"cmd":"smart","dimm":1,"media_celsius":2000}"#,
                "'media_celsius'",
            ),
            (r#"{"cmd":"smart","dimm":1,"health":"poorly"}"#, "'health'"),
            (r#"{"cmd":"smart","spares":1}"#, "missing field `dimm`"),
            (r#"{"cmd":"smart","dimm":1,"notify":1}"#, "'notify'"),
            (r#"{"cmd":"intel-state"}"#, "missing field `dimm`"),
        ] {
            let got = change(line).unwrap_err();
            assert!(got.contains(e), "{line}: {got}");
        }
        let f = match Request::parse(r#"{"cmd":"fault","function":25,"media_error":true}"#) {
            Ok(Request::Fault(f)) => Fault::try_from(f).unwrap(),
            r => panic!("{r:?}"),
        };
        assert_eq!(f.action, FaultAction::MediaError);
        for line in [
            r#"{"cmd":"fault","media_error":false}"#,
            r#"{"cmd":"fault","media_error":true,"status":4}"#,
        ] {
            match Request::parse(line) {
                Ok(Request::Fault(f)) => assert!(Fault::try_from(f).is_err(), "{line}"),
                r => panic!("{r:?}"),
            }
        }
    }

    #[test]
    fn only_objects_are_requests() {
        assert!(error("nonsense").starts_with("bad JSON"));
        assert!(error("").starts_with("bad JSON"));
        for line in [r#"["ping"]"#, r#"["poison",1,2]"#, "7", r#""ping""#] {
            assert_eq!(error(line), "the request must be a JSON object", "{line}");
        }
    }

    #[test]
    fn faults_take_one_action_in_range() {
        let fault = |line: &str| match Request::parse(line).unwrap() {
            Request::Fault(f) => Fault::try_from(f).map_err(|e| e.to_string()),
            r => panic!("{r:?}"),
        };
        let f = fault(r#"{"cmd":"fault","dimm":2,"torn":64,"count":1}"#).unwrap();
        assert_eq!(
            f,
            Fault {
                handle: Some(2),
                function: None,
                action: FaultAction::TornWrite(64),
                remaining: Some(1),
            }
        );
        assert_eq!(
            fault(r#"{"cmd":"fault","delay_ms":60000}"#).unwrap().action,
            FaultAction::Delay(60_000)
        );
        for (line, e) in [
            (r#"{"cmd":"fault"}"#, "exactly one"),
            (r#"{"cmd":"fault","status":1,"short":2}"#, "exactly one"),
            (r#"{"cmd":"fault","delay_ms":60001}"#, "'delay_ms' must be"),
            (r#"{"cmd":"fault","status":4,"count":0}"#, "every call"),
        ] {
            assert!(fault(line).unwrap_err().contains(e), "{line}");
        }
        let card = |line: &str| match Request::parse(line).unwrap() {
            Request::CardFault(f) => card::Fault::try_from(f).map_err(|e| e.to_string()),
            r => panic!("{r:?}"),
        };
        let f = card(r#"{"cmd":"card-fault","opcode":4,"delay_ms":5}"#).unwrap();
        assert_eq!(
            (f.opcode, f.action, f.remaining),
            (Some(4), card::FaultAction::Delay(1), None)
        );
        for (line, e) in [
            (r#"{"cmd":"card-fault"}"#, "exactly one"),
            (
                r#"{"cmd":"card-fault","status":1,"action":"fatal"}"#,
                "exactly one",
            ),
            (r#"{"cmd":"card-fault","status":256}"#, "'status' must be"),
            (
                r#"{"cmd":"card-fault","status":1,"opcode":300}"#,
                "'opcode' must be",
            ),
            (
                r#"{"cmd":"card-fault","status":1,"count":0}"#,
                "every command",
            ),
            (
                r#"{"cmd":"card-fault","delay_ms":60001}"#,
                "'delay_ms' must be",
            ),
        ] {
            assert!(card(line).unwrap_err().contains(e), "{line}");
        }
    }
}
