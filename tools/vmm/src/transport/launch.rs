// SPDX-License-Identifier: GPL-2.0
//! QEMU's command line for a machine: where each device the VMM serves
//! sits and which socket or file backs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nvdimm_testkit::qemu::{CommandLine, MemSize, Prop, Props};

use crate::config::{OcxlConfig, PlacedDimm, PlacedSpa, DEVICE_MEMORY_BASE};

/// Everything the transport needs to start a guest.
#[derive(Debug, Clone)]
pub struct Launch {
    pub qemu: String,
    pub accel: String,
    pub kernel: PathBuf,
    pub initrd: Option<PathBuf>,
    pub append: String,
    pub memory: u64,
    pub dimms: Vec<PlacedDimm>,
    /// End of the last DIMM in guest physical memory.
    pub dimms_end: u64,
    /// The `--spa` ranges, each a `pc-dimm` on its backing file.
    pub spas: Vec<PlacedSpa>,
    pub state_dir: PathBuf,
    pub doorbell_port: u16,
    pub mailbox_slot: u8,
    pub results: Option<PathBuf>,
    pub qmp: Option<PathBuf>,
    pub console_log: Option<PathBuf>,
    /// Truncate an existing `console_log` (`--force`).
    pub overwrite_console_log: bool,
    pub echo: bool,
    pub timeout: Option<Duration>,
    /// DIMMs that can be hot-added (0: no hotplug, no `_FIT`).
    pub hotplug_slots: usize,
    /// NFIT platform capabilities (for the regenerated `_FIT`).
    pub capabilities: u32,
    /// The hotplug notification UART.
    pub notify_port: u16,
    pub notify_irq: u8,
    /// The flush hint page (a `pc-dimm` at [`crate::config::FLUSH_BASE`]),
    /// when some DIMM has flush hints.
    pub flush_page: bool,
    /// The OpenCAPI pmem card (`--ocxlpmem`): an `ivshmem-doorbell`
    /// device in PCI slot [`Launch::ocxl_slot`] on the VMM's ivshmem server
    /// (the register file) and a `pc-dimm` (the card memory).
    pub ocxlpmem: Option<OcxlConfig>,
    pub ocxl_slot: u8,
}

/// Device memory kept free for each hotplug slot.
pub const HOTPLUG_ROOM: u64 = 2 << 30;

impl Launch {
    pub fn nfit_path(&self) -> PathBuf {
        self.state_dir.join("nfit.aml")
    }
    pub fn ssdt_path(&self) -> PathBuf {
        self.state_dir.join("ssdt.aml")
    }
    pub(super) fn mailbox_path(&self) -> PathBuf {
        self.state_dir.join("mailbox")
    }
    pub fn flush_path(&self) -> PathBuf {
        self.state_dir.join("flush-hints")
    }
    pub(super) fn doorbell_socket(&self) -> PathBuf {
        self.state_dir.join("doorbell.sock")
    }
    pub(super) fn results_socket(&self) -> PathBuf {
        self.state_dir.join("results.sock")
    }
    pub(super) fn notify_socket(&self) -> PathBuf {
        self.state_dir.join("notify.sock")
    }
    pub(super) fn vmm_qmp_socket(&self) -> PathBuf {
        self.state_dir.join("vmm-qmp.sock")
    }
    /// The VMM's ivshmem server socket (`--ocxlpmem`).
    pub fn ocxl_socket(&self) -> PathBuf {
        self.state_dir.join("ocxlpmem.sock")
    }
    /// The card's register file (BAR2 of its `ivshmem-doorbell` device),
    /// created afresh for every run: registers do not persist.
    pub fn ocxl_regs_path(&self) -> PathBuf {
        self.state_dir.join("ocxlpmem-regs")
    }

    /// The end of device memory, hotplug room included.
    pub fn device_memory_end(&self) -> u64 {
        self.dimms_end.max(DEVICE_MEMORY_BASE) + self.hotplug_slots as u64 * HOTPLUG_ROOM
    }

    /// The end of every device QEMU maps in device memory: the DIMMs,
    /// their hotplug room, the flush hint page and the card's memory.
    fn device_span_end(&self) -> u64 {
        let mut end = self.device_memory_end();
        if self.flush_page {
            end = end.max(crate::config::FLUSH_BASE + crate::config::FLUSH_SIZE);
        }
        if let Some(c) = &self.ocxlpmem {
            end = end.max(crate::config::OCXL_MEMORY_BASE + c.size);
        }
        for s in &self.spas {
            end = end.max(s.address + s.config.size);
        }
        end
    }

