// SPDX-License-Identifier: GPL-2.0
//! QEMU command lines, as the harness (QEMU's own NVDIMM models) and the
//! VMM (its own, on `pc-dimm`s) write them.
//!
//! A device, a backend object or a machine is a [`Props`]: its type, then
//! its properties in order. The same list renders as a command-line value
//! (`nvdimm,id=nvdimm0,label-size=131072,unarmed=on`) and as the arguments
//! of QMP's `device_add` / `object-add` (`{"driver": "nvdimm", "id":
//! "nvdimm0", "label-size": 131072, "unarmed": true}`), so a DIMM given at
//! boot and one hot-added later are described once. [`CommandLine`]
//! collects the options in the order they are given.
//!
//! ```
//! use std::path::Path;
//! use nvdimm_testkit::qemu::{CommandLine, MemSize, Prop, Props};
//!
//! let dimm = Props::device("pc-dimm")
//!     .with("id", "nvdimm0")
//!     .with("memdev", "nvmem0")
//!     .with("addr", Prop::Hex(0x1_0000_0000));
//! let mut c = CommandLine::new();
//! c.machine(&Props::machine("pc"))
//!     .accel("tcg")
//!     .smp(1)
//!     .memory(1024, Some((1, MemSize::MiB(2048))))
//!     .headless()
//!     .chardev_socket("nvdb", Path::new("/s/doorbell.sock"))
//!     .device(
//!         &Props::device("isa-debugcon")
//!             .with("iobase", Prop::Hex(0xa40))
//!             .with("chardev", "nvdb"),
//!     )
//!     .shared_file_backend("nvmem0", Path::new("/d/a.img"), 4096)
//!     .device(&dimm)
//!     .acpitable(Path::new("/s/nfit.aml"))
//!     .qmp(Path::new("/s/qmp.sock"))
//!     .kernel(Path::new("/k/bzImage"))
//!     .append("console=ttyS0");
//! assert_eq!(
//!     c.into_args().join(" "),
//!     "-machine pc -accel tcg -smp 1 -m 1024M,slots=1,maxmem=2048M \
//!      -nodefaults -no-user-config -display none -no-reboot -serial stdio \
//!      -chardev socket,id=nvdb,path=/s/doorbell.sock \
//!      -device isa-debugcon,iobase=0xa40,chardev=nvdb \
//!      -object memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=4096 \
//!      -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
//!      -acpitable file=/s/nfit.aml -qmp unix:/s/qmp.sock,server=on,wait=off \
//!      -kernel /k/bzImage -append console=ttyS0"
//! );
//! // The hot-added DIMM, over QMP: the address is a JSON number.
//! assert_eq!(dimm.qmp_args()["addr"], 0x1_0000_0000u64);
//! ```

use std::fmt;
use std::path::Path;

use serde_json::Value;

/// A guest with no default devices, no display and no reboot (`panic=-1`
/// then ends QEMU), its first serial port on stdio: the console.
pub const HEADLESS: [&str; 7] = [
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-serial",
    "stdio",
];

/// The value of `-qmp` for a QMP server on `socket` that does not wait
/// for a client.
pub fn qmp_server(socket: &Path) -> String {
    format!("unix:{},server=on,wait=off", socket.display())
}

/// The value of `-object` for a shared file mapping: the guest's writes
/// reach `path` (see [`Props::shared_file_backend`]).
pub fn shared_file_backend(id: &str, path: &Path, size: u64) -> String {
    Props::shared_file_backend(id, path, size).cmdline()
}

/// A QEMU property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prop {
    Str(String),
    Int(u64),
    /// An integer written `0x…` on the command line (addresses, I/O
    /// ports, PCI slots); a number in QMP like [`Prop::Int`].
    Hex(u64),
    /// `on`/`off` on the command line, `true`/`false` in QMP.
    Bool(bool),
}

impl Prop {
    /// The value as the command line writes it.
    pub fn cmdline(&self) -> String {
        match self {
            Prop::Str(s) => s.clone(),
            Prop::Int(n) => n.to_string(),
            Prop::Hex(n) => format!("{n:#x}"),
            Prop::Bool(b) => if *b { "on" } else { "off" }.into(),
        }
    }

    /// The value as QMP takes it.
    pub fn json(&self) -> Value {
        match self {
            Prop::Str(s) => s.clone().into(),
            Prop::Int(n) | Prop::Hex(n) => (*n).into(),
            Prop::Bool(b) => (*b).into(),
        }
    }
}

