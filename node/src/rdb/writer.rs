//! Writing an RDB file, streaming: records are encoded into a small buffer that is flushed to
//! the destination (and folded into the running CRC-64) whenever it passes 64 KB, so a
//! snapshot of any size costs one value's encoding in memory, not a copy of the dataset.
//!
//! Layout written (Redis 7.0 `rdbSaveRio`): `REDIS0010`, aux fields `redis-ver`, `redis-bits`,
//! `ctime`, `used-mem`, then `repl-stream-db`, `repl-id`, `repl-offset` when replication info
//! is given, then `aof-base`; per database `SELECTDB` (+ `RESIZEDB` when sizes are known); per
//! key an optional `EXPIRETIME_MS`, the type byte, the key and the value; `EOF` and the CRC-64
//! (zero with `rdbchecksum no`). `FUNCTION2` records and `lua` aux fields, when the caller
//! has any, go after the aux fields.

use std::io::{self, Write};

use super::crc64::crc64;
use super::object::{write_length, write_string, write_value};
use super::{opcode, RDB_VERSION};
use crate::value::Value;

/// Buffered bytes that trigger a flush to the destination.
const FLUSH_AT: usize = 64 * 1024;

/// The `rdbcompression` and `rdbchecksum` settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteOptions {
    /// LZF-compress strings longer than 20 bytes when it saves space.
    pub(crate) compression: bool,
    /// Append a real CRC-64 (else zero, which readers skip).
    pub(crate) checksum: bool,
}

impl Default for WriteOptions {
    /// Redis's defaults: both on.
    fn default() -> Self {
        WriteOptions {
            compression: true,
            checksum: true,
        }
    }
}

/// What the aux fields record about the writer.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotInfo {
    /// `redis-ver`.
    pub(crate) redis_version: String,
    /// `ctime`: Unix seconds when the snapshot was taken.
    pub(crate) ctime_secs: u64,
    /// `used-mem`, bytes.
    pub(crate) used_memory: u64,
    /// Replication position, for a snapshot that seeds a replica (full resync) or lets a
    /// restarted node continue partially.
    pub(crate) replication: Option<ReplInfo>,
    /// `aof-base`: true when the file is the base of an append-only file.
    pub(crate) aof_base: bool,
}

/// The `repl-*` aux fields.
#[derive(Clone, Debug)]
pub(crate) struct ReplInfo {
    /// `repl-stream-db`: the database the replication stream last selected.
    pub(crate) stream_db: i64,
    /// `repl-id`: the 40-character replication ID.
    pub(crate) id: String,
    /// `repl-offset`: the replication offset the snapshot corresponds to.
    pub(crate) offset: i64,
}

/// Writes one RDB file to `W`.
pub(crate) struct RdbWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: u64,
    options: WriteOptions,
    db: Option<u32>,
    written: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file: magic, version and aux fields.
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn new(out: W, options: WriteOptions, info: &SnapshotInfo) -> io::Result<Self> {
        let mut writer = RdbWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT * 2),
            crc: 0,
            options,
            db: None,
            written: 0,
        };
        writer
            .buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let mut int = itoa::Buffer::new();
        writer.aux(b"redis-ver", info.redis_version.as_bytes());
        writer.aux(b"redis-bits", int.format(usize::BITS).as_bytes());
        writer.aux(b"ctime", int.format(info.ctime_secs).as_bytes());
        writer.aux(b"used-mem", int.format(info.used_memory).as_bytes());
        if let Some(repl) = &info.replication {
            writer.aux(b"repl-stream-db", int.format(repl.stream_db).as_bytes());
            writer.aux(b"repl-id", repl.id.as_bytes());
            writer.aux(b"repl-offset", int.format(repl.offset).as_bytes());
        }
        writer.aux(b"aof-base", if info.aof_base { b"1" } else { b"0" });
        writer.maybe_flush()?;
        Ok(writer)
    }

    fn aux(&mut self, key: &[u8], value: &[u8]) {
        self.buf.push(opcode::AUX);
        write_string(&mut self.buf, key, false);
        write_string(&mut self.buf, value, false);
    }

    /// Starts database `db`, announcing how many keys (and keys with an expiry) follow so the
    /// loader can size its tables.
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn select_db(&mut self, db: u32, keys: u64, expires: u64) -> io::Result<()> {
        self.buf.push(opcode::SELECTDB);
        write_length(&mut self.buf, u64::from(db));
        self.buf.push(opcode::RESIZEDB);
        write_length(&mut self.buf, keys);
        write_length(&mut self.buf, expires);
        self.db = Some(db);
        self.maybe_flush()
    }

    /// Writes one key of database `db` (selected first if it is not the current one), with
    /// its absolute expiry in Unix milliseconds.
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn write_key(
        &mut self,
        db: u32,
        key: &[u8],
        value: &Value,
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        if self.db != Some(db) {
            self.buf.push(opcode::SELECTDB);
            write_length(&mut self.buf, u64::from(db));
            self.db = Some(db);
        }
        if let Some(ms) = expire_ms {
            self.buf.push(opcode::EXPIRETIME_MS);
            self.buf.extend_from_slice(&ms.to_le_bytes());
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        write_string(&mut self.buf, key, self.options.compression);
        self.buf[type_at] = write_value(&mut self.buf, value, self.options.compression);
        self.maybe_flush()
    }

    /// Writes a `FUNCTION2` record carrying one library's source code (Redis writes them
    /// after the aux fields, before the first database).
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn write_function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(opcode::FUNCTION2);
        write_string(&mut self.buf, code, self.options.compression);
        self.maybe_flush()
    }

    /// Writes an eval script's body as a `lua` aux field, as Redis up to 6.2 did in the
    /// snapshot of a full resync so a replica could answer `EVALSHA` after a promotion;
    /// Redis 7 skips the field when loading.
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn write_script(&mut self, body: &[u8]) -> io::Result<()> {
        self.aux(b"lua", body);
        self.maybe_flush()
    }

    /// Ends the file (`EOF` and checksum), flushes, and returns the destination and the
    /// number of bytes written.
    ///
    /// # Errors
    /// The destination's write errors.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.buf.push(opcode::EOF);
        self.flush_buf()?;
        let checksum = if self.options.checksum { self.crc } else { 0 };
        self.out.write_all(&checksum.to_le_bytes())?;
        self.out.flush()?;
        Ok((self.out, self.written + 8))
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.options.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// Writes a whole snapshot: `entries` yields (database, key, value, expiry in Unix ms) grouped
/// by database; `functions` are library sources. Returns the destination and bytes written.
///
/// # Errors
/// The destination's write errors.
#[cfg(test)]
pub(crate) fn write_snapshot<'v, W: Write>(
    out: W,
    options: WriteOptions,
    info: &SnapshotInfo,
    functions: impl IntoIterator<Item = &'v [u8]>,
    entries: impl IntoIterator<Item = (u32, &'v [u8], &'v Value, Option<i64>)>,
) -> io::Result<(W, u64)> {
    let mut writer = RdbWriter::new(out, options, info)?;
    for code in functions {
        writer.write_function(code)?;
    }
    for (db, key, value, expire_ms) in entries {
        writer.write_key(db, key, value, expire_ms)?;
    }
    writer.finish()
}
