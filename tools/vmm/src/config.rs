// SPDX-License-Identifier: GPL-2.0
//! The machine description: NVDIMMs parsed from QEMU-like option strings,
//! validated against their backing files, and placed in guest physical
//! address space.
//!
//! Validation never changes anything on disk: a missing backing file is
//! only created (sparse, at its full size) by [`NvdimmConfig::create_file`]
//! after every check of every option passed.

use std::io;
use std::path::{Path, PathBuf};

use nvdimm_testkit::parse_size;
use nvdimm_testkit::size::SizeError;
use nvdimm_testkit::spec::SpecError;
use nvdimm_testkit::spec::{parse_flush_hints, parse_switch};

/// The smallest label area QEMU and the Linux label code accept.
pub const MIN_LABEL_SIZE: u64 = 128 << 10;
/// NVDIMM sizes (the persistent part) must be a multiple of this, as on
/// QEMU x86, so that namespaces can use 2 MiB pages.
pub const SIZE_ALIGN: u64 = 2 << 20;
/// Label areas are a whole number of pages (they end the backing file,
/// which is mapped in pages).
pub const LABEL_ALIGN: u64 = 4 << 10;
/// Where QEMU's pc machine starts device memory for guests with at most
/// 3.5 GiB of RAM below 4 GiB (and none above).
pub const DEVICE_MEMORY_BASE: u64 = 1 << 32;
/// Each DIMM starts on this boundary in device memory.
pub const DIMM_ALIGN: u64 = 128 << 20;
/// The most guest RAM with which [`DEVICE_MEMORY_BASE`] holds.
pub const MAX_MEMORY: u64 = 3 << 30;
/// The most DIMMs of one machine (QEMU's default device memory slots are
/// plenty; the NFIT handle space is not a limit).
pub const MAX_DIMMS: usize = 16;
/// The most interleave sets (`set=1` to `set=8`).
pub const MAX_SETS: u8 = 8;
/// DIMMs per interleave set: the sets are 2-way.
pub const SET_WAYS: u16 = 2;
/// The interleave line the NFIT describes for a set (its interleave
/// structure's line size; DIMM `i` of a set starts `i` lines into it).
pub const SET_LINE_SIZE: u32 = 4 << 10;

/// Guest physical address of the flush hint page: a small `pc-dimm`
/// (backed by a file the VMM maps) that holds every DIMM's flush hint
/// addresses, far above the DIMMs and their hotplug room, outside every
/// SPA range and guest RAM (64 GiB).
pub const FLUSH_BASE: u64 = 64 << 30;
/// Size of the flush hint `pc-dimm` (2 MiB, a size QEMU maps like any DIMM).
pub const FLUSH_SIZE: u64 = 2 << 20;
/// Each DIMM slot has its own 4 KiB page of hints, at
/// `FLUSH_BASE + slot * FLUSH_PAGE`; hint `i` is at `+ i * FLUSH_STRIDE`.
pub const FLUSH_PAGE: u64 = 4 << 10;
pub const FLUSH_STRIDE: u64 = 64;
pub use nvdimm_testkit::spec::{LabelMethods, MAX_FLUSH_HINTS};

/// The guest physical address of flush hint `i` of the DIMM in `slot`.
pub fn flush_hint_address(slot: u16, i: u8) -> u64 {
    FLUSH_BASE + u64::from(slot) * FLUSH_PAGE + u64::from(i) * FLUSH_STRIDE
}

