// SPDX-License-Identifier: GPL-2.0

//! The pseries hypervisor calls of storage class memory (PAPR SCM), for the
//! providers of `ibm,pmemory` DIMMs.
//!
//! A hypervisor call can do anything the partition may do, rewrite its page
//! tables included, so no opcode can be made from safe code: only the SCM
//! calls in [`ScmHcall`], each with the arguments that could name guest
//! memory checked. Those calls act on the SCM device (its metadata, its
//! binding to guest addresses, its health and statistics) and on the one
//! buffer [`HcallBuffer`] hands over.
//!
//! Unbinding a DRC's memory while a region maps it makes later accesses end
//! in machine checks rather than in silently wrong data; a provider unbinds
//! after its bus is gone (the C driver's order).
//!
//! C header: [`arch/powerpc/include/asm/hvcall.h`](srctree/arch/powerpc/include/asm/hvcall.h).

use crate::{bindings, device::property::FwNode, device::Device, prelude::*};

/// Return words a call can give (`PLPAR_HCALL9_BUFSIZE`).
pub const RETURN_WORDS: usize = bindings::PLPAR_HCALL9_BUFSIZE as usize;

/// Arguments `plpar_hcall()` takes; more need `plpar_hcall9()`.
const SHORT_ARGS: usize = 6;

/// `H_PARAMETER`: what a refused argument list returns, as the hypervisor
/// itself answers a bad parameter.
pub const H_PARAMETER: i64 = bindings::H_PARAMETER as i64;

/// `H_NO_MEM`: what [`hcall_with_copy`] returns when it cannot allocate.
pub const H_NO_MEM: i64 = bindings::H_NO_MEM as i64;

/// `H_SCM_BIND_MEM`'s target address that lets the hypervisor choose where
/// the memory appears (the only one accepted: an explicit one could lay the
/// DRC over guest memory that is in use).
pub const BIND_ANYWHERE: u64 = u64::MAX;

/// The SCM hypervisor calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ScmHcall {
    /// `H_SCM_READ_METADATA`: reads bytes of the DRC's metadata (labels).
    ReadMetadata = bindings::H_SCM_READ_METADATA as u64,
    /// `H_SCM_WRITE_METADATA`: writes bytes of the DRC's metadata.
    WriteMetadata = bindings::H_SCM_WRITE_METADATA as u64,
    /// `H_SCM_BIND_MEM`: binds the DRC's blocks to guest addresses; the
    /// target (argument 4) must be [`BIND_ANYWHERE`].
    BindMem = bindings::H_SCM_BIND_MEM as u64,
    /// `H_SCM_UNBIND_MEM`: unbinds blocks.
    UnbindMem = bindings::H_SCM_UNBIND_MEM as u64,
    /// `H_SCM_QUERY_BLOCK_MEM_BINDING`.
    QueryBlockMemBinding = bindings::H_SCM_QUERY_BLOCK_MEM_BINDING as u64,
    /// `H_SCM_QUERY_LOGICAL_MEM_BINDING`.
    QueryLogicalMemBinding = bindings::H_SCM_QUERY_LOGICAL_MEM_BINDING as u64,
    /// `H_SCM_UNBIND_ALL`.
    UnbindAll = bindings::H_SCM_UNBIND_ALL as u64,
    /// `H_SCM_HEALTH`: the DIMM's health bitmap.
    Health = bindings::H_SCM_HEALTH as u64,
    /// `H_SCM_PERFORMANCE_STATS`: without a buffer (arguments 2 and 3
    /// zero) the size of all statistics; with one, use
    /// [`hcall_with_buffer`].
    PerformanceStats = bindings::H_SCM_PERFORMANCE_STATS as u64,
    /// `H_SCM_FLUSH`: makes the DRC's writes durable.
    Flush = bindings::H_SCM_FLUSH as u64,
}

impl ScmHcall {
    /// The call of an opcode, if it is one of the SCM calls.
    #[inline]
    pub fn from_opcode(opcode: u64) -> Option<Self> {
        const ALL: [ScmHcall; 10] = [
            ScmHcall::ReadMetadata,
            ScmHcall::WriteMetadata,
            ScmHcall::BindMem,
            ScmHcall::UnbindMem,
            ScmHcall::QueryBlockMemBinding,
            ScmHcall::QueryLogicalMemBinding,
            ScmHcall::UnbindAll,
            ScmHcall::Health,
            ScmHcall::PerformanceStats,
            ScmHcall::Flush,
        ];
        ALL.into_iter().find(|c| *c as u64 == opcode)
    }

