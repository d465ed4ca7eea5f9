//! Streams in RDB (Redis `rdb.c`, `rdbSaveObject`/`rdbLoadObject` for `OBJ_STREAM`; the
//! listpack layout from `t_stream.c`).
//!
//! A stream value is: the number of blocks, then per block its 16-byte key (the master ID,
//! milliseconds and sequence big endian) and its listpack; the length, the last ID; from type
//! 19 on, the first ID, the largest deleted ID and the entries-added counter; then the groups,
//! each with its name, last delivered ID, (type 19 on) entries-read counter, its pending
//! entries (16-byte ID, delivery time in ms as 8 bytes little endian, delivery count) and its
//! consumers (name, seen time, (type 21) active time, the IDs of the entries it owns).
//!
//! A block's listpack starts with the master entry: live count, deleted count, number of
//! master fields, the fields, a 0. Each entry follows as flags (1 deleted, 2 same fields as
//! the master), the ID's ms and seq differences from the master ID, then either the values
//! (same fields) or a field count and the field/value pairs, then the number of elements the
//! entry took before this one ("lp-count", for walking backwards).
//!
//! Written as type 19 (`STREAM_LISTPACKS_2`), which redis-server 7.0 reads from an RDB 10
//! file; consumers' active time, new in type 21, is then not carried (the loader takes the
//! seen time, as Redis does).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::input::Input;
use super::listpack::{self, ListpackWriter};
use super::object::{write_length, write_string};
use super::{kind, Element, ErrorKind, RdbError};
use crate::value::stream::group::{Consumer, ConsumerGroup, PendingEntry};
use crate::value::stream::id::StreamId;
use crate::value::stream::{Entries, SnapshotIds, StreamValue};

const FLAG_DELETED: i64 = 1;
const FLAG_SAME_FIELDS: i64 = 2;
/// `SCG_INVALID_ENTRIES_READ`: a group's entries-read counter is unknown.
const ENTRIES_READ_UNKNOWN: u64 = u64::MAX;

