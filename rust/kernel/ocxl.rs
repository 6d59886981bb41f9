// SPDX-License-Identifier: GPL-2.0

//! OpenCAPI (ocxl) device functions, AFUs, contexts and AFU interrupts.
//!
//! C header: [`include/misc/ocxl.h`](srctree/include/misc/ocxl.h)
//!
//! The ocxl core (`drivers/misc/ocxl`) lets a driver of an OpenCAPI card
//! open a PCI function of the card ([`Function`]), find its AFUs ([`Afu`]),
//! read and write an AFU's global MMIO area ([`GlobalMmio`]), attach a
//! kernel context to an AFU ([`Context`]) and get interrupts the AFU
//! triggers by writing to an address the driver gives it (AFU interrupts,
//! [`Context::alloc_irq`]).
//!
//! Lifetimes follow the C rules:
//!
//! - closing the function unmaps every AFU's global MMIO area: the
//!   [`GlobalMmio`] handles a [`Function`] hands out are revoked before it
//!   closes, and later accesses fail with `ENXIO`;
//! - a [`Context`] belongs to the [`Function`] that attached it, which frees
//!   its interrupts, detaches it and frees it before closing;
//! - an interrupt handler owns a reference to its data, which the ocxl core
//!   releases when it frees the interrupt: the data outlives every call.
//!
//! The ocxl core may be a module: everything here that calls into it is
//! `#[inline]` or generic, so that it is instantiated in the driver that
//! uses it, never in the kernel image.

use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    irq::IrqReturn,
    pci,
    prelude::*,
    revocable::Revocable,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        Arc,
    },
    types::{ForeignOwnable, Opaque},
};
use core::ffi::c_void;
use core::ptr::NonNull;

/// The byte order of an AFU's MMIO data (`enum ocxl_endian`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// The AFU's data is big-endian.
    Big,
    /// The AFU's data is little-endian.
    Little,
    /// The AFU's data has the host's byte order.
    Host,
}

impl Endian {
    /// The C value.
    pub const fn as_raw(self) -> bindings::ocxl_endian {
        match self {
            Endian::Big => bindings::ocxl_endian_OCXL_BIG_ENDIAN,
            Endian::Little => bindings::ocxl_endian_OCXL_LITTLE_ENDIAN,
            Endian::Host => bindings::ocxl_endian_OCXL_HOST_ENDIAN,
        }
    }
}

/// Checks an access of `width` bytes at `offset` in a global MMIO area of
/// `size` bytes: naturally aligned and inside the area.
pub fn check_access(offset: usize, width: usize, size: usize) -> Result {
    if width == 0 || offset % width != 0 {
        return Err(EINVAL);
    }
    match offset.checked_add(width) {
        Some(end) if end <= size => Ok(()),
        _ => Err(EINVAL),
    }
}

/// The configuration of an AFU, as the ocxl core read it from the card's
/// configuration space (`struct ocxl_afu_config`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfuConfig {
    /// The AFU's index in its function.
    pub idx: u8,
    /// Major version of the AFU.
    pub version_major: u8,
    /// Minor version of the AFU.
    pub version_minor: u8,
    /// Bytes of the global MMIO area.
    pub global_mmio_size: u32,
    /// Offset of the global MMIO area in its BAR.
    pub global_mmio_offset: u64,
    /// BAR of the per-process MMIO areas.
    pub pp_mmio_bar: u8,
    /// Offset of the first per-process MMIO area in its BAR.
    pub pp_mmio_offset: u64,
    /// Bytes between two per-process MMIO areas.
    pub pp_mmio_stride: u32,
    /// Offset of the AFU's LPC memory.
    pub lpc_mem_offset: u64,
    /// Bytes of LPC memory the AFU has.
    pub lpc_mem_size: u64,
    /// Offset of the AFU's special purpose memory.
    pub special_purpose_mem_offset: u64,
    /// Bytes of special purpose memory.
    pub special_purpose_mem_size: u64,
}