/// Why an `--nvdimm` or `--ocxlpmem` option, or the placement of the
/// DIMMs, is refused. Every message names the key or the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("'{0}': expected key=value")]
    NotKeyValue(String),
    #[error("unknown key '{key}' (known: {known})")]
    UnknownKey { key: String, known: &'static str },
    #[error("path=FILE is required")]
    NoPath,
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("label-size={0} is below the minimum of 128K (or leave it out for a label-less DIMM)")]
    LabelTooSmall(u64),
    #[error("label-size={0} is not a multiple of 4K")]
    LabelUnaligned(u64),
    #[error("label-methods=on|both needs a label area (label-size=)")]
    MethodsWithoutLabels,
    #[error("--nvdimm-intel {0}: expected the handle of an --nvdimm (1 for the first)")]
    BadIntelDimm(String),
    #[error("{0} needs intel=on")]
    NeedsIntel(&'static str),
    #[error("intel=on: the DIMM is of the Intel family, label-methods=on makes it Microsoft's")]
    IntelWithMethods,
    #[error("acpi-device=off: the DIMM has no ACPI device to serve {0}")]
    NoDeviceFor(&'static str),
    #[error("overwrite-ms={0}: expected 0 to {MAX_OVERWRITE_MS}")]
    BadOverwriteTime(String),
    #[error(
        "size={0} must be a non-zero multiple of 2M (the persistent part, label area excluded)"
    )]
    BadSize(u64),
    #[error("size plus label-size overflows")]
    SizeOverflow,
    #[error("{}: {source} (give size= to create a new backing file)", path.display())]
    NoSize { path: PathBuf, source: io::Error },
    #[error("{}: {len} bytes cannot hold a label area of {label_size}", path.display())]
    NoRoomForLabels {
        path: PathBuf,
        len: u64,
        label_size: u64,
    },
    #[error("{}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "{}: the file is {len} bytes, too small for {} ({want} bytes)",
        path.display(),
        sizes.spec()
    )]
    FileTooSmall {
        path: PathBuf,
        len: u64,
        sizes: FileSizes,
        want: u64,
    },
    #[error(
        "{}: the file is {len} bytes but {} is {want}: QEMU maps whole files, so they must match",
        path.display(),
        sizes.spec()
    )]
    FileSizeMismatch {
        path: PathBuf,
        len: u64,
        sizes: FileSizes,
        want: u64,
    },
    #[error("{}: directory {} does not exist", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("vectors={0}: expected 1 to {max}", max = MAX_OCXL_VECTORS)]
    BadVectors(String),
    #[error("serial={0}: expected a non-zero number (decimal or 0x hex, 64 bits)")]
    BadSerial(String),
    #[error(
        "size={0} must be a multiple of 128M from 256M to 64G (128 MiB memory sections: one \
         of metadata, then at least one of pmem)"
    )]
    BadCardSize(u64),
    #[error("at most {MAX_DIMMS} NVDIMMs")]
    TooManyDimms,
    #[error("NVDIMMs do not fit in the address space")]
    AddressSpace,
    #[error("NVDIMMs reach the flush hint page at 64 GiB")]
    ReachesFlushPage,
    #[error("--spa {0}: expected a range type first: volatile, vdisk, vcd, pdisk or pcd")]
    BadSpaType(String),
    #[error(
        "--spa volatile needs dimm=N, the handle of the --nvdimm that maps it (1 for the first)"
    )]
    SpaNeedsDimm,
    #[error("--spa {0}: a virtual disk or CD is mapped by no DIMM (leave out dimm=)")]
    SpaDimmOnVirtual(&'static str),
    #[error("dimm={0}: expected the handle of an --nvdimm (1 for the first)")]
    BadSpaDimm(String),
    #[error("--spa dimm={0}: there is no such --nvdimm")]
    SpaNoDimm(u32),
    #[error("at most {MAX_SPAS} --spa ranges")]
    TooManySpas,
    #[error("set={0}: expected an interleave set number from 1 to {MAX_SETS}")]
    BadSet(String),
    #[error("set={set}: an interleave set is {SET_WAYS} --nvdimm options, found {count}")]
    SetMembers { set: u8, count: usize },
    #[error("set={0}: the DIMMs of an interleave set must be consecutive --nvdimm options")]
    SetNotAdjacent(u8),
    #[error("set={0}: the DIMMs of an interleave set must have the same size")]
    SetSizes(u8),
}

/// The sizes a backing file must hold, as the option gave them: an
/// NVDIMM's persistent part and label area, or a card's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSizes {
    pub size: u64,
    /// `None` for a card, which has no label area.
    pub label_size: Option<u64>,
}

impl FileSizes {
    fn spec(&self) -> String {
        match self.label_size {
            Some(l) => format!("size={} plus label-size={l}", self.size),
            None => format!("size={}", self.size),
        }
    }
}

