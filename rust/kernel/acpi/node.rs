// SPDX-License-Identifier: GPL-2.0

//! ACPI namespace devices, method evaluation and `_DSM`.
//!
//! [`Node`] holds a reference on a `struct acpi_device` (an ACPI namespace
//! device that Linux enumerated) and evaluates its methods; results come
//! back as an owned [`Object`] that is freed on drop. Only the object types
//! drivers consume are exposed (integers, buffers, packages of those), and
//! every access is bounds-checked: firmware answers are untrusted.
//!
//! C headers: [`include/acpi/acpi_bus.h`](srctree/include/acpi/acpi_bus.h),
//! [`include/linux/acpi.h`](srctree/include/linux/acpi.h).

use crate::{bindings, device, error::to_result, prelude::*};
use core::ptr::{self, NonNull};

/// `ACPI_ALLOCATE_BUFFER`: let ACPICA allocate the return buffer.
const ACPI_ALLOCATE_BUFFER: u64 = u64::MAX;

/// A GUID in its in-memory (mixed-endian) byte order, as `_DSM` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds a GUID from its textual fields, `a-b-c-d[0..2]-d[2..8]`.
    pub const fn new(a: u32, b: u16, c: u16, d: [u8; 8]) -> Self {
        let a = a.to_le_bytes();
        let b = b.to_le_bytes();
        let c = c.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5],
            d[6], d[7],
        ])
    }

    fn as_raw(&self) -> bindings::guid_t {
        // SAFETY: `guid_t` is 16 bytes without padding or invalid values.
        unsafe { core::mem::transmute::<[u8; 16], bindings::guid_t>(self.0) }
    }
}

/// An argument of a method call.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// An integer.
    Integer(u64),
    /// A buffer.
    Buffer(&'a [u8]),
}

impl Arg<'_> {
    fn to_raw(self) -> Result<bindings::acpi_object> {
        let mut obj: bindings::acpi_object = pin_init::zeroed();
        match self {
            Arg::Integer(value) => {
                obj.integer.type_ = bindings::ACPI_TYPE_INTEGER;
                obj.integer.value = value;
            }
            Arg::Buffer(bytes) => {
                obj.buffer.type_ = bindings::ACPI_TYPE_BUFFER;
                obj.buffer.length = u32::try_from(bytes.len()).map_err(|_| EINVAL)?;
                // ACPICA copies argument buffers and never writes them.
                obj.buffer.pointer = bytes.as_ptr().cast_mut();
            }
        }
        Ok(obj)
    }
}

/// A method's return value, owned and freed on drop.
///
/// # Invariants
///
/// `ptr` is an `acpi_object` allocated by ACPICA for the caller, whose
/// nested buffers and elements live in the same allocation.
pub struct Object {
    ptr: NonNull<bindings::acpi_object>,
}

// SAFETY: An `Object` exclusively owns its allocation; nothing in it is tied
// to a thread.
unsafe impl Send for Object {}
// SAFETY: Shared access only reads.
unsafe impl Sync for Object {}

/// A borrowed view of a returned value or of an element of a package.
#[derive(Clone, Copy)]
pub struct ObjectRef<'a> {
    raw: &'a bindings::acpi_object,
}

impl<'a> ObjectRef<'a> {
    /// The ACPI type of the value (`ACPI_TYPE_*`).
    pub fn kind(&self) -> u32 {
        // SAFETY: Every variant of the union starts with the type.
        unsafe { self.raw.type_ }
    }

    /// The integer, if the value is one.
    pub fn integer(&self) -> Option<u64> {
        if self.kind() != bindings::ACPI_TYPE_INTEGER {
            return None;
        }
        // SAFETY: The type says the integer variant is valid.
        Some(unsafe { self.raw.integer.value })
    }