impl AfuConfig {
    /// Copies the fields of the C structure.
    #[inline]
    fn from_raw(c: &bindings::ocxl_afu_config) -> Self {
        AfuConfig {
            idx: c.idx,
            version_major: c.version_major,
            version_minor: c.version_minor,
            global_mmio_size: c.global_mmio_size,
            global_mmio_offset: c.global_mmio_offset,
            pp_mmio_bar: c.pp_mmio_bar,
            pp_mmio_offset: c.pp_mmio_offset,
            pp_mmio_stride: c.pp_mmio_stride,
            lpc_mem_offset: c.lpc_mem_offset,
            lpc_mem_size: c.lpc_mem_size,
            special_purpose_mem_offset: c.special_purpose_mem_offset,
            special_purpose_mem_size: c.special_purpose_mem_size,
        }
    }
}

/// An AFU of an open OpenCAPI function (`struct ocxl_afu`).
///
/// # Invariants
///
/// The AFU is one the ocxl core created; its reference count is above zero
/// for as long as an `&Afu` exists.
#[repr(transparent)]
pub struct Afu(Opaque<bindings::ocxl_afu>);

// SAFETY: The ocxl core synchronises its own use of an AFU; its reference
// count is atomic.
unsafe impl Send for Afu {}
// SAFETY: As above: the functions this type calls may run concurrently.
unsafe impl Sync for Afu {}

// SAFETY: `ocxl_afu_get` and `ocxl_afu_put` take and drop a reference (a
// kref in the AFU); the AFU is freed only when the last one is dropped.
unsafe impl AlwaysRefCounted for Afu {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the AFU has a reference.
        unsafe { bindings::ocxl_afu_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::ocxl_afu_put(obj.cast().as_ptr()) };
    }
}

impl Afu {
    #[inline]
    fn as_raw(&self) -> *mut bindings::ocxl_afu {
        self.0.get()
    }

    /// The AFU's configuration.
    #[inline]
    pub fn config(&self) -> AfuConfig {
        // SAFETY: By the type invariant the AFU is valid; its configuration
        // is part of it and set before the AFU was published.
        let c = unsafe { &*bindings::ocxl_afu_config(self.as_raw()) };
        AfuConfig::from_raw(c)
    }
}

/// An open OpenCAPI function of a PCI device (`struct ocxl_fn`).
///
/// Opening the function configures it (its transaction layer templates,
/// PASIDs and acTags, its AFUs' global MMIO areas); dropping it frees what
/// was attached through it, revokes the global MMIO handles it gave out,
/// and closes it.
///
/// # Invariants
///
/// `ptr` is a function `ocxl_function_open` returned, not closed yet.
pub struct Function {
    ptr: NonNull<bindings::ocxl_fn>,
    /// Attached contexts, dropped before the function closes.
    contexts: KVec<Context>,
    /// Handed-out global MMIO areas, revoked before the function closes.
    mmio: KVec<Arc<GlobalMmio>>,
    /// AFUs whose LPC memory was mapped, unmapped before the function
    /// closes.
    lpc: KVec<ARef<Afu>>,
}

// SAFETY: The ocxl core serialises the calls made on a function; the
// handle may move between threads.
unsafe impl Send for Function {}
// SAFETY: Shared references give access to nothing but lookups the ocxl
// core serialises itself.
unsafe impl Sync for Function {}

impl Function {
    /// Opens the OpenCAPI function of `pdev` (`ocxl_function_open`).
    #[inline]
    pub fn open<Ctx: crate::device::DeviceContext>(pdev: &pci::Device<Ctx>) -> Result<Self> {
        // `pci::Device` is a transparent wrapper of `struct pci_dev`.
        let raw = core::ptr::from_ref(pdev)
            .cast::<bindings::pci_dev>()
            .cast_mut();
        // SAFETY: `raw` is a valid PCI device (the type invariant of
        // `pci::Device`); the caller is its bound driver.
        let f = from_err_ptr(unsafe { bindings::ocxl_function_open(raw) })?;
        let ptr = NonNull::new(f).ok_or(ENODEV)?;
        Ok(Function {
            ptr,
            contexts: KVec::new(),
            mmio: KVec::new(),
            lpc: KVec::new(),
        })
    }

