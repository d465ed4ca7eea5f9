//! Full-resync snapshots in Redis's RDB format, so a primary can feed a Redoubt standby or a
//! redis-server replica, and a Redoubt standby can load what redis-server sends.
//!
//! On the wire the file travels as Redis sends it after `+FULLRESYNC <replid> <offset>`:
//! `$<length>\r\n<RDB bytes>` with no trailing CRLF. The RDB carries `repl-id` and
//! `repl-offset` aux fields matching the `+FULLRESYNC` line, the function libraries as
//! `FUNCTION2` records and the eval scripts loaded with `SCRIPT LOAD` as `lua` aux fields (as
//! Redis up to 6.2 sent them, so `EVALSHA` answers on a promoted standby; Redis 7 skips them).

use bytes::{Bytes, BytesMut};

use crate::keyspace::db::Db;
use crate::rdb::{RdbWriter, ReplInfo, SnapshotInfo, WriteOptions};

/// Encodes `args` as a RESP multibulk onto `out`.
pub(crate) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    redoubt_protocol::request::encode_request_into(out, args);
}

/// What a full resync carries besides the databases.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScriptsSnapshot {
    /// Function libraries' sources (`FunctionLibraries::dump`).
    pub(crate) functions: Vec<Bytes>,
    /// Bodies of the eval scripts loaded with `SCRIPT LOAD`.
    pub(crate) scripts: Vec<Bytes>,
}

/// The RDB file of `dbs` and `scripts` for a standby starting at `replid`/`offset` (every
/// key, expired ones too: the standby keeps them until the primary's `DEL`, as Redis does).
pub(crate) fn encode(
    scripts: &ScriptsSnapshot,
    dbs: &[Db],
    replid: &str,
    offset: u64,
    now_ms: u64,
) -> Bytes {
    let info = SnapshotInfo {
        redis_version: crate::REDIS_VERSION.to_string(),
        ctime_secs: now_ms / 1000,
        used_memory: 0,
        replication: Some(ReplInfo {
            stream_db: 0,
            id: replid.to_string(),
            offset: offset as i64,
        }),
        aof_base: false,
    };
    let write = || -> std::io::Result<Vec<u8>> {
        let mut writer = RdbWriter::new(Vec::new(), WriteOptions::default(), &info)?;
        for body in &scripts.scripts {
            writer.write_script(body)?;
        }
        for code in &scripts.functions {
            writer.write_function(code)?;
        }
        for (index, db) in dbs.iter().enumerate() {
            if db.is_empty() {
                continue;
            }
            let index = index as u32;
            writer.select_db(index, db.len() as u64, db.expires_len() as u64)?;
            for (key, entry) in db.iter() {
                let expiry = entry.expires_at.map(|at| at.min(i64::MAX as u64) as i64);
                writer.write_key(index, key, entry.value, expiry)?;
            }
        }
        Ok(writer.finish()?.0)
    };
    Bytes::from(write().expect("writing to memory cannot fail"))
}
