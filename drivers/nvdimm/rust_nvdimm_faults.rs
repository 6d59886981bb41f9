// SPDX-License-Identifier: GPL-2.0

//! KUnit cases in which the libnvdimm core fails on purpose, for the error
//! paths of `kernel::nvdimm`.
//!
//! The only failure a test can cause in the core is a device_add() that
//! meets a duplicate sysfs name, which the core reports with a warning and
//! a stack dump. So these cases run when this module is loaded (the `kunit`
//! boot scenario loads it and expects the dump), not at boot with the
//! quiet suites, where every boot's clean-dmesg check would see it.
//!
//! The cases count the provider data they drop, which any kernel can judge.
//! What the core unwinds behind a failure (the device, its name, its ida
//! index, its sysfs nodes) only the debug kernels can judge: kmemleak,
//! scanned at the end of the `kunit` scenario, finds what a failed
//! registration leaked, and KASAN (x86) a use of what it freed.

use kernel::prelude::*;

module! {
    type: NvdimmFaults,
    name: "rust_nvdimm_faults",
    authors: ["nvdimm-rs developers"],
    description: "KUnit cases for the error paths of the Rust libnvdimm abstractions",
    license: "GPL",
}

struct NvdimmFaults;

impl kernel::Module for NvdimmFaults {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(rust_nvdimm_faults)]
mod tests {
    use super::*;
    use core::fmt::Write;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use kernel::{
        device::Bound,
        faux,
        nvdimm::{AttributeOutput, Bus, BusOptions, DimmOptions, Provider},
    };

    /// A bus whose sysfs groups name one attribute twice when asked to, so
    /// that the core's device_add() of the bus or of a DIMM fails.
    struct Clashing {
        bus_clash: bool,
    }

    /// A DIMM of [`Clashing`]; `clash` makes its registration fail.
    struct TestDimm {
        tag: u32,
        clash: bool,
    }

    /// Provider data dropped since [`reset_drops`]: every [`Clashing`] and
    /// [`TestDimm`] must be dropped exactly once, registered or not. (The
    /// cases of a suite run one after the other.)
    static BUSES_DROPPED: AtomicUsize = AtomicUsize::new(0);
    static DIMMS_DROPPED: AtomicUsize = AtomicUsize::new(0);

    fn reset_drops() {
        BUSES_DROPPED.store(0, Ordering::SeqCst);
        DIMMS_DROPPED.store(0, Ordering::SeqCst);
    }

    /// `(buses, DIMMs)` dropped since [`reset_drops`].
    fn drops() -> (usize, usize) {
        (
            BUSES_DROPPED.load(Ordering::SeqCst),
            DIMMS_DROPPED.load(Ordering::SeqCst),
        )
    }