impl ConfigError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One `--nvdimm` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvdimmConfig {
    pub path: PathBuf,
    /// The persistent-memory size the guest sees (the backing file less
    /// the label area); `None` until resolved from an existing file.
    pub size: u64,
    /// The label area at the end of the file; 0 for a label-less DIMM.
    pub label_size: u64,
    /// `unarmed=on`: the memory device map says the DIMM cannot persist
    /// writes, and Linux makes its region read-only.
    pub unarmed: bool,
    /// `label-methods=off|on|both`.
    pub label_methods: LabelMethods,
    /// `flush-hints=N`: flush hint addresses in the NFIT (0 to 8).
    pub flush_hints: u8,
    /// `intel=on`: the DIMM serves the whole Intel `_DSM` family (SMART,
    /// security, firmware update), not only the label functions.
    pub intel: bool,
    /// `state=PATH`: the Intel family's state file (with `intel=on`).
    pub intel_state: Option<PathBuf>,
    /// `overwrite-ms=N`: how long an Intel overwrite takes.
    pub overwrite_ms: u64,
    /// `acpi-device=off`: the SSDT leaves out the DIMM's device (the
    /// `_ADR` child of the root device), as firmware may: the NFIT still
    /// describes the DIMM, which then has no `_DSM` and no label methods
    /// (Linux registers it with `force_enable_dimms` only).
    pub acpi_device: bool,
    /// `set=N`: the DIMM is one of the two of interleave set `N` (1 to
    /// [`MAX_SETS`]); `None` for a DIMM with an SPA range of its own.
    pub set: Option<u8>,
    /// `zero-uuid=on`: the DIMM's `_DSM` also answers function 0 of the
    /// all-zero UUID (offering no function), the GUID Linux's C nfit asks
    /// for the slot of `NVDIMM_FAMILY_PAPR`, which it has no GUID for.
    pub zero_uuid: bool,
}

/// How long an Intel overwrite takes by default (`overwrite-ms=`).
pub const DEFAULT_OVERWRITE_MS: u64 = 3000;
/// The longest overwrite (`overwrite-ms=`).
pub const MAX_OVERWRITE_MS: u64 = 600_000;

/// The `key=value` items of a comma-separated device spec (QEMU's syntax;
/// empty items are skipped).
fn key_values(spec: &str) -> impl Iterator<Item = Result<(&str, &str), ConfigError>> {
    spec.split(',').filter(|t| !t.is_empty()).map(|kv| {
        kv.split_once('=')
            .ok_or_else(|| ConfigError::NotKeyValue(kv.to_string()))
    })
}

/// The size of an existing backing file, for a spec without `size=`.
fn existing_size(path: &Path) -> Result<u64, ConfigError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| ConfigError::NoSize {
            path: path.to_path_buf(),
            source,
        })
}

