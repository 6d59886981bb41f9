// SPDX-License-Identifier: GPL-2.0

//! The Intel NVDIMM `_DSM` family beyond labels, as the C driver uses it
//! (`drivers/acpi/nfit/intel.{c,h}`): native commands and SMART health,
//! security (functions 19-28), and firmware activation (DIMM functions
//! 29-30, the root device's Intel bus family functions 1-2). Layouts,
//! status translations and the activation state caches; `core`-only, so
//! the host crate `tools/nfit` tests them. Errors are negative errno
//! numbers, as the kernel's callbacks return them.

/// `_DSM` GUID of the Intel bus family of the NVDIMM root device
/// (`NVDIMM_BUS_FAMILY_INTEL`), c7d8acd4-2df8-4b82-9f65-a325335af149, in
/// memory order.
pub const INTEL_BUS_GUID: [u8; 16] = [
    0xd4, 0xac, 0xd8, 0xc7, 0xf8, 0x2d, 0x82, 0x4b, 0x9f, 0x65, 0xa3, 0x25, 0x33, 0x5a, 0xf1, 0x49,
];

/// `-EIO`.
pub const EIO: i32 = -5;
/// `-ENXIO`.
pub const ENXIO: i32 = -6;
/// `-EBUSY`.
pub const EBUSY: i32 = -16;
/// `-EINVAL`.
pub const EINVAL: i32 = -22;
/// `-EOPNOTSUPP`.
pub const EOPNOTSUPP: i32 = -95;
/// `-ENOTSUPP` (kernel-internal).
pub const ENOTSUPP: i32 = -524;

/// C's `NVDIMM_STANDARD_CMDMASK`: the functions 1-9 that are also native
/// commands of the same number (SMART, SMART threshold, DIMM flags, the
/// three label commands, vendor effect log size and log, vendor).
pub const STANDARD_COMMANDS: u64 = 0x3fe;

/// Function "get SMART health info".
pub const FUNC_SMART: u64 = 1;
/// Size of `struct nd_intel_smart` (status and 128 bytes).
pub const SMART_LEN: usize = 132;
/// SMART flag: the shutdown count is valid.
pub const SMART_SHUTDOWN_COUNT_VALID: u32 = 1 << 5;
/// SMART flag: the shutdown state is valid.
pub const SMART_SHUTDOWN_VALID: u32 = 1 << 10;

fn u16_at(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    (u64::from(u32_at(b, off + 4)) << 32) | u64::from(u32_at(b, off))
}

/// What the SMART data says of the last shutdown (C's
/// `nfit_intel_shutdown_status()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownStatus {
    /// The last shutdown was dirty (`NFIT_MEM_DIRTY`: `nfit/flags` shows
    /// `flush_fail`).
    pub dirty: bool,
    /// The dirty shutdown count, if valid (`nfit/dirty_shutdown`).
    pub count: Option<u32>,
}

impl ShutdownStatus {
    /// From a SMART answer; `None` when it is shorter than the structure
    /// (C then keeps nothing). The status word is not looked at, as in C.
    pub fn parse(answer: &[u8]) -> Option<Self> {
        if answer.len() < SMART_LEN {
            return None;
        }
        let flags = u32_at(answer, 4);
        Some(Self {
            dirty: flags & SMART_SHUTDOWN_VALID != 0 && answer[35] != 0,
            count: (flags & SMART_SHUTDOWN_COUNT_VALID != 0).then(|| u32_at(answer, 20)),
        })
    }
}

/// Why a native command's answer did not fit the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeReplyError {
    /// A field of the answer is larger than the output (`-ENXIO`).
    Overrun,
    /// Not even the status word came back (`-ENXIO`).
    Underrun,
}

/// Copies the answer to native command `cmd` (1-3 or 9) into `out`, field
/// by field as `acpi_nfit_ctl()` does (a field the answer does not hold
/// completely is left alone, with those after it), and returns the status
/// for in-kernel callers: 0, or `-EIO` for a non-zero firmware status.
pub fn native_reply(cmd: u32, answer: &[u8], out: &mut [u8]) -> Result<i32, NativeReplyError> {
    let fields: &[Option<usize>] = match cmd {
        1 => &[Some(4), Some(128)],
        2 => &[Some(4), Some(8)],
        3 => &[Some(4), Some(4)],
        // Vendor: status, output length, then that many bytes.
        _ => &[Some(4), Some(4), None],
    };
    let mut offset = 0usize;
    let mut copied = 0;
    for size in fields {
        let size = size.unwrap_or(u32_at(answer, 4) as usize);
        let Some(end) = offset.checked_add(size) else {
            break;
        };
        if end > answer.len() {
            break;
        }
        if end > out.len() {
            return Err(NativeReplyError::Overrun);
        }
        out[offset..end].copy_from_slice(&answer[offset..end]);
        offset = end;
        copied += 1;
    }
    if copied == 0 {
        return Err(NativeReplyError::Underrun);
    }
    Ok(if u32_at(answer, 0) != 0 { EIO } else { 0 })
}