    /// Whether `args` may be passed to this call from safe code.
    fn allows(self, args: &[u64]) -> bool {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        match self {
            // Arguments 2 and 3 are the address and size of a buffer the
            // hypervisor writes.
            Self::PerformanceStats => arg(1) == 0 && arg(2) == 0,
            Self::BindMem => arg(3) == BIND_ANYWHERE,
            _ => true,
        }
    }
}

/// Makes SCM call `call` with up to [`RETURN_WORDS`] arguments (missing ones
/// are zero), writes its return words into `ret` and returns its status.
/// Arguments that could name guest memory are refused with
/// [`H_PARAMETER`] (see [`ScmHcall`]).
#[inline]
pub fn hcall(call: ScmHcall, args: &[u64], ret: &mut [u64; RETURN_WORDS]) -> i64 {
    (ENTRIES.hcall)(call, args, ret)
}

/// The body of [`hcall`].
fn hcall_body(call: ScmHcall, args: &[u64], ret: &mut [u64; RETURN_WORDS]) -> i64 {
    if args.len() > RETURN_WORDS || !call.allows(args) {
        return H_PARAMETER;
    }
    // SAFETY: The call and its arguments touch only the SCM device's state
    // (checked by `allows`).
    unsafe { raw_hcall(call as u64, args, ret) }
}

/// Makes `opcode` with `args`; `ret` receives the return words.
///
/// # Safety
///
/// The call with these arguments must not change memory or mappings the
/// kernel uses.
unsafe fn raw_hcall(opcode: u64, args: &[u64], ret: &mut [u64; RETURN_WORDS]) -> i64 {
    let a = |i: usize| args.get(i).copied().unwrap_or(0) as c_ulong;
    let mut buf = [0 as c_ulong; RETURN_WORDS];
    let rc = if args.len() <= SHORT_ARGS {
        // SAFETY: `plpar_hcall()` writes `PLPAR_HCALL_BUFSIZE` words to its
        // return buffer, which has room for more; every argument is passed
        // as an `unsigned long`, as the variadic call expects; the caller
        // vouches for the call's effects.
        unsafe {
            bindings::plpar_hcall(
                opcode as c_ulong,
                buf.as_mut_ptr(),
                a(0),
                a(1),
                a(2),
                a(3),
                a(4),
                a(5),
            )
        }
    } else {
        // SAFETY: As above, with `PLPAR_HCALL9_BUFSIZE` return words.
        unsafe {
            bindings::plpar_hcall9(
                opcode as c_ulong,
                buf.as_mut_ptr(),
                a(0),
                a(1),
                a(2),
                a(3),
                a(4),
                a(5),
                a(6),
                a(7),
                a(8),
            )
        }
    };
    let words = if args.len() <= SHORT_ARGS {
        bindings::PLPAR_HCALL_BUFSIZE as usize
    } else {
        RETURN_WORDS
    };
    for (r, b) in ret.iter_mut().zip(buf).take(words) {
        *r = b as u64;
    }
    rc as i64
}

/// A buffer the hypervisor reads and writes in place: `kmalloc` memory,
/// physically contiguous in the linear map, which a guest physical address
/// describes.
///
/// # Invariants
///
/// `buf` is not empty (so its pointer is a real allocation).
pub struct HcallBuffer {
    buf: KVec<u8>,
}

impl HcallBuffer {
    /// A zeroed buffer of `len` bytes (`len` > 0).
    #[inline]
    pub fn new(len: usize) -> Result<Self> {
        (ENTRIES.buffer_new)(len)
    }

    /// The body of [`HcallBuffer::new`].
    fn new_body(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }
        let mut buf = KVec::with_capacity(len, GFP_KERNEL)?;
        buf.resize(len, 0, GFP_KERNEL)?;
        Ok(Self { buf })
    }

    /// The buffer's bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer's bytes, to fill in a request.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

