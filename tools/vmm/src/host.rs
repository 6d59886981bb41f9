// SPDX-License-Identifier: GPL-2.0
//! What the VMM does on the host's file system and with the host's
//! signals, done so that neither another local user nor the guest can
//! turn it against the host:
//!
//! - the state directory is created afresh with `mkdtemp` semantics (an
//!   unpredictable name, mode 0700, never an existing directory or a
//!   symlink); an explicit `--state-dir` must be a real directory of ours
//!   that no one else can write;
//! - the control socket is mode 0600, answers only peers of our effective
//!   uid (`SO_PEERCRED`), replaces only a stale socket, and is removed at
//!   exit only while it is still the inode we bound;
//! - `hotplug` takes only backing files under directories named on the
//!   command line ([`HotplugDirs`]);
//! - SIGINT and SIGTERM ask the supervisor to stop QEMU and clean up
//!   ([`handle_stop_signals`], [`stop_requested`]).

use std::fmt;
use std::fs::DirBuilder;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// What went wrong with a host path or the signal set-up.
#[derive(Debug)]
pub enum HostError {
    /// A system call on `path` failed.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// No fresh state directory could be made under `base`.
    NoFreshName { base: PathBuf },
    /// An explicit `--state-dir` that is not a private directory of ours.
    UnsafeStateDir { path: PathBuf, why: &'static str },
    /// `--control PATH` names something that is not a socket.
    NotASocket(PathBuf),
    /// `--control PATH` is a socket something still answers on.
    SocketInUse(PathBuf),
    /// `--console-log PATH` exists and `--force` was not given.
    WouldTruncate(PathBuf),
    /// A hotplug backing file outside the allowed directories.
    NotAllowed { path: PathBuf, why: String },
    /// Blocking the stop signals failed.
    Signals(std::io::Error),
}

impl HostError {
    fn io(path: &Path, error: std::io::Error) -> Self {
        HostError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            HostError::NoFreshName { base } => write!(
                f,
                "{}: no fresh state directory could be created (set TMPDIR or --state-dir)",
                base.display()
            ),
            HostError::UnsafeStateDir { path, why } => {
                write!(f, "--state-dir {}: {why}", path.display())
            }
            HostError::NotASocket(p) => write!(
                f,
                "--control {}: exists and is not a socket; refusing to replace it",
                p.display()
            ),
            HostError::SocketInUse(p) => write!(
                f,
                "--control {}: a running VMM (or another server) answers on it",
                p.display()
            ),
            HostError::WouldTruncate(p) => write!(
                f,
                "--console-log {}: exists; refusing to overwrite it (give --force)",
                p.display()
            ),
            HostError::NotAllowed { path, why } => write!(f, "{}: {why}", path.display()),
            HostError::Signals(e) => write!(f, "blocking SIGINT and SIGTERM: {e}"),
        }
    }
}

impl std::error::Error for HostError {}

/// Attempts at a fresh random name before giving up (each can only fail
/// by meeting an existing name).
const FRESH_NAME_TRIES: usize = 64;

/// Creates a fresh directory `nvdimm-vmm.XXXXXXXXXXXX` under `base`, mode
/// 0700, as `mkdtemp(3)` does: one `mkdir` that fails on any existing
/// name (a symlink included), retried with another random name.
pub fn fresh_state_dir(base: &Path) -> Result<PathBuf, HostError> {
    let mut random = std::fs::File::open("/dev/urandom")
        .map_err(|e| HostError::io(Path::new("/dev/urandom"), e))?;
    for _ in 0..FRESH_NAME_TRIES {
        let mut bytes = [0u8; 6];
        random
            .read_exact(&mut bytes)
            .map_err(|e| HostError::io(Path::new("/dev/urandom"), e))?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = base.join(format!("nvdimm-vmm.{name}"));
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(HostError::io(&dir, e)),
        }
    }
    Err(HostError::NoFreshName {
        base: base.to_path_buf(),
    })
}