impl NvdimmConfig {
    /// Parses `path=F,size=S,label-size=L,unarmed=off` (QEMU's syntax;
    /// `size` may be left out when the file exists: it is then the file's
    /// size less the label area). Checks the values, not the file.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let mut path = None;
        let mut size = None;
        let mut label_size = 0;
        let mut unarmed = false;
        let mut label_methods = LabelMethods::Off;
        let mut flush_hints = 0;
        let mut intel = false;
        let mut intel_state = None;
        let mut overwrite_ms = None;
        let mut acpi_device = true;
        let mut set = None;
        let mut zero_uuid = false;
        for kv in key_values(spec) {
            let (k, v) = kv?;
            match k {
                "path" | "mem-path" => path = Some(PathBuf::from(v)),
                "size" => size = Some(parse_size(v)?),
                "label-size" => label_size = parse_size(v)?,
                "unarmed" => unarmed = parse_switch(k, v)?,
                "label-methods" => label_methods = LabelMethods::parse(v)?,
                "flush-hints" => flush_hints = parse_flush_hints(v)?,
                "intel" => intel = parse_switch(k, v)?,
                "acpi-device" => acpi_device = parse_switch(k, v)?,
                "zero-uuid" => zero_uuid = parse_switch(k, v)?,
                "state" => intel_state = Some(PathBuf::from(v)),
                "set" => {
                    set = Some(
                        v.parse::<u8>()
                            .ok()
                            .filter(|n| (1..=MAX_SETS).contains(n))
                            .ok_or_else(|| ConfigError::BadSet(v.to_string()))?,
                    )
                }
                "overwrite-ms" => {
                    overwrite_ms = Some(
                        v.parse::<u64>()
                            .ok()
                            .filter(|n| *n <= MAX_OVERWRITE_MS)
                            .ok_or_else(|| ConfigError::BadOverwriteTime(v.to_string()))?,
                    )
                }
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: k.to_string(),
                        known: "path, size, label-size, unarmed, label-methods, flush-hints, \
                                intel, state, overwrite-ms, acpi-device, set, zero-uuid",
                    })
                }
            }
        }
        let path = path.ok_or(ConfigError::NoPath)?;
        if label_size != 0 && label_size < MIN_LABEL_SIZE {
            return Err(ConfigError::LabelTooSmall(label_size));
        }
        if !label_size.is_multiple_of(LABEL_ALIGN) {
            return Err(ConfigError::LabelUnaligned(label_size));
        }
        if label_methods.methods() && label_size == 0 {
            return Err(ConfigError::MethodsWithoutLabels);
        }
        if !intel && intel_state.is_some() {
            return Err(ConfigError::NeedsIntel("state="));
        }
        if !intel && overwrite_ms.is_some() {
            return Err(ConfigError::NeedsIntel("overwrite-ms="));
        }
        if intel && label_methods.methods() && !label_methods.dsm() {
            return Err(ConfigError::IntelWithMethods);
        }
        if !acpi_device && intel {
            return Err(ConfigError::NoDeviceFor("intel=on"));
        }
        if !acpi_device && label_methods.methods() {
            return Err(ConfigError::NoDeviceFor("label-methods="));
        }
        if !acpi_device && zero_uuid {
            return Err(ConfigError::NoDeviceFor("zero-uuid=on"));
        }
        let mut nv = NvdimmConfig {
            path,
            size: 0,
            label_size,
            unarmed,
            label_methods,
            flush_hints,
            intel,
            intel_state,
            overwrite_ms: overwrite_ms.unwrap_or(DEFAULT_OVERWRITE_MS),
            acpi_device,
            set,
            zero_uuid,
        };
        match size {
            Some(s) => nv.set_size(s)?,
            None => {
                let len = existing_size(&nv.path)?;
                let s =
                    len.checked_sub(label_size)
                        .ok_or_else(|| ConfigError::NoRoomForLabels {
                            path: nv.path.clone(),
                            len,
                            label_size,
                        })?;
                nv.set_size(s)?;
            }
        }
        Ok(nv)
    }

    fn set_size(&mut self, size: u64) -> Result<(), ConfigError> {
        if size == 0 || !size.is_multiple_of(SIZE_ALIGN) {
            return Err(ConfigError::BadSize(size));
        }
        self.size = size;
        self.file_size()?;
        Ok(())
    }

    /// Bytes of the backing file: the persistent part, then the labels.
    pub fn file_size(&self) -> Result<u64, ConfigError> {
        self.size
            .checked_add(self.label_size)
            .ok_or(ConfigError::SizeOverflow)
    }

    /// Checks an existing backing file: it must be a regular file of at
    /// least the DIMM's size (QEMU refuses a size mismatch too; a larger
    /// file keeps its tail unused). A missing file is fine (it will be
    /// created). Nothing is changed.
    pub fn check_file(&self) -> Result<bool, ConfigError> {
        let sizes = FileSizes {
            size: self.size,
            label_size: Some(self.label_size),
        };
        check_file(&self.path, sizes, self.file_size()?)
    }

    /// Creates the sparse backing file; never touches an existing one.
    pub fn create_file(&self) -> Result<(), ConfigError> {
        create_file(&self.path, self.file_size()?)
    }
}

/// `--nvdimm-intel DIMM[,state=PATH][,overwrite-ms=N]`: `intel=on` (and
/// its keys) for the DIMM with NFIT handle `DIMM` (1 for the first
/// `--nvdimm`), for launchers that pass DIMMs in QEMU's spelling only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelOption {
    pub handle: u32,
    /// The `key=value` items past the handle, as `--nvdimm` takes them.
    pub keys: String,
}

impl IntelOption {
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let (handle, keys) = spec.split_once(',').unwrap_or((spec, ""));
        let handle = handle
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=MAX_DIMMS as u32).contains(h))
            .ok_or_else(|| ConfigError::BadIntelDimm(handle.to_string()))?;
        for kv in key_values(keys) {
            let (k, _) = kv?;
            if k != "state" && k != "overwrite-ms" {
                return Err(ConfigError::UnknownKey {
                    key: k.to_string(),
                    known: "state, overwrite-ms",
                });
            }
        }
        Ok(IntelOption {
            handle,
            keys: keys.to_string(),
        })
    }

    /// The `--nvdimm` option `spec` with this option's keys added.
    pub fn apply(&self, d: &NvdimmConfig) -> Result<NvdimmConfig, ConfigError> {
        let mut out = d.clone();
        out.intel = true;
        for kv in key_values(&self.keys) {
            match kv? {
                ("state", v) => out.intel_state = Some(PathBuf::from(v)),
                ("overwrite-ms", v) => {
                    out.overwrite_ms = v
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n <= MAX_OVERWRITE_MS)
                        .ok_or_else(|| ConfigError::BadOverwriteTime(v.to_string()))?
                }
                _ => {}
            }
        }
        if out.label_methods.methods() && !out.label_methods.dsm() {
            return Err(ConfigError::IntelWithMethods);
        }
        if !out.acpi_device {
            return Err(ConfigError::NoDeviceFor("intel=on"));
        }
        Ok(out)
    }
}

