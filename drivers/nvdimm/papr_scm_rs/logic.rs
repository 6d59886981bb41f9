// SPDX-License-Identifier: GPL-2.0

//! SCM hcall sequences: bind, unbind, label area access, flush.
//!
//! `core`-only, generic over [`Hypervisor`]; tested on the host against the
//! PAPR SCM model of `tools/papr`. Differences from the C driver
//! (`arch/powerpc/platforms/pseries/papr_scm.c`) are marked "C:" below.

use super::hcall::{
    call, wait_if_busy, Busy, Hypervisor, BIND_ANY_ADDR, H_BUSY, H_OVERLAP, H_PARAMETER,
    H_SCM_BIND_MEM, H_SCM_FLUSH, H_SCM_QUERY_BLOCK_MEM_BINDING, H_SCM_READ_METADATA,
    H_SCM_UNBIND_ALL, H_SCM_WRITE_METADATA, H_SUCCESS, H_UNBIND_SCOPE_DRC,
};
use super::hcall::{is_long_busy, long_busy_msecs};

/// `EPERM`.
pub const EPERM: i32 = 1;
/// `ENOENT`.
pub const ENOENT: i32 = 2;
/// `EIO`.
pub const EIO: i32 = 5;
/// `ENXIO`.
pub const ENXIO: i32 = 6;
/// `ENODEV`.
pub const ENODEV: i32 = 19;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `EOPNOTSUPP`.
pub const EOPNOTSUPP: i32 = 95;

/// The geometry of one SCM DIMM (from [`super::dt::PmemConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// DRC index.
    pub drc_index: u32,
    /// Bytes per block (non-zero).
    pub block_size: u64,
    /// Number of blocks (non-zero).
    pub blocks: u64,
}

impl Geometry {
    /// `blocks * block_size`, `None` on overflow.
    pub fn size(&self) -> Option<u64> {
        self.blocks.checked_mul(self.block_size)
    }
}

/// What to do when `H_SCM_BIND_MEM` answers `H_OVERLAP` (already bound,
/// for example by the kernel before a kexec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOverlap {
    /// As C's `drc_pmem_query_n_bind()`: query the first and last blocks
    /// and keep the existing binding when it covers the DIMM contiguously;
    /// otherwise unbind all and bind again.
    QueryExisting,
    /// Always unbind all and bind again.
    Rebind,
}

/// How [`bind`] obtained the binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindHow {
    /// Bound by this call.
    Fresh,
    /// `H_OVERLAP`; the existing binding was contiguous and kept.
    Reused,
    /// `H_OVERLAP`; unbound all and bound again.
    Rebound,
}

/// A bound DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Address of block 0; the range is `addr .. addr + size`, which does
    /// not wrap.
    pub addr: u64,
    /// How it was obtained.
    pub how: BindHow,
}

/// An error of a bind, unbind or query sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindError {
    /// The geometry's size overflows.
    BadGeometry,
    /// `opcode` answered `rc`.
    Hcall {
        /// The hcall.
        opcode: u64,
        /// Its status.
        rc: i64,
    },
    /// A bind answer bound blocks elsewhere than right after the previous
    /// ones.
    NotContiguous {
        /// Where the next block should have been.
        expected: u64,
        /// Where the hypervisor bound it.
        got: u64,
    },
    /// The hypervisor reported binding a number of blocks other than the
    /// DIMM's (`bound` blocks).
    WrongCount {
        /// Blocks reported bound.
        bound: u64,
    },
    /// The bind completed without giving an address.
    NoAddress,
    /// The bound range `addr .. addr + size` wraps around.
    AddressOverflow {
        /// The address.
        addr: u64,
    },
    /// The bind failed after binding some blocks; the DIMM was unbound
    /// again (`cleanup` is the unbind's outcome) and `cause` is the error.
    Partial {
        /// The first error.
        cause: PartialCause,
        /// Whether the unbind that followed succeeded.
        cleanup_ok: bool,
    },
}

/// The error that interrupted a partial bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartialCause {
    /// An hcall status.
    Hcall(i64),
    /// Non-contiguous answer.
    NotContiguous,
    /// Wrong block count.
    WrongCount,
    /// Wrapping range.
    AddressOverflow,
}