    /// The bytes, if the value is a buffer.
    pub fn buffer(&self) -> Option<&'a [u8]> {
        if self.kind() != bindings::ACPI_TYPE_BUFFER {
            return None;
        }
        // SAFETY: The type says the buffer variant is valid.
        let buf = unsafe { self.raw.buffer };
        if buf.length == 0 {
            return Some(&[]);
        }
        if buf.pointer.is_null() {
            return None;
        }
        // SAFETY: ACPICA hands out buffers of `length` bytes that live as long
        // as the object they belong to.
        Some(unsafe { core::slice::from_raw_parts(buf.pointer, buf.length as usize) })
    }

    /// Element `i`, if the value is a package that has one.
    pub fn element(&self, i: usize) -> Option<ObjectRef<'a>> {
        if self.kind() != bindings::ACPI_TYPE_PACKAGE {
            return None;
        }
        // SAFETY: The type says the package variant is valid.
        let pkg = unsafe { self.raw.package };
        if i >= pkg.count as usize || pkg.elements.is_null() {
            return None;
        }
        // SAFETY: A package's `elements` holds `count` objects that live as
        // long as the package.
        let raw = unsafe { &*pkg.elements.add(i) };
        Some(ObjectRef { raw })
    }

    /// Number of elements of a package (0 for anything else).
    pub fn len(&self) -> usize {
        if self.kind() != bindings::ACPI_TYPE_PACKAGE {
            return 0;
        }
        // SAFETY: The type says the package variant is valid.
        unsafe { self.raw.package.count as usize }
    }

    /// Whether this is an empty package (or no package).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Object {
    /// # Safety
    ///
    /// `ptr` is null or an object ACPICA allocated for the caller.
    unsafe fn from_raw(ptr: *mut bindings::acpi_object) -> Option<Self> {
        NonNull::new(ptr).map(|ptr| Object { ptr })
    }

    /// A view of the value.
    pub fn get(&self) -> ObjectRef<'_> {
        // SAFETY: `ptr` is valid while `self` lives (type invariant).
        let raw = unsafe { self.ptr.as_ref() };
        ObjectRef { raw }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: ACPICA allocates returned objects with kmalloc (ACPI_FREE
        // is kfree in Linux) and we own this one.
        unsafe { bindings::kfree(self.ptr.as_ptr().cast()) };
    }
}

/// A reference-counted ACPI namespace device.
///
/// # Invariants
///
/// `adev` points at a live `struct acpi_device` on which this `Node` holds
/// a reference (through its embedded `struct device`).
pub struct Node {
    adev: NonNull<bindings::acpi_device>,
}

// SAFETY: The reference may be dropped and the methods evaluated from any
// thread; ACPICA serialises evaluation itself.
unsafe impl Send for Node {}
// SAFETY: All methods take `&self` and only evaluate methods.
unsafe impl Sync for Node {}

impl Node {
    /// # Safety
    ///
    /// `adev` is null or a live ACPI device.
    unsafe fn get(adev: *mut bindings::acpi_device) -> Option<Self> {
        let adev = NonNull::new(adev)?;
        // SAFETY: `adev` is live; the reference keeps it so.
        unsafe { bindings::get_device(&raw mut (*adev.as_ptr()).dev) };
        Some(Node { adev })
    }

    /// The ACPI companion of a device, if it has one.
    pub fn of_device<Ctx: device::DeviceContext>(dev: &device::Device<Ctx>) -> Option<Self> {
        // SAFETY: `dev` is a live device; its fwnode, if any, lives with it.
        let fwnode = unsafe { (*dev.as_raw()).fwnode };
        // SAFETY: `is_acpi_device_node` accepts null and any fwnode.
        if fwnode.is_null() || !unsafe { bindings::is_acpi_device_node(fwnode) } {
            return None;
        }
        // SAFETY: An ACPI device node's fwnode is the `fwnode` field of its
        // `struct acpi_device`.
        let adev = unsafe { crate::container_of!(fwnode, bindings::acpi_device, fwnode) };
        // SAFETY: `adev` is the live companion of `dev`.
        unsafe { Self::get(adev) }
    }

    /// The child device whose `_ADR` is `address` (for example an NVDIMM
    /// under the NVDIMM root device, addressed by its NFIT handle).
    pub fn child(&self, address: u64) -> Option<Self> {
        // SAFETY: `self.adev` is live (type invariant).
        let child = unsafe { bindings::acpi_find_child_device(self.adev.as_ptr(), address, false) };
        // SAFETY: A child found in the live namespace is a live device.
        unsafe { Self::get(child) }
    }