/// Checks an existing backing file of `want` bytes (see
/// [`NvdimmConfig::check_file`]); whether it exists.
fn check_file(path: &Path, sizes: FileSizes, want: u64) -> Result<bool, ConfigError> {
    let path_buf = || path.to_path_buf();
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(ConfigError::NotAFile { path: path_buf() }),
        Ok(m) if m.len() < want => Err(ConfigError::FileTooSmall {
            path: path_buf(),
            len: m.len(),
            sizes,
            want,
        }),
        Ok(m) if m.len() > want => Err(ConfigError::FileSizeMismatch {
            path: path_buf(),
            len: m.len(),
            sizes,
            want,
        }),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if dir.is_dir() {
                Ok(false)
            } else {
                Err(ConfigError::NoDirectory {
                    path: path_buf(),
                    dir: dir.to_path_buf(),
                })
            }
        }
        Err(e) => Err(ConfigError::io(path)(e)),
    }
}

/// Creates a sparse backing file of `len` bytes; never an existing one.
/// [`check_file`] for a file without a label area, used whole.
fn check_plain_file(path: &Path, size: u64) -> Result<bool, ConfigError> {
    let sizes = FileSizes {
        size,
        label_size: None,
    };
    check_file(path, sizes, size)
}

fn create_file(path: &Path, len: u64) -> Result<(), ConfigError> {
    let f = std::fs::File::create_new(path).map_err(ConfigError::io(path))?;
    f.set_len(len).map_err(ConfigError::io(path))
}

/// The card's memory is carved in x86 memory sections (128 MiB): the
/// first is metadata (labels), the rest pmem (`ocxlpmem_core::attach`).
pub const OCXL_SECTION: u64 = 128 << 20;
/// The smallest `--ocxlpmem` card memory: the metadata section and one
/// section of pmem.
pub const MIN_OCXL_SIZE: u64 = 2 * OCXL_SECTION;
/// The largest `--ocxlpmem` card memory.
pub const MAX_OCXL_SIZE: u64 = 64 << 30;
/// Guest physical address of the card's memory (a `pc-dimm`): 1 GiB past
/// the flush hint page, so outside the DIMMs, their hotplug room (both
/// end below [`FLUSH_BASE`]), the flush hint page and guest RAM; section
/// aligned, as the attachment requires.
pub const OCXL_MEMORY_BASE: u64 = FLUSH_BASE + (1 << 30);
/// Default MSI-X vectors of the card (OpenCAPI pmem uses two).
/// The most interrupt vectors of the card: what its `ivshmem-doorbell`
/// transport can raise (`crate::transport::ivshmem::MAX_VECTORS`, which
/// a test keeps equal).
pub const MAX_OCXL_VECTORS: u32 = 32;
pub const DEFAULT_OCXL_VECTORS: u32 = 2;
/// The card's serial number unless `serial=` names one. The driver
/// derives the card's interleave-set cookie from it, so a card keeps its
/// namespaces wherever it is attached as long as its serial stays.
pub const DEFAULT_OCXL_SERIAL: u64 = 0x0625_0000_0000_0001;

/// The `--ocxlpmem` option: the OpenCAPI pmem card, its register file
/// served through an `ivshmem-doorbell` device and its memory, the file
/// `path`, as a `pc-dimm` at [`OCXL_MEMORY_BASE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcxlConfig {
    pub path: PathBuf,
    /// The card memory's size: the whole backing file.
    pub size: u64,
    /// MSI-X vectors (1 to 32).
    pub vectors: u32,
    /// The card's serial number (never 0).
    pub serial: u64,
}