    /// QEMU's command line (program name excluded).
    pub fn args(&self) -> Vec<String> {
        let mut c = CommandLine::new();
        c.machine(&Props::machine("pc")).accel(&self.accel).smp(1);
        let mem_mib = self.memory >> 20;
        let slots = self.dimms.len()
            + self.hotplug_slots
            + usize::from(self.flush_page)
            + usize::from(self.ocxlpmem.is_some())
            + self.spas.len();
        // Device memory must span every DIMM; QEMU adds slack per slot.
        let maxmem = || {
            let span = self.device_span_end() - DEVICE_MEMORY_BASE;
            MemSize::MiB((self.memory + span).div_ceil(1 << 30) << 10)
        };
        c.memory(mem_mib, (slots > 0).then(|| (slots, maxmem())))
            .headless();
        if self.results.is_some() {
            c.chardev_socket("nvres", &self.results_socket())
                .serial_chardev("nvres");
        }
        c.chardev_socket("nvdb", &self.doorbell_socket())
            .device(
                &Props::device("isa-debugcon")
                    .with("iobase", Prop::Hex(self.doorbell_port.into()))
                    .with("chardev", "nvdb"),
            )
            .shared_file_backend("nvmb", &self.mailbox_path(), crate::mailbox::SIZE as u64)
            .device(
                &Props::device("ivshmem-plain")
                    .with("memdev", "nvmb")
                    .with("addr", Prop::Hex(self.mailbox_slot.into())),
            );
        if let Some(card) = &self.ocxlpmem {
            c.chardev_socket("nvocxl", &self.ocxl_socket()).device(
                &Props::device("ivshmem-doorbell")
                    .with("id", "ocxlpmem0")
                    .with("chardev", "nvocxl")
                    .with("vectors", card.vectors)
                    .with("addr", Prop::Hex(self.ocxl_slot.into())),
            );
        }
        if self.hotplug_slots > 0 {
            c.chardev_socket("nvhp", &self.notify_socket())
                .device(
                    &Props::device("isa-serial")
                        .with("iobase", Prop::Hex(self.notify_port.into()))
                        .with("irq", self.notify_irq)
                        .with("chardev", "nvhp"),
                )
                .qmp(&self.vmm_qmp_socket());
        }
        for d in &self.dimms {
            // A set's DIMM maps its persistent part only: QEMU maps a
            // file's first `size` bytes and leaves the label area out.
            let memdev = dimm_backend(d.slot, &d.config.path, d.mapped_size());
            c.object(&memdev).device(&dimm_device(d.slot, d.address));
        }
        if let Some(card) = &self.ocxlpmem {
            c.shared_file_backend("nvocxlmem", &card.path, card.size)
                .device(&pc_dimm(
                    "nvocxld",
                    "nvocxlmem",
                    crate::config::OCXL_MEMORY_BASE,
                ));
        }
        for (i, s) in self.spas.iter().enumerate() {
            let memdev = format!("nvspa{i}");
            c.shared_file_backend(&memdev, &s.config.path, s.config.size)
                .device(&pc_dimm(&format!("nvspad{i}"), &memdev, s.address));
        }
        if self.flush_page {
            c.shared_file_backend("nvflush", &self.flush_path(), crate::config::FLUSH_SIZE)
                .device(&pc_dimm("nvflushd", "nvflush", crate::config::FLUSH_BASE));
        }
        c.acpitable(&self.nfit_path()).acpitable(&self.ssdt_path());
        if let Some(q) = &self.qmp {
            c.qmp(q);
        }
        c.kernel(&self.kernel);
        if let Some(i) = &self.initrd {
            c.initrd(i);
        }
        // The DIMMs are device memory only the NFIT describes: keep the
        // guest's ACPI memory hotplug driver from adding them as RAM.
        let append = format!("{} acpi_no_memhotplug", self.append.trim());
        c.append(append.trim());
        c.into_args()
    }
}

/// A `pc-dimm` at `addr` on backend `memdev`.
fn pc_dimm(id: &str, memdev: &str, addr: u64) -> Props {
    Props::device("pc-dimm")
        .with("id", id)
        .with("memdev", memdev)
        .with("addr", Prop::Hex(addr))
}