impl From<&str> for Prop {
    fn from(s: &str) -> Self {
        Prop::Str(s.into())
    }
}

impl From<String> for Prop {
    fn from(s: String) -> Self {
        Prop::Str(s)
    }
}

impl From<&Path> for Prop {
    fn from(p: &Path) -> Self {
        Prop::Str(p.display().to_string())
    }
}

impl From<bool> for Prop {
    fn from(b: bool) -> Self {
        Prop::Bool(b)
    }
}

impl From<u64> for Prop {
    fn from(n: u64) -> Self {
        Prop::Int(n)
    }
}

impl From<u32> for Prop {
    fn from(n: u32) -> Self {
        Prop::Int(n.into())
    }
}

impl From<u16> for Prop {
    fn from(n: u16) -> Self {
        Prop::Int(n.into())
    }
}

impl From<u8> for Prop {
    fn from(n: u8) -> Self {
        Prop::Int(n.into())
    }
}

/// A device, backend object or machine: its type, then its properties in
/// the order they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Props {
    /// The key QMP names the type by (`driver`, `qom-type`, `type`).
    type_key: &'static str,
    type_name: String,
    props: Vec<(String, Prop)>,
}

impl Props {
    fn typed(type_key: &'static str, type_name: impl Into<String>) -> Self {
        Props {
            type_key,
            type_name: type_name.into(),
            props: Vec::new(),
        }
    }

    /// A device (`-device`, QMP `device_add`) of driver `driver`.
    pub fn device(driver: impl Into<String>) -> Self {
        Self::typed("driver", driver)
    }

    /// A backend object (`-object`, QMP `object-add`) of type `qom_type`.
    pub fn object(qom_type: impl Into<String>) -> Self {
        Self::typed("qom-type", qom_type)
    }

    /// A machine (`-machine`) of type `machine_type`.
    pub fn machine(machine_type: impl Into<String>) -> Self {
        Self::typed("type", machine_type)
    }

    /// A NUMA node (`-numa node,...`).
    pub fn numa_node() -> Self {
        Self::typed("type", "node")
    }

    /// A shared file mapping: the guest's writes reach `path`.
    pub fn shared_file_backend(id: &str, path: &Path, size: u64) -> Self {
        Self::object("memory-backend-file")
            .with("id", id)
            .with("share", true)
            .with("mem-path", path)
            .with("size", size)
    }

    /// `self` with one more property.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Prop>) -> Self {
        self.push(key, value);
        self
    }

    /// Appends a property.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Prop>) -> &mut Self {
        self.props.push((key.into(), value.into()));
        self
    }

    /// The driver, QOM type or machine type.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The first value of property `key`.
    pub fn get(&self, key: &str) -> Option<&Prop> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `type,key=value,...`: the value of `-device`, `-object` or `-machine`.
    pub fn cmdline(&self) -> String {
        let mut s = self.type_name.clone();
        for (k, v) in &self.props {
            s.push(',');
            s.push_str(k);
            s.push('=');
            s.push_str(&v.cmdline());
        }
        s
    }

    /// The arguments of QMP's `device_add` or `object-add`: the type under
    /// `driver` or `qom-type`, then the properties.
    pub fn qmp_args(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert(self.type_key.into(), self.type_name.clone().into());
        for (k, v) in &self.props {
            m.insert(k.clone(), v.json());
        }
        Value::Object(m)
    }
}

/// A size on `-m`, written in the unit it is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemSize {
    MiB(u64),
    GiB(u64),
}

impl fmt::Display for MemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemSize::MiB(n) => write!(f, "{n}M"),
            MemSize::GiB(n) => write!(f, "{n}G"),
        }
    }
}

/// QEMU's arguments (the program name excluded), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    args: Vec<String>,
}

impl CommandLine {
    pub fn new() -> Self {
        Self::default()
    }

    /// One argument as it is, for what has no method of its own.
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Arguments as they are.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `option value`.
    fn option(&mut self, option: &str, value: impl Into<String>) -> &mut Self {
        self.arg(option).arg(value)
    }

    /// `-machine type,key=value,...`
    pub fn machine(&mut self, machine: &Props) -> &mut Self {
        self.option("-machine", machine.cmdline())
    }

    /// `-accel name` (`tcg`, `kvm`).
    pub fn accel(&mut self, name: &str) -> &mut Self {
        self.option("-accel", name)
    }

    /// `-smp cpus`.
    pub fn smp(&mut self, cpus: u32) -> &mut Self {
        self.option("-smp", cpus.to_string())
    }