/// The answer of a `_DSM` function called as the C driver calls it through
/// `ND_CMD_CALL`: `N` output bytes, zero where the firmware's answer is
/// shorter (C copies `min(nd_fw_size, nd_size_out)` into a zeroed
/// structure).
pub fn reply<const N: usize>(answer: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = answer.len().min(N);
    out[..n].copy_from_slice(&answer[..n]);
    out
}

/// The status word of a reply.
pub fn status(reply: &[u8]) -> u32 {
    u32_at(reply, 0)
}

/// Get security state.
pub const FUNC_GET_SECURITY_STATE: u64 = 19;
/// Set passphrase.
pub const FUNC_SET_PASSPHRASE: u64 = 20;
/// Disable passphrase.
pub const FUNC_DISABLE_PASSPHRASE: u64 = 21;
/// Unlock unit.
pub const FUNC_UNLOCK_UNIT: u64 = 22;
/// Freeze lock.
pub const FUNC_FREEZE_LOCK: u64 = 23;
/// Secure erase.
pub const FUNC_SECURE_ERASE: u64 = 24;
/// Overwrite.
pub const FUNC_OVERWRITE: u64 = 25;
/// Query overwrite.
pub const FUNC_QUERY_OVERWRITE: u64 = 26;
/// Set master passphrase.
pub const FUNC_SET_MASTER_PASSPHRASE: u64 = 27;
/// Master secure erase.
pub const FUNC_MASTER_SECURE_ERASE: u64 = 28;

/// Size of `struct nd_intel_get_security_state`.
pub const SECURITY_STATE_LEN: usize = 12;
/// Size of a status-only reply.
pub const STATUS_LEN: usize = 4;

/// Status: not supported.
pub const STATUS_NOT_SUPPORTED: u32 = 1;
/// Status: invalid security state.
pub const STATUS_INVALID_STATE: u32 = 10;
/// Status: invalid passphrase.
pub const STATUS_INVALID_PASS: u32 = 11;
/// Status of overwrite: not supported; of query overwrite: in progress.
pub const STATUS_OVERWRITE_UNSUPPORTED: u32 = 0x10007;
/// Status of query overwrite: in progress.
pub const STATUS_OQUERY_INPROGRESS: u32 = 0x10007;

const SEC_STATE_ENABLED: u8 = 0x02;
const SEC_STATE_LOCKED: u8 = 0x04;
const SEC_STATE_FROZEN: u8 = 0x08;
const SEC_STATE_PLIMIT: u8 = 0x10;
const SEC_STATE_UNSUPPORTED: u8 = 0x20;
const SEC_ESTATE_ENABLED: u8 = 0x01;
const SEC_ESTATE_PLIMIT: u8 = 0x02;

/// A DIMM's security state as the core's `NVDIMM_SECURITY_*` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecurityState {
    /// `NVDIMM_SECURITY_DISABLED`.
    pub disabled: bool,
    /// `NVDIMM_SECURITY_UNLOCKED`.
    pub unlocked: bool,
    /// `NVDIMM_SECURITY_LOCKED`.
    pub locked: bool,
    /// `NVDIMM_SECURITY_FROZEN`.
    pub frozen: bool,
}

impl SecurityState {
    /// The flags of a get-security-state reply (`SECURITY_STATE_LEN`
    /// bytes) for the user (`master == false`) or master passphrase, as
    /// C's `intel_security_flags()`; `None` for a non-zero status (C then
    /// reports no flags, after an error message).
    pub fn parse(reply: &[u8; SECURITY_STATE_LEN], master: bool) -> Option<Self> {
        if status(reply) != 0 {
            return None;
        }
        let (extended, state) = (reply[4], reply[8]);
        let mut s = Self::default();
        if master {
            if extended & SEC_ESTATE_ENABLED != 0 {
                s.unlocked = true;
            } else {
                s.disabled = true;
            }
            s.frozen = extended & SEC_ESTATE_PLIMIT != 0;
            return Some(s);
        }
        if state & SEC_STATE_UNSUPPORTED != 0 {
            return Some(s);
        }
        if state & SEC_STATE_ENABLED != 0 {
            s.frozen = state & (SEC_STATE_FROZEN | SEC_STATE_PLIMIT) != 0;
            if state & SEC_STATE_LOCKED != 0 {
                s.locked = true;
            } else {
                s.unlocked = true;
            }
        } else {
            s.disabled = true;
        }
        Some(s)
    }
}

