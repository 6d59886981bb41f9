// SPDX-License-Identifier: GPL-2.0

//! Read-only sysfs attributes of a provider's bus and DIMMs.
//!
//! Providers publish information in a named group under the bus
//! (`ndbusN/<group>/<attribute>`, the NFIT driver's `nfit/revision`) and
//! under each DIMM (`nmemN/<group>/<attribute>`: `nfit/handle`,
//! papr_scm's `papr/flags`). Each group is described once per bus by an
//! [`AttributeGroup`]; values come from the provider's `show_*_attribute`
//! callbacks and DIMM attribute visibility from
//! [`Provider::dimm_attribute_visible`](super::Provider::dimm_attribute_visible).

use crate::{bindings, prelude::*};
use core::{fmt, ptr};

/// A named group of read-only attributes.
#[derive(Clone, Copy)]
pub struct AttributeGroup {
    /// The group's directory under the DIMM.
    pub name: &'static CStr,
    /// The attributes; their index in this slice identifies them in the
    /// provider's callbacks.
    pub attributes: &'static [&'static CStr],
    /// Bit `n` set: attribute `n` is readable by root only (mode 0400, C's
    /// `DEVICE_ATTR_ADMIN_RO`); the others are world-readable (0444).
    pub admin_only: u64,
    /// Bit `n` set: root may also write attribute `n` (mode 0644, C's
    /// `DEVICE_ATTR_RW`); only bus attributes can be written (see
    /// [`Provider::store_bus_attribute`](super::Provider::store_bus_attribute)).
    pub writable: u64,
}

impl AttributeGroup {
    /// The sysfs mode of attribute `index`.
    pub const fn mode(&self, index: usize) -> u16 {
        let bit = if index < 64 { 1u64 << index } else { 0 };
        let read = if self.admin_only & bit != 0 {
            0o400
        } else {
            0o444
        };
        if self.writable & bit != 0 {
            read | 0o200
        } else {
            read
        }
    }
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
/// `_ptrs` holds a pointer to every `attr` of `slots` and a final null;
/// `_group.attrs` points at `_ptrs` and `groups` at `_group`. None of the
/// buffers is resized after construction, so the pointers stay valid for
/// the lifetime of `self`. (`_ptrs` and `_group` are only read by C.)
pub(super) struct GroupStorage {
    slots: KVec<AttributeSlot>,
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

impl GroupStorage {
    pub(super) fn new(
        def: &AttributeGroup,
        show: ShowFn,
        store: Option<StoreFn>,
        visible: Option<VisibleFn>,
    ) -> Result<Self> {
        let n = def.attributes.len();
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for (index, name) in def.attributes.iter().enumerate() {
            let mut attr: bindings::device_attribute = pin_init::zeroed();
            attr.attr.name = name.as_char_ptr();
            attr.attr.mode = def.mode(index);
            attr.__bindgen_anon_1.show = Some(show);
            if attr.attr.mode & 0o200 != 0 {
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
        group.name = def.name.as_char_ptr();
        group.__bindgen_anon_1.is_visible = visible;
        group.__bindgen_anon_2.attrs = ptrs.as_mut_ptr();
        let group = KBox::new(group, GFP_KERNEL)?;
        let mut groups = KVec::with_capacity(2, GFP_KERNEL)?;
        groups.push(ptr::from_ref(&*group), GFP_KERNEL)?;
        groups.push(ptr::null(), GFP_KERNEL)?;
        Ok(Self {
            slots,
            _ptrs: ptrs,
            _group: group,
            groups,
        })
    }

    /// The null-terminated group list for `__nvdimm_create()`.
    pub(super) fn groups(&self) -> *mut *const bindings::attribute_group {
        self.groups.as_ptr().cast_mut()
    }

    /// Number of attributes.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
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

    #[test]
    fn attribute_modes() {
        let group = AttributeGroup {
            name: c"g",
            attributes: &[c"a", c"b", c"c", c"d"],
            admin_only: 0b1010,
            writable: 0b1100,
        };
        // Read-only, root-only, root-writable, root-only and root-writable.
        assert_eq!(group.mode(0), 0o444);
        assert_eq!(group.mode(1), 0o400);
        assert_eq!(group.mode(2), 0o644);
        assert_eq!(group.mode(3), 0o600);
        // Indexes past the masks are plain read-only.
        assert_eq!(group.mode(64), 0o444);
        assert_eq!(group.mode(usize::MAX), 0o444);
    }
}
