// SPDX-License-Identifier: GPL-2.0
//! The card as the VMM attaches it to an x86 guest
//! (`ocxlpmem_core::attach`, the contract with the kernel driver): the
//! register file is the `ivshmem-doorbell` device's BAR2, exactly
//! [`attach::REGISTER_BYTES`], and the card's memory is a `pc-dimm` at a
//! fixed guest-physical range that the descriptor, written into the
//! register file at every reset, names.
//!
//! [`Attached`] wraps [`Card`]: reset is the card's power-on followed by
//! the descriptor; an AFU reset the guest asks for rewrites it too. The
//! card never touches the descriptor's words (its registers end at
//! `GLOBAL_BYTES`, its admin area at `0xa000`), but the guest may scribble
//! them, as on any device.
//!
//! [`Control`] is the host's handle on the running card (the control
//! protocol's `card-fault`, `card-clear-faults`, `card-smart` and the
//! `card` counters): faults armed and SMART changes made there are handed to the card at its next reset, doorbell
//! or tick, by the transport's thread that owns it.

use std::sync::{Arc, Mutex, MutexGuard};

use ocxlpmem_core::attach::{self, Descriptor};

use super::faults::Fault;
use super::smart::{SmartChange, SmartState};
use super::{Card, Counters};
use crate::devices::card::{Device, Registers, Vectors};

/// What the host and the card's thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Faults armed by the host, not yet handed to the card.
    pending: Vec<Fault>,
    /// The host cleared the faults: the card drops its armed ones.
    clear: bool,
    /// The card's counters, as of its last call.
    counters: Counters,
    armed: usize,
    injected: u64,
    /// A power cycle the host asked for, not yet done: ticks until ready
    /// and until memory is available.
    power_cycle: Option<(u32, u32)>,
    /// SMART changes the host asked for, not yet handed to the card.
    smart_changes: Vec<SmartChange>,
    /// The card's SMART state, as of its last call.
    smart: SmartState,
}

/// The most SMART changes waiting for the card.
pub const MAX_SMART_CHANGES: usize = 64;

/// The host's handle on the attached card.
#[derive(Debug, Clone, Default)]
pub struct Control(Arc<Mutex<Shared>>);

impl Control {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        match self.0.lock() {
            Ok(g) => g,
            Err(e) => e.into_inner(),
        }
    }

    /// Arms `fault`; returns the faults armed (pending ones included), or
    /// an error if [`crate::devices::faults::MAX_RULES`] are.
    pub fn arm(&self, fault: Fault) -> Result<usize, crate::devices::faults::TooManyRules> {
        let mut s = self.lock();
        if s.armed + s.pending.len() >= crate::devices::faults::MAX_RULES {
            return Err(crate::devices::faults::TooManyRules);
        }
        s.pending.push(fault);
        Ok(s.armed + s.pending.len())
    }

    /// Powers the card off and on at its next doorbell or tick; it then
    /// reports ready after `ready_ticks` and memory available after
    /// `memory_ticks` ticks (10 ms each).
    pub fn power_cycle(&self, ready_ticks: u32, memory_ticks: u32) {
        self.lock().power_cycle = Some((ready_ticks, memory_ticks));
    }

    /// Hands `change` to the card at its next doorbell or tick (the next
    /// SMART command sees it); refused while [`MAX_SMART_CHANGES`] wait.
    pub fn change_smart(&self, change: SmartChange) -> Result<(), TooManySmartChanges> {
        let mut s = self.lock();
        if s.smart_changes.len() >= MAX_SMART_CHANGES {
            return Err(TooManySmartChanges);
        }
        s.smart_changes.push(change);
        Ok(())
    }

    /// Disarms every fault.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.pending.clear();
        s.clear = true;
        s.armed = 0;
    }

    /// The card's counters: admin commands per opcode, doorbells, resets,
    /// armed and injected faults.
    pub fn json(&self) -> serde_json::Value {
        let s = self.lock();
        let commands: serde_json::Map<String, serde_json::Value> = s
            .counters
            .commands
            .iter()
            .map(|(op, n)| (op.to_string(), serde_json::json!(n)))
            .collect();
        serde_json::json!({
            "commands": commands,
            "doorbells": s.counters.doorbells,
            "resets": s.counters.resets,
            "faults_armed": s.armed + s.pending.len(),
            "faults_injected": s.injected,
            "smart": {
                "life_used": s.smart.life_used,
                "spares": s.smart.spares,
                "media_celsius": s.smart.media_celsius,
                "controller_celsius": s.smart.controller_celsius,
                "dirty_shutdowns": s.smart.dirty_shutdowns,
                "media_errors": s.smart.media_errors,
                "health": s.smart.health().name(),
                "pending_changes": s.smart_changes.len(),
            },
        })
    }
}

