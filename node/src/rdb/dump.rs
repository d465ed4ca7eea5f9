//! `DUMP` and `RESTORE` payloads (Redis `cluster.c`, `createDumpPayload`/`verifyDumpPayload`):
//! the value's type byte and RDB encoding, then a 2-byte little-endian RDB version, then a
//! CRC-64 (little endian) of everything before it.

use super::crc64::crc64;
use super::input::Input;
use super::object::{read_value, write_value};
use super::{ErrorKind, RdbError, MAX_READ_VERSION, RDB_VERSION};
use crate::value::Value;

/// Why a `RESTORE` payload was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DumpError {
    /// Shorter than its footer, from a newer RDB version, or failing its checksum.
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The footer is right but the value does not decode (or is an empty collection).
    #[error("ERR Bad data format")]
    BadFormat(RdbError),
}

/// The `DUMP` payload of `value`, in RDB version 10 so Redis 7.0 and later accept it; long
/// strings are LZF-compressed when that saves space (Redis's default `rdbcompression yes`).
pub(crate) fn encode_dump(value: &Value) -> Vec<u8> {
    let mut out = vec![0];
    out[0] = write_value(&mut out, value, true);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks and decodes a `RESTORE` payload (RDB versions up to 11, as Redis 7.2 writes them).
///
/// # Errors
/// [`DumpError::VersionOrChecksum`] when the footer is wrong; [`DumpError::BadFormat`] when the
/// value does not decode.
pub(crate) fn decode_dump(payload: &[u8]) -> Result<Value, DumpError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(DumpError::VersionOrChecksum);
    };
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    if version > MAX_READ_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().expect("8 bytes"));
    if crc64(0, &payload[..body_len + 2]) != stored {
        return Err(DumpError::VersionOrChecksum);
    }
    let mut input = Input::new(&payload[..body_len], 0);
    let kind = input.u8("value type").map_err(DumpError::BadFormat)?;
    match read_value(&mut input, kind) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(DumpError::BadFormat(
            input.error_at(1, ErrorKind::Corrupt("value", "empty collection")),
        )),
        Err(e) => Err(DumpError::BadFormat(e)),
    }
}