impl BindError {
    /// The errno the C driver gives the probe (`-ENXIO` for every bind
    /// failure).
    pub fn errno(&self) -> i32 {
        -ENXIO
    }

    /// What went wrong, without the numbers (the kernel module logs this
    /// and [`BindError::value`] rather than the `Display` text, so that it
    /// carries no formatting code).
    pub fn what(&self) -> &'static str {
        match self {
            BindError::BadGeometry => "size overflows",
            BindError::Hcall { .. } => "hcall failed",
            BindError::NotContiguous { .. } => "blocks bound elsewhere than expected",
            BindError::WrongCount { .. } => "wrong number of blocks bound",
            BindError::NoAddress => "no bound address",
            BindError::AddressOverflow { .. } => "bound range wraps",
            BindError::Partial {
                cleanup_ok: true, ..
            } => "partial bind, unbound again",
            BindError::Partial { .. } => "partial bind, unbind failed",
        }
    }

    /// The number that goes with [`BindError::what`]: the hcall status
    /// (also of the call that interrupted a partial bind), the address the
    /// hypervisor bound at, the number of blocks bound; 0 when there is
    /// none.
    pub fn value(&self) -> i64 {
        match *self {
            BindError::Hcall { rc, .. }
            | BindError::Partial {
                cause: PartialCause::Hcall(rc),
                ..
            } => rc,
            BindError::NotContiguous { got: v, .. }
            | BindError::WrongCount { bound: v }
            | BindError::AddressOverflow { addr: v } => v as i64,
            _ => 0,
        }
    }
}

fn check_range(g: &Geometry, addr: u64) -> Result<(), BindError> {
    let size = g.size().ok_or(BindError::BadGeometry)?;
    match addr.checked_add(size) {
        Some(_) => Ok(()),
        None => Err(BindError::AddressOverflow { addr }),
    }
}

/// One `H_SCM_BIND_MEM` sequence. Returns the address, or the error and
/// whether some blocks may have been bound.
fn bind_once(hv: &mut impl Hypervisor, g: &Geometry) -> Result<u64, (BindError, bool)> {
    let mut token = 0u64;
    let mut first: Option<u64> = None;
    // Blocks reported bound through ret[2]; QEMU and PowerVM report them.
    let mut counted = 0u64;
    let drc = u64::from(g.drc_index);
    loop {
        let (rc, ret) = call(
            hv,
            H_SCM_BIND_MEM,
            &[drc, 0, g.blocks, BIND_ANY_ADDR, token],
        );
        token = ret[0];
        if rc == H_SUCCESS || rc == H_BUSY || is_long_busy(rc) {
            let (addr, n) = (ret[1], ret[2]);
            if n > 0 {
                match first {
                    None => first = Some(addr),
                    Some(f) => {
                        let expected = counted
                            .checked_mul(g.block_size)
                            .and_then(|o| f.checked_add(o))
                            .ok_or((BindError::AddressOverflow { addr: f }, true))?;
                        if addr != expected {
                            return Err((
                                BindError::NotContiguous {
                                    expected,
                                    got: addr,
                                },
                                true,
                            ));
                        }
                    }
                }
                counted = match counted.checked_add(n) {
                    Some(c) if c <= g.blocks => c,
                    _ => return Err((BindError::WrongCount { bound: u64::MAX }, true)),
                };
            } else if first.is_none() && addr != 0 {
                // C: the first non-zero address, counts or not.
                first = Some(addr);
            }
        }
        match wait_if_busy(hv, rc) {
            Busy::Done => break,
            Busy::Again => continue,
            Busy::Failed(rc) => {
                return Err((
                    BindError::Hcall {
                        opcode: H_SCM_BIND_MEM,
                        rc,
                    },
                    first.is_some(),
                ))
            }
        }
    }
    let addr = first.ok_or((BindError::NoAddress, false))?;
    if counted != 0 && counted != g.blocks {
        return Err((BindError::WrongCount { bound: counted }, true));
    }
    check_range(g, addr).map_err(|e| (e, true))?;
    Ok(addr)
}