/// Too many SMART changes wait for the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_SMART_CHANGES} SMART changes already wait for the card")]
pub struct TooManySmartChanges;

/// The card with its attachment descriptor.
pub struct Attached {
    card: Card,
    descriptor: Descriptor,
    control: Control,
}

impl Attached {
    /// The card `card` with serial number `serial`, whose memory is
    /// `memory_size` bytes at guest physical `memory_base`, reached by the
    /// guest ringing the VMM, ivshmem peer `vmm_peer`.
    pub fn new(
        card: Card,
        serial: u64,
        memory_base: u64,
        memory_size: u64,
        vmm_peer: u16,
        control: Control,
    ) -> Self {
        Attached {
            card,
            descriptor: Descriptor {
                vendor: attach::VENDOR_IBM,
                device: attach::DEVICE_OCXLPMEM,
                memory_base,
                memory_size,
                // Vector 0 of the VMM: any of its vectors means "doorbell".
                doorbell: u32::from(vmm_peer) << 16,
                serial,
            },
            control,
        }
    }

    /// The descriptor the guest finds.
    #[cfg(test)]
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn write_descriptor(&self, regs: &mut dyn Registers) {
        for (off, v) in self.descriptor.encode() {
            regs.write_u64(off, v);
        }
    }

    /// Hands the host's faults and SMART changes to the card.
    fn take_faults(&mut self) {
        let mut s = self.control.lock();
        for c in s.smart_changes.drain(..) {
            self.card.change_smart(&c);
        }
        if std::mem::take(&mut s.clear) {
            self.card.faults.clear();
        }
        for f in s.pending.drain(..) {
            // `arm` keeps armed and pending rules within the cap.
            if let Err(e) = self.card.faults.add(f) {
                log::warn!("ocxlpmem: {e}");
            }
        }
    }

    /// Does the power cycle the host asked for, if any.
    fn take_power_cycle(&mut self, regs: &mut dyn Registers) {
        let cycle = self.control.lock().power_cycle.take();
        if let Some((ready, memory)) = cycle {
            self.card.power_cycle(regs, ready, memory);
            self.write_descriptor(regs);
        }
    }

    /// Publishes the card's counters to the host.
    fn publish(&self) {
        let mut s = self.control.lock();
        s.counters.clone_from(&self.card.counters);
        s.armed = self.card.faults.armed();
        s.smart.clone_from(self.card.smart());
        s.injected = self.card.faults.injected;
    }
}

impl Device for Attached {
    fn register_bytes(&self) -> usize {
        attach::REGISTER_BYTES.max(self.card.register_bytes())
    }

    fn reset(&mut self, regs: &mut dyn Registers) {
        self.take_faults();
        self.card.reset(regs);
        self.write_descriptor(regs);
        self.publish();
    }

    fn doorbell(&mut self, regs: &mut dyn Registers) -> Vectors {
        self.take_faults();
        self.take_power_cycle(regs);
        let resets = self.card.counters.resets;
        let v = self.card.doorbell(regs);
        if self.card.counters.resets != resets {
            // An AFU reset: the card powers on again, descriptor included.
            self.write_descriptor(regs);
        }
        self.publish();
        v
    }