/// Makes SCM call `call` with arguments `(arg0, address of buf, len)`: the
/// hypervisor reads and writes the first `len` bytes of `buf` in place.
/// Only [`ScmHcall::PerformanceStats`] takes a buffer; other calls and a
/// `len` beyond the buffer are refused with [`H_PARAMETER`].
#[inline]
pub fn hcall_with_buffer(
    call: ScmHcall,
    arg0: u64,
    buf: &mut HcallBuffer,
    len: usize,
    ret: &mut [u64; RETURN_WORDS],
) -> i64 {
    (ENTRIES.hcall_with_buffer)(call, arg0, buf, len, ret)
}

/// The body of [`hcall_with_buffer`].
fn hcall_with_buffer_body(
    call: ScmHcall,
    arg0: u64,
    buf: &mut HcallBuffer,
    len: usize,
    ret: &mut [u64; RETURN_WORDS],
) -> i64 {
    if call != ScmHcall::PerformanceStats || len == 0 || len > buf.buf.len() {
        return H_PARAMETER;
    }
    let ptr = buf.buf.as_mut_ptr();
    // SAFETY: `ptr` is the start of a non-empty `kmalloc` allocation (type
    // invariant), which is in the linear map.
    let addr = unsafe { bindings::virt_to_phys(ptr.cast()) };
    // SAFETY: The hypervisor writes only the `len` bytes at `addr`, which
    // belong to `buf`, borrowed exclusively for the call (the call is
    // synchronous, so nothing else can look at them meanwhile).
    unsafe { raw_hcall(call as u64, &[arg0, addr, len as u64], ret) }
}

/// Makes SCM call `call` with arguments `(arg0, address of a copy of buf,
/// buf.len())` through a fresh [`HcallBuffer`], and copies the buffer back
/// into `buf`: for callers whose buffer is not `kmalloc` memory. Refused
/// as [`hcall_with_buffer`] refuses (an empty `buf` too); [`H_NO_MEM`] when
/// the copy cannot be allocated. One call for all of it.
#[inline]
pub fn hcall_with_copy(
    call: ScmHcall,
    arg0: u64,
    buf: &mut [u8],
    ret: &mut [u64; RETURN_WORDS],
) -> i64 {
    (ENTRIES.hcall_with_copy)(call, arg0, buf, ret)
}

/// The body of [`hcall_with_copy`].
fn hcall_with_copy_body(
    call: ScmHcall,
    arg0: u64,
    buf: &mut [u8],
    ret: &mut [u64; RETURN_WORDS],
) -> i64 {
    if buf.is_empty() {
        return H_PARAMETER;
    }
    let Ok(mut copy) = HcallBuffer::new_body(buf.len()) else {
        return H_NO_MEM;
    };
    copy.buf.copy_from_slice(buf);
    let rc = hcall_with_buffer_body(call, arg0, &mut copy, buf.len(), ret);
    buf.copy_from_slice(&copy.buf);
    rc
}

/// Reads one property of a device-tree node as raw bytes (as
/// `of_find_property()` gives them): `None` when the node has no such
/// property, an empty vector for a property without a value (a boolean).
/// For providers that validate the bytes themselves; one call per property
/// rather than three.
#[inline]
pub fn raw_property(node: &FwNode, name: &CStr) -> Result<Option<KVec<u8>>> {
    (ENTRIES.raw_property)(node, name)
}

/// The body of [`raw_property`].
fn raw_property_body(node: &FwNode, name: &CStr) -> Result<Option<KVec<u8>>> {
    if !node.property_present(name) {
        return Ok(None);
    }
    match node.property_count_elem::<u8>(name) {
        Ok(len) if len > 0 => Ok(node.property_read_array_vec::<u8>(name, len)?.optional()),
        // Present without a value.
        _ => Ok(Some(KVec::new())),
    }
}

/// Brings the NUMA distance table up to date with the associativity of
/// `dev`'s device-tree node (C's `update_numa_distance()`), which creating
/// an `ibm,pmemory` platform device does not do: the nearest online node of
/// a DIMM whose own node is offline ([`super::nearest_online_node`]) is
/// chosen by that table. A device without a device-tree node is left alone.
#[inline]
pub fn update_numa_distance(dev: &Device) {
    (ENTRIES.update_numa_distance)(dev)
}