    impl Drop for Clashing {
        fn drop(&mut self) {
            BUSES_DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Drop for TestDimm {
        fn drop(&mut self) {
            DIMMS_DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }

    kernel::nvdimm_attributes! {
        /// One file name twice: the second makes sysfs refuse the group.
        enum Tag in c"kunit" {
            Tag = c"tag",
            Again = c"tag",
        }
    }

    #[vtable]
    impl Provider for Clashing {
        type Dimm = TestDimm;
        type Region = ();

        type BusAttribute = Tag;
        type DimmAttribute = Tag;
        type RegionAttribute = kernel::nvdimm::NoAttributes;

        fn show_bus_attribute(&self, _attr: Tag, out: &mut AttributeOutput<'_>) -> Result {
            writeln!(out, "bus").map_err(|_| EOVERFLOW)
        }

        fn bus_attribute_visible(&self, attr: Tag) -> bool {
            attr == Tag::Tag || self.bus_clash
        }

        fn show_dimm_attribute(
            &self,
            dimm: &TestDimm,
            _attr: Tag,
            out: &mut AttributeOutput<'_>,
        ) -> Result {
            writeln!(out, "{}", dimm.tag).map_err(|_| EOVERFLOW)
        }

        fn dimm_attribute_visible(&self, dimm: &TestDimm, attr: Tag) -> bool {
            attr == Tag::Tag || dimm.clash
        }
    }

    /// A bound device to own the test buses.
    fn owner() -> Result<faux::Registration> {
        faux::Registration::new(c"rust_nvdimm_faults", None)
    }

    fn register(owner: &faux::Registration, bus_clash: bool) -> Result<Pin<KBox<Bus<Clashing>>>> {
        let faux: &faux::Device<Bound> = owner.as_ref();
        Bus::register(
            kernel::module::this_module::<LocalModule>(),
            faux.as_ref(),
            None,
            &BusOptions {
                provider_name: c"rust_nvdimm_faults",
                of_node: None,
                dimm_families: &[],
                bus_commands: kernel::nvdimm::BusCommands::empty(),
                bus_families: kernel::nvdimm::BusFamilies::empty(),
            },
            Clashing { bus_clash },
        )
    }

    fn dimm(tag: u32, clash: bool) -> TestDimm {
        TestDimm { tag, clash }
    }

    #[test]
    fn failed_dimm_leaves_the_bus_usable() -> Result {
        let owner = owner()?;
        let bus = register(&owner, false)?;
        let first = bus.add_dimm(dimm(1, false), &DimmOptions::default())?;
        // device_add() fails, and the core frees the DIMM.
        let failed = bus.add_dimm(dimm(2, true), &DimmOptions::default());
        assert!(failed.is_err());
        // The bus takes further DIMMs, and each id leads to its own data.
        let next = bus.add_dimm(dimm(3, false), &DimmOptions::default());
        assert!(next.is_ok());
        let next = next?;
        let last = bus.add_dimm(dimm(4, false), &DimmOptions::default())?;
        assert_eq!(bus.dimm(first).map(|d| d.tag), Some(1));
        assert_eq!(bus.dimm(next).map(|d| d.tag), Some(3));
        assert_eq!(bus.dimm(last).map(|d| d.tag), Some(4));
        // The new DIMMs are registered: their attributes exist.
        assert!(bus.dimm_attribute_notifier(next, Tag::Tag).is_some());
        assert!(bus.dimm_attribute_notifier(last, Tag::Tag).is_some());
        // Dropping the bus unregisters what is left.
        drop(bus);
        Ok(())
    }

    #[test]
    fn failed_registration_unwinds() -> Result {
        // device_add() of the bus fails: nothing is registered, and the
        // registration's data goes away without an unregistration.
        let owner = owner()?;
        assert!(register(&owner, true).is_err());
        // The next bus registers and works.
        let bus = register(&owner, false)?;
        let id = bus.add_dimm(dimm(5, false), &DimmOptions::default())?;
        assert_eq!(bus.dimm(id).map(|d| d.tag), Some(5));
        Ok(())
    }

    #[test]
    fn failed_dimm_drops_its_data_once() -> Result {
        let owner = owner()?;
        reset_drops();
        let bus = register(&owner, false)?;
        bus.add_dimm(dimm(1, false), &DimmOptions::default())?;
        assert_eq!(drops(), (0, 0));
        // The core freed the DIMM it could not add; the abstraction drops
        // the provider data it had boxed for it, once.
        assert!(bus
            .add_dimm(dimm(2, true), &DimmOptions::default())
            .is_err());
        assert_eq!(drops(), (0, 1));
        // Unregistering drops the registered DIMM's data and the provider.
        drop(bus);
        assert_eq!(drops(), (1, 2));
        Ok(())
    }

    #[test]
    fn failed_registration_drops_its_provider_once() -> Result {
        let owner = owner()?;
        reset_drops();
        assert!(register(&owner, true).is_err());
        assert_eq!(drops(), (1, 0));
        Ok(())
    }

    #[test]
    fn repeated_failures_unwind_completely() -> Result {
        // Each failure repeated: whatever one of them leaves behind in the
        // core (a device, a name, an index) is multiplied for kmemleak, and
        // a stale pointer to a freed one is used again under KASAN.
        const ROUNDS: usize = 4;
        let owner = owner()?;
        reset_drops();
        for _ in 0..ROUNDS {
            assert!(register(&owner, true).is_err());
        }
        let bus = register(&owner, false)?;
        for round in 0..ROUNDS {
            let tag = u32::try_from(round).map_err(|_| EINVAL)?;
            assert!(bus
                .add_dimm(dimm(tag, true), &DimmOptions::default())
                .is_err());
        }
        assert_eq!(drops(), (ROUNDS, ROUNDS));
        let id = bus.add_dimm(dimm(99, false), &DimmOptions::default())?;
        assert_eq!(bus.dimm(id).map(|d| d.tag), Some(99));
        drop(bus);
        assert_eq!(drops(), (ROUNDS + 1, ROUNDS + 1));
        Ok(())
    }
}