    /// The function's serial number (its PCIe Device Serial Number), 0 if
    /// it has none.
    #[inline]
    pub fn serial(&self) -> u64 {
        // SAFETY: By the type invariant the function is open.
        unsafe { bindings::ocxl_function_serial(self.ptr.as_ptr()) }
    }

    /// Maps the LPC memory of `afu`, an AFU of this function
    /// (`ocxl_afu_map_lpc_mem`), and returns its range in the host's real
    /// address space. The range is not claimed: the caller requests it
    /// before use. It stays mapped until the function closes.
    #[inline]
    pub fn map_lpc_mem(&mut self, afu: &Afu) -> Result<LpcMemory> {
        self.lpc.reserve(1, GFP_KERNEL)?;
        // SAFETY: The AFU is valid (`&Afu`) and belongs to this open
        // function.
        to_result(unsafe { bindings::ocxl_afu_map_lpc_mem(afu.as_raw()) })?;
        // SAFETY: As above; the memory is mapped.
        let r = unsafe { bindings::ocxl_afu_lpc_mem(afu.as_raw()) };
        if r.is_null() {
            // SAFETY: Mapped above, unused.
            unsafe { bindings::ocxl_afu_unmap_lpc_mem(afu.as_raw()) };
            return Err(ENODEV);
        }
        // SAFETY: A non-NULL result is the AFU's range, valid while mapped.
        let (start, end) = unsafe { ((*r).start, (*r).end) };
        // Cannot fail: reserved above.
        self.lpc.push(ARef::from(afu), GFP_KERNEL)?;
        Ok(LpcMemory {
            start,
            size: end.wrapping_sub(start).wrapping_add(1),
        })
    }

    /// The AFU of index `idx`, with a reference of its own.
    #[inline]
    pub fn afu(&self, idx: u8) -> Option<ARef<Afu>> {
        // SAFETY: By the type invariant the function is open.
        let a = unsafe { bindings::ocxl_function_fetch_afu(self.ptr.as_ptr(), idx) };
        let a = NonNull::new(a)?;
        // SAFETY: The function holds a reference to its AFUs while open, so
        // the AFU is valid here; `from` takes a reference of its own.
        Some(ARef::from(unsafe { a.cast::<Afu>().as_ref() }))
    }

    /// The global MMIO area of `afu`, an AFU of this function, usable until
    /// the function closes.
    #[inline]
    pub fn global_mmio(&mut self, afu: &Afu) -> Result<Arc<GlobalMmio>> {
        let size = afu.config().global_mmio_size as usize;
        let m = Arc::pin_init(
            pin_init!(GlobalMmio {
                afu <- Revocable::new(ARef::from(afu)),
                size,
            }),
            GFP_KERNEL,
        )?;
        self.mmio.push(m.clone(), GFP_KERNEL)?;
        Ok(m)
    }

    /// Allocates a context on `afu`, an AFU of this function, and attaches
    /// it as a kernel context (no process address space, AMR 0). The
    /// context stays attached until the function closes.
    #[inline]
    pub fn attach_context(&mut self, afu: &Afu) -> Result<&mut Context> {
        self.contexts.reserve(1, GFP_KERNEL)?;
        let mut ctx = Context::alloc(afu)?;
        // SAFETY: The context was allocated above; a NULL mm makes it a
        // kernel context.
        to_result(unsafe {
            bindings::ocxl_context_attach(ctx.ptr.as_ptr(), 0, core::ptr::null_mut())
        })?;
        ctx.attached = true;
        // Cannot fail: reserved above.
        self.contexts.push(ctx, GFP_KERNEL)?;
        self.contexts.last_mut().ok_or(EINVAL)
    }
}