/// Our effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Makes an explicit `--state-dir`: created (mode 0700) if missing; an
/// existing one must be a directory, not a symlink, owned by us and not
/// writable by others.
pub fn explicit_state_dir(dir: &Path) -> Result<(), HostError> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| HostError::io(parent, e))?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(HostError::io(dir, e)),
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| HostError::io(dir, e))?;
    let why = if m.file_type().is_symlink() {
        "is a symlink"
    } else if !m.is_dir() {
        "is not a directory"
    } else if m.uid() != euid() {
        "belongs to another user"
    } else if m.permissions().mode() & 0o022 != 0 {
        "is writable by others"
    } else {
        return Ok(());
    };
    Err(HostError::UnsafeStateDir {
        path: dir.to_path_buf(),
        why,
    })
}

/// Checks `--console-log PATH` before anything is created: an existing
/// file (or symlink) is only overwritten with `force`.
pub fn check_console_log(path: &Path, force: bool) -> Result<(), HostError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) if !force => Err(HostError::WouldTruncate(path.to_path_buf())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HostError::io(path, e)),
    }
}

/// Opens `--console-log PATH`: created anew (`O_EXCL`, so it neither
/// follows a symlink nor truncates a file that appeared since the
/// check), or truncated with `force`.
pub fn open_console_log(path: &Path, force: bool) -> Result<std::fs::File, HostError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    o.open(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => HostError::WouldTruncate(path.to_path_buf()),
        _ => HostError::io(path, e),
    })
}

/// What is at a `--control PATH` now.
#[derive(Debug, PartialEq, Eq)]
enum AtPath {
    Nothing,
    /// A socket no one answers on (a VMM that died).
    StaleSocket,
}

fn inspect_control(path: &Path) -> Result<AtPath, HostError> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(AtPath::Nothing),
        Err(e) => return Err(HostError::io(path, e)),
    };
    if !m.file_type().is_socket() {
        return Err(HostError::NotASocket(path.to_path_buf()));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(HostError::SocketInUse(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(AtPath::StaleSocket),
        Err(e) => Err(HostError::io(path, e)),
    }
}

/// Checks `--control PATH` before anything is created (see
/// [`ControlSocket::bind`]).
pub fn check_control(path: &Path) -> Result<(), HostError> {
    inspect_control(path).map(|_| ())
}

/// The control socket we bound; removed when dropped, if the path still
/// names the same inode.
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl ControlSocket {
    /// Binds `path` (replacing only a stale socket), mode 0600. Peers are
    /// checked on accept as well ([`peer_uid`]): the mode is set after
    /// `bind`, so a connection in between must still be refused.
    pub fn bind(path: &Path) -> Result<(ControlSocket, UnixListener), HostError> {
        if inspect_control(path)? == AtPath::StaleSocket {
            std::fs::remove_file(path).map_err(|e| HostError::io(path, e))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| HostError::io(path, e))?;
        let m = std::fs::symlink_metadata(path).map_err(|e| HostError::io(path, e))?;
        let sock = ControlSocket {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| HostError::io(path, e))?;
        Ok((sock, listener))
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                log::warn!("{}: {e}", self.path.display());
            }
        } else {
            log::warn!(
                "{}: no longer the control socket we created; left alone",
                self.path.display()
            );
        }
    }
}