    fn handle(&self) -> bindings::acpi_handle {
        // SAFETY: `self.adev` is live (type invariant).
        unsafe { (*self.adev.as_ptr()).handle }
    }

    /// Whether the device has a method (or object) of that name.
    pub fn has_method(&self, name: &CStr) -> bool {
        // SAFETY: The handle is valid and the name a NUL-terminated string
        // that ACPICA only reads.
        unsafe { bindings::acpi_has_method(self.handle(), name.as_char_ptr().cast_mut()) }
    }

    /// Evaluates a method with up to four arguments. `Ok(None)` when the
    /// method returned nothing.
    pub fn evaluate(&self, name: &CStr, args: &[Arg<'_>]) -> Result<Option<Object>> {
        let mut raw = [pin_init::zeroed::<bindings::acpi_object>(); 4];
        if args.len() > raw.len() {
            return Err(EINVAL);
        }
        for (slot, arg) in raw.iter_mut().zip(args) {
            *slot = arg.to_raw()?;
        }
        let mut list = bindings::acpi_object_list {
            count: args.len() as u32,
            pointer: raw.as_mut_ptr(),
        };
        let mut out = bindings::acpi_buffer {
            length: ACPI_ALLOCATE_BUFFER,
            pointer: ptr::null_mut(),
        };
        // SAFETY: The handle is valid, `list` describes `args.len()`
        // initialised objects whose buffers outlive the call, and `out` asks
        // ACPICA to allocate the result.
        let status = unsafe {
            bindings::acpi_evaluate_object(
                self.handle(),
                name.as_char_ptr().cast_mut(),
                &mut list,
                &mut out,
            )
        };
        if status != 0 {
            // SAFETY: On failure ACPICA allocated nothing, or freed it; a
            // stray pointer would still be ours to free.
            unsafe { bindings::kfree(out.pointer) };
            return Err(EIO);
        }
        // SAFETY: On success `out.pointer` is null or an object for us.
        Ok(unsafe { Object::from_raw(out.pointer.cast()) })
    }

    /// Evaluates `_DSM` function `func` of interface `guid`, revision `rev`,
    /// with the package of one buffer that Arg3 of DSM interfaces such as
    /// Intel's NVDIMM one expects (`None` passes an empty package).
    pub fn evaluate_dsm(
        &self,
        guid: &Guid,
        rev: u64,
        func: u64,
        arg: Option<&[u8]>,
    ) -> Result<Object> {
        let guid = guid.as_raw();
        let mut element = match arg {
            Some(bytes) => Arg::Buffer(bytes).to_raw()?,
            None => pin_init::zeroed(),
        };
        let mut package: bindings::acpi_object = pin_init::zeroed();
        package.package.type_ = bindings::ACPI_TYPE_PACKAGE;
        package.package.count = u32::from(arg.is_some());
        package.package.elements = &mut element;
        // SAFETY: The handle and GUID are valid; `package` and its element
        // outlive the call, which only reads them.
        let obj =
            unsafe { bindings::acpi_evaluate_dsm(self.handle(), &guid, rev, func, &mut package) };
        // SAFETY: The result is null or an object allocated for the caller.
        unsafe { Object::from_raw(obj) }.ok_or(EIO)
    }
}

impl Clone for Node {
    fn clone(&self) -> Self {
        // SAFETY: `self.adev` is live (type invariant); the new reference
        // keeps it so for the clone.
        unsafe { bindings::get_device(&raw mut (*self.adev.as_ptr()).dev) };
        Node { adev: self.adev }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: Drops the reference taken in `get`.
        unsafe { bindings::put_device(&raw mut (*self.adev.as_ptr()).dev) };
    }
}

/// A copy of an ACPI table, fetched by signature.
pub fn table(signature: &CStr) -> Result<KVVec<u8>> {
    let mut hdr: *mut bindings::acpi_table_header = ptr::null_mut();
    // SAFETY: ACPICA reads the signature and stores a mapped table (or
    // nothing) in `hdr`.
    let status =
        unsafe { bindings::acpi_get_table(signature.as_char_ptr().cast_mut(), 0, &mut hdr) };
    if status != 0 || hdr.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: A table returned by `acpi_get_table` is mapped for at least
    // its header's length until `acpi_put_table`.
    let bytes = unsafe { core::slice::from_raw_parts(hdr.cast::<u8>(), (*hdr).length as usize) };
    let mut copy = KVVec::new();
    let result = copy.extend_from_slice(bytes, GFP_KERNEL);
    // SAFETY: Balances the `acpi_get_table` above; `bytes` is not used after.
    unsafe { bindings::acpi_put_table(hdr) };
    result?;
    Ok(copy)
}

/// Receives the notifications (`Notify(device, value)`) of an ACPI device.
pub trait NotifyHandler: Send + Sync {
    /// Called in process context (ACPI's notify workqueue) with the value.
    fn notify(&self, value: u32);
}

/// A [`NotifyHandler`] installed on a device for device notifications
/// (values 0x80 and up); removed, waiting for running calls, on drop.
///
/// # Invariants
///
/// When `installed` is set, `Self::callback` is installed on `node` with
/// `handler` as its context.
#[pin_data(PinnedDrop)]
pub struct Notifier<T: NotifyHandler> {
    node: Node,
    #[pin]
    handler: T,
    installed: bool,
}

impl<T: NotifyHandler> Notifier<T> {
    /// Installs `handler` on `node`'s device notifications.
    pub fn install(node: Node, handler: impl PinInit<T, Error>) -> Result<Pin<KBox<Self>>> {
        let mut this = KBox::try_pin_init(
            try_pin_init!(Self {
                node,
                handler <- handler,
                installed: false,
            }),
            GFP_KERNEL,
        )?;
        let context = ptr::from_ref(&this.handler).cast_mut().cast();
        // SAFETY: The device is live (`Node` invariant) and `context` points
        // at the pinned handler, which `drop` outlives by removing the
        // handler first.
        to_result(unsafe {
            bindings::acpi_dev_install_notify_handler(
                this.node.adev.as_ptr(),
                bindings::ACPI_DEVICE_NOTIFY,
                Some(Self::callback),
                context,
            )
        })?;
        // SAFETY: Only a plain field changes; nothing structurally pinned moves.
        unsafe { this.as_mut().get_unchecked_mut().installed = true };
        Ok(this)
    }