/// Queries an existing binding as `drc_pmem_query_n_bind()`: the addresses
/// of the first and last blocks must be `(blocks - 1) * block_size` apart.
pub fn query_binding(hv: &mut impl Hypervisor, g: &Geometry) -> Result<u64, BindError> {
    let drc = u64::from(g.drc_index);
    let last = g.blocks.checked_sub(1).ok_or(BindError::BadGeometry)?;
    let (rc, ret) = call(hv, H_SCM_QUERY_BLOCK_MEM_BINDING, &[drc, 0]);
    if rc != H_SUCCESS {
        return Err(BindError::Hcall {
            opcode: H_SCM_QUERY_BLOCK_MEM_BINDING,
            rc,
        });
    }
    let start = ret[0];
    let (rc, ret) = call(hv, H_SCM_QUERY_BLOCK_MEM_BINDING, &[drc, last]);
    if rc != H_SUCCESS {
        return Err(BindError::Hcall {
            opcode: H_SCM_QUERY_BLOCK_MEM_BINDING,
            rc,
        });
    }
    let expected = last
        .checked_mul(g.block_size)
        .and_then(|o| start.checked_add(o))
        .ok_or(BindError::AddressOverflow { addr: start })?;
    if ret[0] != expected {
        return Err(BindError::NotContiguous {
            expected,
            got: ret[0],
        });
    }
    check_range(g, start)?;
    Ok(start)
}

fn partial(hv: &mut impl Hypervisor, g: &Geometry, e: BindError) -> BindError {
    let cause = match e {
        BindError::Hcall { rc, .. } => PartialCause::Hcall(rc),
        BindError::NotContiguous { .. } => PartialCause::NotContiguous,
        BindError::AddressOverflow { .. } => PartialCause::AddressOverflow,
        _ => PartialCause::WrongCount,
    };
    let cleanup_ok = unbind(hv, g.drc_index).is_ok();
    BindError::Partial { cause, cleanup_ok }
}

/// Binds all blocks of the DIMM: `H_SCM_BIND_MEM(drc, 0, blocks,
/// BIND_ANY_ADDR, token)` until `H_SUCCESS`, following continue tokens.
///
/// - `H_BUSY`: call again (after `cond_resched`); long-busy: sleep the
///   hinted time and call again. C: `drc_pmem_bind()` retries `H_BUSY`
///   only and fails the probe on a long-busy answer.
/// - The answers must bind the blocks contiguously: each answer's `ret[1]`
///   (address of its first block) follows the previous blocks, and the
///   counts in `ret[2]` add up to the DIMM's. C takes the first non-zero
///   address and checks nothing. (When a hypervisor reports no counts at
///   all, the first non-zero address is taken, as in C.)
/// - The range `addr .. addr + size` must not wrap (C: unchecked).
/// - `H_OVERLAP` (already bound): see [`OnOverlap`]; a second `H_OVERLAP`
///   after the unbind is an error, as in C. C ignores a failing unbind and
///   binds anyway (which then fails with `H_OVERLAP`); here the unbind's
///   error is returned.
/// - Any other error after some blocks were bound (for example
///   `H_HARDWARE` in the middle of a multi-call bind): C leaves the blocks
///   bound and fails the probe; here they are unbound again (best effort)
///   so that the hypervisor is left as it was, and
///   [`BindError::Partial`] is returned.
pub fn bind(
    hv: &mut impl Hypervisor,
    g: &Geometry,
    on_overlap: OnOverlap,
) -> Result<Bound, BindError> {
    g.size().ok_or(BindError::BadGeometry)?;
    match bind_once(hv, g) {
        Ok(addr) => Ok(Bound {
            addr,
            how: BindHow::Fresh,
        }),
        Err((BindError::Hcall { rc: H_OVERLAP, .. }, _)) => {
            if on_overlap == OnOverlap::QueryExisting {
                if let Ok(addr) = query_binding(hv, g) {
                    return Ok(Bound {
                        addr,
                        how: BindHow::Reused,
                    });
                }
            }
            unbind(hv, g.drc_index)?;
            match bind_once(hv, g) {
                Ok(addr) => Ok(Bound {
                    addr,
                    how: BindHow::Rebound,
                }),
                Err((e, true)) => Err(partial(hv, g, e)),
                Err((e, false)) => Err(e),
            }
        }
        Err((e, true)) => Err(partial(hv, g, e)),
        Err((e, false)) => Err(e),
    }
}

