// SPDX-License-Identifier: GPL-2.0
//! A model of the PAPR SCM hypervisor side, with fault injection.
//!
//! [`Model`] holds SCM DIMMs and answers the SCM hcalls the way QEMU's
//! `hw/ppc/spapr_nvdimm.c` does (argument checks, 256 MiB-style blocks,
//! label area through hcalls, asynchronous `H_SCM_FLUSH` with tokens), plus
//! what QEMU lacks (multi-call binds with continue tokens, health bitmap,
//! performance statistics). It implements the kernel logic's
//! [`Hypervisor`] trait directly, so host tests run the driver's own
//! sequences against it. It knows nothing of how a call arrives: a test VMM
//! can decode a guest's hcall (opcode, arguments, buffer) from any
//! transport and pass it to [`Model::hcall`] / [`Model::hcall_buf`].
//!
//! Every call is recorded in [`Model::log`], every requested sleep in
//! [`Model::sleeps`].

use crate::hcall::*;
use std::collections::BTreeMap;

/// One SCM DIMM.
#[derive(Clone, Debug)]
pub struct Dimm {
    /// DRC index.
    pub drc_index: u32,
    /// Bytes per block.
    pub block_size: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// The label area.
    pub metadata: Vec<u8>,
    /// Address of block 0 when (partly) bound.
    pub base: Option<u64>,
    /// Blocks bound so far from block 0.
    pub bound_blocks: u64,
    /// Health bitmap (`ret[0]` of `H_SCM_HEALTH`).
    pub health_bitmap: u64,
    /// Valid bits of the bitmap (`ret[1]`).
    pub health_valid: u64,
    /// Statistics: id and value.
    pub stats: Vec<([u8; 8], u64)>,
    /// Completed flushes.
    pub flushes: u64,
}

impl Dimm {
    /// A DIMM with a zeroed label area of `metadata_size` bytes.
    pub fn new(drc_index: u32, block_size: u64, blocks: u64, metadata_size: usize) -> Self {
        Dimm {
            drc_index,
            block_size,
            blocks,
            metadata: vec![0; metadata_size],
            base: None,
            bound_blocks: 0,
            health_bitmap: 0,
            health_valid: !0,
            stats: Vec::new(),
            flushes: 0,
        }
    }

    /// QEMU's `spapr-nvdimm` in `slot`: DRC `0x9000_0000 | slot`, 256 MiB
    /// blocks.
    pub fn qemu(slot: u32, blocks: u64, label_size: usize) -> Self {
        Dimm::new(0x9000_0000 | slot, 256 << 20, blocks, label_size)
    }

    /// Whether every block is bound.
    pub fn is_bound(&self) -> bool {
        self.base.is_some() && self.bound_blocks == self.blocks
    }
}

/// An injected answer: the `skip` next calls of `opcode` run normally, then
/// `times` calls answer `rc` without doing anything (busy answers echo the
/// caller's continue token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The hcall.
    pub opcode: u64,
    /// Calls to let through first.
    pub skip: u32,
    /// Calls answered with `rc`.
    pub times: u32,
    /// The status.
    pub rc: i64,
}

/// A recorded call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The hcall.
    pub opcode: u64,
    /// Its arguments (for buffer calls: `arg0`, buffer length).
    pub args: Vec<u64>,
    /// Its status.
    pub rc: i64,
}

#[derive(Clone, Copy, Debug)]
struct Flush {
    drc_index: u32,
    polls_left: u32,
}

