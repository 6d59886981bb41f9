// SPDX-License-Identifier: GPL-2.0

//! PAPR hypervisor calls used by the SCM (storage class memory) driver.
//!
//! `core`-only: compiled into the Rust papr_scm kernel module and into the
//! host crate `tools/papr`, whose hypervisor model implements
//! [`Hypervisor`]. Values are those of `arch/powerpc/include/asm/hvcall.h`.
//!
//! The files of `drivers/nvdimm/papr_scm_rs/` refer to each other as
//! `super::hcall`, `super::dt`, ...: include them as sibling modules with
//! these names.

/// Return code: the call completed.
pub const H_SUCCESS: i64 = 0;
/// Return code: busy, call again (with the continue token if any).
pub const H_BUSY: i64 = 1;
/// Return code: request partially completed (unknown statistic id).
pub const H_PARTIAL: i64 = 5;
/// Return code: long busy, retry after about 1 ms.
pub const H_LONG_BUSY_ORDER_1_MSEC: i64 = 9900;
/// Return code: long busy, retry after about 10 ms.
pub const H_LONG_BUSY_ORDER_10_MSEC: i64 = 9901;
/// Return code: long busy, retry after about 100 ms.
pub const H_LONG_BUSY_ORDER_100_MSEC: i64 = 9902;
/// Return code: long busy, retry after about 1 s.
pub const H_LONG_BUSY_ORDER_1_SEC: i64 = 9903;
/// Return code: long busy, retry after about 10 s.
pub const H_LONG_BUSY_ORDER_10_SEC: i64 = 9904;
/// Return code: long busy, retry after about 100 s.
pub const H_LONG_BUSY_ORDER_100_SEC: i64 = 9905;
/// Return code: hardware error.
pub const H_HARDWARE: i64 = -1;
/// Return code: function not supported (unknown opcode).
pub const H_FUNCTION: i64 = -2;
/// Return code: caller not privileged.
pub const H_PRIVILEGE: i64 = -3;
/// Return code: parameter invalid (for SCM calls: bad DRC index).
pub const H_PARAMETER: i64 = -4;
/// Return code: not found.
pub const H_NOT_FOUND: i64 = -7;
/// Return code: no memory for the call.
pub const H_NO_MEM: i64 = -9;
/// Return code: permission denied.
pub const H_AUTHORITY: i64 = -10;
/// Return code: parameter 2 invalid.
pub const H_P2: i64 = -55;
/// Return code: parameter 3 invalid.
pub const H_P3: i64 = -56;
/// Return code: parameter 4 invalid.
pub const H_P4: i64 = -57;
/// Return code: parameter 5 invalid.
pub const H_P5: i64 = -58;
/// Return code: operation not supported.
pub const H_UNSUPPORTED: i64 = -67;
/// Return code: overlap (for `H_SCM_BIND_MEM`: the DRC is already bound).
pub const H_OVERLAP: i64 = -68;

/// Read 1, 2, 4 or 8 bytes of the label area: `(drc, offset, len)` ->
/// `ret[0]` = data, big-endian, in the low `len` bytes.
pub const H_SCM_READ_METADATA: u64 = 0x3E4;
/// Write 1, 2, 4 or 8 bytes of the label area: `(drc, offset, data, len)`.
pub const H_SCM_WRITE_METADATA: u64 = 0x3E8;
/// Bind blocks: `(drc, start block, count, target address, token)` ->
/// `ret[0]` = continue token, `ret[1]` = address of the first block bound
/// by this call, `ret[2]` = blocks bound by this call.
pub const H_SCM_BIND_MEM: u64 = 0x3EC;
/// Unbind blocks: `(drc, address, count, token)`.
pub const H_SCM_UNBIND_MEM: u64 = 0x3F0;
/// Address of one bound block: `(drc, block)` -> `ret[0]` = address.
pub const H_SCM_QUERY_BLOCK_MEM_BINDING: u64 = 0x3F4;
/// Block at an address: `(drc, address)` -> `ret[0]` = block.
pub const H_SCM_QUERY_LOGICAL_MEM_BINDING: u64 = 0x3F8;
/// Unbind everything in a scope: `(scope, drc, token)` -> `ret[0]` = token.
pub const H_SCM_UNBIND_ALL: u64 = 0x3FC;
/// Health: `(drc)` -> `ret[0]` = bitmap, `ret[1]` = valid-bits mask.
pub const H_SCM_HEALTH: u64 = 0x400;
/// Performance statistics: `(drc, buffer physical address, buffer size)`.
pub const H_SCM_PERFORMANCE_STATS: u64 = 0x418;
/// Flush: `(drc, token)` -> `ret[0]` = continue token.
pub const H_SCM_FLUSH: u64 = 0x44C;

/// `H_SCM_UNBIND_ALL` scope: every SCM block of the partition.
pub const H_UNBIND_SCOPE_ALL: u64 = 0x1;
/// `H_SCM_UNBIND_ALL` scope: every block of one DRC.
pub const H_UNBIND_SCOPE_DRC: u64 = 0x2;

