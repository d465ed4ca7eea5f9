//! Full-resync snapshots in Redis's RDB format, so a primary can feed a Redoubt standby or a
//! redis-server replica, and a Redoubt standby can load what redis-server sends.
//!
//! On the wire the file travels as Redis sends it after `+FULLRESYNC <replid> <offset>`:
//! `$<length>\r\n<RDB bytes>` with no trailing CRLF. The RDB carries `repl-id` and
//! `repl-offset` aux fields matching the `+FULLRESYNC` line. A dataset holding a stream (which
//! the RDB writer does not encode yet) goes as the older Redoubt payload instead: [`MAGIC`],
//! then the RESP commands that rebuild it (`SELECT`, `SET`, `RPUSH`, `HSET`, `SADD`, `ZADD`,
//! `XADD` and its group commands, `PEXPIREAT`), which standbys apply with the code that
//! applies the live stream.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::keyspace::db::Db;
use crate::rdb::{RdbWriter, ReplInfo, SnapshotInfo, WriteOptions};
use crate::value::stream::id::StreamId;
use crate::value::stream::xgroup::xclaim_effect;
use crate::value::{StreamValue, Value};

/// First bytes of the older Redoubt snapshot payload (RESP commands).
pub(crate) const MAGIC: &[u8] = b"REDOUBT-SNAPSHOT-1\r\n";
/// Elements per command when rebuilding a large collection.
const CHUNK: usize = 512;

/// Encodes `args` as a RESP multibulk onto `out`.
pub(crate) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    redoubt_protocol::request::encode_request_into(out, args);
}

/// The RDB file of `dbs` for a standby starting at `replid`/`offset` (every key, expired
/// ones too: the standby keeps them until the primary's `DEL`, as Redis does).
/// A dataset holding a stream, or a node with scripts or functions loaded (`head`: the
/// commands that load them), goes as the older Redoubt payload instead (see
/// [`encode_commands`]).
pub(crate) fn encode(
    head: &[Vec<Bytes>],
    dbs: &[Db],
    replid: &str,
    offset: u64,
    now_ms: u64,
) -> Bytes {
    let has_stream = dbs.iter().any(|db| {
        db.iter()
            .any(|(_, entry)| matches!(entry.value, Value::Stream(_)))
    });
    if has_stream || !head.is_empty() {
        return encode_commands(head, dbs, now_ms);
    }
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
        for (index, db) in dbs.iter().enumerate() {
            if db.is_empty() {
                continue;
            }
            let index = index as u32;
            writer.select_db(index, db.len() as u64, db.expires_len() as u64)?;
            for (key, entry) in db.iter() {
                let expiry = entry.expires_at.map(|at| at.min(i64::MAX as u64) as i64);
                writer.write_key(index, key, &entry.value, expiry)?;
            }
        }
        Ok(writer.finish()?.0)
    };
    Bytes::from(write().expect("writing to memory cannot fail"))
}

/// The older Redoubt payload of `dbs`: [`MAGIC`], the commands in `head` (the scripts and
/// functions), then the RESP commands that rebuild every database (streams with their groups
/// and pending entries); keys already expired at `now_ms` are left out. Used when a database
/// holds a stream or scripts are loaded, which the RDB writer does not encode yet.
pub(crate) fn encode_commands(head: &[Vec<Bytes>], dbs: &[Db], now_ms: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(MAGIC.len() + 64);
    out.put_slice(MAGIC);
    for command in head {
        let refs: Vec<&[u8]> = command.iter().map(|a| &a[..]).collect();
        encode_command(&mut out, &refs);
    }
    let mut digits = itoa::Buffer::new();
    let mut scores: Vec<String> = Vec::new();
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        encode_command(&mut out, &[b"SELECT", digits.format(index).as_bytes()]);
        for (key, entry) in db.iter() {
            if entry.expires_at.is_some_and(|at| at <= now_ms) {
                continue;
            }
            match &entry.value {
                Value::Str(s) => encode_command(&mut out, &[b"SET", key, s.as_bytes()]),
                Value::Hash(hash) => {
                    let pairs: Vec<(&Bytes, &Bytes)> = hash.iter().collect();
                    for chunk in pairs.chunks(CHUNK) {
                        let mut args: Vec<&[u8]> = vec![b"HSET", key];
                        for (field, value) in chunk {
                            args.push(field);
                            args.push(value);
                        }
                        encode_command(&mut out, &args);
                    }
                }
                Value::List(list) => {
                    let items: Vec<&Bytes> = list.items.iter().collect();
                    for chunk in items.chunks(CHUNK) {
                        let mut args: Vec<&[u8]> = vec![b"RPUSH", key];
                        args.extend(chunk.iter().map(|i| &i[..]));
                        encode_command(&mut out, &args);
                    }
                }
                Value::Set(set) => {
                    let members: Vec<&Bytes> = set.iter().collect();
                    for chunk in members.chunks(CHUNK) {
                        let mut args: Vec<&[u8]> = vec![b"SADD", key];
                        args.extend(chunk.iter().map(|m| &m[..]));
                        encode_command(&mut out, &args);
                    }
                }
                Value::ZSet(zset) => {
                    let members: Vec<(&Bytes, f64)> = zset.iter().collect();
                    for chunk in members.chunks(CHUNK) {
                        scores.clear();
                        scores.extend(chunk.iter().map(|(_, s)| exact_score(*s)));
                        let mut args: Vec<&[u8]> = vec![b"ZADD", key];
                        for ((member, _), score) in chunk.iter().zip(&scores) {
                            args.push(score.as_bytes());
                            args.push(member);
                        }
                        encode_command(&mut out, &args);
                    }
                }
                Value::Stream(stream) => encode_stream(&mut out, key, stream),
            }
            if let Some(at) = entry.expires_at {
                encode_command(&mut out, &[b"PEXPIREAT", key, digits.format(at).as_bytes()]);
            }
        }
    }
    out.freeze()
}

