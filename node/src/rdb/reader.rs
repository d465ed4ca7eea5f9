//! Reading an RDB file record by record (Redis `rdbLoadRioWithLoadingCtx`).
//!
//! The file is `REDIS` + four version digits, then records until `EOF` (255), then (version 5
//! on) a CRC-64 of everything before it, little endian; zero means "not computed"
//! (`rdbchecksum no`). A key record may be preceded by its expiry (`EXPIRETIME_MS`, or the
//! older seconds form `EXPIRETIME`) and by `IDLE`/`FREQ` eviction hints.

use bytes::Bytes;

use super::input::Input;
use super::object::{check_type, read_value};
use super::{crc64::crc64, opcode, ErrorKind, RdbError, MAX_READ_VERSION};
use crate::value::{CompactBytes, Value};

/// One record of an RDB file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Record {
    /// An `AUX` field: `redis-ver`, `ctime`, `repl-id`, ...
    Aux { key: Bytes, value: Bytes },
    /// `SELECTDB`: following keys belong to database `0`.
    SelectDb(u32),
    /// `RESIZEDB`: how many keys (and keys with an expiry) the current database holds; a hint.
    ResizeDb { keys: u64, expires: u64 },
    /// A key and its value.
    Key(KeyRecord),
    /// A `FUNCTION2` record: one function library's source code, loaded as `FUNCTION LOAD`.
    Function(Bytes),
}

/// A key read from the file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeyRecord {
    /// The database selected when the key was read.
    pub(crate) db: u32,
    /// The key, read straight into the form a database keeps it in.
    pub(crate) key: CompactBytes,
    pub(crate) value: Value,
    /// Absolute expiry, Unix milliseconds. Keys already expired are returned as they are:
    /// whether to drop them is the loader's decision (a primary drops them, a replica keeps).
    pub(crate) expire_ms: Option<i64>,
    /// `IDLE`: seconds since last access (LRU hint).
    pub(crate) idle_secs: Option<u64>,
    /// `FREQ`: the LFU counter.
    pub(crate) freq: Option<u8>,
}

/// Reads an RDB file held in memory.
pub(crate) struct RdbReader<'a> {
    input: Input<'a>,
    version: u16,
    db: u32,
    done: bool,
    /// Leave the checksum to the caller ([`RdbReader::defer_checksum`]); once `EOF` is read,
    /// the bytes it covers and the value stored.
    deferred: Option<Option<DeferredChecksum>>,
}

/// The checksum of a file whose reader left it to its caller: the CRC-64 (Redis's, as
/// [`crate::rdb::crc64`] computes it) of the first `covers` bytes must equal `stored`, unless
/// `stored` is 0 (`rdbchecksum no`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeferredChecksum {
    /// Bytes covered: everything up to and including the `EOF` opcode; the stored checksum
    /// starts at this offset.
    pub(crate) covers: usize,
    /// The checksum the file records.
    pub(crate) stored: u64,
}

impl DeferredChecksum {
    /// Compares the stored checksum with `computed`, that of the first `covers` bytes.
    ///
    /// # Errors
    /// [`ErrorKind::ChecksumMismatch`] at the checksum's offset.
    pub(crate) fn verify(self, computed: u64) -> Result<(), RdbError> {
        if self.stored != 0 && self.stored != computed {
            return Err(RdbError {
                offset: self.covers,
                kind: ErrorKind::ChecksumMismatch {
                    stored: self.stored,
                    computed,
                },
            });
        }
        Ok(())
    }
}

