/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User API of the OpenCAPI persistent memory driver (/dev/ocxlpmemN).
 *
 * The ioctls of the v4 series "Add support for OpenCAPI Persistent Memory
 * devices", with its review feedback applied: user pointers are __u64,
 * every struct has explicit padding and no implicit holes, all fields are
 * fixed-width in the CPU's byte order. Reserved fields must be zero on
 * input. The header compiles as C89 (a host test builds it with
 * -std=c89 -pedantic-errors and checks every layout and ioctl number).
 *
 * Keep in sync with drivers/nvdimm/ocxlpmem_rs/uapi.rs (a host test parses
 * this file and compares the layouts).
 */
#ifndef _UAPI_LINUX_OCXLPMEM_H
#define _UAPI_LINUX_OCXLPMEM_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Recommended actions (action_flags of a general error log entry). */
#define OCXLPMEM_ERROR_LOG_ACTION_RESET		(1 << 0)
#define OCXLPMEM_ERROR_LOG_ACTION_CHKFW		(1 << 21)
#define OCXLPMEM_ERROR_LOG_ACTION_REPLACE	(1 << 22)
#define OCXLPMEM_ERROR_LOG_ACTION_DUMP		(1 << 23)

/* Error log entry types. */
#define OCXLPMEM_ERROR_LOG_TYPE_GENERAL			0x00
#define OCXLPMEM_ERROR_LOG_TYPE_PREDICTIVE_FAILURE	0x01
#define OCXLPMEM_ERROR_LOG_TYPE_THERMAL_WARNING		0x02
#define OCXLPMEM_ERROR_LOG_TYPE_DATA_LOSS		0x03
#define OCXLPMEM_ERROR_LOG_TYPE_HEALTH_PERFORMANCE	0x04

struct ioctl_ocxlpmem_error_log {
	__u32 log_identifier;		/* out */
	__u32 program_reference_code;	/* out */
	__u32 action_flags;		/* out, OCXLPMEM_ERROR_LOG_ACTION_* */
	__u32 power_on_seconds;		/* out, controller uptime at the error */
	__u64 timestamp;		/* out, time since the current IPL */
	__u64 wwid[2];			/* out, NAA WWID of the controller */
	char fw_revision[9];		/* out, NUL-terminated text */
	__u8 reserved0[7];
	__u16 buf_size;			/* in: size of buf_ptr (a multiple of 8);
					 * out: bytes of additional data the entry
					 * has (only the first in-size are copied);
					 * 0 with all fields 0: no entry.
					 */
	__u8 error_log_type;		/* out, OCXLPMEM_ERROR_LOG_TYPE_* */
	__u8 reserved1[5];
	__u64 buf_ptr;			/* in, user pointer to the data buffer */
	__u64 reserved2[2];
};

struct ioctl_ocxlpmem_controller_dump_data {
	__u64 buf_ptr;			/* in, user pointer to the output buffer */
	__u16 buf_size;			/* in: buffer size (non-zero, a multiple
					 * of 8); out: bytes returned, 0 at the
					 * end of the dump.
					 */
	__u16 reserved0;
	__u32 offset;			/* in, offset within the dump */
	__u64 reserved[8];
};

struct ioctl_ocxlpmem_controller_stats {
	__u32 reset_count;
	__u32 reset_uptime;		/* seconds */
	__u32 power_on_uptime;		/* seconds */
	__u8 life_remaining;		/* percent, 0-100 */
	__u8 critical_resource_utilization; /* percent, 0-100 */
	__u8 reserved[2];
	__u64 host_load_count;
	__u64 host_store_count;
	__u64 host_load_duration;	/* nanoseconds, total */
	__u64 host_store_duration;	/* nanoseconds, total */
	__u64 media_read_count;
	__u64 media_write_count;
	__u64 media_read_duration;	/* nanoseconds, total */
	__u64 media_write_duration;	/* nanoseconds, total */
	__u64 cache_read_hit_count;
	__u64 cache_write_hit_count;
	__u64 fast_write_count;
};

struct ioctl_ocxlpmem_eventfd {
	__s32 eventfd;			/* in */
	__u32 reserved;
};

