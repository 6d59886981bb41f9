// SPDX-License-Identifier: GPL-2.0
//! The card's SMART state: what its `SMART` admin command answers, as
//! attributes of the ids the driver's protocol names
//! (`ocxlpmem_core::smart::attr`: word 0 the id, word 1 the value).
//!
//! The host wears the media and injects faults through the control
//! protocol's `card-smart` ([`SmartChange`]); the card itself counts a
//! dirty shutdown when it is power cycled without a `SHUTDOWN` command
//! since it last powered on. The health verdict follows from the values.

use ocxlpmem_core::data::SmartAttribute;
use ocxlpmem_core::smart::{attr, HealthState};

/// Life used (percent) from which the card reports non-critical health.
pub const LIFE_USED_WARNING: u8 = 90;
/// Spares (percent) below which the card reports non-critical health.
pub const SPARES_WARNING: u8 = 10;
/// Media temperature (Celsius) from which health is non-critical.
pub const MEDIA_CELSIUS_WARNING: i16 = 85;
/// Controller temperature (Celsius) from which health is non-critical.
pub const CONTROLLER_CELSIUS_WARNING: i16 = 95;

/// Ticks (10 ms) per hour.
const TICKS_PER_HOUR: u64 = 360_000;

/// What the card's SMART data says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmartState {
    /// Percent of the media's rated life used.
    pub life_used: u8,
    /// Percent of spare media left.
    pub spares: u8,
    pub media_celsius: i16,
    pub controller_celsius: i16,
    pub dirty_shutdowns: u64,
    /// Uncorrectable media errors seen.
    pub media_errors: u64,
    /// Power-on hours before this VMM started the card.
    pub power_on_hours: u64,
}

impl Default for SmartState {
    fn default() -> Self {
        SmartState {
            life_used: 2,
            spares: 100,
            media_celsius: 35,
            controller_celsius: 40,
            dirty_shutdowns: 0,
            media_errors: 0,
            power_on_hours: 1200,
        }
    }
}

/// A change the host makes (`card-smart`): values set, events counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmartChange {
    /// Wear: percent of life used (0..=100).
    pub life_used: Option<u8>,
    /// Percent of spares left (0..=100).
    pub spares: Option<u8>,
    pub media_celsius: Option<i16>,
    pub controller_celsius: Option<i16>,
    /// One more dirty shutdown.
    pub dirty_shutdown: bool,
    /// This many more uncorrectable media errors.
    pub media_errors: u32,
}

impl SmartState {
    /// Life remaining, percent.
    pub fn life_remaining(&self) -> u8 {
        100u8.saturating_sub(self.life_used)
    }

    /// Applies a host change (values already range-checked; clamped here
    /// too, the model never holds a percentage above 100).
    pub fn apply(&mut self, c: &SmartChange) {
        if let Some(v) = c.life_used {
            self.life_used = v.min(100);
        }
        if let Some(v) = c.spares {
            self.spares = v.min(100);
        }
        if let Some(v) = c.media_celsius {
            self.media_celsius = v;
        }
        if let Some(v) = c.controller_celsius {
            self.controller_celsius = v;
        }
        if c.dirty_shutdown {
            self.dirty_shutdowns = self.dirty_shutdowns.saturating_add(1);
        }
        self.media_errors = self.media_errors.saturating_add(u64::from(c.media_errors));
    }

    /// The card's verdict: critical when data is at risk (no spares,
    /// media errors), non-critical past a wear or temperature threshold.
    pub fn health(&self) -> HealthState {
        if self.spares == 0 || self.media_errors > 0 {
            HealthState::Critical
        } else if self.life_used >= LIFE_USED_WARNING
            || self.spares < SPARES_WARNING
            || self.media_celsius >= MEDIA_CELSIUS_WARNING
            || self.controller_celsius >= CONTROLLER_CELSIUS_WARNING
        {
            HealthState::NonCritical
        } else {
            HealthState::Ok
        }
    }