    /// `-cpu model`.
    pub fn cpu(&mut self, model: &str) -> &mut Self {
        self.option("-cpu", model)
    }

    /// `-m {mib}M`, or with DIMM slots `-m {mib}M,slots=N,maxmem=SIZE`.
    pub fn memory(&mut self, mib: u64, dimm_slots: Option<(usize, MemSize)>) -> &mut Self {
        let value = match dimm_slots {
            None => format!("{mib}M"),
            Some((slots, maxmem)) => format!("{mib}M,slots={slots},maxmem={maxmem}"),
        };
        self.option("-m", value)
    }

    /// [`HEADLESS`]: no default devices, no display, no reboot, the
    /// console on stdio.
    pub fn headless(&mut self) -> &mut Self {
        self.args(HEADLESS)
    }

    /// `-serial file:PATH`: the next serial port writes to `path`.
    pub fn serial_file(&mut self, path: &Path) -> &mut Self {
        self.option("-serial", format!("file:{}", path.display()))
    }

    /// `-serial chardev:ID`: the next serial port on chardev `id`.
    pub fn serial_chardev(&mut self, id: &str) -> &mut Self {
        self.option("-serial", format!("chardev:{id}"))
    }

    /// `-chardev socket,id=ID,path=PATH`: a client of the Unix socket `path`.
    pub fn chardev_socket(&mut self, id: &str, path: &Path) -> &mut Self {
        let socket = Props::typed("backend", "socket")
            .with("id", id)
            .with("path", path);
        self.option("-chardev", socket.cmdline())
    }

    /// `-device driver,key=value,...`
    pub fn device(&mut self, device: &Props) -> &mut Self {
        self.option("-device", device.cmdline())
    }

    /// `-numa node,key=value,...`
    pub fn numa(&mut self, node: &Props) -> &mut Self {
        self.option("-numa", node.cmdline())
    }

    /// `-object type,key=value,...`
    pub fn object(&mut self, object: &Props) -> &mut Self {
        self.option("-object", object.cmdline())
    }

    /// `-object` of [`Props::shared_file_backend`].
    pub fn shared_file_backend(&mut self, id: &str, path: &Path, size: u64) -> &mut Self {
        self.object(&Props::shared_file_backend(id, path, size))
    }

    /// `-qmp` of [`qmp_server`]: a QMP server on `socket`.
    pub fn qmp(&mut self, socket: &Path) -> &mut Self {
        self.option("-qmp", qmp_server(socket))
    }

    /// `-trace enable=EVENT` (a pattern: `nvdimm*`).
    pub fn trace_event(&mut self, event: &str) -> &mut Self {
        self.option("-trace", format!("enable={event}"))
    }

    /// `-D PATH`: QEMU's log, where trace events go.
    pub fn log_file(&mut self, path: &Path) -> &mut Self {
        self.option("-D", path.display().to_string())
    }

    /// `-acpitable file=PATH`.
    pub fn acpitable(&mut self, path: &Path) -> &mut Self {
        self.option("-acpitable", format!("file={}", path.display()))
    }

    /// `-kernel PATH`.
    pub fn kernel(&mut self, path: &Path) -> &mut Self {
        self.option("-kernel", path.display().to_string())
    }

    /// `-initrd PATH`.
    pub fn initrd(&mut self, path: &Path) -> &mut Self {
        self.option("-initrd", path.display().to_string())
    }

    /// `-append CMDLINE`: the kernel command line, one argument.
    pub fn append(&mut self, cmdline: &str) -> &mut Self {
        self.option("-append", cmdline)
    }

    /// The arguments, for `Command::args`.
    pub fn into_args(self) -> Vec<String> {
        self.args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        assert_eq!(
            qmp_server(Path::new("/s/qmp.sock")),
            "unix:/s/qmp.sock,server=on,wait=off"
        );
        assert_eq!(
            shared_file_backend("nvmem0", Path::new("/d/a.img"), 4096),
            "memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=4096"
        );
        assert_eq!(
            HEADLESS.join(" "),
            "-nodefaults -no-user-config -display none -no-reboot -serial stdio"
        );
    }

    #[test]
    fn values_on_the_command_line_and_in_qmp() {
        let cases = [
            (Prop::from("a,b"), "a,b", serde_json::json!("a,b")),
            (Prop::from(131072u64), "131072", serde_json::json!(131072)),
            (Prop::Hex(0xa40), "0xa40", serde_json::json!(0xa40)),
            (Prop::from(true), "on", serde_json::json!(true)),
            (Prop::from(false), "off", serde_json::json!(false)),
            (Prop::from(5u8), "5", serde_json::json!(5)),
        ];
        for (p, line, json) in cases {
            assert_eq!(p.cmdline(), line, "{p:?}");
            assert_eq!(p.json(), json, "{p:?}");
        }
    }