impl Drop for Function {
    #[inline]
    fn drop(&mut self) {
        // Nothing reaches an AFU's registers once this returns.
        for m in self.mmio.iter() {
            m.afu.revoke();
        }
        // Each context frees its interrupts and detaches first.
        self.contexts.clear();
        for afu in self.lpc.iter() {
            // SAFETY: The AFU's LPC memory was mapped through this open
            // function; its users are gone before the function is dropped
            // (they borrowed nothing of it but the range's numbers).
            unsafe { bindings::ocxl_afu_unmap_lpc_mem(afu.as_raw()) };
        }
        // SAFETY: By the type invariant the function is open; nothing of
        // it is used after this.
        unsafe { bindings::ocxl_function_close(self.ptr.as_ptr()) };
    }
}

/// The LPC memory of an AFU, once mapped: a physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LpcMemory {
    /// Physical address of the first byte.
    pub start: u64,
    /// Bytes.
    pub size: u64,
}

/// The global MMIO area of an AFU.
///
/// Accesses after the AFU's function closed fail with `ENXIO`.
#[pin_data]
pub struct GlobalMmio {
    #[pin]
    afu: Revocable<ARef<Afu>>,
    size: usize,
}

impl GlobalMmio {
    /// Bytes of the area.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Reads the 64-bit register at `offset`.
    #[inline]
    pub fn read64(&self, offset: usize, endian: Endian) -> Result<u64> {
        check_access(offset, 8, self.size)?;
        let afu = self.afu.try_access().ok_or(ENXIO)?;
        let mut v = 0u64;
        // SAFETY: The function is open (the access was not revoked), so the
        // area is mapped; the offset is inside it.
        to_result(unsafe {
            bindings::ocxl_global_mmio_read64(afu.as_raw(), offset, endian.as_raw(), &mut v)
        })?;
        Ok(v)
    }

    /// Writes the 64-bit register at `offset`.
    #[inline]
    pub fn write64(&self, offset: usize, endian: Endian, value: u64) -> Result {
        check_access(offset, 8, self.size)?;
        let afu = self.afu.try_access().ok_or(ENXIO)?;
        // SAFETY: As in `read64`.
        to_result(unsafe {
            bindings::ocxl_global_mmio_write64(afu.as_raw(), offset, endian.as_raw(), value)
        })
    }

    /// Reads the 32-bit register at `offset`.
    #[inline]
    pub fn read32(&self, offset: usize, endian: Endian) -> Result<u32> {
        check_access(offset, 4, self.size)?;
        let afu = self.afu.try_access().ok_or(ENXIO)?;
        let mut v = 0u32;
        // SAFETY: As in `read64`.
        to_result(unsafe {
            bindings::ocxl_global_mmio_read32(afu.as_raw(), offset, endian.as_raw(), &mut v)
        })?;
        Ok(v)
    }

    /// Writes the 32-bit register at `offset`.
    #[inline]
    pub fn write32(&self, offset: usize, endian: Endian, value: u32) -> Result {
        check_access(offset, 4, self.size)?;
        let afu = self.afu.try_access().ok_or(ENXIO)?;
        // SAFETY: As in `read64`.
        to_result(unsafe {
            bindings::ocxl_global_mmio_write32(afu.as_raw(), offset, endian.as_raw(), value)
        })
    }
}

/// A handler of AFU interrupts.
pub trait AfuIrqHandler: Send + Sync + 'static {
    /// Called in hard interrupt context when the AFU triggers the
    /// interrupt: must not sleep.
    fn handle(&self) -> IrqReturn;
}

/// An AFU interrupt: its id in the context, and the address the AFU writes
/// to trigger it (`ocxl_afu_irq_get_addr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfuIrq {
    /// The interrupt's id in its context.
    pub id: i32,
    /// The trigger page address to program into the AFU.
    pub addr: u64,
}