    fn tick(&mut self, regs: &mut dyn Registers) -> Vectors {
        self.take_faults();
        self.take_power_cycle(regs);
        let v = self.card.tick(regs);
        self.publish();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::super::faults::FaultAction;
    use super::super::CardConfig;
    use super::*;
    use ocxlpmem_core::admin::{self, AdminMailbox, Sleep};
    use ocxlpmem_core::commands;
    use ocxlpmem_core::error::Error;
    use ocxlpmem_core::regs::{self, Capabilities, Mmio};

    const SECTION: u64 = 128 << 20;

    /// The register file and the card, as the driver sees them.
    struct Bus {
        regs: Vec<u8>,
        dev: Attached,
    }

    impl Mmio for Bus {
        fn size(&self) -> usize {
            self.regs.len()
        }
        fn read_u64(&self, offset: usize) -> u64 {
            Registers::read_u64(&self.regs, offset)
        }
        fn write_u64(&mut self, offset: usize, value: u64) {
            Registers::write_u64(&mut self.regs, offset, value)
        }
        fn doorbell(&mut self) {
            self.dev.doorbell(&mut self.regs);
        }
    }

    struct NoSleep;
    impl Sleep for NoSleep {
        fn sleep_ms(&mut self, _: u32) {}
    }

    fn bus(control: &Control) -> Bus {
        let dev = Attached::new(
            Card::new(CardConfig::default()),
            crate::config::DEFAULT_OCXL_SERIAL,
            crate::config::OCXL_MEMORY_BASE,
            512 << 20,
            0, // the VMM's ivshmem peer id
            control.clone(),
        );
        let mut regs = vec![0xa5u8; dev.register_bytes()];
        let mut b = Bus {
            regs: Vec::new(),
            dev,
        };
        b.dev.reset(&mut regs);
        b.regs = regs;
        b
    }

    /// What the kernel driver's probe does, up to the heartbeat.
    fn probe(b: &mut Bus) -> Result<Descriptor, Error> {
        let d = Descriptor::read(b, SECTION)?.expect("a descriptor");
        let caps = Capabilities::read(b)?;
        commands::wait_ready(b, &caps, &mut NoSleep)?;
        let mut mb = AdminMailbox::probe(b)?;
        commands::heartbeat(b, &mut mb, &mut NoSleep)?;
        Ok(d)
    }

    #[test]
    fn the_driver_finds_the_descriptor_and_a_working_card() {
        let control = Control::default();
        let mut b = bus(&control);
        assert_eq!(b.regs.len(), attach::REGISTER_BYTES);
        let d = probe(&mut b).unwrap();
        assert_eq!(d, *b.dev.descriptor());
        assert_eq!(d.memory_base, 65 << 30);
        assert_eq!(d.doorbell, 0);
        assert_eq!(d.pmem(SECTION), ((65 << 30) + SECTION, 384 << 20));
        // The card leaves the descriptor alone, and everything past it.
        assert_eq!(d.serial, crate::config::DEFAULT_OCXL_SERIAL);
        assert!(b.regs[attach::D_SERIAL + 8..].iter().all(|x| *x == 0xa5));
        let j = control.json();
        assert_eq!(j["commands"]["0"], 1);
        assert_eq!(j["resets"], 1);
    }

    #[test]
    fn afu_reset_and_transport_reset_rewrite_the_descriptor() {
        let control = Control::default();
        let mut b = bus(&control);
        for (off, _) in b.dev.descriptor().encode() {
            Registers::write_u64(&mut b.regs, off, 0);
        }
        assert_eq!(Descriptor::read(&b, SECTION).unwrap(), None);
        regs::set_bits(&mut b, regs::HCI, regs::hci::AFU_RESET).unwrap();
        assert!(probe(&mut b).is_ok());
        Registers::write_u64(&mut b.regs, attach::D_MAGIC, 1);
        let mut r = std::mem::take(&mut b.regs);
        b.dev.reset(&mut r);
        b.regs = r;
        assert!(probe(&mut b).is_ok());
        assert_eq!(control.json()["resets"], 3);
    }

    #[test]
    fn host_faults_reach_the_card() {
        let control = Control::default();
        let mut b = bus(&control);
        let armed = control
            .arm(Fault {
                opcode: Some(admin::HEARTBEAT),
                action: FaultAction::Status(admin::STATUS_FAIL),
                remaining: Some(1),
            })
            .unwrap();
        assert_eq!(armed, 1);
        assert_eq!(control.json()["faults_armed"], 1);
        let e = probe(&mut b).unwrap_err();
        assert!(matches!(e, Error::Status { .. }), "{e:?}");
        assert_eq!(control.json()["faults_injected"], 1);
        assert_eq!(control.json()["faults_armed"], 0);
        assert!(probe(&mut b).is_ok(), "one command only");
        // Armed until cleared.
        control
            .arm(Fault {
                opcode: None,
                action: FaultAction::Status(admin::STATUS_FAIL),
                remaining: None,
            })
            .unwrap();
        assert!(probe(&mut b).is_err());
        assert!(probe(&mut b).is_err());
        control.clear();
        assert!(probe(&mut b).is_ok());
        assert_eq!(control.json()["faults_armed"], 0);
    }

    /// The card's health as the driver reads it.
    fn health(b: &mut Bus) -> ocxlpmem_core::smart::Health {
        let mut mb = AdminMailbox::probe(b).unwrap();
        let mut out = [0u8; 16 * 16];
        let r = commands::smart(b, &mut mb, &mut NoSleep, &mut out).unwrap();
        let attrs =
            (0..r.copied).map(|i| ocxlpmem_core::data::SmartAttribute::parse(&out, i).unwrap());
        ocxlpmem_core::smart::Health::from_attributes(attrs)
    }

    #[test]
    fn host_smart_changes_reach_the_next_answer() {
        use super::super::smart::SmartChange;
        use ocxlpmem_core::smart::HealthState;
        let control = Control::default();
        let mut b = bus(&control);
        probe(&mut b).unwrap();
        let before = health(&mut b);
        assert_eq!(before.life_used(), Some(2));
        assert_eq!(before.health, Some(HealthState::Ok.value()));
        control
            .change_smart(SmartChange {
                life_used: Some(95),
                media_celsius: Some(90),
                dirty_shutdown: true,
                media_errors: 2,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(control.json()["smart"]["pending_changes"], 1);
        // The next doorbell hands the change to the card before serving.
        let after = health(&mut b);
        assert_eq!(after.life_used(), Some(95));
        assert_eq!(after.media_temperature, Some(90));
        assert_eq!(after.dirty_shutdowns, Some(1));
        assert_eq!(after.media_errors, Some(2));
        assert_eq!(after.health, Some(HealthState::Critical.value()));
        let j = control.json();
        assert_eq!(j["smart"]["health"], "critical");
        assert_eq!(j["smart"]["pending_changes"], 0);
        // Statistics follow the wear.
        let mut mb = AdminMailbox::probe(&b).unwrap();
        let st = commands::controller_stats(&mut b, &mut mb, &mut NoSleep).unwrap();
        assert_eq!(st.life_remaining, 5);
        // Bounded: changes wait for the card at most MAX_SMART_CHANGES deep.
        for _ in 0..MAX_SMART_CHANGES {
            control.change_smart(SmartChange::default()).unwrap();
        }
        assert_eq!(
            control.change_smart(SmartChange::default()),
            Err(TooManySmartChanges)
        );
    }

    /// One tick of the card (where a power cycle the host asked for
    /// happens, between the driver's commands).
    fn tick(b: &mut Bus) {
        let mut r = std::mem::take(&mut b.regs);
        b.dev.tick(&mut r);
        b.regs = r;
    }

    #[test]
    fn power_cycles_without_shutdown_are_dirty() {
        let control = Control::default();
        let mut b = bus(&control);
        probe(&mut b).unwrap();
        assert_eq!(health(&mut b).dirty_shutdowns, Some(0));
        // Power lost with the controller running: dirty.
        control.power_cycle(0, 0);
        tick(&mut b);
        probe(&mut b).unwrap();
        assert_eq!(health(&mut b).dirty_shutdowns, Some(1));
        // Shut down first: clean.
        let mut mb = AdminMailbox::probe(&b).unwrap();
        commands::shutdown(&mut b, &mut mb, &mut NoSleep).unwrap();
        control.power_cycle(0, 0);
        tick(&mut b);
        probe(&mut b).unwrap();
        assert_eq!(health(&mut b).dirty_shutdowns, Some(1));
        // An AFU reset is no power loss.
        regs::set_bits(&mut b, regs::HCI, regs::hci::AFU_RESET).unwrap();
        probe(&mut b).unwrap();
        assert_eq!(health(&mut b).dirty_shutdowns, Some(1));
    }
}
