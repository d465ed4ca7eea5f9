//! One value's RDB encoding: reading every type Redis has written, and writing the plain
//! types Redis 7 loads (Redis `rdbLoadObject`, `rdbSaveObject`).
//!
//! Written forms: strings as `STRING` (integer form when the text is a 32-bit integer, LZF when
//! asked and it saves space), lists as `LIST_QUICKLIST_2` of listpack nodes of about 8 KB,
//! sets as `SET`, sorted sets as `ZSET_2` (binary doubles), hashes as `HASH`, streams as
//! `STREAM_LISTPACKS_2` (see [`stream`]). The loading Redis then picks its own compact
//! encodings.

use std::borrow::Cow;

use bytes::Bytes;

use super::input::Input;
use super::listpack::ListpackWriter;
use super::{
    initial_capacity, intset, kind, listpack, lzf, stream, ziplist, zipmap, Element, ErrorKind,
    RdbError,
};
use crate::value::{
    parse_canonical_i64, CompactBytes, HashLimits, HashValue, ListValue, RString, SetLimits,
    SetValue, Value, ZSetValue,
};

/// Bytes of elements a written quicklist node holds (Redis's default `list-max-listpack-size
/// -2`).
const QUICKLIST_NODE_BYTES: usize = 8 * 1024;
/// Quicklist node containers (Redis `quicklist.h`).
const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;
/// Shortest string worth compressing (Redis `rdbSaveRawString`).
const MIN_COMPRESS_LEN: usize = 20;

/// Checks that `kind` is a value type this module reads, before its key is read.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for module values, [`ErrorKind::UnknownType`] for
/// bytes Redis does not define.
pub(crate) fn check_type(kind: u8) -> Result<(), ErrorKind> {
    match kind {
        kind::STRING..=kind::ZSET_2
        | kind::HASH_ZIPMAP..=kind::LIST_QUICKLIST
        | kind::HASH_LISTPACK..=kind::LIST_QUICKLIST_2
        | kind::SET_LISTPACK
        | kind::STREAM_LISTPACKS
        | kind::STREAM_LISTPACKS_2
        | kind::STREAM_LISTPACKS_3 => Ok(()),
        kind::MODULE_PRE_GA | kind::MODULE_2 => Err(ErrorKind::Unsupported("module value")),
        other => Err(ErrorKind::UnknownType(other)),
    }
}

/// Reads a value of type `kind` (the byte before the key). `None` for a collection with no
/// elements, which Redis skips when loading a file and refuses in `RESTORE`.
///
/// # Errors
/// Truncation, corruption (including duplicate members and NaN scores, which Redis refuses)
/// and [`ErrorKind::Unsupported`] for module values.
pub(crate) fn read_value(input: &mut Input<'_>, kind: u8) -> Result<Option<Value>, RdbError> {
    let at = input.offset();
    check_type(kind).map_err(|e| input.error_at(at.saturating_sub(1), e))?;
    let value = match kind {
        kind::STRING => {
            let string = RString::Compact(compact(input.string()?));
            return Ok(Some(Value::Str(string)));
        }
        kind::LIST => {
            let n = input.count(1, "list")?;
            let mut list = ListValue::default();
            for _ in 0..n {
                list.push(&*input.string()?, false);
            }
            list_value(list)
        }
        kind::SET => {
            let n = input.count(1, "set")?;
            let mut set = SetBuilder::new(n);
            for _ in 0..n {
                set.add(&input.string()?, input, at)?;
            }
            set.finish()
        }
        kind::ZSET | kind::ZSET_2 => {
            let n = input.count(2, "sorted set")?;
            let mut pairs = Vec::with_capacity(initial_capacity(n));
            for _ in 0..n {
                let member = input.bytes_value()?;
                let score = if kind == kind::ZSET {
                    input.text_double()?
                } else {
                    input.binary_double()?
                };
                pairs.push((member, score));
            }
            zset(pairs, input, at)?
        }
        kind::HASH => {
            let n = input.count(2, "hash")?;
            let mut hash = HashBuilder::default();
            for _ in 0..n {
                let field = input.string()?;
                hash.add(&field, &input.string()?, input, at)?;
            }
            hash.finish()
        }
        kind::HASH_ZIPMAP => {
            let (blob, base) = blob(input)?;
            let mut hash = HashBuilder::default();
            for (field, value) in zipmap::decode(&blob, base)? {
                hash.add(field, value, input, at)?;
            }
            hash.finish()
        }
        kind::LIST_ZIPLIST => {
            let (blob, base) = blob(input)?;
            let mut list = ListValue::default();
            for element in ziplist::decode(&blob, base)? {
                with_element(element, |item| list.push(item, false));
            }
            list_value(list)
        }
        kind::SET_INTSET => {
            let (blob, base) = blob(input)?;
            let members = intset::decode(&blob, base)?;
            let mut set = SetBuilder::new(members.len());
            for n in members {
                with_element(Element::Int(n), |member| set.add(member, input, at))?;
            }
            set.finish()
        }
        kind::SET_LISTPACK => {
            let (blob, base) = blob(input)?;
            let members = listpack::decode(&blob, base)?;
            let mut set = SetBuilder::new(members.len());
            for element in members {
                with_element(element, |member| set.add(member, input, at))?;
            }
            set.finish()
        }
        kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => {
            let (blob, base) = blob(input)?;
            let elements = if kind == kind::ZSET_ZIPLIST {
                ziplist::decode(&blob, base)?
            } else {
                listpack::decode(&blob, base)?
            };
            let pairs = pairs(&elements, input, at)?
                .map(|(member, score)| Ok((member.to_bytes(), element_score(score, input, at)?)))
                .collect::<Result<_, RdbError>>()?;
            zset(pairs, input, at)?
        }
        kind::HASH_ZIPLIST | kind::HASH_LISTPACK => {
            let (blob, base) = blob(input)?;
            let elements = if kind == kind::HASH_ZIPLIST {
                ziplist::decode(&blob, base)?
            } else {
                listpack::decode(&blob, base)?
            };
            let mut hash = HashBuilder::default();
            for (field, value) in pairs(&elements, input, at)? {
                with_element(field, |field| {
                    with_element(value, |value| hash.add(field, value, input, at))
                })?;
            }
            hash.finish()
        }
        kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
            let nodes = input.count(1, "quicklist")?;
            let mut list = ListValue::default();
            for _ in 0..nodes {
                let container = if kind == kind::LIST_QUICKLIST_2 {
                    input.length()?
                } else {
                    NODE_PACKED
                };
                let (blob, base) = blob(input)?;
                match container {
                    NODE_PLAIN => list.push(&*blob, false),
                    NODE_PACKED => {
                        let elements = if kind == kind::LIST_QUICKLIST {
                            ziplist::decode(&blob, base)?
                        } else {
                            listpack::decode(&blob, base)?
                        };
                        for element in elements {
                            with_element(element, |item| list.push(item, false));
                        }
                    }
                    _ => {
                        return Err(input.error_at(
                            base,
                            ErrorKind::Corrupt("quicklist", "unknown node container"),
                        ))
                    }
                }
            }
            list_value(list)
        }
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
            Some(Value::Stream(Box::new(stream::read_stream(input, kind)?)))
        }
        other => return Err(input.error_at(at.saturating_sub(1), ErrorKind::UnknownType(other))),
    };
    Ok(value)
}