/// The uid of the process at the other end of `s` (`SO_PEERCRED`: the
/// credentials it had when it connected).
pub fn peer_uid(s: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and `len` is the size
    // of `cred`, as SO_PEERCRED expects; the fd is open for `s`'s life.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The directories whose files `hotplug` may name: canonical paths.
#[derive(Debug, Default, Clone)]
pub struct HotplugDirs(Vec<PathBuf>);

impl HotplugDirs {
    /// Adds `dir` (it must exist), canonicalised.
    pub fn allow(&mut self, dir: &Path) -> Result<(), HostError> {
        let c = std::fs::canonicalize(dir).map_err(|e| HostError::io(dir, e))?;
        if !c.is_dir() {
            return Err(HostError::NotAllowed {
                path: dir.to_path_buf(),
                why: "not a directory".into(),
            });
        }
        if !self.0.contains(&c) {
            self.0.push(c);
        }
        Ok(())
    }

    /// Where `path` really is, if that is under an allowed directory:
    /// its directory canonicalised (symlinks and `..` resolved), then the
    /// file itself resolved if it is a symlink. Paths are compared by
    /// components, never as strings.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, HostError> {
        let refuse = |why: String| HostError::NotAllowed {
            path: path.to_path_buf(),
            why,
        };
        let name = match path.components().next_back() {
            Some(Component::Normal(n)) => n,
            _ => return Err(refuse("not a file name".into())),
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = std::fs::canonicalize(parent).map_err(|e| HostError::io(parent, e))?;
        let mut real = dir.join(name);
        match std::fs::symlink_metadata(&real) {
            Ok(m) if m.file_type().is_symlink() => {
                real = std::fs::canonicalize(&real).map_err(|e| HostError::io(&real, e))?;
            }
            Ok(m) if !m.is_file() => return Err(refuse("not a regular file".into())),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(HostError::io(&real, e)),
        }
        if self.0.iter().any(|d| real.starts_with(d)) {
            return Ok(real);
        }
        let allowed: Vec<String> = self.0.iter().map(|d| d.display().to_string()).collect();
        Err(refuse(if allowed.is_empty() {
            "hotplug backing files must be in a directory named on the command line \
             (--hotplug-dir DIR or that of an --nvdimm file)"
                .into()
        } else {
            format!(
                "{} is not in a directory named on the command line ({}; add --hotplug-dir)",
                real.display(),
                allowed.join(", ")
            )
        }))
    }
}

/// The stop signal received (`SIGINT` or `SIGTERM`), 0 if none yet.
static STOP: AtomicI32 = AtomicI32::new(0);

/// The stop signal received, if any.
pub fn stop_requested() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signals that stop the VMM.
fn stop_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, and sigemptyset initialises it
    // before sigaddset adds to it; both only fail for invalid signals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Blocks SIGINT and SIGTERM in this thread (call it before any thread
/// is started: they inherit the mask) and receives them on a thread of
/// their own, which records the signal for [`stop_requested`]. The
/// supervisor then stops QEMU and everything is cleaned up as on any
/// other end. Child processes get the signals unblocked
/// ([`unblock_stop_signals`]).
pub fn handle_stop_signals() -> Result<(), HostError> {
    let set = stop_set();
    // SAFETY: `set` is an initialised signal set; the old mask is not
    // asked for.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(HostError::Signals(std::io::Error::from_raw_os_error(r)));
    }
    std::thread::spawn(move || loop {
        let mut sig = 0;
        // SAFETY: `set` and `sig` are valid; the signals are blocked in
        // every thread, so only sigwait receives them.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            log::info!("signal {sig}: stopping the guest");
            STOP.store(sig, Ordering::SeqCst);
        }
    });
    Ok(())
}