/// The hypervisor.
#[derive(Debug)]
pub struct Model {
    /// The DIMMs.
    pub dimms: Vec<Dimm>,
    /// Where the next bind places its DIMM.
    pub next_addr: u64,
    /// Blocks bound per `H_SCM_BIND_MEM` call (0: all at once).
    pub bind_chunk: u64,
    /// Blocks unbound per `H_SCM_UNBIND_ALL` call (0: all at once).
    pub unbind_chunk: u64,
    /// Report the blocks bound per call in `ret[2]` (as QEMU does).
    pub report_bind_counts: bool,
    /// Place the second and later bind chunks `gap` bytes further
    /// (non-contiguous binding).
    pub bind_gap: u64,
    /// `H_SCM_HEALTH` implemented (QEMU: no, `H_FUNCTION`).
    pub health_supported: bool,
    /// `H_SCM_PERFORMANCE_STATS` implemented (QEMU: no).
    pub stats_supported: bool,
    /// Status of the statistics call when supported but failing.
    pub stats_rc: i64,
    /// Add this to the count of a statistics answer (bad hypervisor).
    pub stats_count_bias: u32,
    /// Answer to a size query instead of the real size.
    pub stats_size_override: Option<u64>,
    /// Write this count in statistics answers instead of the real one.
    pub stats_count_override: Option<u32>,
    /// Write this id over every statistic id of an answer.
    pub stats_answer_id: Option<[u8; 8]>,
    /// Long-busy code of a running flush (QEMU: 10 ms).
    pub flush_busy_rc: i64,
    /// Polls a flush stays busy after it starts.
    pub flush_polls: u32,
    /// Final status of flushes.
    pub flush_result: i64,
    /// Label reads: fill `ret[0]` above the read bytes with garbage.
    pub read_garbage: bool,
    /// Label accesses: fail after this many successful ones, with the status.
    pub meta_read_fail_after: Option<(u32, i64)>,
    /// Label writes: fail after this many successful ones, with the status.
    pub meta_write_fail_after: Option<(u32, i64)>,
    /// Injected answers, consumed in order per opcode.
    pub faults: Vec<Fault>,
    /// Every call.
    pub log: Vec<Call>,
    /// Every requested sleep (ms).
    pub sleeps: Vec<u32>,
    /// `cond_resched` calls.
    pub rescheds: u64,
    /// Virtual time (ms), advanced by sleeps.
    pub now_ms: u64,
    reads: u32,
    writes: u32,
    next_token: u64,
    flushes: BTreeMap<u64, Flush>,
}

impl Default for Model {
    fn default() -> Self {
        Model::new(Vec::new())
    }
}

impl Model {
    /// A QEMU-like hypervisor with these DIMMs.
    pub fn new(dimms: Vec<Dimm>) -> Self {
        Model {
            dimms,
            next_addr: 0x1_0000_0000,
            bind_chunk: 0,
            unbind_chunk: 0,
            report_bind_counts: true,
            bind_gap: 0,
            health_supported: false,
            stats_supported: false,
            stats_rc: H_SUCCESS,
            stats_count_bias: 0,
            stats_size_override: None,
            stats_count_override: None,
            stats_answer_id: None,
            flush_busy_rc: H_LONG_BUSY_ORDER_10_MSEC,
            flush_polls: 2,
            flush_result: H_SUCCESS,
            read_garbage: false,
            meta_read_fail_after: None,
            meta_write_fail_after: None,
            faults: Vec::new(),
            log: Vec::new(),
            sleeps: Vec::new(),
            rescheds: 0,
            now_ms: 0,
            reads: 0,
            writes: 0,
            next_token: 1,
            flushes: BTreeMap::new(),
        }
    }

    /// Adds an injected answer.
    pub fn inject(&mut self, opcode: u64, skip: u32, times: u32, rc: i64) {
        self.faults.push(Fault {
            opcode,
            skip,
            times,
            rc,
        });
    }

    /// The DIMM with DRC `drc`.
    pub fn dimm(&self, drc: u32) -> Option<&Dimm> {
        self.dimms.iter().find(|d| d.drc_index == drc)
    }

    fn dimm_index(&self, drc: u64) -> Option<usize> {
        self.dimms
            .iter()
            .position(|d| u64::from(d.drc_index) == drc)
    }

