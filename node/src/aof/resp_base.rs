//! The RESP base of an append-only file (`aof-use-rdb-preamble no`): the commands that
//! rebuild a dataset, as Redis's AOF rewrite writes them (`rewriteAppendOnlyFileRio`): one
//! `SET`/`RPUSH`/`SADD`/`ZADD`/`HSET` per key (chunked), streams rebuilt with `XADD`,
//! `XGROUP`, `XCLAIM` and `XSETID`, and `PEXPIREAT` for keys that expire.

use std::collections::BTreeSet;

use bytes::{Bytes, BytesMut};

use crate::keyspace::db::Db;
use crate::replication::snapshot::encode_command;
use crate::value::stream::id::StreamId;
use crate::value::stream::xgroup::xclaim_effect;
use crate::value::{StreamValue, Value};

/// Members or fields per command when a large value is rebuilt.
const CHUNK: usize = 512;
/// The RESP commands that rebuild `dbs` (streams with their groups and pending entries),
/// after `FUNCTION LOAD REPLACE` of each library in `functions`; keys already expired at
/// `now_ms` are left out.
pub(crate) fn encode_commands(functions: &[Bytes], dbs: &[Db], now_ms: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    for code in functions {
        encode_command(&mut out, &[b"FUNCTION", b"LOAD", b"REPLACE", code]);
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
                    let pairs: Vec<(&[u8], &[u8])> = hash.iter().collect();
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
                    let items: Vec<&[u8]> = list.iter().collect();
                    for chunk in items.chunks(CHUNK) {
                        let mut args: Vec<&[u8]> = vec![b"RPUSH", key];
                        args.extend(chunk.iter().copied());
                        encode_command(&mut out, &args);
                    }
                }
                Value::Set(set) => {
                    let members: Vec<_> = set.iter().collect();
                    for chunk in members.chunks(CHUNK) {
                        let mut args: Vec<&[u8]> = vec![b"SADD", key];
                        args.extend(chunk.iter().map(|m| &m[..]));
                        encode_command(&mut out, &args);
                    }
                }
                Value::ZSet(zset) => {
                    let members: Vec<(&[u8], f64)> = zset.iter().collect();
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