/// The `pc-dimm` of NVDIMM `slot` (at boot, and hot-added over QMP).
pub(super) fn dimm_device(slot: u16, addr: u64) -> Props {
    pc_dimm(&format!("nvdimm{slot}"), &format!("nvmem{slot}"), addr)
}

/// The backend of NVDIMM `slot`: its whole backing file, shared.
pub(super) fn dimm_backend(slot: u16, path: &Path, size: u64) -> Props {
    Props::shared_file_backend(&format!("nvmem{slot}"), path, size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{place, NvdimmConfig};

    #[test]
    fn a_hot_added_dimm_is_described_as_at_boot() {
        let backend = dimm_backend(2, Path::new("/d/h.img"), 4096);
        assert_eq!(
            backend.qmp_args(),
            serde_json::json!({"qom-type": "memory-backend-file", "id": "nvmem2",
                "share": true, "mem-path": "/d/h.img", "size": 4096})
        );
        assert_eq!(
            dimm_device(2, 0x1_2000_0000).qmp_args(),
            serde_json::json!({"driver": "pc-dimm", "id": "nvdimm2", "memdev": "nvmem2",
                "addr": 0x1_2000_0000u64})
        );
        assert_eq!(
            dimm_device(2, 0x1_2000_0000).cmdline(),
            "pc-dimm,id=nvdimm2,memdev=nvmem2,addr=0x120000000"
        );
    }

    #[test]
    fn command_line() {
        let c = NvdimmConfig::parse("path=/d/a.img,size=512M,label-size=128K").unwrap();
        let (dimms, end) = place(&[c]).unwrap();
        let l = Launch {
            qemu: "qemu-system-x86_64".into(),
            accel: "tcg".into(),
            kernel: "/k/bzImage".into(),
            initrd: Some("/k/initrd".into()),
            append: "console=ttyS0".into(),
            memory: 1 << 30,
            dimms,
            dimms_end: end,
            spas: vec![],
            state_dir: "/s".into(),
            doorbell_port: 0xa40,
            mailbox_slot: 0x10,
            results: Some("/r/results.txt".into()),
            qmp: None,
            console_log: None,
            overwrite_console_log: false,
            echo: false,
            timeout: None,
            hotplug_slots: 0,
            capabilities: 0,
            notify_port: 0xa50,
            notify_irq: 5,
            flush_page: false,
            ocxlpmem: None,
            ocxl_slot: 0x11,
        };
        let a = l.args().join(" ");
        // Whole command lines, as they were before the pieces moved to
        // nvdimm-testkit.
        assert_eq!(
            a,
            "-machine pc -accel tcg -smp 1 -m 1024M,slots=1,maxmem=2048M -nodefaults \
             -no-user-config -display none -no-reboot -serial stdio \
             -chardev socket,id=nvres,path=/s/results.sock -serial chardev:nvres \
             -chardev socket,id=nvdb,path=/s/doorbell.sock \
             -device isa-debugcon,iobase=0xa40,chardev=nvdb \
             -object memory-backend-file,id=nvmb,share=on,mem-path=/s/mailbox,size=262144 \
             -device ivshmem-plain,memdev=nvmb,addr=0x10 \
             -object memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 \
             -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
             -acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml -kernel /k/bzImage \
             -initrd /k/initrd -append console=ttyS0 acpi_no_memhotplug"
        );
        let mut q = l.clone();
        q.qmp = Some("/s/user-qmp.sock".into());
        q.hotplug_slots = 1;
        q.flush_page = true;
        assert_eq!(
            q.args().join(" "),
            "-machine pc -accel tcg -smp 1 -m 1024M,slots=3,maxmem=63488M -nodefaults \
             -no-user-config -display none -no-reboot -serial stdio \
             -chardev socket,id=nvres,path=/s/results.sock -serial chardev:nvres \
             -chardev socket,id=nvdb,path=/s/doorbell.sock \
             -device isa-debugcon,iobase=0xa40,chardev=nvdb \
             -object memory-backend-file,id=nvmb,share=on,mem-path=/s/mailbox,size=262144 \
             -device ivshmem-plain,memdev=nvmb,addr=0x10 \
             -chardev socket,id=nvhp,path=/s/notify.sock \
             -device isa-serial,iobase=0xa50,irq=5,chardev=nvhp \
             -qmp unix:/s/vmm-qmp.sock,server=on,wait=off \
             -object memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 \
             -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
             -object memory-backend-file,id=nvflush,share=on,mem-path=/s/flush-hints,size=2097152 \
             -device pc-dimm,id=nvflushd,memdev=nvflush,addr=0x1000000000 \
             -acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml \
             -qmp unix:/s/user-qmp.sock,server=on,wait=off -kernel /k/bzImage \
             -initrd /k/initrd -append console=ttyS0 acpi_no_memhotplug"
        );
        assert!(a.contains("-machine pc -accel tcg"), "{a}");
        assert!(!a.contains("nvdimm=on"));
        assert!(a.contains("-m 1024M,slots=1,maxmem=2048M"), "{a}");
        assert!(a.contains(
            "memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000"
        ), "{a}");
        assert!(a.contains("isa-debugcon,iobase=0xa40,chardev=nvdb"));
        assert!(a.contains("ivshmem-plain,memdev=nvmb,addr=0x10"));
        assert!(a.contains("-acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml"));
        assert!(a.contains("-serial chardev:nvres"));
        assert!(
            a.ends_with("-append console=ttyS0 acpi_no_memhotplug"),
            "{a}"
        );
        // An interleave set: each backend maps only its DIMM's persistent
        // part (the label area stays in the file, unmapped), the second
        // right after the first.
        let set: Vec<NvdimmConfig> = ["/d/s0.img", "/d/s1.img"]
            .iter()
            .map(|p| NvdimmConfig::parse(&format!("path={p},size=256M,label-size=128K,set=1")))
            .collect::<Result<_, _>>()
            .unwrap();
        let mut s = l.clone();
        (s.dimms, s.dimms_end) = place(&set).unwrap();
        let a = s.args().join(" ");
        assert!(
            a.contains(
                "-object memory-backend-file,id=nvmem0,share=on,mem-path=/d/s0.img,size=268435456 \
                 -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
                 -object memory-backend-file,id=nvmem1,share=on,mem-path=/d/s1.img,size=268435456 \
                 -device pc-dimm,id=nvdimm1,memdev=nvmem1,addr=0x110000000"
            ),
            "{a}"
        );
        assert!(!a.contains("nvflush"));
        assert!(!a.contains("ivshmem-doorbell"));
        // The flush hint page: one more slot, and device memory up to it.
        let l = Launch {
            flush_page: true,
            hotplug_slots: 2,
            ..l
        };
        let a = l.args().join(" ");
        assert!(a.contains("-m 1024M,slots=4,maxmem=63488M"), "{a}");
        assert!(
            a.contains(
                "memory-backend-file,id=nvflush,share=on,mem-path=/s/flush-hints,size=2097152 \
             -device pc-dimm,id=nvflushd,memdev=nvflush,addr=0x1000000000"
            ),
            "{a}"
        );
        // The card: a chardev on the VMM's ivshmem server, then the device.
        let l = Launch {
            ocxlpmem: Some(OcxlConfig::parse("path=/c/card.img,size=512M,vectors=4").unwrap()),
            ..l
        };
        let a = l.args().join(" ");
        assert!(
            a.contains(
                "-chardev socket,id=nvocxl,path=/s/ocxlpmem.sock \
                 -device ivshmem-doorbell,id=ocxlpmem0,chardev=nvocxl,vectors=4,addr=0x11"
            ),
            "{a}"
        );
        // Its memory: one more slot, device memory up to 65.5 GiB.
        assert!(
            a.contains(
                "-object memory-backend-file,id=nvocxlmem,share=on,mem-path=/c/card.img,\
                 size=536870912 -device pc-dimm,id=nvocxld,memdev=nvocxlmem,addr=0x1040000000"
            ),
            "{a}"
        );
        assert!(a.contains("-m 1024M,slots=5,maxmem=64512M"), "{a}");
        // An --spa range: one more slot on its file, device memory up to it.
        let spa = crate::config::SpaConfig::parse("vdisk,path=/d/disk.img,size=16M").unwrap();
        let l = Launch {
            spas: crate::config::place_spas(&[spa], &l.dimms).unwrap(),
            ..l
        };
        let a = l.args().join(" ");
        assert!(
            a.contains(
                "-object memory-backend-file,id=nvspa0,share=on,mem-path=/d/disk.img,\
                 size=16777216 -device pc-dimm,id=nvspad0,memdev=nvspa0,addr=0x3000000000"
            ),
            "{a}"
        );
        assert!(a.contains("-m 1024M,slots=6,maxmem=194560M"), "{a}");
    }
}