    /// Calls of `opcode` in the log.
    pub fn calls(&self, opcode: u64) -> usize {
        self.log.iter().filter(|c| c.opcode == opcode).count()
    }

    /// Marks a DIMM bound at `base` (as left by a previous kernel).
    pub fn prebind(&mut self, drc: u32, base: u64, blocks: u64) {
        if let Some(i) = self.dimm_index(u64::from(drc)) {
            self.dimms[i].base = Some(base);
            self.dimms[i].bound_blocks = blocks;
        }
    }

    fn take_fault(&mut self, opcode: u64) -> Option<i64> {
        let f = self
            .faults
            .iter_mut()
            .find(|f| f.opcode == opcode && f.times > 0)?;
        if f.skip > 0 {
            f.skip -= 1;
            return None;
        }
        f.times -= 1;
        Some(f.rc)
    }

    fn arg(args: &[u64], i: usize) -> u64 {
        args.get(i).copied().unwrap_or(0)
    }

    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }

    fn bind(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let (drc, start, count, target, token) = (
            Self::arg(args, 0),
            Self::arg(args, 1),
            Self::arg(args, 2),
            Self::arg(args, 3),
            Self::arg(args, 4),
        );
        let Some(i) = self.dimm_index(drc) else {
            return H_PARAMETER;
        };
        if target != BIND_ANY_ADDR {
            return H_OVERLAP;
        }
        let d = &self.dimms[i];
        if start != 0 {
            return H_P2;
        }
        if count != d.blocks {
            return H_P3;
        }
        // A new bind (token 0) of a DIMM with bound blocks overlaps.
        if token == 0 && d.bound_blocks > 0 {
            return H_OVERLAP;
        }
        if token != 0 && token != d.bound_blocks {
            return H_P5;
        }
        if d.base.is_none() {
            // Saturating: tests give the model absurd geometries and gaps.
            let size = d.blocks.saturating_mul(d.block_size);
            self.dimms[i].base = Some(self.next_addr);
            self.next_addr = self
                .next_addr
                .saturating_add(size)
                .saturating_add(self.bind_gap)
                .saturating_add(256 << 20);
        }
        let d = &mut self.dimms[i];
        let left = d.blocks - d.bound_blocks;
        let n = if self.bind_chunk == 0 {
            left
        } else {
            left.min(self.bind_chunk)
        };
        let gap = if d.bound_blocks > 0 { self.bind_gap } else { 0 };
        let addr = d.base.unwrap_or(0) + d.bound_blocks * d.block_size + gap;
        d.bound_blocks += n;
        ret[1] = addr;
        ret[2] = if self.report_bind_counts { n } else { 0 };
        if d.bound_blocks == d.blocks {
            ret[0] = 0;
            H_SUCCESS
        } else {
            ret[0] = d.bound_blocks;
            H_BUSY
        }
    }

    fn unbind_all(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let (scope, drc) = (Self::arg(args, 0), Self::arg(args, 1));
        let targets: Vec<usize> = match scope {
            H_UNBIND_SCOPE_DRC => match self.dimm_index(drc) {
                Some(i) => vec![i],
                None => return H_PARAMETER,
            },
            H_UNBIND_SCOPE_ALL => (0..self.dimms.len()).collect(),
            _ => return H_P1_SCOPE,
        };
        let mut more = false;
        for i in targets {
            let d = &mut self.dimms[i];
            let n = if self.unbind_chunk == 0 {
                d.bound_blocks
            } else {
                d.bound_blocks.min(self.unbind_chunk)
            };
            d.bound_blocks -= n;
            if d.bound_blocks == 0 {
                d.base = None;
            } else {
                more = true;
            }
        }
        if more {
            ret[0] = self.token();
            H_BUSY
        } else {
            H_SUCCESS
        }
    }

    fn query_block(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let Some(i) = self.dimm_index(Self::arg(args, 0)) else {
            return H_PARAMETER;
        };
        let d = &self.dimms[i];
        let block = Self::arg(args, 1);
        match d.base {
            Some(base) if block < d.bound_blocks => {
                ret[0] = base + block * d.block_size;
                H_SUCCESS
            }
            _ => H_NOT_FOUND,
        }
    }

    fn read_meta(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let Some(i) = self.dimm_index(Self::arg(args, 0)) else {
            return H_PARAMETER;
        };
        let (off, len) = (Self::arg(args, 1), Self::arg(args, 2));
        if !matches!(len, 1 | 2 | 4 | 8) {
            return H_P3;
        }
        let d = &self.dimms[i];
        let end = off.checked_add(len);
        if end.is_none_or(|e| e > d.metadata.len() as u64) {
            return H_P2;
        }
        if let Some((n, rc)) = self.meta_read_fail_after {
            if self.reads >= n {
                return rc;
            }
        }
        self.reads += 1;
        let bytes = &d.metadata[off as usize..(off + len) as usize];
        let mut v = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        if self.read_garbage && len < 8 {
            v |= 0xdead_beef_cafe_f00d << (len * 8);
        }
        ret[0] = v;
        H_SUCCESS
    }

    fn write_meta(&mut self, args: &[u64]) -> i64 {
        let Some(i) = self.dimm_index(Self::arg(args, 0)) else {
            return H_PARAMETER;
        };
        let (off, data, len) = (Self::arg(args, 1), Self::arg(args, 2), Self::arg(args, 3));
        if !matches!(len, 1 | 2 | 4 | 8) {
            return H_P4;
        }
        if len < 8 && data >> (len * 8) != 0 {
            return H_P3;
        }
        let d = &mut self.dimms[i];
        let end = off.checked_add(len);
        if end.is_none_or(|e| e > d.metadata.len() as u64) {
            return H_P2;
        }
        if let Some((n, rc)) = self.meta_write_fail_after {
            if self.writes >= n {
                return rc;
            }
        }
        self.writes += 1;
        let bytes = data.to_be_bytes();
        d.metadata[off as usize..(off + len) as usize].copy_from_slice(&bytes[8 - len as usize..]);
        H_SUCCESS
    }

    fn health(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        if !self.health_supported {
            return H_FUNCTION;
        }
        let Some(i) = self.dimm_index(Self::arg(args, 0)) else {
            return H_PARAMETER;
        };
        ret[0] = self.dimms[i].health_bitmap;
        ret[1] = self.dimms[i].health_valid;
        H_SUCCESS
    }

    fn flush(&mut self, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let (drc, token) = (Self::arg(args, 0), Self::arg(args, 1));
        let Some(i) = self.dimm_index(drc) else {
            return H_PARAMETER;
        };
        if token == 0 {
            // QEMU: start the flush in a worker, answer long busy with a token.
            let t = self.token();
            self.flushes.insert(
                t,
                Flush {
                    drc_index: self.dimms[i].drc_index,
                    polls_left: self.flush_polls,
                },
            );
            ret[0] = t;
            return self.flush_busy_rc;
        }
        let Some(f) = self.flushes.get_mut(&token) else {
            return H_P2;
        };
        if u64::from(f.drc_index) != drc {
            return H_P2;
        }
        if f.polls_left > 0 {
            f.polls_left -= 1;
            ret[0] = token;
            return self.flush_busy_rc;
        }
        self.flushes.remove(&token);
        if self.flush_result == H_SUCCESS {
            self.dimms[i].flushes += 1;
        }
        self.flush_result
    }

    fn stats(
        &mut self,
        drc: u64,
        buf: Option<&mut [u8]>,
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        if !self.stats_supported {
            return H_FUNCTION;
        }
        if self.stats_rc != H_SUCCESS {
            return self.stats_rc;
        }
        let Some(i) = self.dimm_index(drc) else {
            return H_PARAMETER;
        };
        let all = &self.dimms[i].stats;
        let buf = match buf {
            Some(b) if !b.is_empty() => b,
            _ => {
                ret[0] = self
                    .stats_size_override
                    .unwrap_or(16 + 16 * all.len() as u64);
                return H_SUCCESS;
            }
        };
        if buf.len() < 16 || buf[0..8] != *b"SCMSTATS" {
            return H_P2;
        }
        let count = u32::from_be_bytes(buf[12..16].try_into().unwrap()) as usize;
        let answer: Vec<([u8; 8], u64)> = if count == 0 {
            all.clone()
        } else {
            if buf.len() < 16 + 16 * count {
                return H_P3;
            }
            let mut v = Vec::new();
            for k in 0..count {
                let e = &buf[16 + 16 * k..32 + 16 * k];
                let id: [u8; 8] = e[0..8].try_into().unwrap();
                match all.iter().find(|(i, _)| *i == id) {
                    Some(&s) => v.push(s),
                    None => {
                        ret[0] = k as u64;
                        return H_PARTIAL;
                    }
                }
            }
            v
        };
        if buf.len() < 16 + 16 * answer.len() {
            return H_P3;
        }
        let n = self
            .stats_count_override
            .unwrap_or(answer.len() as u32 + self.stats_count_bias);
        buf[12..16].copy_from_slice(&n.to_be_bytes());
        for (k, (id, val)) in answer.iter().enumerate() {
            let id = self.stats_answer_id.as_ref().unwrap_or(id);
            buf[16 + 16 * k..24 + 16 * k].copy_from_slice(id);
            buf[24 + 16 * k..32 + 16 * k].copy_from_slice(&val.to_be_bytes());
        }
        H_SUCCESS
    }

    fn dispatch(
        &mut self,
        opcode: u64,
        args: &[u64],
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        if let Some(rc) = self.take_fault(opcode) {
            // Busy answers keep the caller's place.
            ret[0] = match opcode {
                H_SCM_BIND_MEM => Self::arg(args, 4),
                H_SCM_UNBIND_ALL => Self::arg(args, 2),
                H_SCM_FLUSH => Self::arg(args, 1),
                _ => 0,
            };
            return rc;
        }
        match opcode {
            H_SCM_BIND_MEM => self.bind(args, ret),
            H_SCM_UNBIND_ALL => self.unbind_all(args, ret),
            H_SCM_QUERY_BLOCK_MEM_BINDING => self.query_block(args, ret),
            H_SCM_READ_METADATA => self.read_meta(args, ret),
            H_SCM_WRITE_METADATA => self.write_meta(args),
            H_SCM_HEALTH => self.health(args, ret),
            H_SCM_FLUSH => self.flush(args, ret),
            _ => H_FUNCTION,
        }
    }
}

/// QEMU's answer to a bad `H_SCM_UNBIND_ALL` scope.
const H_P1_SCOPE: i64 = H_PARAMETER;

impl Hypervisor for Model {
    fn hcall(&mut self, opcode: u64, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        let rc = self.dispatch(opcode, args, ret);
        self.log.push(Call {
            opcode,
            args: args.to_vec(),
            rc,
        });
        rc
    }

    fn hcall_buf(
        &mut self,
        opcode: u64,
        arg0: u64,
        buf: Option<&mut [u8]>,
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        let len = buf.as_ref().map_or(0, |b| b.len() as u64);
        let rc = match self.take_fault(opcode) {
            Some(rc) => rc,
            None if opcode == H_SCM_PERFORMANCE_STATS => self.stats(arg0, buf, ret),
            None => H_FUNCTION,
        };
        self.log.push(Call {
            opcode,
            args: vec![arg0, len],
            rc,
        });
        rc
    }

    fn sleep_ms(&mut self, ms: u32) {
        self.sleeps.push(ms);
        self.now_ms += u64::from(ms);
    }

    fn cond_resched(&mut self) {
        self.rescheds += 1;
    }
}