/// A security operation, for its status translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityOp {
    /// Freeze lock.
    Freeze,
    /// Set (master) passphrase.
    ChangeKey,
    /// Unlock unit.
    Unlock,
    /// Disable passphrase.
    Disable,
    /// (Master) secure erase.
    Erase,
    /// Overwrite.
    Overwrite,
    /// Query overwrite.
    QueryOverwrite,
}

impl SecurityOp {
    /// The errno of a firmware status, as each of C's `intel_security_*()`
    /// translates it (0 for success).
    pub fn errno(self, status: u32) -> i32 {
        if status == 0 {
            return 0;
        }
        match (self, status) {
            (Self::Freeze, _) => EIO,
            (Self::ChangeKey, STATUS_INVALID_PASS) => EINVAL,
            (Self::ChangeKey, STATUS_NOT_SUPPORTED) => EOPNOTSUPP,
            (Self::ChangeKey, _) => EIO,
            (Self::Unlock, STATUS_INVALID_PASS) => EINVAL,
            (Self::Unlock, _) => EIO,
            (Self::Disable, STATUS_INVALID_PASS) => EINVAL,
            (Self::Disable, _) => ENXIO,
            (Self::Erase, STATUS_NOT_SUPPORTED) => EOPNOTSUPP,
            (Self::Erase, STATUS_INVALID_PASS) => EINVAL,
            (Self::Erase, _) => ENXIO,
            (Self::Overwrite, STATUS_OVERWRITE_UNSUPPORTED) => ENOTSUPP,
            (Self::Overwrite, STATUS_INVALID_PASS) => EINVAL,
            (Self::Overwrite, _) => ENXIO,
            (Self::QueryOverwrite, STATUS_OQUERY_INPROGRESS) => EBUSY,
            (Self::QueryOverwrite, _) => ENXIO,
        }
    }
}

/// DIMM function "firmware activate DIMM info".
pub const FUNC_FWA_DIMMINFO: u64 = 29;
/// DIMM function "firmware activate arm".
pub const FUNC_FWA_ARM: u64 = 30;
/// Both DIMM activation functions (C's `NVDIMM_INTEL_FW_ACTIVATE_CMDMASK`).
pub const DIMM_FWA_FUNCTIONS: u64 = 1 << FUNC_FWA_DIMMINFO | 1 << FUNC_FWA_ARM;
/// Root function "firmware activate bus info".
pub const BUS_FUNC_FWA_BUSINFO: u64 = 1;
/// Root function "firmware activate".
pub const BUS_FUNC_FWA_ACTIVATE: u64 = 2;
/// Both root functions (C's `NVDIMM_BUS_INTEL_FW_ACTIVATE_CMDMASK`).
pub const BUS_FWA_FUNCTIONS: u64 = 1 << BUS_FUNC_FWA_BUSINFO | 1 << BUS_FUNC_FWA_ACTIVATE;

/// Size of `struct nd_intel_bus_fw_activate_businfo`.
pub const BUSINFO_LEN: usize = 40;
/// Size of `struct nd_intel_fw_activate_dimminfo`.
pub const DIMMINFO_LEN: usize = 14;
/// Size of the reply of "firmware activate arm" (`struct
/// nd_intel_fw_activate_arm`, as C sizes its output).
pub const ARM_REPLY_LEN: usize = 5;
/// Size of the reply of "firmware activate" (`struct
/// nd_intel_bus_fw_activate`).
pub const ACTIVATE_REPLY_LEN: usize = 5;

/// Activation input: let the platform force devices idle.
pub const IODEV_FORCE_IDLE: u8 = 0;
/// Activation input: the OS has idled devices (`firmware_activate_noidle`).
pub const IODEV_OS_IDLE: u8 = 1;
/// Arm input: arm.
pub const DIMM_FWA_ARM: u8 = 1;
/// Arm input: disarm.
pub const DIMM_FWA_DISARM: u8 = 0;

const FWA_IDLE: u8 = 0;
const FWA_ARMED: u8 = 1;
const FWA_BUSY: u8 = 2;