/// Appends `stream`'s encoding as type 19 and returns that type byte.
pub(crate) fn write_stream(out: &mut Vec<u8>, stream: &StreamValue, compress: bool) -> u8 {
    let blocks: Vec<_> = stream.stored_blocks().collect();
    write_length(out, blocks.len() as u64);
    for block in &blocks {
        write_string(out, &id_bytes(block.key), false);
        let mut lp = ListpackWriter::new();
        let total = block.entries.len() as i64;
        lp.push_int(i64::from(block.live));
        lp.push_int(total - i64::from(block.live));
        lp.push_int(block.master.len() as i64);
        for field in &block.master {
            lp.push(field);
        }
        lp.push_int(0);
        for entry in &block.entries {
            let same = entry.fields.len() == block.master.len()
                && entry
                    .fields
                    .iter()
                    .zip(&block.master)
                    .all(|((f, _), m)| f == m);
            let mut flags = if entry.deleted { FLAG_DELETED } else { 0 };
            if same {
                flags |= FLAG_SAME_FIELDS;
            }
            lp.push_int(flags);
            lp.push_int(entry.id.ms.wrapping_sub(block.key.ms) as i64);
            lp.push_int(entry.id.seq.wrapping_sub(block.key.seq) as i64);
            let n = entry.fields.len() as i64;
            if same {
                for (_, value) in &entry.fields {
                    lp.push(value);
                }
                lp.push_int(n + 3);
            } else {
                lp.push_int(n);
                for (field, value) in &entry.fields {
                    lp.push(field);
                    lp.push(value);
                }
                lp.push_int(2 * n + 4);
            }
        }
        write_string(out, &lp.finish(), compress);
    }
    write_length(out, stream.len());
    write_id(out, stream.last_id());
    write_id(out, stream.first_id());
    write_id(out, stream.max_deleted_id());
    write_length(out, stream.entries_added());
    write_length(out, stream.groups().len() as u64);
    for (name, group) in stream.groups() {
        write_string(out, name, compress);
        write_id(out, group.last_id);
        write_length(out, group.entries_read.unwrap_or(ENTRIES_READ_UNKNOWN));
        write_length(out, group.pel.len() as u64);
        for (id, pending) in &group.pel {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&pending.delivery_time_ms.to_le_bytes());
            write_length(out, pending.delivery_count);
        }
        write_length(out, group.consumers.len() as u64);
        for (name, consumer) in &group.consumers {
            write_string(out, name, compress);
            out.extend_from_slice(&consumer.seen_time_ms.to_le_bytes());
            write_length(out, consumer.pel.len() as u64);
            for id in &consumer.pel {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
    kind::STREAM_LISTPACKS_2
}

fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut raw = [0; 16];
    raw[..8].copy_from_slice(&id.ms.to_be_bytes());
    raw[8..].copy_from_slice(&id.seq.to_be_bytes());
    raw
}

fn write_id(out: &mut Vec<u8>, id: StreamId) {
    write_length(out, id.ms);
    write_length(out, id.seq);
}

/// Reads a stream of type 15, 19 or 21 (the byte before the key). Unlike other collections an
/// empty stream is a value (its groups may matter).
///
/// # Errors
/// Truncation, or [`ErrorKind::Corrupt`] for blocks out of order, listpacks that do not
/// follow the stream layout, a length that differs from the live entries, pending entries
/// without a consumer or owned by a consumer but not pending.
pub(crate) fn read_stream(input: &mut Input<'_>, kind: u8) -> Result<StreamValue, RdbError> {
    let at = input.offset();
    let corrupt = |input: &Input<'_>, why| input.error_at(at, ErrorKind::Corrupt("stream", why));
    let blocks = input.length()?;
    let mut entries = Entries::default();
    let mut live = 0u64;
    let mut last_seen: Option<StreamId> = None;
    let mut first_live: Option<StreamId> = None;
    for _ in 0..blocks {
        let key = input.string()?;
        let key = decode_id(&key).ok_or_else(|| corrupt(input, "block key is not 16 bytes"))?;
        let blob_at = input.offset();
        let blob = input.string()?;
        let elements = listpack::decode(&blob, blob_at)?;
        let block = parse_block(&elements, key)
            .ok_or_else(|| corrupt(input, "block does not follow the stream layout"))?;
        if block.entries.is_empty() {
            return Err(corrupt(input, "empty block"));
        }
        let first = block.entries[0].0;
        if first < key || last_seen.is_some_and(|last| first <= last) {
            return Err(corrupt(input, "block IDs out of order"));
        }
        last_seen = block.entries.last().map(|e| e.0);
        if first_live.is_none() {
            first_live = block.entries.iter().find(|e| !e.1).map(|e| e.0);
        }
        let owned: Vec<(StreamId, bool, Vec<Bytes>)> = block.entries;
        live += entries.push_stored_block(
            key,
            &block.master,
            owned
                .iter()
                .map(|(id, del, pairs)| (*id, *del, pairs.as_slice())),
        );
    }
    let length = input.length()?;
    if length != live {
        return Err(corrupt(input, "length differs from the live entries"));
    }
    let last = read_id(input)?;
    let ids = if kind == kind::STREAM_LISTPACKS {
        // Redis 5.0–6.2 kept none of these: Redis 7 starts them as below.
        SnapshotIds {
            last,
            first: first_live.unwrap_or(StreamId::MIN),
            max_deleted: StreamId::MIN,
            entries_added: length,
        }
    } else {
        SnapshotIds {
            last,
            first: read_id(input)?,
            max_deleted: read_id(input)?,
            entries_added: input.length()?,
        }
    };
    if last_seen.is_some_and(|seen| seen > last) {
        return Err(corrupt(input, "an entry ID exceeds the last ID"));
    }
    let mut stream = StreamValue::from_snapshot(entries, length, ids, BTreeMap::new());
    let groups = input.length()?;
    for _ in 0..groups {
        let name = input.bytes_value()?;
        let last_id = read_id(input)?;
        let entries_read = if kind == kind::STREAM_LISTPACKS {
            stream.estimate_distance(last_id)
        } else {
            Some(input.length()?).filter(|&n| n != ENTRIES_READ_UNKNOWN)
        };
        let mut group = ConsumerGroup::new(last_id, entries_read);
        let pending = input.length()?;
        for _ in 0..pending {
            let id = raw_id(input)?;
            let delivery_time_ms = i64::from_le_bytes(input.array("delivery time")?);
            let delivery_count = input.length()?;
            let fresh = group.pel.insert(
                id,
                PendingEntry {
                    consumer: Bytes::new(),
                    delivery_time_ms,
                    delivery_count,
                },
            );
            if fresh.is_some() {
                return Err(corrupt(input, "duplicate pending entry"));
            }
        }
        let consumers = input.length()?;
        for _ in 0..consumers {
            let consumer_name = input.bytes_value()?;
            let seen_time_ms = i64::from_le_bytes(input.array("seen time")?);
            let active_time_ms = if kind == kind::STREAM_LISTPACKS_3 {
                i64::from_le_bytes(input.array("active time")?)
            } else {
                seen_time_ms
            };
            let owned = input.length()?;
            let mut pel = BTreeSet::new();
            for _ in 0..owned {
                let id = raw_id(input)?;
                let entry = group
                    .pel
                    .get_mut(&id)
                    .filter(|e| e.consumer.is_empty())
                    .ok_or_else(|| corrupt(input, "consumer owns an entry not pending"))?;
                entry.consumer = consumer_name.clone();
                pel.insert(id);
            }
            let consumer = Consumer {
                seen_time_ms,
                active_time_ms,
                pel,
            };
            if group.consumers.insert(consumer_name, consumer).is_some() {
                return Err(corrupt(input, "duplicate consumer"));
            }
        }
        if group.pel.values().any(|e| e.consumer.is_empty()) {
            return Err(corrupt(input, "pending entry without a consumer"));
        }
        if stream.groups_mut().insert(name, group).is_some() {
            return Err(corrupt(input, "duplicate consumer group"));
        }
    }
    Ok(stream)
}

/// A block's master fields and entries (ID, deleted, field/value pairs).
struct ParsedBlock {
    master: Vec<Bytes>,
    entries: Vec<(StreamId, bool, Vec<Bytes>)>,
}

/// Walks a block's listpack; `None` when it does not follow the layout.
fn parse_block(elements: &[Element<'_>], key: StreamId) -> Option<ParsedBlock> {
    let mut it = elements.iter().copied();
    let int = |it: &mut std::iter::Copied<std::slice::Iter<'_, Element<'_>>>| match it.next()? {
        Element::Int(n) => Some(n),
        Element::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
    };
    let live = int(&mut it)?;
    let deleted = int(&mut it)?;
    let master_len = usize::try_from(int(&mut it)?).ok()?;
    if master_len > elements.len() {
        return None;
    }
    let master: Vec<Bytes> = (0..master_len)
        .map(|_| it.next().map(Element::to_bytes))
        .collect::<Option<_>>()?;
    if int(&mut it)? != 0 {
        return None;
    }
    let mut entries = Vec::new();
    let mut previous: Option<StreamId> = None;
    while it.len() > 0 {
        let flags = int(&mut it)?;
        let ms = key.ms.wrapping_add(int(&mut it)? as u64);
        let seq = key.seq.wrapping_add(int(&mut it)? as u64);
        let id = StreamId::new(ms, seq);
        if previous.is_some_and(|p| id <= p) {
            return None;
        }
        previous = Some(id);
        let mut pairs = Vec::new();
        let expected_count = if flags & FLAG_SAME_FIELDS != 0 {
            for field in &master {
                pairs.push(field.clone());
                pairs.push(it.next()?.to_bytes());
            }
            master_len as i64 + 3
        } else {
            let n = usize::try_from(int(&mut it)?).ok()?;
            if n == 0 || 2 * n > it.len() {
                return None;
            }
            for _ in 0..2 * n {
                pairs.push(it.next()?.to_bytes());
            }
            2 * n as i64 + 4
        };
        if int(&mut it)? != expected_count || pairs.is_empty() {
            return None;
        }
        entries.push((id, flags & FLAG_DELETED != 0, pairs));
    }
    let stored_live = entries.iter().filter(|e| !e.1).count() as i64;
    (stored_live == live && entries.len() as i64 - stored_live == deleted)
        .then_some(ParsedBlock { master, entries })
}

fn decode_id(raw: &[u8]) -> Option<StreamId> {
    let raw: &[u8; 16] = raw.try_into().ok()?;
    Some(StreamId::new(
        u64::from_be_bytes(raw[..8].try_into().expect("8 bytes")),
        u64::from_be_bytes(raw[8..].try_into().expect("8 bytes")),
    ))
}

fn raw_id(input: &mut Input<'_>) -> Result<StreamId, RdbError> {
    let raw: [u8; 16] = input.array("stream ID")?;
    Ok(decode_id(&raw).expect("16 bytes"))
}

fn read_id(input: &mut Input<'_>) -> Result<StreamId, RdbError> {
    Ok(StreamId::new(input.length()?, input.length()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{decode_dump, encode_dump};
    use crate::value::stream::id::AddId;
    use crate::value::Value;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// Three blocks, entries with and without the master fields, integers, tombstones, a
    /// group whose pending entries belong to two consumers (one deleted from the stream),
    /// and a group with an unknown read counter.
    fn sample() -> StreamValue {
        let mut stream = StreamValue::new();
        for i in 1..=230u64 {
            let pairs = if i % 4 == 0 {
                vec![b("other"), b(&format!("-{i}")), b("x"), b("y")]
            } else {
                vec![b("f"), b(&i.to_string()), b("g"), b("text")]
            };
            stream
                .append(AddId::Explicit(StreamId::new(i / 3, i)), &pairs, 0)
                .unwrap();
        }
        stream.delete(&[StreamId::new(1, 3), StreamId::new(40, 120)]);
        let mut group = ConsumerGroup::new(StreamId::new(2, 7), Some(7));
        for (name, id, time) in [("alice", 4, 100), ("bob", 5, 200), ("bob", 3, 300)] {
            let name = b(name);
            group.consumer_or_create(&name, time).0.active_time_ms = time;
            let pending = group.assign(StreamId::new(id / 3, id), &name);
            pending.delivery_time_ms = time + 1;
            pending.delivery_count = 2;
        }
        stream.groups_mut().insert(b("g1"), group);
        stream
            .groups_mut()
            .insert(b("g2"), ConsumerGroup::new(StreamId::new(9, 9), None));
        stream
    }

    #[test]
    fn streams_round_trip_through_a_dump_payload() {
        let stream = sample();
        assert_eq!(stream.block_count(), 3);
        let payload = encode_dump(&Value::Stream(Box::new(stream.clone())));
        assert_eq!(payload[0], kind::STREAM_LISTPACKS_2);
        let Value::Stream(back) = decode_dump(&payload).unwrap() else {
            panic!("not a stream");
        };
        // Type 19 has no active time: the loader takes the seen time, as Redis does.
        let mut want = stream;
        for group in want.groups_mut().values_mut() {
            for consumer in group.consumers.values_mut() {
                consumer.active_time_ms = consumer.seen_time_ms;
            }
        }
        assert_eq!(*back, want);
    }

    #[test]
    fn damaged_streams_are_refused() {
        let mut body = Vec::new();
        write_stream(&mut body, &sample(), false);
        // Every truncation fails cleanly, none panics.
        for cut in 0..body.len() {
            let mut input = Input::new(&body[..cut], 0);
            assert!(read_stream(&mut input, kind::STREAM_LISTPACKS_2).is_err());
        }
        // A length that is not the live entries' count.
        let mut empty = Vec::new();
        write_stream(&mut empty, &StreamValue::new(), false);
        empty[1] = 5;
        let err = read_stream(&mut Input::new(&empty, 0), kind::STREAM_LISTPACKS_2).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::Corrupt("stream", "length differs from the live entries")
        );
    }

    #[test]
    fn older_streams_get_redis_7_bookkeeping() {
        // Type 15 has no first ID, deleted ID, counters or group read counters.
        let stream = sample();
        let mut body = Vec::new();
        write_stream(&mut body, &stream, false);
        let mut v1 = Vec::new();
        let mut input = Input::new(&body, 0);
        // Blocks, copied as they are.
        let blocks = input.length().unwrap();
        write_length(&mut v1, blocks);
        for _ in 0..2 * blocks {
            write_string(&mut v1, &input.string().unwrap(), false);
        }
        for _ in 0..3 {
            write_length(&mut v1, input.length().unwrap());
        }
        for _ in 0..5 {
            input.length().unwrap();
        }
        let groups = input.length().unwrap();
        write_length(&mut v1, groups);
        for _ in 0..groups {
            write_string(&mut v1, &input.string().unwrap(), false);
            write_length(&mut v1, input.length().unwrap());
            write_length(&mut v1, input.length().unwrap());
            input.length().unwrap();
            let rest = &body[input.offset()..];
            // The rest of the group (PEL and consumers) is the same in both types; find
            // its end by reading it.
            let mut probe = Input::new(rest, 0);
            let pending = probe.length().unwrap();
            for _ in 0..pending {
                probe.array::<16>("id").unwrap();
                probe.array::<8>("time").unwrap();
                probe.length().unwrap();
            }
            let consumers = probe.length().unwrap();
            for _ in 0..consumers {
                probe.string().unwrap();
                probe.array::<8>("time").unwrap();
                let owned = probe.length().unwrap();
                for _ in 0..owned {
                    probe.array::<16>("id").unwrap();
                }
            }
            v1.extend_from_slice(&rest[..probe.offset()]);
            input.bytes(probe.offset(), "group").unwrap();
        }
        let old = read_stream(&mut Input::new(&v1, 0), kind::STREAM_LISTPACKS).unwrap();
        assert_eq!(old.len(), stream.len());
        assert_eq!(old.entries_added(), stream.len());
        assert_eq!(old.first_id(), StreamId::new(0, 1));
        assert!(old.max_deleted_id().is_zero());
        assert_eq!(old.groups()[&b("g1")].entries_read, None);
        assert_eq!(old.groups()[&b("g1")].pel, stream.groups()[&b("g1")].pel);
    }
}
