// SPDX-License-Identifier: GPL-2.0

//! Performance statistics: the `H_SCM_PERFORMANCE_STATS` buffer.
//!
//! `core`-only. The buffer (`struct papr_scm_perf_stats`) is the 8-byte
//! eye-catcher `SCMSTATS`, a big-endian u32 version (1), a big-endian u32
//! statistic count, then 16-byte entries: an 8-byte id (`"MemLife "`, ...)
//! and a big-endian u64 value. A request names the statistics wanted
//! (count > 0, the values zero) or asks for all (count 0, in a buffer of
//! the size the hypervisor gave when asked with no buffer).

use super::hcall::{
    Hypervisor, H_AUTHORITY, H_FUNCTION, H_PARAMETER, H_PARTIAL, H_SCM_PERFORMANCE_STATS,
    H_SUCCESS, H_UNSUPPORTED, PLPAR_HCALL9_BUFSIZE,
};
use super::logic::{EIO, ENOENT, EOPNOTSUPP, EPERM};
use core::fmt;

/// The eye-catcher.
pub const EYECATCHER: [u8; 8] = *b"SCMSTATS";
/// The version this driver speaks.
pub const VERSION: u32 = 1;
/// Bytes before the entries.
pub const HEADER_LEN: usize = 16;
/// Bytes per entry.
pub const STAT_LEN: usize = 16;
/// Largest buffer accepted from the hypervisor's size answer (4095
/// statistics). C allocates whatever size it is given.
pub const MAX_BUFFER_LEN: usize = 64 << 10;
/// Bytes of a one-statistic request.
pub const ONE_STAT_LEN: usize = HEADER_LEN + STAT_LEN;

/// Statistic ids of the nvdimm PMU events, by event config (1..=16; 0 is
/// invalid), as `nvdimm_events_map` in C.
pub const PMU_EVENTS: [[u8; 8]; 17] = [
    [0; 8],
    *b"CtlResCt",
    *b"CtlResTm",
    *b"PonSecs ",
    *b"MemLife ",
    *b"CritRscU",
    *b"HostLCnt",
    *b"HostSCnt",
    *b"HostSDur",
    *b"HostLDur",
    *b"MedRCnt ",
    *b"MedWCnt ",
    *b"MedRDur ",
    *b"MedWDur ",
    *b"CchRHCnt",
    *b"CchWHCnt",
    *b"FastWCnt",
];

/// The id of the fuel gauge statistic.
pub const MEM_LIFE: [u8; 8] = *b"MemLife ";

/// The statistic id of PMU event `config`, `None` when invalid.
pub fn pmu_event(config: u64) -> Option<&'static [u8; 8]> {
    match config {
        1..=16 => PMU_EVENTS.get(usize::try_from(config).ok()?),
        _ => None,
    }
}

/// A statistics error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsError {
    /// `H_PARTIAL`: an unknown statistic id (`-ENOENT`).
    UnknownStat,
    /// `H_AUTHORITY` (`-EPERM`).
    Denied,
    /// `H_UNSUPPORTED`, `H_FUNCTION`, `H_PARAMETER`: statistics are not
    /// available (`-EOPNOTSUPP`; C gives `-EIO` for the latter two).
    Unsupported(i64),
    /// Any other status (`-EIO`).
    Hcall(i64),
    /// The size answer is below [`HEADER_LEN`] or above [`MAX_BUFFER_LEN`].
    BadSize(u64),
    /// The buffer is too small for the request or for the answer's count.
    Truncated,
}

impl StatsError {
    /// The errno (as C, except [`StatsError::Unsupported`] for
    /// `H_FUNCTION`/`H_PARAMETER`, `-EIO` in C; both hide `perf_stats`).
    pub fn errno(&self) -> i32 {
        match self {
            StatsError::UnknownStat => -ENOENT,
            StatsError::Denied => -EPERM,
            StatsError::Unsupported(_) => -EOPNOTSUPP,
            _ => -EIO,
        }
    }
}

fn map_rc(rc: i64) -> Result<(), StatsError> {
    match rc {
        H_SUCCESS => Ok(()),
        H_PARTIAL => Err(StatsError::UnknownStat),
        H_AUTHORITY => Err(StatsError::Denied),
        H_UNSUPPORTED | H_FUNCTION | H_PARAMETER => Err(StatsError::Unsupported(rc)),
        rc => Err(StatsError::Hcall(rc)),
    }
}