const BUS_FWA_CAP_FWQUIESCE: u8 = 1 << 0;
const BUS_FWA_CAP_OSQUIESCE: u8 = 1 << 1;

/// An activation state (the core's `enum nvdimm_fwa_state`, in its order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaState {
    /// Unknown.
    Invalid,
    /// Nothing armed.
    Idle,
    /// Armed.
    Armed,
    /// Activation running.
    Busy,
    /// Armed beyond the platform's quiesce time.
    ArmOverflow,
}

/// An activation capability (`enum nvdimm_fwa_capability`, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaCapability {
    /// Unknown.
    Invalid,
    /// None.
    None,
    /// The system must be quiesced.
    Quiesce,
    /// Live.
    Live,
}

/// A DIMM's activation result (`enum nvdimm_fwa_result`, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FwaResult {
    /// Unknown.
    Invalid,
    /// None.
    None,
    /// Success.
    Success,
    /// Nothing staged.
    NotStaged,
    /// Needs a reset.
    NeedReset,
    /// Failed.
    Fail,
}

/// Firmware activation state of the bus, cached as C caches it in
/// `acpi_nfit_desc` (`fwa_state`, `fwa_cap`, `fwa_count`, `fwa_noidle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusActivation {
    state: FwaState,
    capability: FwaCapability,
    /// Activations so far; a DIMM's cached state is stale once it differs.
    pub count: u32,
    /// `nfit/firmware_activate_noidle`.
    noidle: bool,
}

impl Default for BusActivation {
    fn default() -> Self {
        Self::new()
    }
}

/// What the platform's bus info said, when a state refresh found an
/// invalid state (C logs it once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidState(pub u8);

impl BusActivation {
    /// Nothing known yet.
    pub const fn new() -> Self {
        Self {
            state: FwaState::Invalid,
            capability: FwaCapability::Invalid,
            count: 0,
            noidle: false,
        }
    }

    /// `nfit/firmware_activate_noidle`.
    pub fn noidle(&self) -> bool {
        self.noidle
    }

    /// Sets `firmware_activate_noidle`; a change makes the capability be
    /// asked again.
    pub fn set_noidle(&mut self, noidle: bool) {
        if noidle != self.noidle {
            self.capability = FwaCapability::Invalid;
        }
        self.noidle = noidle;
    }

    /// Marks the state stale (a DIMM was armed or disarmed).
    pub fn invalidate(&mut self) {
        self.state = FwaState::Invalid;
    }

    /// The state, refreshed with `businfo` (the bus info reply, or `None`
    /// when the call failed) unless the cached one is still good: C's
    /// `intel_bus_fwa_state()`.
    pub fn state(
        &mut self,
        businfo: impl FnOnce() -> Option<[u8; BUSINFO_LEN]>,
        invalid: impl FnOnce(InvalidState),
    ) -> FwaState {
        match self.state {
            FwaState::Invalid | FwaState::Busy => {}
            _ if self.capability != FwaCapability::Invalid => return self.state,
            _ => {}
        }
        let Some(info) = businfo() else {
            return FwaState::Invalid;
        };
        let state = match info[6] {
            FWA_IDLE => FwaState::Idle,
            FWA_BUSY => FwaState::Busy,
            FWA_ARMED => {
                if u64_at(&info, 8) > u64_at(&info, 32) {
                    FwaState::ArmOverflow
                } else {
                    FwaState::Armed
                }
            }
            other => {
                invalid(InvalidState(other));
                return FwaState::Invalid;
            }
        };
        if self.capability == FwaCapability::Invalid {
            let cap = info[7];
            self.capability = if cap & BUS_FWA_CAP_FWQUIESCE != 0 {
                FwaCapability::Quiesce
            } else if cap & BUS_FWA_CAP_OSQUIESCE != 0 {
                FwaCapability::Live
            } else {
                FwaCapability::None
            };
        }
        self.state = state;
        state
    }

    /// The capability, as C's `intel_bus_fwa_capability()`.
    pub fn capability(
        &mut self,
        businfo: impl FnOnce() -> Option<[u8; BUSINFO_LEN]>,
        invalid: impl FnOnce(InvalidState),
    ) -> FwaCapability {
        if self.capability > FwaCapability::Invalid {
            return self.capability;
        }
        if self.state(businfo, invalid) > FwaState::Invalid {
            return self.capability;
        }
        FwaCapability::Invalid
    }