/// `H_SCM_BIND_MEM` target address meaning "anywhere" (the C driver's
/// `BIND_ANY_ADDR`; QEMU answers `H_OVERLAP` to anything else).
pub const BIND_ANY_ADDR: u64 = !0;

/// Return words of `plpar_hcall()`.
pub const PLPAR_HCALL_BUFSIZE: usize = 4;
/// Return words of `plpar_hcall9()`.
pub const PLPAR_HCALL9_BUFSIZE: usize = 9;

/// Whether `rc` is one of the `H_LONG_BUSY_ORDER_*` codes.
pub const fn is_long_busy(rc: i64) -> bool {
    rc >= H_LONG_BUSY_ORDER_1_MSEC && rc <= H_LONG_BUSY_ORDER_100_SEC
}

/// Milliseconds to wait after a long-busy answer, as the kernel's
/// `get_longbusy_msecs()`: 10^order ms, and 1 ms for anything else.
pub const fn long_busy_msecs(rc: i64) -> u32 {
    match rc {
        H_LONG_BUSY_ORDER_1_MSEC => 1,
        H_LONG_BUSY_ORDER_10_MSEC => 10,
        H_LONG_BUSY_ORDER_100_MSEC => 100,
        H_LONG_BUSY_ORDER_1_SEC => 1000,
        H_LONG_BUSY_ORDER_10_SEC => 10000,
        H_LONG_BUSY_ORDER_100_SEC => 100000,
        _ => 1,
    }
}

/// The hypervisor, as seen by the SCM logic.
///
/// In the kernel this is a thin shell over `plpar_hcall()` (return words
/// in `ret[..PLPAR_HCALL_BUFSIZE]`, the rest left as they were),
/// `msleep()` and `cond_resched()`; on the host it is the PAPR SCM model
/// of `tools/papr`. Every sequence in this directory takes
/// `&mut impl Hypervisor` and does nothing else with the outside world.
pub trait Hypervisor {
    /// Makes hypervisor call `opcode` with up to 9 arguments (`args`,
    /// missing ones are zero) and returns its status. The call writes its
    /// return words into `ret`: `plpar_hcall()` writes the first
    /// [`PLPAR_HCALL_BUFSIZE`] and `plpar_hcall9()` all
    /// [`PLPAR_HCALL9_BUFSIZE`]; the SCM calls used here return at most
    /// three words, so the kernel implementation may use `plpar_hcall()`
    /// when `args.len() <= 6`. Callers zero `ret` first and read no word
    /// that the call does not define.
    fn hcall(&mut self, opcode: u64, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64;

    /// Makes hypervisor call `opcode` with arguments `(arg0, address of
    /// buf, buf.len())`, or `(arg0, 0, 0)` without a buffer. The hypervisor
    /// reads and writes `buf` in place. In the kernel `buf` must be
    /// physically contiguous memory of the linear map (from `kmalloc`), and
    /// its address is `virt_to_phys(buf)`.
    fn hcall_buf(
        &mut self,
        opcode: u64,
        arg0: u64,
        buf: Option<&mut [u8]>,
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64;

    /// Sleeps about `ms` milliseconds (`msleep()`), after a long-busy
    /// answer. An implementation that must not sleep (atomic context) may
    /// busy-wait instead.
    fn sleep_ms(&mut self, ms: u32);

    /// Gives the scheduler a chance (`cond_resched()`), after `H_BUSY`.
    fn cond_resched(&mut self) {}
}

/// Calls `opcode` with a fresh, zeroed return buffer; returns the status
/// and the return words.
pub fn call(
    hv: &mut impl Hypervisor,
    opcode: u64,
    args: &[u64],
) -> (i64, [u64; PLPAR_HCALL9_BUFSIZE]) {
    let mut ret = [0u64; PLPAR_HCALL9_BUFSIZE];
    let rc = hv.hcall(opcode, args, &mut ret);
    (rc, ret)
}

/// What to do after a status of a call that may be busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// The call completed (`H_SUCCESS`).
    Done,
    /// Busy: call again (after sleeping, for long-busy).
    Again,
    /// Any other status: an error.
    Failed(i64),
}

/// Classifies `rc` for the retry loops, waiting as the C driver does:
/// after a long-busy code it sleeps the hinted time, after `H_BUSY` it
/// calls [`Hypervisor::cond_resched`].
pub fn wait_if_busy(hv: &mut impl Hypervisor, rc: i64) -> Busy {
    if rc == H_SUCCESS {
        Busy::Done
    } else if rc == H_BUSY {
        hv.cond_resched();
        Busy::Again
    } else if is_long_busy(rc) {
        hv.sleep_ms(long_busy_msecs(rc));
        Busy::Again
    } else {
        Busy::Failed(rc)
    }
}