/// The body of [`update_numa_distance`].
fn update_numa_distance_body(dev: &Device) {
    #[cfg(CONFIG_NUMA)]
    {
        // SAFETY: `dev.as_raw()` points to a live `struct device`; its
        // `of_node` is set when the device is created and not changed
        // while a driver is bound to it.
        let np = unsafe { (*dev.as_raw()).of_node };
        if !np.is_null() {
            // SAFETY: `np` is a device-tree node the device holds a
            // reference to; the function reads its `ibm,associativity`
            // (absent, short or out-of-range values are its own to check,
            // as for every caller in the kernel) and fills the table.
            unsafe { bindings::update_numa_distance(np) };
        }
    }
    #[cfg(not(CONFIG_NUMA))]
    let _ = dev;
}

/// Lets the scheduler run something else (`cond_resched()`), between the
/// retries of a call the hypervisor answered "busy". Does nothing in atomic
/// context.
#[inline]
pub fn cond_resched() {
    (ENTRIES.cond_resched)()
}

/// The body of [`cond_resched`].
fn cond_resched_body() {
    // SAFETY: `cond_resched()` may be called in any context; it only
    // schedules where preemption is allowed.
    unsafe { bindings::cond_resched() };
}

/// The functions above, reached through this table from the code
/// instantiated in a provider module: see `kernel::nvdimm`'s `Entries`
/// (calls through it cost the powerpc64 module loader no instruction
/// words).
struct Entries {
    hcall: fn(ScmHcall, &[u64], &mut [u64; RETURN_WORDS]) -> i64,
    buffer_new: fn(usize) -> Result<HcallBuffer>,
    hcall_with_buffer: fn(ScmHcall, u64, &mut HcallBuffer, usize, &mut [u64; RETURN_WORDS]) -> i64,
    hcall_with_copy: fn(ScmHcall, u64, &mut [u8], &mut [u64; RETURN_WORDS]) -> i64,
    raw_property: fn(&FwNode, &CStr) -> Result<Option<KVec<u8>>>,
    update_numa_distance: fn(&Device),
    cond_resched: fn(),
}

/// See [`Entries`].
static ENTRIES: Entries = Entries {
    hcall: hcall_body,
    buffer_new: HcallBuffer::new_body,
    hcall_with_buffer: hcall_with_buffer_body,
    hcall_with_copy: hcall_with_copy_body,
    raw_property: raw_property_body,
    update_numa_distance: update_numa_distance_body,
    cond_resched: cond_resched_body,
};

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_papr)]
mod tests {
    use super::*;

    #[test]
    fn memory_arguments_are_refused() -> Result {
        let mut ret = [0u64; RETURN_WORDS];
        // A buffer address through the plain call.
        assert_eq!(
            hcall(ScmHcall::PerformanceStats, &[1, 0x1000, 8], &mut ret),
            H_PARAMETER
        );
        // An explicit bind target.
        assert_eq!(
            hcall(ScmHcall::BindMem, &[1, 0, 1, 0x1000_0000, 0], &mut ret),
            H_PARAMETER
        );
        // Too many arguments.
        assert_eq!(hcall(ScmHcall::Health, &[0; 10], &mut ret), H_PARAMETER);
        // A buffer for a call that takes none, and one too short.
        let mut buf = HcallBuffer::new(16)?;
        assert_eq!(
            hcall_with_buffer(ScmHcall::Flush, 1, &mut buf, 16, &mut ret),
            H_PARAMETER
        );
        assert_eq!(
            hcall_with_buffer(ScmHcall::PerformanceStats, 1, &mut buf, 17, &mut ret),
            H_PARAMETER
        );
        assert!(HcallBuffer::new(0).is_err());
        // The copying variant refuses the same, and an empty buffer.
        let mut bytes = [0u8; 16];
        assert_eq!(
            hcall_with_copy(ScmHcall::Flush, 1, &mut bytes, &mut ret),
            H_PARAMETER
        );
        assert_eq!(
            hcall_with_copy(ScmHcall::PerformanceStats, 1, &mut [], &mut ret),
            H_PARAMETER
        );
        Ok(())
    }

    #[test]
    fn opcodes() {
        assert_eq!(ScmHcall::from_opcode(0x3E4), Some(ScmHcall::ReadMetadata));
        assert_eq!(ScmHcall::from_opcode(0x44C), Some(ScmHcall::Flush));
        // H_ENTER is not an SCM call.
        assert_eq!(ScmHcall::from_opcode(0x08), None);
    }
}