    /// The attributes of the `SMART` answer after the card has been on
    /// for `ticks` ticks of 10 ms.
    pub fn attributes(&self, ticks: u64) -> Vec<SmartAttribute> {
        let celsius = |c: i16| i64::from(c) as u64;
        vec![
            SmartAttribute([attr::LIFE_REMAINING, u64::from(self.life_remaining())]),
            SmartAttribute([attr::MEDIA_TEMPERATURE, celsius(self.media_celsius)]),
            SmartAttribute([attr::DIRTY_SHUTDOWNS, self.dirty_shutdowns]),
            SmartAttribute([
                attr::CONTROLLER_TEMPERATURE,
                celsius(self.controller_celsius),
            ]),
            SmartAttribute([attr::SPARES, u64::from(self.spares)]),
            SmartAttribute([
                attr::POWER_ON_HOURS,
                self.power_on_hours.saturating_add(ticks / TICKS_PER_HOUR),
            ]),
            SmartAttribute([attr::MEDIA_ERRORS, self.media_errors]),
            SmartAttribute([attr::HEALTH, self.health().value()]),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocxlpmem_core::smart::Health;

    fn health(s: &SmartState, ticks: u64) -> Health {
        Health::from_attributes(s.attributes(ticks).into_iter())
    }

    #[test]
    fn fresh_card_is_healthy() {
        let s = SmartState::default();
        let h = health(&s, 0);
        assert_eq!(h.life_remaining, Some(98));
        assert_eq!(h.life_used(), Some(2));
        assert_eq!(h.media_temperature, Some(35));
        assert_eq!(h.controller_temperature, Some(40));
        assert_eq!(h.spares, Some(100));
        assert_eq!(h.dirty_shutdowns, Some(0));
        assert_eq!(h.power_on_hours, Some(1200));
        assert_eq!(h.media_errors, Some(0));
        assert_eq!(h.health, Some(HealthState::Ok.value()));
        assert_eq!(h.unknown, 0);
        // Power-on hours grow with the card's uptime.
        assert_eq!(
            health(&s, 2 * TICKS_PER_HOUR + 1).power_on_hours,
            Some(1202)
        );
    }

    #[test]
    fn wear_and_faults_change_the_answer() {
        let mut s = SmartState::default();
        s.apply(&SmartChange {
            life_used: Some(95),
            ..Default::default()
        });
        assert_eq!(s.health(), HealthState::NonCritical);
        assert_eq!(health(&s, 0).life_used(), Some(95));
        s.apply(&SmartChange {
            media_celsius: Some(-10),
            dirty_shutdown: true,
            ..Default::default()
        });
        let h = health(&s, 0);
        assert_eq!(h.media_temperature, Some(-10));
        assert_eq!(h.dirty_shutdowns, Some(1));
        // Unchanged fields stay.
        assert_eq!(h.spares, Some(100));
        s.apply(&SmartChange {
            media_errors: 3,
            ..Default::default()
        });
        assert_eq!(s.health(), HealthState::Critical);
        assert_eq!(health(&s, 0).media_errors, Some(3));
    }

    #[test]
    fn thresholds_and_clamping() {
        let verdict = |c: SmartChange| {
            let mut s = SmartState::default();
            s.apply(&c);
            s.health()
        };
        assert_eq!(verdict(SmartChange::default()), HealthState::Ok);
        let nc = [
            SmartChange {
                life_used: Some(LIFE_USED_WARNING),
                ..Default::default()
            },
            SmartChange {
                spares: Some(SPARES_WARNING - 1),
                ..Default::default()
            },
            SmartChange {
                media_celsius: Some(MEDIA_CELSIUS_WARNING),
                ..Default::default()
            },
            SmartChange {
                controller_celsius: Some(CONTROLLER_CELSIUS_WARNING),
                ..Default::default()
            },
        ];
        for c in nc {
            assert_eq!(verdict(c.clone()), HealthState::NonCritical, "{c:?}");
        }
        assert_eq!(
            verdict(SmartChange {
                spares: Some(0),
                ..Default::default()
            }),
            HealthState::Critical
        );
        let mut s = SmartState::default();
        s.apply(&SmartChange {
            life_used: Some(200),
            spares: Some(255),
            ..Default::default()
        });
        assert_eq!((s.life_used, s.spares, s.life_remaining()), (100, 100, 0));
        s.media_errors = u64::MAX;
        s.apply(&SmartChange {
            media_errors: 1,
            ..Default::default()
        });
        assert_eq!(s.media_errors, u64::MAX);
    }
}