    /// The handler.
    pub fn handler(&self) -> &T {
        &self.handler
    }

    /// # Safety
    ///
    /// Called by ACPI only, with the context given at installation.
    unsafe extern "C" fn callback(
        _handle: bindings::acpi_handle,
        value: u32,
        context: *mut c_void,
    ) {
        // SAFETY: `context` is the pinned handler, alive until the handler
        // is removed (type invariant).
        let handler = unsafe { &*context.cast::<T>() };
        handler.notify(value);
    }
}

#[pinned_drop]
impl<T: NotifyHandler> PinnedDrop for Notifier<T> {
    fn drop(self: Pin<&mut Self>) {
        if self.installed {
            // SAFETY: Installed by `install` with the same callback; removal
            // waits for calls in progress, so none runs after this.
            unsafe {
                bindings::acpi_dev_remove_notify_handler(
                    self.node.adev.as_ptr(),
                    bindings::ACPI_DEVICE_NOTIFY,
                    Some(Self::callback),
                )
            };
        }
    }
}

/// The NUMA node of ACPI proximity domain `pxm` as the static resource
/// affinity table (SRAT) maps it (C's `pxm_to_node()`): `NUMA_NO_NODE`
/// (-1) for a domain the table does not name, or one out of the kernel's
/// range; 0 without ACPI NUMA support.
pub fn pxm_to_node(pxm: u32) -> i32 {
    #[cfg(CONFIG_ACPI_NUMA)]
    {
        // C passes the firmware's 32-bit domain as an `int`; a domain that
        // would be negative there is out of range either way.
        let Ok(pxm) = i32::try_from(pxm) else {
            return bindings::NUMA_NO_NODE;
        };
        // SAFETY: A bounds-checked lookup in the proximity domain table,
        // for any value.
        unsafe { bindings::pxm_to_node(pxm) }
    }
    #[cfg(not(CONFIG_ACPI_NUMA))]
    {
        let _ = pxm;
        0
    }
}
