//! Full-resync snapshots: a point-in-time copy of every database, written as the RESP commands
//! that rebuild it (`SELECT`, `SET`, `RPUSH`, `HSET`, `SADD`, `ZADD`, `PEXPIREAT`), so a standby
//! loads it with the same code that applies the live stream.
//!
//! On the wire it travels as Redis sends its RDB payload: `$<length>\r\n<payload>` with no
//! trailing CRLF, the payload starting with [`MAGIC`].

use bytes::{BufMut, Bytes, BytesMut};

use crate::keyspace::db::Db;
use crate::value::Value;

/// First bytes of every snapshot payload.
pub(crate) const MAGIC: &[u8] = b"REDOUBT-SNAPSHOT-1\r\n";
/// Elements per command when rebuilding a large collection.
const CHUNK: usize = 512;

/// Encodes `args` as a RESP multibulk onto `out`.
pub(crate) fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    redoubt_protocol::request::encode_request_into(out, args);
}

/// The snapshot payload of `dbs`, after the commands in `head` (the scripts and functions);
/// keys already expired at `now_ms` are left out.
pub(crate) fn encode(head: &[Vec<Bytes>], dbs: &[Db], now_ms: u64) -> Bytes {
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
            }
            if let Some(at) = entry.expires_at {
                encode_command(&mut out, &[b"PEXPIREAT", key, digits.format(at).as_bytes()]);
            }
        }
    }
    out.freeze()
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