impl<'a> RdbReader<'a> {
    /// Checks the header of `data`.
    ///
    /// # Errors
    /// [`ErrorKind::BadMagic`], [`ErrorKind::UnsupportedVersion`] (versions 1 to 11 are read),
    /// or [`ErrorKind::Truncated`].
    pub(crate) fn new(data: &'a [u8]) -> Result<Self, RdbError> {
        let mut input = Input::new(data, 0);
        let magic = input
            .bytes(9, "header")
            .map_err(|_| input.error(ErrorKind::BadMagic))?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(RdbError {
                offset: 0,
                kind: ErrorKind::BadMagic,
            });
        }
        let version = magic[5..]
            .iter()
            .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
        if !(1..=MAX_READ_VERSION).contains(&version) {
            return Err(RdbError {
                offset: 5,
                kind: ErrorKind::UnsupportedVersion(version),
            });
        }
        Ok(RdbReader {
            input,
            version,
            db: 0,
            done: false,
            deferred: None,
        })
    }

    /// Leaves the file's checksum to the caller, who computes it alongside (loading does so
    /// on another thread than the reading): at `EOF` the reader records what
    /// [`RdbReader::deferred_checksum`] gives instead of verifying it.
    pub(crate) fn defer_checksum(&mut self) {
        self.deferred = Some(None);
    }

    /// After `EOF`, when the checksum was deferred and the file has one (version 5 on): the
    /// bytes it covers and its stored value.
    pub(crate) fn deferred_checksum(&self) -> Option<DeferredChecksum> {
        self.deferred.flatten()
    }

    /// Bytes read so far (for progress reports).
    pub(crate) fn offset(&self) -> usize {
        self.input.offset()
    }

    /// The file's RDB version.
    pub(crate) fn version(&self) -> u16 {
        self.version
    }

    /// The next record; `None` after `EOF` once the checksum has been verified. Empty
    /// collections are skipped, as Redis skips them.
    ///
    /// # Errors
    /// Any [`RdbError`]; after one, the reader yields nothing further that can be trusted.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, RdbError> {
        let mut expire_ms = None;
        let mut idle_secs = None;
        let mut freq = None;
        while !self.done {
            let at = self.input.offset();
            let byte = self.input.u8("record type")?;
            match byte {
                opcode::EOF => {
                    self.verify_checksum()?;
                    self.done = true;
                }
                opcode::AUX => {
                    let key = self.input.bytes_value()?;
                    let value = self.input.bytes_value()?;
                    return Ok(Some(Record::Aux { key, value }));
                }
                opcode::SELECTDB => {
                    let db = self.input.length()?;
                    self.db = u32::try_from(db).map_err(|_| {
                        self.input.error_at(
                            at,
                            ErrorKind::Corrupt("SELECTDB", "database number too large"),
                        )
                    })?;
                    return Ok(Some(Record::SelectDb(self.db)));
                }
                opcode::RESIZEDB => {
                    let keys = self.input.length()?;
                    let expires = self.input.length()?;
                    return Ok(Some(Record::ResizeDb { keys, expires }));
                }
                opcode::EXPIRETIME_MS => {
                    expire_ms = Some(i64::from_le_bytes(self.input.array("expire time")?));
                }
                opcode::EXPIRETIME => {
                    let secs = i32::from_le_bytes(self.input.array("expire time")?);
                    expire_ms = Some(i64::from(secs) * 1000);
                }
                opcode::IDLE => idle_secs = Some(self.input.length()?),
                opcode::FREQ => freq = Some(self.input.u8("LFU frequency")?),
                opcode::FUNCTION2 => {
                    return Ok(Some(Record::Function(self.input.bytes_value()?)));
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(self
                        .input
                        .error_at(at, ErrorKind::Unsupported("pre-release function record")))
                }
                opcode::MODULE_AUX => {
                    return Err(self
                        .input
                        .error_at(at, ErrorKind::Unsupported("module aux data")))
                }
                kind => {
                    check_type(kind).map_err(|e| self.input.error_at(at, e))?;
                    let key = CompactBytes::from(&self.input.string()?[..]);
                    let Some(value) = read_value(&mut self.input, kind)? else {
                        expire_ms = None;
                        idle_secs = None;
                        freq = None;
                        continue;
                    };
                    return Ok(Some(Record::Key(KeyRecord {
                        db: self.db,
                        key,
                        value,
                        expire_ms,
                        idle_secs,
                        freq,
                    })));
                }
            }
        }
        Ok(None)
    }

    fn verify_checksum(&mut self) -> Result<(), RdbError> {
        if self.version < 5 {
            return Ok(());
        }
        let covers = self.input.offset();
        let stored = u64::from_le_bytes(self.input.array("checksum")?);
        let checksum = DeferredChecksum { covers, stored };
        if let Some(deferred) = &mut self.deferred {
            *deferred = Some(checksum);
            return Ok(());
        }
        checksum.verify(crc64(0, &self.input.consumed()[..covers]))
    }
}

impl Iterator for RdbReader<'_> {
    type Item = Result<Record, RdbError>;

    /// Records until `EOF`; after an error, nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(record) => record.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
