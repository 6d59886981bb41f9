// SPDX-License-Identifier: GPL-2.0

//! sysfs attributes of a provider's bus and DIMMs.
//!
//! Providers publish information in a named group under the bus
//! (`ndbusN/<group>/<attribute>`, the NFIT driver's `nfit/revision`) and
//! under each DIMM (`nmemN/<group>/<attribute>`: `nfit/handle`,
//! papr_scm's `papr/flags`). Each group is an [`Attribute`] enum, built
//! into C structures once per bus; values come from the provider's
//! `show_*_attribute` callbacks, which get the enum value, and visibility
//! from its `*_attribute_visible` callbacks.

use crate::{bindings, prelude::*};
use core::{fmt, ptr};

/// Who may read and write an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// World-readable (0444, C's `DEVICE_ATTR_RO`).
    ReadOnly,
    /// Readable by root only (0400, C's `DEVICE_ATTR_ADMIN_RO`).
    AdminReadOnly,
    /// World-readable, writable by root (0644, C's `DEVICE_ATTR_RW`); only
    /// bus attributes can be written (see
    /// [`Provider::store_bus_attribute`](super::Provider::store_bus_attribute)).
    ReadWrite,
    /// Readable and writable by root only (0600).
    AdminReadWrite,
}

impl Mode {
    /// The sysfs file mode.
    pub const fn bits(self) -> u16 {
        match self {
            Self::ReadOnly => 0o444,
            Self::AdminReadOnly => 0o400,
            Self::ReadWrite => 0o644,
            Self::AdminReadWrite => 0o600,
        }
    }

    /// Whether the attribute takes writes.
    pub const fn writable(self) -> bool {
        matches!(self, Self::ReadWrite | Self::AdminReadWrite)
    }
}

/// The sysfs attributes a provider publishes in one named group under the
/// bus (`ndbusN/<group>/<attribute>`) or under each DIMM
/// (`nmemN/<group>/<attribute>`): a fieldless enum, usually declared with
/// [`nvdimm_attributes!`](crate::nvdimm_attributes). The callbacks get the
/// attribute itself, never an index or a name to dispatch on.
pub trait Attribute: Copy + PartialEq + Send + Sync + 'static {
    /// The group's directory.
    const GROUP: &'static CStr;
    /// Every attribute, in the order sysfs creates them.
    const ALL: &'static [Self];
    /// The file's name.
    fn name(self) -> &'static CStr;
    /// The file's mode.
    fn mode(self) -> Mode {
        Mode::ReadOnly
    }
}

/// No attributes: a provider without a group of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoAttributes {}

impl Attribute for NoAttributes {
    const GROUP: &'static CStr = c"";
    const ALL: &'static [Self] = &[];

    fn name(self) -> &'static CStr {
        match self {}
    }
}

/// Declares a fieldless enum of sysfs attributes and implements
/// [`Attribute`](crate::nvdimm::Attribute) for it: the group's directory
/// follows `in`, each variant names its file and may give a
/// [`Mode`](crate::nvdimm::Mode) after a colon (read-only otherwise).
///
/// ```ignore
/// kernel::nvdimm_attributes! {
///     /// The `sample/*` DIMM attributes.
///     enum SampleAttribute in c"sample" {
///         /// Label reads so far.
///         LabelReads = c"label_reads",
///         /// Only root may read it.
///         Secret = c"secret": AdminReadOnly,
///     }
/// }
/// ```
#[macro_export]
macro_rules! nvdimm_attributes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $group:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $file:literal $(: $mode:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),*
        }

        impl $crate::nvdimm::Attribute for $name {
            const GROUP: &'static $crate::prelude::CStr = $group;
            const ALL: &'static [Self] = &[ $( Self::$variant ),* ];

            fn name(self) -> &'static $crate::prelude::CStr {
                match self {
                    $( Self::$variant => $file ),*
                }
            }

            fn mode(self) -> $crate::nvdimm::Mode {
                match self {
                    $( Self::$variant => $crate::nvdimm_attributes!(@mode $($mode)?) ),*
                }
            }
        }
    };
    (@mode) => { $crate::nvdimm::Mode::ReadOnly };
    (@mode $mode:ident) => { $crate::nvdimm::Mode::$mode };
}