    /// Activates when armed, as C's `intel_bus_fwa_activate()`: `activate`
    /// gets the I/O device state to send and returns the call's result
    /// (the firmware status is not looked at, as in C).
    pub fn activate(
        &mut self,
        businfo: impl FnOnce() -> Option<[u8; BUSINFO_LEN]>,
        invalid: impl FnOnce(InvalidState),
        activate: impl FnOnce(u8) -> i32,
    ) -> i32 {
        match self.state(businfo, invalid) {
            FwaState::Armed | FwaState::ArmOverflow => {}
            _ => return ENXIO,
        }
        let iodev = if self.noidle {
            IODEV_OS_IDLE
        } else {
            IODEV_FORCE_IDLE
        };
        let rc = activate(iodev);
        self.state = FwaState::Invalid;
        self.count = self.count.wrapping_add(1);
        rc
    }
}

/// Firmware activation state of a DIMM, cached as C caches it in
/// `nfit_mem` (`fwa_state`, `fwa_result`, `fwa_count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimmActivation {
    state: FwaState,
    result: FwaResult,
    count: u32,
}

impl Default for DimmActivation {
    fn default() -> Self {
        Self::new()
    }
}

impl DimmActivation {
    /// Nothing known yet.
    pub const fn new() -> Self {
        Self {
            state: FwaState::Invalid,
            result: FwaResult::Invalid,
            count: 0,
        }
    }

    /// The state, refreshed with `dimminfo` (the DIMM info reply, `None`
    /// when the call failed) unless no activation happened on the bus since
    /// (`bus_count`): C's `intel_fwa_state()`.
    pub fn state(
        &mut self,
        bus_count: u32,
        dimminfo: impl FnOnce() -> Option<[u8; DIMMINFO_LEN]>,
    ) -> FwaState {
        match self.state {
            FwaState::Invalid | FwaState::Busy => {}
            _ if self.count == bus_count => return self.state,
            _ => {}
        }
        let Some(info) = dimminfo() else {
            return FwaState::Invalid;
        };
        self.state = match info[6] {
            FWA_IDLE => FwaState::Idle,
            FWA_BUSY => FwaState::Busy,
            FWA_ARMED => FwaState::Armed,
            _ => FwaState::Invalid,
        };
        self.result = match u16_at(&info, 4) {
            0 => FwaResult::None,
            2 => FwaResult::Success,
            1 => FwaResult::NotStaged,
            3 => FwaResult::NeedReset,
            _ => FwaResult::Fail,
        };
        self.count = bus_count;
        self.state
    }

    /// The last activation's result, as C's `intel_fwa_result()`.
    pub fn result(
        &mut self,
        bus_count: u32,
        dimminfo: impl FnOnce() -> Option<[u8; DIMMINFO_LEN]>,
    ) -> FwaResult {
        if self.count == bus_count && self.result > FwaResult::Invalid {
            return self.result;
        }
        if self.state(bus_count, dimminfo) > FwaState::Invalid {
            return self.result;
        }
        FwaResult::Invalid
    }

    /// Arms (`arm`) or disarms, as C's `intel_fwa_arm()`: `Ok(None)` when
    /// the DIMM is already so, `Ok(Some(input))` when the caller must
    /// invalidate the bus state and send `input` with the arm function,
    /// an errno otherwise.
    pub fn arm(
        &mut self,
        bus_count: u32,
        arm: bool,
        dimminfo: impl FnOnce() -> Option<[u8; DIMMINFO_LEN]>,
    ) -> Result<Option<u8>, i32> {
        match self.state(bus_count, dimminfo) {
            FwaState::Invalid => return Err(ENXIO),
            FwaState::Busy => return Err(EBUSY),
            FwaState::Idle if !arm => return Ok(None),
            FwaState::Armed if arm => return Ok(None),
            FwaState::Idle | FwaState::Armed => {}
            FwaState::ArmOverflow => return Err(ENXIO),
        }
        self.state = FwaState::Invalid;
        Ok(Some(if arm { DIMM_FWA_ARM } else { DIMM_FWA_DISARM }))
    }
}

/// `kstrtobool()`: the value written to a boolean attribute.
pub fn parse_bool(s: &[u8]) -> Option<bool> {
    match s {
        [b'y' | b'Y' | b't' | b'T' | b'1', ..] => Some(true),
        [b'n' | b'N' | b'f' | b'F' | b'0', ..] => Some(false),
        [b'o' | b'O', b'n' | b'N', ..] => Some(true),
        [b'o' | b'O', b'f' | b'F', ..] => Some(false),
        _ => None,
    }
}