/// Rebuilds a stream: its entries with their IDs (`XADD`), its groups (`XGROUP CREATE ...
/// ENTRIESREAD n`), consumers (`XGROUP CREATECONSUMER`) and pending entries (`XCLAIM ... FORCE
/// JUSTID` with the delivery time and count), then its counters (`XSETID ... ENTRIESADDED n
/// MAXDELETEDID id`). A pending entry whose stream entry is gone is claimed through a
/// placeholder entry added in its place and deleted once claimed. An empty stream is made by
/// creating and destroying a group with MKSTREAM. Consumers' seen/active times start afresh
/// on the standby, and the entries are packed afresh (XINFO's block counts may differ).
fn encode_stream(out: &mut BytesMut, key: &[u8], stream: &StreamValue) {
    let mut digits = itoa::Buffer::new();
    let placeholders: BTreeSet<StreamId> = stream
        .groups()
        .values()
        .flat_map(|group| group.pel.keys())
        .filter(|id| !stream.contains(**id))
        .copied()
        .collect();
    let mut missing = placeholders.iter().peekable();
    let mut add_placeholders_below = |out: &mut BytesMut, below: StreamId| {
        while let Some(id) = missing.next_if(|id| **id < below) {
            let id = id.to_bytes();
            encode_command(out, &[b"XADD", key, &id, b"-", b"-"]);
        }
    };
    let mut any = !placeholders.is_empty();
    for entry in stream.range(StreamId::MIN, StreamId::MAX, false) {
        add_placeholders_below(out, entry.id);
        let id = entry.id.to_bytes();
        let mut args: Vec<&[u8]> = vec![b"XADD", key, &id];
        for (field, value) in &entry.fields {
            args.push(field);
            args.push(value);
        }
        encode_command(out, &args);
        any = true;
    }
    add_placeholders_below(out, StreamId::MAX);
    if let Some(last) = placeholders.last().filter(|id| **id == StreamId::MAX) {
        let id = last.to_bytes();
        encode_command(out, &[b"XADD", key, &id, b"-", b"-"]);
    }
    if !any {
        encode_command(out, &[b"XGROUP", b"CREATE", key, b"-", b"0", b"MKSTREAM"]);
        encode_command(out, &[b"XGROUP", b"DESTROY", key, b"-"]);
    }
    let key_bytes = Bytes::copy_from_slice(key);
    for (name, group) in stream.groups() {
        let last = group.last_id.to_bytes();
        let read = group.entries_read.map_or(-1, |n| n as i64).to_string();
        encode_command(
            out,
            &[
                b"XGROUP",
                b"CREATE",
                key,
                name,
                &last,
                b"ENTRIESREAD",
                read.as_bytes(),
            ],
        );
        for consumer in group.consumers.keys() {
            encode_command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, consumer]);
        }
        for (id, pending) in &group.pel {
            let claim = xclaim_effect(&key_bytes, name, *id, pending, group.last_id);
            let args: Vec<&[u8]> = claim.iter().map(|a| &a[..]).collect();
            encode_command(out, &args);
        }
    }
    for chunk in placeholders.iter().collect::<Vec<_>>().chunks(CHUNK) {
        let ids: Vec<Bytes> = chunk.iter().map(|id| id.to_bytes()).collect();
        let mut args: Vec<&[u8]> = vec![b"XDEL", key];
        args.extend(ids.iter().map(|id| &id[..]));
        encode_command(out, &args);
    }
    let (last, max_deleted) = (
        stream.last_id().to_bytes(),
        stream.max_deleted_id().to_bytes(),
    );
    encode_command(
        out,
        &[
            b"XSETID",
            key,
            &last,
            b"ENTRIESADDED",
            digits.format(stream.entries_added()).as_bytes(),
            b"MAXDELETEDID",
            &max_deleted,
        ],
    );
}

/// A score as text that parses back to exactly the same double.
pub(crate) fn exact_score(score: f64) -> String {
    if score == f64::INFINITY {
        "inf".to_string()
    } else if score == f64::NEG_INFINITY {
        "-inf".to_string()
    } else {
        // Rust prints the shortest text that round-trips.
        format!("{score:?}")
    }
}