impl OcxlConfig {
    /// Parses `path=F,size=S[,vectors=N][,serial=X]` (`size` may be left out for an
    /// existing file: it is then the file's size). Checks the values, not
    /// the file's contents; changes nothing.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let mut path = None;
        let mut size = None;
        let mut vectors = DEFAULT_OCXL_VECTORS;
        let mut serial = DEFAULT_OCXL_SERIAL;
        for kv in key_values(spec) {
            let (k, v) = kv?;
            match k {
                "path" | "mem-path" => path = Some(PathBuf::from(v)),
                "size" => size = Some(parse_size(v)?),
                "vectors" => {
                    vectors = v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_OCXL_VECTORS).contains(n))
                        .ok_or_else(|| ConfigError::BadVectors(v.to_string()))?
                }
                "serial" => {
                    serial = v
                        .strip_prefix("0x")
                        .map_or_else(|| v.parse::<u64>(), |h| u64::from_str_radix(h, 16))
                        .ok()
                        .filter(|&n| n != 0)
                        .ok_or_else(|| ConfigError::BadSerial(v.to_string()))?
                }
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: k.to_string(),
                        known: "path, size, vectors, serial",
                    })
                }
            }
        }
        let path = path.ok_or(ConfigError::NoPath)?;
        let size = match size {
            Some(s) => s,
            None => existing_size(&path)?,
        };
        if !size.is_multiple_of(OCXL_SECTION) || !(MIN_OCXL_SIZE..=MAX_OCXL_SIZE).contains(&size) {
            return Err(ConfigError::BadCardSize(size));
        }
        Ok(OcxlConfig {
            path,
            size,
            vectors,
            serial,
        })
    }

    /// As [`NvdimmConfig::check_file`]: an existing file must be a regular
    /// file of exactly `size` bytes (QEMU maps the whole file as a DIMM).
    pub fn check_file(&self) -> Result<bool, ConfigError> {
        check_plain_file(&self.path, self.size)
    }

    /// Creates the sparse backing file; never touches an existing one.
    pub fn create_file(&self) -> Result<(), ConfigError> {
        create_file(&self.path, self.size)
    }
}

/// An NVDIMM placed in guest physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedDimm {
    pub config: NvdimmConfig,
    /// Slot number: the NFIT handle is `slot + 1`, as on QEMU.
    pub slot: u16,
    /// Guest physical address of the start of the backing file (and of
    /// the persistent part, which the SPA structure describes).
    pub address: u64,
    /// The interleave set the DIMM is one of (`set=`).
    pub set: Option<SetMember>,
}

/// A DIMM's place in a 2-way interleave set: the set's one SPA range
/// covers both DIMMs' persistent parts, the first DIMM's then the
/// second's (the VMM concatenates them; the NFIT describes lines of
/// [`SET_LINE_SIZE`], which a guest cannot tell apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetMember {
    /// `set=N`.
    pub number: u8,
    /// 0 for the first DIMM of the set, 1 for the second.
    pub position: u16,
    /// The set's SPA range: its index (that of the first DIMM's slot, as
    /// QEMU numbers a DIMM's range), base and length.
    pub range_index: u16,
    pub base: u64,
    pub length: u64,
}

impl SetMember {
    /// The memory device's region offset: where its first line starts
    /// in the SPA range.
    pub fn region_offset(&self) -> u64 {
        u64::from(self.position) * u64::from(SET_LINE_SIZE)
    }
}

impl PlacedDimm {
    /// Bytes of guest physical memory the DIMM's backing file is mapped
    /// over: the whole file, or only the persistent part for a DIMM of
    /// an interleave set (whose label area must not sit between the two
    /// DIMMs' memory). The sum cannot overflow: [`NvdimmConfig::parse`]
    /// checked it.
    pub fn mapped_size(&self) -> u64 {
        match self.set {
            Some(_) => self.config.size,
            None => self.config.size + self.config.label_size,
        }
    }
}

fn align_up(x: u64, a: u64) -> Option<u64> {
    x.checked_add(a - 1).map(|v| v & !(a - 1))
}

/// Checks the interleave sets: each `set=N` names exactly two
/// consecutive `--nvdimm` options of the same size.
fn check_sets(dimms: &[NvdimmConfig]) -> Result<(), ConfigError> {
    for n in 1..=MAX_SETS {
        let members: Vec<usize> = (0..dimms.len())
            .filter(|&i| dimms[i].set == Some(n))
            .collect();
        match members[..] {
            [] => {}
            [a, b] if b != a + 1 => return Err(ConfigError::SetNotAdjacent(n)),
            [a, b] if dimms[a].size != dimms[b].size => return Err(ConfigError::SetSizes(n)),
            [_, _] => {}
            _ => {
                return Err(ConfigError::SetMembers {
                    set: n,
                    count: members.len(),
                })
            }
        }
    }
    Ok(())
}

