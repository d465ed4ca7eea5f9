//! Redis's RDB snapshot format and `DUMP`/`RESTORE` payloads, over the node's [`Value`]s.
//!
//! - [`writer`] streams a snapshot to any `io::Write` in RDB version 10, the format
//!   redis-server 7.0 writes and every later Redis loads: header, aux fields, then per key an
//!   optional expiry, a type byte, the key and the value, then `EOF` and a CRC-64.
//! - [`reader`] parses RDB versions 1–11 (Redis up to 7.2) record by record from a byte slice,
//!   every encoding Redis has used for strings, lists, sets, sorted sets and hashes.
//! - [`dump`] wraps one value as `DUMP` does and checks a payload as `RESTORE` does.
//!
//! Values are encoded by [`object`]; the compact blobs inside them by [`listpack`],
//! [`ziplist`], [`intset`] and [`zipmap`]; long strings may be [`lzf`]-compressed; files and
//! payloads end with a [`crc64`]; streams by [`stream`]. Module values are recognised and
//! refused with [`ErrorKind::Unsupported`]. Facts from Redis `rdb.h`/`rdb.c`.
//!
//! [`Value`]: crate::value::Value

mod crc64;
pub(crate) mod dump;
mod input;
mod intset;
mod listpack;
mod lzf;
mod object;
pub(crate) mod reader;
mod stream;
pub(crate) mod writer;
mod ziplist;
mod zipmap;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use crc64::crc64;
pub(crate) use dump::{decode_dump, encode_dump};
pub(crate) use reader::{RdbReader, Record};
#[cfg(test)]
pub(crate) use writer::write_snapshot;
pub(crate) use writer::{RdbWriter, ReplInfo, SnapshotInfo, WriteOptions};

/// The RDB version this module writes (Redis 7.0's `RDB_VERSION`).
pub(crate) const RDB_VERSION: u16 = 10;
/// The newest RDB version this module reads (Redis 7.2's `RDB_VERSION`).
pub(crate) const MAX_READ_VERSION: u16 = 11;

/// Most elements reserved up front for a collection whose size the input claims; beyond this
/// the collection grows with the elements actually read, so a corrupt count cannot make the
/// reader allocate more than the data it has really decoded.
const MAX_PREALLOC: usize = 4096;

/// Capacity to reserve for `claimed` elements.
pub(crate) fn initial_capacity(claimed: usize) -> usize {
    claimed.min(MAX_PREALLOC)
}

/// Value type bytes (Redis `rdb.h`, `RDB_TYPE_*`).
pub(crate) mod kind {
    pub(crate) const STRING: u8 = 0;
    pub(crate) const LIST: u8 = 1;
    pub(crate) const SET: u8 = 2;
    pub(crate) const ZSET: u8 = 3;
    pub(crate) const HASH: u8 = 4;
    pub(crate) const ZSET_2: u8 = 5;
    pub(crate) const MODULE_PRE_GA: u8 = 6;
    pub(crate) const MODULE_2: u8 = 7;
    pub(crate) const HASH_ZIPMAP: u8 = 9;
    pub(crate) const LIST_ZIPLIST: u8 = 10;
    pub(crate) const SET_INTSET: u8 = 11;
    pub(crate) const ZSET_ZIPLIST: u8 = 12;
    pub(crate) const HASH_ZIPLIST: u8 = 13;
    pub(crate) const LIST_QUICKLIST: u8 = 14;
    /// Streams (Redis 5.0–6.2); 19 adds first/deleted IDs and counters (7.0), 21 consumers'
    /// active time (7.2).
    pub(crate) const STREAM_LISTPACKS: u8 = 15;
    pub(crate) const HASH_LISTPACK: u8 = 16;
    pub(crate) const ZSET_LISTPACK: u8 = 17;
    pub(crate) const LIST_QUICKLIST_2: u8 = 18;
    pub(crate) const STREAM_LISTPACKS_2: u8 = 19;
    pub(crate) const SET_LISTPACK: u8 = 20;
    pub(crate) const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes that introduce non-key records (Redis `rdb.h`, `RDB_OPCODE_*`).
pub(crate) mod opcode {
    pub(crate) const FUNCTION2: u8 = 245;
    pub(crate) const FUNCTION_PRE_GA: u8 = 246;
    pub(crate) const MODULE_AUX: u8 = 247;
    pub(crate) const IDLE: u8 = 248;
    pub(crate) const FREQ: u8 = 249;
    pub(crate) const AUX: u8 = 250;
    pub(crate) const RESIZEDB: u8 = 251;
    pub(crate) const EXPIRETIME_MS: u8 = 252;
    pub(crate) const EXPIRETIME: u8 = 253;
    pub(crate) const SELECTDB: u8 = 254;
    pub(crate) const EOF: u8 = 255;
}

/// One element of a listpack or ziplist: bytes, or an integer stored as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Element<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Element<'_> {
    /// The element as Redis presents it: integers as their decimal text.
    pub(crate) fn to_bytes(self) -> bytes::Bytes {
        match self {
            Element::Str(s) => bytes::Bytes::copy_from_slice(s),
            Element::Int(n) => {
                bytes::Bytes::copy_from_slice(itoa::Buffer::new().format(n).as_bytes())
            }
        }
    }
}

/// Why RDB input could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rdb: {kind} at byte {offset}")]
pub(crate) struct RdbError {
    /// Offset in the file (or payload) of the byte where the problem was found.
    pub(crate) offset: usize,
    /// What is wrong.
    pub(crate) kind: ErrorKind,
}

/// The kinds of [`RdbError`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ErrorKind {
    /// The input ends inside the named item.
    #[error("input ends inside {0}")]
    Truncated(&'static str),
    /// The file does not start with `REDIS` and four digits.
    #[error("bad magic (not an RDB file)")]
    BadMagic,
    /// The file's version is newer (or older) than this reader handles.
    #[error("unsupported RDB version {0}")]
    UnsupportedVersion(u16),
    /// A type or opcode byte Redis does not define.
    #[error("unknown value type or opcode {0}")]
    UnknownType(u8),
    /// A record Redis defines but this node does not load (module values).
    #[error("{0} not supported")]
    Unsupported(&'static str),
    /// The CRC-64 at the end of the file does not match its contents.
    #[error("checksum mismatch: file says {stored:#018x}, contents give {computed:#018x}")]
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// The named structure is malformed.
    #[error("corrupt {0}: {1}")]
    Corrupt(&'static str, &'static str),
}