/// Asks the buffer size for all statistics (`drc_pmem_query_stats(p,
/// NULL, 0)` at probe). `Ok(None)` when statistics are not supported (the
/// `perf_stats` attribute and the PMU are then hidden); callers hide them
/// on any error too, as C does.
pub fn query_size(hv: &mut impl Hypervisor, drc_index: u32) -> Result<Option<usize>, StatsError> {
    let mut ret = [0u64; PLPAR_HCALL9_BUFSIZE];
    let rc = hv.hcall_buf(
        H_SCM_PERFORMANCE_STATS,
        u64::from(drc_index),
        None,
        &mut ret,
    );
    match map_rc(rc) {
        Ok(()) => {}
        Err(StatsError::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    match usize::try_from(ret[0]) {
        Ok(n) if (HEADER_LEN..=MAX_BUFFER_LEN).contains(&n) => Ok(Some(n)),
        _ => Err(StatsError::BadSize(ret[0])),
    }
}

/// Writes a request for `ids` (all statistics when empty) at the start of
/// `buf`; returns the request size to pass to the hypervisor (`buf.len()`
/// when asking for all).
pub fn write_request(buf: &mut [u8], ids: &[[u8; 8]]) -> Result<usize, StatsError> {
    let size = if ids.is_empty() {
        buf.len()
    } else {
        ids.len()
            .checked_mul(STAT_LEN)
            .and_then(|n| n.checked_add(HEADER_LEN))
            .ok_or(StatsError::Truncated)?
    };
    let count = u32::try_from(ids.len()).map_err(|_| StatsError::Truncated)?;
    let req = buf.get_mut(..size).ok_or(StatsError::Truncated)?;
    if req.len() < HEADER_LEN {
        return Err(StatsError::Truncated);
    }
    // A plain loop, which compiles to `memset()`: `fill()` would call
    // core's out-of-line `spec_fill`, one more function for the module
    // loader to link.
    for b in req.iter_mut() {
        *b = 0;
    }
    let (head, entries) = req.split_at_mut(HEADER_LEN);
    head[0..8].copy_from_slice(&EYECATCHER);
    head[8..12].copy_from_slice(&VERSION.to_be_bytes());
    head[12..16].copy_from_slice(&count.to_be_bytes());
    for (entry, id) in entries.chunks_exact_mut(STAT_LEN).zip(ids) {
        if let Some(dst) = entry.first_chunk_mut::<8>() {
            *dst = *id;
        }
    }
    Ok(size)
}

/// A parsed statistics buffer.
#[derive(Clone, Copy, Debug)]
pub struct Stats<'a> {
    version: u32,
    eyecatcher_ok: bool,
    entries: &'a [u8],
}

impl<'a> Stats<'a> {
    /// Parses an answer: the count must fit in `buf`. C trusts the count
    /// and reads past the buffer when it is too large. The eye-catcher and
    /// version are not required (C does not check them); see
    /// [`Stats::eyecatcher_ok`].
    pub fn parse(buf: &'a [u8]) -> Result<Self, StatsError> {
        let head = buf.get(..HEADER_LEN).ok_or(StatsError::Truncated)?;
        let mut w = [0u8; 4];
        w.copy_from_slice(&head[8..12]);
        let version = u32::from_be_bytes(w);
        w.copy_from_slice(&head[12..16]);
        let count = usize::try_from(u32::from_be_bytes(w)).map_err(|_| StatsError::Truncated)?;
        let len = count.checked_mul(STAT_LEN).ok_or(StatsError::Truncated)?;
        let end = len.checked_add(HEADER_LEN).ok_or(StatsError::Truncated)?;
        let entries = buf.get(HEADER_LEN..end).ok_or(StatsError::Truncated)?;
        Ok(Stats {
            version,
            eyecatcher_ok: head[0..8] == EYECATCHER,
            entries,
        })
    }

    /// The version field.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the eye-catcher reads `SCMSTATS`.
    pub fn eyecatcher_ok(&self) -> bool {
        self.eyecatcher_ok
    }

    /// Number of statistics.
    pub fn len(&self) -> usize {
        self.entries.len() / STAT_LEN
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The statistics: id and value.
    pub fn iter(&self) -> impl Iterator<Item = ([u8; 8], u64)> + 'a {
        // Every chunk has both halves; `?` rather than indexing keeps a
        // panic path out of the driver.
        self.entries.chunks_exact(STAT_LEN).filter_map(|e| {
            let (id, rest) = e.split_first_chunk::<8>()?;
            let v = rest.first_chunk::<8>()?;
            Some((*id, u64::from_be_bytes(*v)))
        })
    }

    /// The value of statistic `id`, if present.
    pub fn get(&self, id: &[u8; 8]) -> Option<u64> {
        self.iter().find(|(i, _)| i == id).map(|(_, v)| v)
    }

    /// Writes `papr/perf_stats` as `perf_stats_show()`: one line
    /// `"%.8s = 0x%016llX\n"` per statistic (the id up to its first NUL;
    /// bytes outside printable ASCII are written as `?`, where C writes them
    /// raw).
    pub fn write_text(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for (id, value) in self.iter() {
            for &b in id.iter().take_while(|&&b| b != 0) {
                let c = if (0x20..0x7f).contains(&b) {
                    char::from(b)
                } else {
                    '?'
                };
                out.write_char(c)?;
            }
            out.write_str(" = 0x")?;
            super::health::write_hex(out, value, 16, true)?;
            out.write_str("\n")?;
        }
        Ok(())
    }
}

/// Queries statistics `ids` (all when empty) into `buf`, which must hold
/// the request (for all statistics: the size from [`query_size`]). In the
/// kernel `buf` must be `kmalloc`ed (see [`Hypervisor::hcall_buf`]).
pub fn query<'a>(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    buf: &'a mut [u8],
    ids: &[[u8; 8]],
) -> Result<Stats<'a>, StatsError> {
    let size = write_request(buf, ids)?;
    let mut ret = [0u64; PLPAR_HCALL9_BUFSIZE];
    let req = buf.get_mut(..size).ok_or(StatsError::Truncated)?;
    let rc = hv.hcall_buf(
        H_SCM_PERFORMANCE_STATS,
        u64::from(drc_index),
        Some(req),
        &mut ret,
    );
    map_rc(rc)?;
    Stats::parse(buf.get(..size).ok_or(StatsError::Truncated)?)
}

/// Queries one statistic (PMU events, fuel gauge) in `buf` (at least
/// [`ONE_STAT_LEN`] bytes). C reads the value of the first entry without
/// looking at the answer's count; here the entry must be there.
pub fn query_one(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    id: &[u8; 8],
    buf: &mut [u8],
) -> Result<u64, StatsError> {
    let stats = query(hv, drc_index, buf, core::slice::from_ref(id))?;
    stats
        .iter()
        .next()
        .map(|(_, v)| v)
        .ok_or(StatsError::Truncated)
}