/// Unbinds every block of DRC `drc_index`: `H_SCM_UNBIND_ALL(
/// H_UNBIND_SCOPE_DRC, drc, token)` until `H_SUCCESS`, following continue
/// tokens, with the busy handling of [`bind`] (as `drc_pmem_unbind()`).
/// C only logs an error; here it is returned.
pub fn unbind(hv: &mut impl Hypervisor, drc_index: u32) -> Result<(), BindError> {
    let mut token = 0u64;
    loop {
        let (rc, ret) = call(
            hv,
            H_SCM_UNBIND_ALL,
            &[H_UNBIND_SCOPE_DRC, u64::from(drc_index), token],
        );
        token = ret[0];
        match wait_if_busy(hv, rc) {
            Busy::Done => return Ok(()),
            Busy::Again => {}
            Busy::Failed(rc) => {
                return Err(BindError::Hcall {
                    opcode: H_SCM_UNBIND_ALL,
                    rc,
                })
            }
        }
    }
}

/// An error of a label-area access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaError {
    /// `offset + len` is past the label area (or overflows). C computes the
    /// sum in 32 bits, where it can wrap and pass the check.
    OutOfRange,
    /// `H_PARAMETER`: bad DRC index (`-ENODEV` in C); `done` bytes were
    /// transferred before.
    BadDrc {
        /// Bytes done.
        done: usize,
    },
    /// Any other status (`-EINVAL` in C), after `done` bytes.
    Hcall {
        /// The status.
        rc: i64,
        /// Bytes done.
        done: usize,
    },
}

impl MetaError {
    /// The errno the C driver returns in `cmd_rc`.
    pub fn errno(&self) -> i32 {
        match self {
            MetaError::BadDrc { .. } => -ENODEV,
            _ => -EINVAL,
        }
    }

    /// What went wrong (for a log line without formatting code).
    pub fn what(&self) -> &'static str {
        match self {
            MetaError::OutOfRange => "out of range",
            MetaError::BadDrc { .. } => "bad DRC index",
            MetaError::Hcall { .. } => "hcall failed",
        }
    }

    /// The hcall status (`H_PARAMETER` for a bad DRC index, 0 for a range
    /// error).
    pub fn rc(&self) -> i64 {
        match *self {
            MetaError::OutOfRange => 0,
            MetaError::BadDrc { .. } => H_PARAMETER,
            MetaError::Hcall { rc, .. } => rc,
        }
    }
}

/// Size of the next label-area access for `remaining` bytes, as C chooses
/// it: 8, 4, 2 or 1 by the remaining length alone. (The accesses are not
/// aligned to the offset: C does not align them and PAPR does not ask for
/// it; QEMU only checks bounds.) `remaining` must not be 0.
pub const fn access_len(remaining: usize) -> usize {
    if remaining >= 8 {
        8
    } else if remaining >= 4 {
        4
    } else if remaining >= 2 {
        2
    } else {
        1
    }
}

fn check_meta_range(metadata_size: u32, offset: u32, len: usize) -> Result<(), MetaError> {
    let end = u64::from(offset)
        .checked_add(len as u64)
        .ok_or(MetaError::OutOfRange)?;
    if end > u64::from(metadata_size) {
        return Err(MetaError::OutOfRange);
    }
    Ok(())
}

// The label accessors' arithmetic is checked and fails with `OutOfRange`
// rather than panics (it cannot overflow after `check_meta_range`): in the
// module a panic path costs relocations at load time.

/// The label-area offset of the access `done` bytes into one at `offset`.
fn meta_offset(offset: u32, done: usize) -> Result<u64, MetaError> {
    u64::from(offset)
        .checked_add(done as u64)
        .ok_or(MetaError::OutOfRange)
}

/// `buf[start..start + n]`, if `buf` has it.
fn chunk_mut(buf: &mut [u8], start: usize, n: usize) -> Option<&mut [u8]> {
    buf.get_mut(start..)?.get_mut(..n)
}

fn meta_status(rc: i64, done: usize) -> Result<(), MetaError> {
    match rc {
        H_SUCCESS => Ok(()),
        H_PARAMETER => Err(MetaError::BadDrc { done }),
        rc => Err(MetaError::Hcall { rc, done }),
    }
}