/// A context attached to an AFU (`struct ocxl_context`), owned by the
/// [`Function`] that attached it.
///
/// # Invariants
///
/// `ptr` is a context `ocxl_context_alloc` returned, not freed; `irqs` are
/// the interrupts allocated on it and not freed.
pub struct Context {
    ptr: NonNull<bindings::ocxl_context>,
    attached: bool,
    irqs: KVec<i32>,
}

impl Context {
    #[inline]
    fn alloc(afu: &Afu) -> Result<Self> {
        let mut p: *mut bindings::ocxl_context = core::ptr::null_mut();
        // SAFETY: The AFU is valid (`&Afu`); the context takes its own
        // reference to it. No address space is mapped to the context.
        to_result(unsafe {
            bindings::ocxl_context_alloc(&mut p, afu.as_raw(), core::ptr::null_mut())
        })?;
        Ok(Context {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            attached: false,
            irqs: KVec::new(),
        })
    }

    /// Allocates an AFU interrupt whose handler is `handler`. The ocxl core
    /// keeps the reference until the interrupt is freed (with the context):
    /// the handler's data lives as long as the handler may run.
    #[inline]
    pub fn alloc_irq<T: AfuIrqHandler>(&mut self, handler: Arc<T>) -> Result<AfuIrq> {
        self.irqs.reserve(1, GFP_KERNEL)?;
        let mut id = 0;
        // SAFETY: By the type invariant the context is valid.
        to_result(unsafe { bindings::ocxl_afu_irq_alloc(self.ptr.as_ptr(), &mut id) })?;
        let private = handler.into_foreign();
        // SAFETY: The context and the interrupt `id` are valid. `private`
        // is an `Arc<T>` turned foreign, which `free_irq_data::<T>` turns
        // back exactly once, when the ocxl core frees the interrupt.
        let r = to_result(unsafe {
            bindings::ocxl_irq_set_handler(
                self.ptr.as_ptr(),
                id,
                Some(handle_irq::<T>),
                Some(free_irq_data::<T>),
                private.cast(),
            )
        });
        if let Err(e) = r {
            // SAFETY: The handler was not installed: the reference is still
            // ours.
            drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(private) });
            // SAFETY: `id` was allocated above and has no handler.
            unsafe { bindings::ocxl_afu_irq_free(self.ptr.as_ptr(), id) };
            return Err(e);
        }
        // SAFETY: The context and `id` are valid.
        let addr = unsafe { bindings::ocxl_afu_irq_get_addr(self.ptr.as_ptr(), id) };
        // Cannot fail: reserved above.
        self.irqs.push(id, GFP_KERNEL)?;
        Ok(AfuIrq { id, addr })
    }

    /// Frees the interrupt `irq` (its handler's data is released once no
    /// call of it runs).
    #[inline]
    pub fn free_irq(&mut self, irq: AfuIrq) -> Result {
        let i = self.irqs.iter().position(|&i| i == irq.id).ok_or(EINVAL)?;
        self.irqs.remove(i).map_err(|_| EINVAL)?;
        // SAFETY: `irq.id` is an interrupt of this context, not freed.
        to_result(unsafe { bindings::ocxl_afu_irq_free(self.ptr.as_ptr(), irq.id) })
    }
}

impl Drop for Context {
    #[inline]
    fn drop(&mut self) {
        for &id in self.irqs.iter() {
            // SAFETY: By the type invariant `id` is a live interrupt of the
            // context; freeing it waits for its handler and releases the
            // handler's data.
            unsafe { bindings::ocxl_afu_irq_free(self.ptr.as_ptr(), id) };
        }
        if self.attached {
            // SAFETY: The context is valid and attached.
            let r = unsafe { bindings::ocxl_context_detach(self.ptr.as_ptr()) };
            if r == -(bindings::EBUSY as i32) {
                // The AFU did not let the PASID go: the ocxl core's own
                // rule is to leak the context rather than free memory the
                // AFU may still write.
                return;
            }
        }
        // SAFETY: The context is valid and detached; nothing uses it after.
        unsafe { bindings::ocxl_context_free(self.ptr.as_ptr()) };
    }
}