/// Places DIMMs back to back in device memory, each on a [`DIMM_ALIGN`]
/// boundary (the second DIMM of an interleave set right after the
/// first's persistent part); returns the placements and the end of the
/// last one.
pub fn place(dimms: &[NvdimmConfig]) -> Result<(Vec<PlacedDimm>, u64), ConfigError> {
    if dimms.len() > MAX_DIMMS {
        return Err(ConfigError::TooManyDimms);
    }
    check_sets(dimms)?;
    let mut next = DEVICE_MEMORY_BASE;
    let mut out: Vec<PlacedDimm> = Vec::new();
    for (slot, d) in dimms.iter().enumerate() {
        let slot = u16::try_from(slot).map_err(|_| ConfigError::TooManyDimms)?;
        let partner = out
            .last()
            .and_then(|p| p.set)
            .filter(|m| Some(m.number) == d.set && m.position == 0);
        let (address, set) = match (d.set, partner) {
            (Some(_), Some(first)) => {
                let member = SetMember {
                    position: 1,
                    ..first
                };
                (first.base + d.size, Some(member))
            }
            (Some(number), None) => {
                let length = d.size.checked_mul(u64::from(SET_WAYS));
                let member = SetMember {
                    number,
                    position: 0,
                    range_index: nfit_table::builder::qemu_spa_index(slot),
                    base: next,
                    length: length.ok_or(ConfigError::AddressSpace)?,
                };
                (next, Some(member))
            }
            (None, _) => (next, None),
        };
        let placed = PlacedDimm {
            config: d.clone(),
            slot,
            address,
            set,
        };
        let end = address
            .checked_add(placed.mapped_size())
            .and_then(|e| align_up(e, DIMM_ALIGN))
            .ok_or(ConfigError::AddressSpace)?;
        if end > FLUSH_BASE {
            return Err(ConfigError::ReachesFlushPage);
        }
        next = end;
        out.push(placed);
    }
    Ok((out, next))
}

/// Guest physical address of the first `--spa` range: past the card's
/// memory at its largest (which ends at 129 GiB), so apart from every
/// other device.
pub const SPA_BASE: u64 = 192 << 30;
/// The most `--spa` ranges.
pub const MAX_SPAS: usize = 8;
/// SPA range index of the first `--spa` range: past QEMU's indexes for
/// the DIMM slots (2 to 2 * [`MAX_DIMMS`], control regions odd).
pub const SPA_INDEX_BASE: u16 = 100;

/// The type of a `--spa` range, by the NFIT's address range type GUIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaType {
    /// Volatile memory, mapped by a DIMM past its persistent part.
    Volatile,
    /// Virtual disk and CD ranges (a boot image the firmware loaded into
    /// memory), volatile or persistent: mapped by no DIMM.
    VolatileDisk,
    VolatileCd,
    PersistentDisk,
    PersistentCd,
}

impl SpaType {
    const NAMES: [(&'static str, SpaType); 5] = [
        ("volatile", SpaType::Volatile),
        ("vdisk", SpaType::VolatileDisk),
        ("vcd", SpaType::VolatileCd),
        ("pdisk", SpaType::PersistentDisk),
        ("pcd", SpaType::PersistentCd),
    ];

    fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    /// The name `--spa` takes.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("", |(n, _)| n)
    }

    /// The range type GUID, as the NFIT holds it.
    pub fn guid(self) -> [u8; 16] {
        use nfit_table::table::guid;
        match self {
            SpaType::Volatile => guid::VOLATILE,
            SpaType::VolatileDisk => guid::VOLATILE_DISK,
            SpaType::VolatileCd => guid::VOLATILE_CD,
            SpaType::PersistentDisk => guid::PERSISTENT_DISK,
            SpaType::PersistentCd => guid::PERSISTENT_CD,
        }
    }
}

/// One `--spa` option: an SPA range besides the DIMMs' persistent ones,
/// backed by the file `path` (mapped whole, like a DIMM's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaConfig {
    pub kind: SpaType,
    pub path: PathBuf,
    /// The range's size: the whole backing file.
    pub size: u64,
    /// For a volatile range, the NFIT handle of the DIMM that maps it.
    pub dimm: Option<u32>,
}