/// A string holding an embedded blob, and the file offset its bytes start at (for errors;
/// approximate when the blob was LZF-compressed).
fn blob<'a>(input: &mut Input<'a>) -> Result<(std::borrow::Cow<'a, [u8]>, usize), RdbError> {
    let at = input.offset();
    let blob = input.string()?;
    let base = match &blob {
        std::borrow::Cow::Borrowed(b) => input.offset() - b.len(),
        std::borrow::Cow::Owned(_) => at,
    };
    Ok((blob, base))
}

fn pairs<'e, 'a>(
    elements: &'e [Element<'a>],
    input: &Input<'_>,
    at: usize,
) -> Result<impl Iterator<Item = (Element<'a>, Element<'a>)> + 'e, RdbError> {
    if elements.len() % 2 != 0 {
        return Err(input.error_at(
            at,
            ErrorKind::Corrupt("value", "odd number of pair elements"),
        ));
    }
    Ok(elements.chunks_exact(2).map(|p| (p[0], p[1])))
}

fn element_score(score: Element<'_>, input: &Input<'_>, at: usize) -> Result<f64, RdbError> {
    match score {
        Element::Int(n) => Ok(n as f64),
        Element::Str(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                input.error_at(
                    at,
                    ErrorKind::Corrupt("sorted set", "score is not a number"),
                )
            }),
    }
}

/// A string read from the input as a database keeps it: a borrowed one copied once, a
/// materialised one (LZF, integer) taken over without another copy.
pub(crate) fn compact(string: Cow<'_, [u8]>) -> CompactBytes {
    match string {
        Cow::Borrowed(b) => CompactBytes::from(b),
        Cow::Owned(v) => CompactBytes::from(v),
    }
}

/// Calls `f` with an element's bytes: a string as it is, an integer as its decimal text
/// (formatted on the stack, so neither allocates).
fn with_element<R>(element: Element<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match element {
        Element::Str(s) => f(s),
        Element::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
    }
}

fn list_value(list: ListValue) -> Option<Value> {
    (!list.is_empty()).then(|| Value::List(Box::new(list)))
}

/// A set built member by member as they are read, in the encoding its first member and its
/// claimed size pick (Redis's `rdbLoadObject`); loading uses the default encoding limits.
struct SetBuilder {
    set: Option<SetValue>,
    /// Members the input claims (capped by [`initial_capacity`]).
    hint: usize,
    limits: SetLimits,
}

impl SetBuilder {
    fn new(claimed: usize) -> SetBuilder {
        SetBuilder {
            set: None,
            hint: initial_capacity(claimed),
            limits: SetLimits::default(),
        }
    }