// SAFETY: The ocxl core serialises the operations on a context.
unsafe impl Send for Context {}
// SAFETY: A shared reference gives access to nothing.
unsafe impl Sync for Context {}

/// The C handler of an AFU interrupt.
///
/// # Safety
///
/// `private` is the foreign form of an `Arc<T>` that `free_irq_data::<T>`
/// has not released yet.
unsafe extern "C" fn handle_irq<T: AfuIrqHandler>(private: *mut c_void) -> bindings::irqreturn_t {
    // SAFETY: By the function's safety requirement the reference is alive
    // for the whole call.
    let h = unsafe { <Arc<T> as ForeignOwnable>::borrow(private.cast()) };
    bindings::irqreturn_t(h.handle() as u32)
}

/// Releases the data of an AFU interrupt's handler.
///
/// # Safety
///
/// `private` is the foreign form of an `Arc<T>`; the ocxl core calls this
/// once, after the last call of the handler.
unsafe extern "C" fn free_irq_data<T: AfuIrqHandler>(private: *mut c_void) {
    // SAFETY: By the function's safety requirement the reference is ours.
    drop(unsafe { <Arc<T> as ForeignOwnable>::from_foreign(private.cast()) });
}

/// The function number of a PCI device (bits 2:0 of its `devfn`): an
/// OpenCAPI card's function 0 carries its transaction layer, the AFUs come
/// on later functions.
#[inline]
pub fn pci_function<Ctx: crate::device::DeviceContext>(pdev: &pci::Device<Ctx>) -> u8 {
    let raw = core::ptr::from_ref(pdev).cast::<bindings::pci_dev>();
    // SAFETY: `pci::Device` is a transparent wrapper of a valid `struct
    // pci_dev`, whose `devfn` does not change while it exists.
    let devfn = unsafe { (*raw).devfn };
    (devfn & 7) as u8
}

#[macros::kunit_tests(rust_kernel_ocxl)]
mod tests {
    use super::*;

    #[test]
    fn endian_values() {
        assert_eq!(Endian::Big.as_raw(), bindings::ocxl_endian_OCXL_BIG_ENDIAN);
        assert_eq!(
            Endian::Little.as_raw(),
            bindings::ocxl_endian_OCXL_LITTLE_ENDIAN
        );
        assert_eq!(
            Endian::Host.as_raw(),
            bindings::ocxl_endian_OCXL_HOST_ENDIAN
        );
    }

    #[test]
    fn access_checks() {
        assert_eq!(check_access(0, 8, 0x100), Ok(()));
        assert_eq!(check_access(0xf8, 8, 0x100), Ok(()));
        assert_eq!(check_access(0xfc, 4, 0x100), Ok(()));
        // Past the end, unaligned, overflowing, empty area.
        assert_eq!(check_access(0x100, 8, 0x100), Err(EINVAL));
        assert_eq!(check_access(0xfc, 8, 0x100), Err(EINVAL));
        assert_eq!(check_access(4, 8, 0x100), Err(EINVAL));
        assert_eq!(check_access(2, 4, 0x100), Err(EINVAL));
        assert_eq!(check_access(usize::MAX - 7, 8, usize::MAX), Err(EINVAL));
        assert_eq!(check_access(0, 8, 0), Err(EINVAL));
    }

    #[test]
    fn config_copy() {
        // SAFETY: The C structure is plain data; all zeroes is valid.
        let mut c: bindings::ocxl_afu_config = unsafe { core::mem::zeroed() };
        c.idx = 0;
        c.global_mmio_size = 0x10000;
        c.lpc_mem_size = 1 << 30;
        c.pp_mmio_stride = 0x1000;
        let a = AfuConfig::from_raw(&c);
        assert_eq!(a.global_mmio_size, 0x10000);
        assert_eq!(a.lpc_mem_size, 1 << 30);
        assert_eq!(a.pp_mmio_stride, 0x1000);
    }
}