impl SpaConfig {
    /// Parses `TYPE,path=F[,size=S][,dimm=N]`: TYPE is `volatile` (which
    /// needs `dimm=`), `vdisk`, `vcd`, `pdisk` or `pcd` (which take none);
    /// `size` may be left out for an existing file. Checks the values, not
    /// the file.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let (name, keys) = spec.split_once(',').unwrap_or((spec, ""));
        let kind = SpaType::parse(name).ok_or_else(|| ConfigError::BadSpaType(name.to_string()))?;
        let mut path = None;
        let mut size = None;
        let mut dimm = None;
        for kv in key_values(keys) {
            let (k, v) = kv?;
            match k {
                "path" | "mem-path" => path = Some(PathBuf::from(v)),
                "size" => size = Some(parse_size(v)?),
                "dimm" => {
                    dimm = Some(
                        v.parse::<u32>()
                            .ok()
                            .filter(|h| (1..=MAX_DIMMS as u32).contains(h))
                            .ok_or_else(|| ConfigError::BadSpaDimm(v.to_string()))?,
                    )
                }
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: k.to_string(),
                        known: "path, size, dimm",
                    })
                }
            }
        }
        match (kind, dimm) {
            (SpaType::Volatile, None) => return Err(ConfigError::SpaNeedsDimm),
            (SpaType::Volatile, Some(_)) | (_, None) => {}
            (k, Some(_)) => return Err(ConfigError::SpaDimmOnVirtual(k.name())),
        }
        let path = path.ok_or(ConfigError::NoPath)?;
        let size = match size {
            Some(s) => s,
            None => existing_size(&path)?,
        };
        if size == 0 || !size.is_multiple_of(SIZE_ALIGN) {
            return Err(ConfigError::BadSize(size));
        }
        Ok(SpaConfig {
            kind,
            path,
            size,
            dimm,
        })
    }

    /// As [`NvdimmConfig::check_file`]: an existing file must be a regular
    /// file of exactly `size` bytes.
    pub fn check_file(&self) -> Result<bool, ConfigError> {
        check_plain_file(&self.path, self.size)
    }

    /// Creates the sparse backing file; never touches an existing one.
    pub fn create_file(&self) -> Result<(), ConfigError> {
        create_file(&self.path, self.size)
    }
}

/// A `--spa` range placed in guest physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedSpa {
    pub config: SpaConfig,
    /// Its SPA range index.
    pub index: u16,
    pub address: u64,
    /// The DIMM that maps a volatile range: its slot and the DIMM address
    /// where the range starts (past the DIMM's persistent part).
    pub mapped_by: Option<(u16, u64)>,
}

/// Places `--spa` ranges back to back from [`SPA_BASE`], each on a
/// [`DIMM_ALIGN`] boundary, and finds the DIMMs that map volatile ones.
pub fn place_spas(spas: &[SpaConfig], dimms: &[PlacedDimm]) -> Result<Vec<PlacedSpa>, ConfigError> {
    if spas.len() > MAX_SPAS {
        return Err(ConfigError::TooManySpas);
    }
    let mut next = SPA_BASE;
    let mut out = Vec::new();
    for (i, s) in spas.iter().enumerate() {
        let mapped_by = match s.dimm {
            Some(h) => {
                let d = dimms
                    .iter()
                    .find(|d| u32::from(d.slot) + 1 == h)
                    .ok_or(ConfigError::SpaNoDimm(h))?;
                // Each volatile range of a DIMM after the previous ones.
                let before: u64 = out
                    .iter()
                    .filter(|p: &&PlacedSpa| p.mapped_by.is_some_and(|(slot, _)| slot == d.slot))
                    .map(|p| p.config.size)
                    .sum();
                Some((d.slot, d.config.size + before))
            }
            None => None,
        };
        let address = next;
        next = address
            .checked_add(s.size)
            .and_then(|e| align_up(e, DIMM_ALIGN))
            .ok_or(ConfigError::AddressSpace)?;
        out.push(PlacedSpa {
            config: s.clone(),
            index: SPA_INDEX_BASE + i as u16,
            address,
            mapped_by,
        });
    }
    Ok(out)
}

/// Platform capabilities, QEMU's `nvdimm-persistence=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Persistence {
    /// No capabilities structure.
    None,
    /// Memory controller flush on power loss (capability bit 1).
    MemCtrl,
    /// CPU cache flush too (bits 0 and 1).
    Cpu,
}

impl Persistence {
    /// The capabilities bits of the NFIT's type-7 structure.
    pub fn bits(self) -> u32 {
        match self {
            Persistence::None => 0,
            Persistence::MemCtrl => nfit_table::table::CAP_MEM_FLUSH,
            Persistence::Cpu => {
                nfit_table::table::CAP_MEM_FLUSH | nfit_table::table::CAP_CACHE_FLUSH
            }
        }
    }
}

#[cfg(test)]
mod tests;
