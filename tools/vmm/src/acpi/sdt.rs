// SPDX-License-Identifier: GPL-2.0
//! The system description table header every generated table starts with.

use nfit_table::builder;

/// OEM fields of the tables.
pub const OEM_ID: &[u8; 6] = b"NVDMRS";
pub const OEM_REVISION: u32 = 1;
pub const CREATOR_ID: &[u8; 4] = b"NVRS";
pub const CREATOR_REVISION: u32 = 1;

/// The ACPI checksum byte for a table whose byte 9 is the checksum.
pub fn checksum(t: &[u8]) -> u8 {
    builder::checksum(t)
}

/// A system description table: the 36-byte header, then `body`.
pub fn sdt(signature: &[u8; 4], revision: u8, oem_table_id: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(36 + body.len());
    t.extend_from_slice(signature);
    let len = u32::try_from(36 + body.len()).expect("ACPI table above 4 GiB");
    t.extend(len.to_le_bytes());
    t.push(revision);
    t.push(0);
    t.extend_from_slice(OEM_ID);
    t.extend_from_slice(oem_table_id);
    t.extend(OEM_REVISION.to_le_bytes());
    t.extend_from_slice(CREATOR_ID);
    t.extend(CREATOR_REVISION.to_le_bytes());
    t.extend_from_slice(body);
    t[9] = checksum(&t);
    t
}