/// Where a `show` callback writes its text: one page, as sysfs gives it.
pub struct AttributeOutput<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> AttributeOutput<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Write for AttributeOutput<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Runs a `show` callback on the page sysfs passed in and turns its result
/// into what `show` returns: the length written or a negative errno.
///
/// # Safety
///
/// `buf` is valid for writes of `PAGE_SIZE` bytes for the duration of the
/// call (sysfs guarantees this for `show`).
pub(super) unsafe fn show_page(
    buf: *mut c_char,
    show: impl FnOnce(&mut AttributeOutput<'_>) -> Result,
) -> isize {
    // SAFETY: Per the function's safety requirements.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE) };
    let mut out = AttributeOutput::new(page);
    match show(&mut out) {
        Ok(()) => isize::try_from(out.len()).unwrap_or(0),
        Err(e) => e.to_errno() as isize,
    }
}

/// One attribute, with its index in the group.
#[repr(C)]
pub(super) struct AttributeSlot {
    pub(super) attr: bindings::device_attribute,
    pub(super) index: usize,
}

/// The C structures of a group, built once per bus and shared by its DIMMs.
///
/// # Invariants
///
/// `_ptrs` holds a pointer to every `attr` of `_slots` and a final null;
/// `_group.attrs` points at `_ptrs` and `groups` at `_group`. None of the
/// buffers is resized after construction, so the pointers stay valid for
/// the lifetime of `self`. (`_ptrs` and `_group` are only read by C.)
pub(super) struct GroupStorage {
    /// Read by C only, through `_ptrs`.
    _slots: KVec<AttributeSlot>,
    _ptrs: KVec<*mut bindings::attribute>,
    _group: KBox<bindings::attribute_group>,
    groups: KVec<*const bindings::attribute_group>,
}

/// The C callbacks of a group.
pub(super) type ShowFn = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *mut c_char,
) -> isize;
pub(super) type StoreFn = unsafe extern "C" fn(
    *mut bindings::device,
    *mut bindings::device_attribute,
    *const c_char,
    usize,
) -> isize;
pub(super) type VisibleFn =
    unsafe extern "C" fn(*mut bindings::kobject, *mut bindings::attribute, c_int) -> u16;