    #[test]
    fn props_render_in_order() {
        let mut d = Props::device("nvdimm")
            .with("id", "nvdimm0")
            .with("memdev", "nvmem0");
        d.push("label-size", 131072u64).push("unarmed", true);
        assert_eq!(
            d.cmdline(),
            "nvdimm,id=nvdimm0,memdev=nvmem0,label-size=131072,unarmed=on"
        );
        assert_eq!(
            d.qmp_args(),
            serde_json::json!({
                "driver": "nvdimm",
                "id": "nvdimm0",
                "memdev": "nvmem0",
                "label-size": 131072,
                "unarmed": true,
            })
        );
        assert_eq!(d.type_name(), "nvdimm");
        assert_eq!(d.get("label-size"), Some(&Prop::Int(131072)));
        assert_eq!(d.get("uuid"), None);

        let b =
            Props::shared_file_backend("nvmem0", Path::new("/d/a.img"), 4096).with("pmem", true);
        assert_eq!(
            b.cmdline(),
            "memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=4096,pmem=on"
        );
        assert_eq!(
            b.qmp_args(),
            serde_json::json!({
                "qom-type": "memory-backend-file",
                "id": "nvmem0",
                "share": true,
                "mem-path": "/d/a.img",
                "size": 4096,
                "pmem": true,
            })
        );
        let m = Props::machine("pc").with("nvdimm", true);
        assert_eq!(m.cmdline(), "pc,nvdimm=on");
        assert_eq!(Props::machine("pseries").cmdline(), "pseries");
    }

    #[test]
    fn command_line() {
        let p = Path::new;
        let mut c = CommandLine::new();
        let machine = Props::machine("q35")
            .with("nvdimm", true)
            .with("nvdimm-persistence", "cpu");
        c.machine(&machine)
            .cpu("max")
            .memory(4096, Some((2, MemSize::GiB(8))))
            .accel("tcg")
            .smp(2)
            .serial_file(p("/r/results"))
            .chardev_socket("nvres", p("/s/results.sock"))
            .serial_chardev("nvres")
            .qmp(p("/r/qmp.sock"))
            .trace_event("nvdimm*")
            .log_file(p("/r/trace.log"))
            .shared_file_backend("nvmb", p("/s/mailbox"), 262144)
            .object(&Props::object("memory-backend-ram").with("id", "r"))
            .device(
                &Props::device("ivshmem-plain")
                    .with("memdev", "nvmb")
                    .with("addr", Prop::Hex(0x10)),
            )
            .acpitable(p("/s/nfit.aml"))
            .arg("-S")
            .args(["-name", "g"])
            .kernel(p("/k/vmlinux"))
            .initrd(p("/k/initrd"))
            .append("console=hvc0 panic=-1");
        assert_eq!(
            c.into_args(),
            [
                "-machine",
                "q35,nvdimm=on,nvdimm-persistence=cpu",
                "-cpu",
                "max",
                "-m",
                "4096M,slots=2,maxmem=8G",
                "-accel",
                "tcg",
                "-smp",
                "2",
                "-serial",
                "file:/r/results",
                "-chardev",
                "socket,id=nvres,path=/s/results.sock",
                "-serial",
                "chardev:nvres",
                "-qmp",
                "unix:/r/qmp.sock,server=on,wait=off",
                "-trace",
                "enable=nvdimm*",
                "-D",
                "/r/trace.log",
                "-object",
                "memory-backend-file,id=nvmb,share=on,mem-path=/s/mailbox,size=262144",
                "-object",
                "memory-backend-ram,id=r",
                "-device",
                "ivshmem-plain,memdev=nvmb,addr=0x10",
                "-acpitable",
                "file=/s/nfit.aml",
                "-S",
                "-name",
                "g",
                "-kernel",
                "/k/vmlinux",
                "-initrd",
                "/k/initrd",
                "-append",
                "console=hvc0 panic=-1",
            ]
        );
        let mut h = CommandLine::new();
        h.headless();
        assert_eq!(h.into_args(), HEADLESS);
        let mut m = CommandLine::new();
        m.memory(1024, None)
            .memory(512, Some((1, MemSize::MiB(2048))));
        assert_eq!(
            m.into_args(),
            ["-m", "1024M", "-m", "512M,slots=1,maxmem=2048M"]
        );
    }
}