/// Reads `buf.len()` bytes of the label area at `offset` with
/// `H_SCM_READ_METADATA(drc, offset, n)`, n = 8/4/2/1 ([`access_len`]);
/// the data is big-endian in the low `n` bytes of `ret[0]` (higher bytes
/// are ignored). As `papr_scm_meta_get()`.
pub fn read_metadata(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    metadata_size: u32,
    offset: u32,
    buf: &mut [u8],
) -> Result<(), MetaError> {
    check_meta_range(metadata_size, offset, buf.len())?;
    let mut done = 0usize;
    while done < buf.len() {
        let n = access_len(buf.len() - done);
        let off = meta_offset(offset, done)?;
        let (rc, ret) = call(
            hv,
            H_SCM_READ_METADATA,
            &[u64::from(drc_index), off, n as u64],
        );
        meta_status(rc, done)?;
        let bytes = ret[0].to_be_bytes();
        let src = bytes.get(8 - n..).ok_or(MetaError::OutOfRange)?;
        let dst = chunk_mut(buf, done, n).ok_or(MetaError::OutOfRange)?;
        dst.copy_from_slice(src);
        done = done.checked_add(n).ok_or(MetaError::OutOfRange)?;
    }
    Ok(())
}

/// Writes `data` to the label area at `offset` with
/// `H_SCM_WRITE_METADATA(drc, offset, value, n)`, n = 8/4/2/1, `value` the
/// next `n` bytes as a big-endian integer. As `papr_scm_meta_set()`.
pub fn write_metadata(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    metadata_size: u32,
    offset: u32,
    data: &[u8],
) -> Result<(), MetaError> {
    check_meta_range(metadata_size, offset, data.len())?;
    let mut done = 0usize;
    while done < data.len() {
        let n = access_len(data.len() - done);
        let off = meta_offset(offset, done)?;
        let src = data
            .get(done..)
            .and_then(|rest| rest.get(..n))
            .ok_or(MetaError::OutOfRange)?;
        let value = src.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        let (rc, _) = call(
            hv,
            H_SCM_WRITE_METADATA,
            &[u64::from(drc_index), off, value, n as u64],
        );
        meta_status(rc, done)?;
        done = done.checked_add(n).ok_or(MetaError::OutOfRange)?;
    }
    Ok(())
}

/// A flush error: `H_SCM_FLUSH` answered `rc` (`-EIO` in C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushError {
    /// The status.
    pub rc: i64,
}

impl FlushError {
    /// The errno the C driver returns.
    pub fn errno(&self) -> i32 {
        -EIO
    }
}

/// The outcome of one `H_SCM_FLUSH` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushStep {
    /// The flush is complete.
    Done,
    /// `H_BUSY`: call again now with the token.
    Busy,
    /// Long busy: call again with the token after this many milliseconds.
    Wait(u32),
}

/// One `H_SCM_FLUSH(drc, *token)` call; stores the continue token for the
/// next. For callers that cannot sleep where they are and want to wait
/// elsewhere; [`flush`] is the loop.
pub fn flush_step(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    token: &mut u64,
) -> Result<FlushStep, FlushError> {
    let (rc, ret) = call(hv, H_SCM_FLUSH, &[u64::from(drc_index), *token]);
    *token = ret[0];
    if rc == H_SUCCESS {
        Ok(FlushStep::Done)
    } else if rc == H_BUSY {
        Ok(FlushStep::Busy)
    } else if is_long_busy(rc) {
        Ok(FlushStep::Wait(long_busy_msecs(rc)))
    } else {
        Err(FlushError { rc })
    }
}

/// Flushes the DIMM as `papr_scm_pmem_flush()`: `H_SCM_FLUSH(drc, token)`
/// with the returned continue token while busy, sleeping the hinted time
/// after a long-busy answer and calling `cond_resched` after `H_BUSY`.
pub fn flush(hv: &mut impl Hypervisor, drc_index: u32) -> Result<(), FlushError> {
    let mut token = 0u64;
    loop {
        match flush_step(hv, drc_index, &mut token)? {
            FlushStep::Done => return Ok(()),
            FlushStep::Busy => hv.cond_resched(),
            FlushStep::Wait(ms) => hv.sleep_ms(ms),
        }
    }
}