/// What [`GroupStorage::build`] needs of an attribute set, without its type.
pub(super) struct GroupSpec {
    name: &'static CStr,
    n: usize,
    /// The name and mode of attribute `i` of `n`.
    attribute: fn(usize) -> Option<(&'static CStr, Mode)>,
    show: ShowFn,
    store: Option<StoreFn>,
    visible: Option<VisibleFn>,
}

/// Name and mode of attribute `index` of `A`.
fn attribute_of<A: Attribute>(index: usize) -> Option<(&'static CStr, Mode)> {
    A::ALL.get(index).map(|a| (a.name(), a.mode()))
}

impl GroupSpec {
    /// The group of attribute set `A` with these callbacks.
    #[inline]
    pub(super) fn of<A: Attribute>(
        show: ShowFn,
        store: Option<StoreFn>,
        visible: Option<VisibleFn>,
    ) -> Self {
        Self {
            name: A::GROUP,
            n: A::ALL.len(),
            attribute: attribute_of::<A>,
            show,
            store,
            visible,
        }
    }
}

/// The groups of a bus: its DIMMs', its regions' and its own (`None`: no
/// attributes).
pub(super) struct BusGroups {
    pub(super) dimm: Option<GroupStorage>,
    pub(super) region: Option<GroupStorage>,
    pub(super) bus: Option<GroupStorage>,
}

impl BusGroups {
    /// Builds the three groups. Not generic, so that the vectors' code is
    /// built into the kernel once rather than into every provider module
    /// (where each function called across objects costs the powerpc module
    /// loader a stub), and one call for all three.
    pub(super) fn build(dimm: &GroupSpec, region: &GroupSpec, bus: &GroupSpec) -> Result<Self> {
        Ok(Self {
            dimm: GroupStorage::build(dimm)?,
            region: GroupStorage::build(region)?,
            bus: GroupStorage::build(bus)?,
        })
    }
}

impl GroupStorage {
    /// The C group of `spec`; `None` when it has no attributes.
    fn build(spec: &GroupSpec) -> Result<Option<Self>> {
        let GroupSpec {
            name: group_name,
            n,
            attribute,
            show,
            store,
            visible,
        } = *spec;
        if n == 0 {
            return Ok(None);
        }
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for index in 0..n {
            let (name, mode) = attribute(index).ok_or(EINVAL)?;
            let mut attr: bindings::device_attribute = pin_init::zeroed();
            attr.attr.name = name.as_char_ptr();
            attr.attr.mode = mode.bits();
            attr.__bindgen_anon_1.show = Some(show);
            if mode.writable() {
                attr.__bindgen_anon_2.store = store;
            }
            slots.push(AttributeSlot { attr, index }, GFP_KERNEL)?;
        }
        let mut ptrs = KVec::with_capacity(n + 1, GFP_KERNEL)?;
        for slot in slots.iter_mut() {
            // SAFETY: `slot.attr.attr` is a valid attribute that sysfs will
            // use; it gets a lockdep key before being registered.
            unsafe { bindings::sysfs_attr_init(&mut slot.attr.attr) };
            ptrs.push(ptr::from_mut(&mut slot.attr.attr), GFP_KERNEL)?;
        }
        ptrs.push(ptr::null_mut(), GFP_KERNEL)?;
        let mut group: bindings::attribute_group = pin_init::zeroed();
        group.name = group_name.as_char_ptr();
        group.__bindgen_anon_1.is_visible = visible;
        group.__bindgen_anon_2.attrs = ptrs.as_mut_ptr();
        let group = KBox::new(group, GFP_KERNEL)?;
        let mut groups = KVec::with_capacity(2, GFP_KERNEL)?;
        groups.push(ptr::from_ref(&*group), GFP_KERNEL)?;
        groups.push(ptr::null(), GFP_KERNEL)?;
        Ok(Some(Self {
            _slots: slots,
            _ptrs: ptrs,
            _group: group,
            groups,
        }))
    }

    /// The null-terminated group list for `__nvdimm_create()`.
    #[inline]
    pub(super) fn groups(&self) -> *mut *const bindings::attribute_group {
        self.groups.as_ptr().cast_mut()
    }
}

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_sysfs)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn output_stops_at_the_page() {
        let mut page = [0u8; 8];
        let mut out = AttributeOutput::new(&mut page);
        assert!(writeln!(out, "0x{:x}", 0x12u32).is_ok());
        assert_eq!(out.len(), 5);
        assert!(write!(out, "toolong").is_err());
        assert_eq!(out.len(), 5);
        assert_eq!(&page[..5], b"0x12\n");
    }

    crate::nvdimm_attributes! {
        enum Sample in c"g" {
            A = c"a",
            B = c"b": AdminReadOnly,
            C = c"c": ReadWrite,
            D = c"d": AdminReadWrite,
        }
    }

    #[test]
    fn attribute_modes() {
        assert_eq!(Sample::GROUP, c"g");
        assert_eq!(Sample::ALL, &[Sample::A, Sample::B, Sample::C, Sample::D]);
        assert_eq!(Sample::C.name(), c"c");
        let modes: [u16; 4] = [0, 1, 2, 3].map(|i| Sample::ALL[i].mode().bits());
        // Read-only, root-only, root-writable, root-only and root-writable.
        assert_eq!(modes, [0o444, 0o400, 0o644, 0o600]);
        assert!(!Sample::B.mode().writable());
        assert!(Sample::D.mode().writable());
        assert!(NoAttributes::ALL.is_empty());
    }
}