/* Bits of the IOCTL_OCXLPMEM_EVENT_CHECK answer. */
#define IOCTL_OCXLPMEM_EVENT_CONTROLLER_DUMP_AVAILABLE	((__u64)1 << 0)
#define IOCTL_OCXLPMEM_EVENT_ERROR_LOG_AVAILABLE	((__u64)1 << 1)
#define IOCTL_OCXLPMEM_EVENT_HARDWARE_FATAL		((__u64)1 << 2)
#define IOCTL_OCXLPMEM_EVENT_FIRMWARE_FATAL		((__u64)1 << 3)

/* ioctl numbers: 0xCA 0x30-0x3F (0xCA is shared with misc/cxl.h, misc/ocxl.h) */
#define OCXLPMEM_MAGIC 0xCA
#define IOCTL_OCXLPMEM_ERROR_LOG		_IOWR(OCXLPMEM_MAGIC, 0x30, struct ioctl_ocxlpmem_error_log)
#define IOCTL_OCXLPMEM_CONTROLLER_DUMP		_IO(OCXLPMEM_MAGIC, 0x31)
#define IOCTL_OCXLPMEM_CONTROLLER_DUMP_DATA	_IOWR(OCXLPMEM_MAGIC, 0x32, struct ioctl_ocxlpmem_controller_dump_data)
#define IOCTL_OCXLPMEM_CONTROLLER_DUMP_COMPLETE	_IO(OCXLPMEM_MAGIC, 0x33)
#define IOCTL_OCXLPMEM_CONTROLLER_STATS		_IOR(OCXLPMEM_MAGIC, 0x34, struct ioctl_ocxlpmem_controller_stats)
#define IOCTL_OCXLPMEM_EVENTFD			_IOW(OCXLPMEM_MAGIC, 0x35, struct ioctl_ocxlpmem_eventfd)
#define IOCTL_OCXLPMEM_EVENT_CHECK		_IOR(OCXLPMEM_MAGIC, 0x36, __u64)
#define IOCTL_OCXLPMEM_REQUEST_HEALTH		_IO(OCXLPMEM_MAGIC, 0x37)

/*
 * Debug ioctls: only available if the kernel is built with
 * CONFIG_OCXLPMEM_RUST_DEBUG; they give raw access to the controller.
 */
#define OCXLPMEM_FWDEBUG_READ_CONTROLLER_MEMORY		0x01
#define OCXLPMEM_FWDEBUG_WRITE_CONTROLLER_MEMORY	0x02
#define OCXLPMEM_FWDEBUG_ENABLE_FUNCTION		0x03
#define OCXLPMEM_FWDEBUG_DISABLE_FUNCTION		0x04
#define OCXLPMEM_FWDEBUG_GET_PEL			0x05 /* persistent error log */

struct ioctl_ocxlpmem_fwdebug {		/* all fields are inputs */
	__u64 debug_parameter_1;
	__u64 debug_parameter_2;
	__u64 buf_ptr;			/* user pointer to an optional in/out buffer */
	__u16 debug_action;		/* OCXLPMEM_FWDEBUG_*, at most 0xff */
	__u16 function_code;
	__u16 buf_size;			/* a multiple of 8, 0 for no buffer */
	__u16 reserved;
};

struct ioctl_ocxlpmem_mmio {
	__u64 address;			/* offset in the global MMIO space */
	__u64 val;			/* value to write / value read */
};

#define IOCTL_OCXLPMEM_FWDEBUG		_IOWR(OCXLPMEM_MAGIC, 0xf0, struct ioctl_ocxlpmem_fwdebug)
#define IOCTL_OCXLPMEM_MMIO_WRITE	_IOW(OCXLPMEM_MAGIC, 0xf1, struct ioctl_ocxlpmem_mmio)
#define IOCTL_OCXLPMEM_MMIO_READ	_IOWR(OCXLPMEM_MAGIC, 0xf2, struct ioctl_ocxlpmem_mmio)
#define IOCTL_OCXLPMEM_SHUTDOWN		_IO(OCXLPMEM_MAGIC, 0xf3)

#endif /* _UAPI_LINUX_OCXLPMEM_H */