/// Unblocks the stop signals; for a child between `fork` and `exec`
/// (`sigprocmask` is async-signal-safe).
pub fn unblock_stop_signals() -> std::io::Result<()> {
    let set = stop_set();
    // SAFETY: `set` is an initialised signal set; the old mask is not
    // asked for.
    if unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nvdimm-vmm-host-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::canonicalize(&d).unwrap()
    }

    #[test]
    fn fresh_state_dirs_are_private_and_new() {
        let d = dir("fresh");
        let a = fresh_state_dir(&d).unwrap();
        let b = fresh_state_dir(&d).unwrap();
        assert_ne!(a, b);
        for x in [&a, &b] {
            let m = std::fs::symlink_metadata(x).unwrap();
            assert!(m.is_dir());
            assert_eq!(m.permissions().mode() & 0o777, 0o700);
            assert_eq!(x.parent(), Some(d.as_path()));
        }
        // No directory to create it in: an error, not a fallback.
        assert!(fresh_state_dir(&d.join("missing")).is_err());
    }

    #[test]
    fn explicit_state_dirs_must_be_private() {
        let d = dir("explicit");
        let s = d.join("a/state");
        explicit_state_dir(&s).unwrap();
        assert_eq!(
            std::fs::metadata(&s).unwrap().permissions().mode() & 0o777,
            0o700
        );
        explicit_state_dir(&s).unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&s, &link).unwrap();
        let e = explicit_state_dir(&link).unwrap_err().to_string();
        assert!(e.contains("symlink"), "{e}");
        let open = d.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = explicit_state_dir(&open).unwrap_err().to_string();
        assert!(e.contains("writable by others"), "{e}");
        std::fs::write(d.join("file"), b"x").unwrap();
        let e = explicit_state_dir(&d.join("file")).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn control_socket_replaces_only_a_stale_socket_and_removes_only_its_own() {
        let d = dir("ctl");
        let p = d.join("c.sock");
        // A regular file: refused, untouched.
        std::fs::write(&p, b"data").unwrap();
        assert!(matches!(
            ControlSocket::bind(&p).unwrap_err(),
            HostError::NotASocket(_)
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"data");
        std::fs::remove_file(&p).unwrap();
        // A live socket: refused; a stale one: replaced.
        let live = UnixListener::bind(&p).unwrap();
        assert!(matches!(
            ControlSocket::bind(&p).unwrap_err(),
            HostError::SocketInUse(_)
        ));
        drop(live);
        let (sock, _l) = ControlSocket::bind(&p).unwrap();
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        drop(sock);
        assert!(!p.exists(), "our socket is removed");
        // Replaced behind our back: left alone.
        let (sock, l) = ControlSocket::bind(&p).unwrap();
        drop(l);
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, b"someone else's").unwrap();
        drop(sock);
        assert_eq!(std::fs::read(&p).unwrap(), b"someone else's");
    }

    #[test]
    fn peer_uid_is_ours_on_a_local_pair() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), euid());
    }

    #[test]
    fn console_log_is_not_truncated_without_force() {
        let d = dir("log");
        let p = d.join("console.log");
        check_console_log(&p, false).unwrap();
        drop(open_console_log(&p, false).unwrap());
        std::fs::write(&p, b"keep").unwrap();
        assert!(matches!(
            check_console_log(&p, false).unwrap_err(),
            HostError::WouldTruncate(_)
        ));
        assert!(matches!(
            open_console_log(&p, false).unwrap_err(),
            HostError::WouldTruncate(_)
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"keep");
        // A dangling symlink is not followed either.
        let link = d.join("link.log");
        std::os::unix::fs::symlink(d.join("target"), &link).unwrap();
        assert!(open_console_log(&link, false).is_err());
        assert!(!d.join("target").exists());
        check_console_log(&p, true).unwrap();
        drop(open_console_log(&p, true).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn hotplug_files_stay_in_allowed_directories() {
        let d = dir("hp");
        let ok = d.join("ok");
        let other = d.join("other");
        std::fs::create_dir_all(ok.join("sub")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let mut dirs = HotplugDirs::default();
        let none = dirs.resolve(&ok.join("a.img")).unwrap_err().to_string();
        assert!(none.contains("--hotplug-dir"), "{none}");
        dirs.allow(&ok).unwrap();
        assert_eq!(dirs.resolve(&ok.join("a.img")).unwrap(), ok.join("a.img"));
        // Through `..` and back in: fine; out: refused.
        assert!(dirs.resolve(&ok.join("sub/../b.img")).is_ok());
        assert!(dirs.resolve(&ok.join("../other/c.img")).is_err());
        assert!(dirs.resolve(&ok.join("..")).is_err());
        // Subdirectories are under it.
        assert!(dirs.resolve(&ok.join("sub/d.img")).is_ok());
        // A string prefix is not a path prefix.
        let okay = d.join("okay");
        std::fs::create_dir_all(&okay).unwrap();
        assert!(dirs.resolve(&okay.join("e.img")).is_err());
        // A symlink out of the directory, to a file or a directory.
        std::fs::write(other.join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(other.join("secret"), ok.join("f.img")).unwrap();
        assert!(dirs.resolve(&ok.join("f.img")).is_err());
        std::os::unix::fs::symlink(&other, ok.join("out")).unwrap();
        assert!(dirs.resolve(&ok.join("out/g.img")).is_err());
        // A symlink that stays inside: resolved to its target.
        std::fs::write(ok.join("real.img"), b"x").unwrap();
        std::os::unix::fs::symlink(ok.join("real.img"), ok.join("h.img")).unwrap();
        assert_eq!(
            dirs.resolve(&ok.join("h.img")).unwrap(),
            ok.join("real.img")
        );
        // Not a regular file.
        assert!(dirs.resolve(&ok.join("sub")).is_err());
    }
}