    /// Adds `member`; a duplicate is corrupt input, as Redis refuses it.
    fn add(&mut self, member: &[u8], input: &Input<'_>, at: usize) -> Result<(), RdbError> {
        let (hint, limits) = (self.hint, &self.limits);
        let set = self
            .set
            .get_or_insert_with(|| SetValue::with_hint(member, hint, limits));
        if set.insert(member, limits) {
            Ok(())
        } else {
            Err(input.error_at(at, ErrorKind::Corrupt("set", "duplicate member")))
        }
    }

    /// The set, `None` when no member was read.
    fn finish(self) -> Option<Value> {
        self.set.map(|set| Value::Set(Box::new(set)))
    }
}

/// A hash built pair by pair as they are read; loading uses the default encoding limits.
#[derive(Default)]
struct HashBuilder {
    hash: HashValue,
    limits: HashLimits,
}

impl HashBuilder {
    /// Adds `field`; a duplicate is corrupt input, as Redis refuses it.
    fn add(
        &mut self,
        field: &[u8],
        value: &[u8],
        input: &Input<'_>,
        at: usize,
    ) -> Result<(), RdbError> {
        if self.hash.insert(field, value, &self.limits) {
            Ok(())
        } else {
            Err(input.error_at(at, ErrorKind::Corrupt("hash", "duplicate field")))
        }
    }

    /// The hash, `None` when no field was read.
    fn finish(self) -> Option<Value> {
        (!self.hash.is_empty()).then(|| Value::Hash(Box::new(self.hash)))
    }
}

fn zset(pairs: Vec<(Bytes, f64)>, input: &Input<'_>, at: usize) -> Result<Option<Value>, RdbError> {
    let mut zset = ZSetValue::default();
    for (member, score) in pairs {
        if score.is_nan() {
            return Err(input.error_at(at, ErrorKind::Corrupt("sorted set", "NaN score")));
        }
        if !zset.insert(member, score) {
            return Err(input.error_at(at, ErrorKind::Corrupt("sorted set", "duplicate member")));
        }
    }
    Ok((!zset.is_empty()).then(|| Value::ZSet(Box::new(zset))))
}

/// Appends `value`'s encoding to `out` and returns its type byte (written before the key, so
/// the caller places it).
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value, compress: bool) -> u8 {
    match value {
        Value::Stream(stream) => stream::write_stream(out, stream, compress),
        Value::Str(s) => {
            write_string(out, s.as_bytes(), compress);
            kind::STRING
        }
        Value::List(list) => {
            let nodes = quicklist_nodes(list.iter());
            write_length(out, nodes.len() as u64);
            for node in nodes {
                write_length(out, NODE_PACKED);
                write_string(out, &node, compress);
            }
            kind::LIST_QUICKLIST_2
        }
        Value::Set(set) => {
            write_length(out, set.len() as u64);
            for member in set.iter() {
                write_string(out, &member, compress);
            }
            kind::SET
        }
        Value::ZSet(zset) => {
            write_length(out, zset.len() as u64);
            for (member, score) in zset.iter() {
                write_string(out, member, compress);
                out.extend_from_slice(&score.to_le_bytes());
            }
            kind::ZSET_2
        }
        Value::Hash(hash) => {
            write_length(out, hash.len() as u64);
            for (field, value) in hash.iter() {
                write_string(out, field, compress);
                write_string(out, value, compress);
            }
            kind::HASH
        }
    }
}

/// Splits list items into listpacks of about [`QUICKLIST_NODE_BYTES`] each; an item larger
/// than that gets a node of its own.
fn quicklist_nodes<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut nodes = Vec::new();
    let mut node = ListpackWriter::new();
    for item in items {
        if node.count() > 0 && node.len() + item.len() + 11 > QUICKLIST_NODE_BYTES {
            nodes.push(std::mem::replace(&mut node, ListpackWriter::new()).finish());
        }
        node.push(item);
    }
    if node.count() > 0 {
        nodes.push(node.finish());
    }
    nodes
}

/// Appends a length (Redis `rdbSaveLen`): 6 bits, 14 bits, or a 32/64-bit big-endian number.
pub(crate) fn write_length(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0x80);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends a string (Redis `rdbSaveRawString`): the text of a 32-bit integer as that integer,
/// else LZF-compressed when `compress`, longer than 20 bytes and at least 4 bytes shorter,
/// else raw.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(n) = parse_canonical_i64(s) {
            if let Ok(n) = i8::try_from(n) {
                out.push(0xc0);
                out.push(n as u8);
                return;
            } else if let Ok(n) = i16::try_from(n) {
                out.push(0xc1);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            } else if let Ok(n) = i32::try_from(n) {
                out.push(0xc2);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > MIN_COMPRESS_LEN {
        if let Some(packed) = lzf::compress(s, s.len() - 4) {
            out.push(0xc3);
            write_length(out, packed.len() as u64);
            write_length(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_length(out, s.len() as u64);
    out.extend_from_slice(s);
}
