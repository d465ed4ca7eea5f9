//! Table tests for the bitmap cores. Each `command => reply` line runs on a small in-memory
//! keyspace through the cores; the expected replies were produced by redis-server 7.0.15 (same
//! `bitops.c` behaviour as 7.2) running the same lines, and are re-checked against it by hand
//! with a small RESP script. Replies print as `:n`, `nil`, `+OK`, `-ERR ...`, `hex:<bytes>`,
//! `[a,b]`; an argument `hex:<bytes>` is sent as those bytes.

use std::collections::HashMap;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::bitfield::BitField;
use super::*;

const MAX: u64 = 512 * 1024 * 1024;

fn arg(word: &str) -> Bytes {
    match word.strip_prefix("hex:") {
        Some(hex) => (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect(),
        None => Bytes::copy_from_slice(word.as_bytes()),
    }
}

pub(crate) fn render(reply: &Reply) -> String {
    match reply {
        Reply::Int(n) => format!(":{n}"),
        Reply::Null | Reply::NullArray => "nil".into(),
        Reply::Simple(s) => format!("+{s}"),
        Reply::Error(e) => format!("-{e}"),
        Reply::Bulk(b) => format!(
            "hex:{}",
            b.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        Reply::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(",")
        ),
        other => panic!("unexpected reply {other:?}"),
    }
}

type Db = HashMap<Bytes, Vec<u8>>;

/// Runs one command line through the cores, as the node's dispatch will.
fn exec(db: &mut Db, line: &str) -> Reply {
    let words: Vec<Bytes> = line.split_whitespace().map(arg).collect();
    let name = String::from_utf8_lossy(&words[0]).to_ascii_lowercase();
    let key = words.get(1).cloned().unwrap_or_default();
    let rest = words.get(2..).unwrap_or_default();
    let write = |db: &mut Db, f: &dyn Fn(&mut Vec<u8>) -> (Reply, bool)| {
        let mut value = db.get(&key).cloned().unwrap_or_default();
        let (reply, _) = f(&mut value);
        if !reply.is_error() {
            db.insert(key.clone(), value);
        }
        reply
    };
    match name.as_str() {
        "flushall" => {
            db.clear();
            Reply::ok()
        }
        "set" => {
            db.insert(key, rest[0].to_vec());
            Reply::ok()
        }
        "get" => db.get(&key).map_or(Reply::Null, Reply::bulk),
        "exists" => Reply::Int(i64::from(db.contains_key(&key))),
        "setbit" => match SetBit::parse(rest, MAX) {
            Ok(req) => write(db, &|v| req.apply(v)),
            Err(e) => e,
        },
        "getbit" => {
            GetBit::parse(rest, MAX).map_or_else(|e| e, |r| r.apply(db.get(&key).map(|v| &v[..])))
        }
        "bitcount" => BitCount::reply(db.get(&key).map(|v| &v[..]), rest),
        "bitpos" => BitPos::reply(db.get(&key).map(|v| &v[..]), rest),
        "bitop" => {
            let sources = &words[3..];
            match BitOp::parse(&words[1], sources.len()) {
                Err(e) => e,
                Ok(op) => {
                    let values: Vec<Option<&[u8]>> =
                        sources.iter().map(|k| db.get(k).map(|v| &v[..])).collect();
                    let out = op.apply(&values);
                    let len = out.len() as i64;
                    if out.is_empty() {
                        db.remove(&words[2]);
                    } else {
                        db.insert(words[2].clone(), out);
                    }
                    Reply::Int(len)
                }
            }
        }
        "bitfield" | "bitfield_ro" => match BitField::parse(rest, name == "bitfield_ro", MAX) {
            Err(e) => e,
            Ok(req) if req.is_read_only() => req.read(db.get(&key).map(|v| &v[..])),
            Ok(req) => write(db, &|v| req.apply(v)),
        },
        other => panic!("no such command in the table: {other}"),
    }
}

#[rustfmt::skip]
const CASES: &str = "
// CASES BEGIN
FLUSHALL => +OK
SETBIT k 7 1 => :0
SETBIT k 7 1 => :1
SETBIT k 7 0 => :1
GET k => hex:00
SETBIT k 100 1 => :0
GET k => hex:00000000000000000000000008
SETBIT k -1 1 => -ERR bit offset is not an integer or out of range
SETBIT k 4294967296 1 => -ERR bit offset is not an integer or out of range
SETBIT k 4294967295 2 => -ERR bit is not an integer or out of range
SETBIT k x 2 => -ERR bit offset is not an integer or out of range
SETBIT k 1 x => -ERR bit is not an integer or out of range
SETBIT k #1 1 => -ERR bit offset is not an integer or out of range
GETBIT k 100 => :1
GETBIT k 101 => :0
GETBIT k 99999 => :0
GETBIT nokey 0 => :0
GETBIT k -1 => -ERR bit offset is not an integer or out of range
SET s foobar => +OK
BITCOUNT s => :26
BITCOUNT s 0 0 => :4
BITCOUNT s 1 1 => :6
BITCOUNT s 1 1 BYTE => :6
BITCOUNT s 5 30 BIT => :17
BITCOUNT s -3 -1 => :10
BITCOUNT s -1 -3 => :0
BITCOUNT s -1 -3 bogus => :0
BITCOUNT s 2 1 => :0
BITCOUNT s -100 100 => :26
BITCOUNT s -100 100 bit => :26
BITCOUNT s 7 7 bit => :0
BITCOUNT s 6 6 bit => :1
BITCOUNT s 1 => -ERR syntax error
BITCOUNT s 1 2 bits => -ERR syntax error
BITCOUNT s 1 2 bit x => -ERR syntax error
BITCOUNT s a 2 => -ERR value is not an integer or out of range
BITCOUNT nokey a b => :0
SET long hex:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff01020304050607 => +OK
BITCOUNT long => :268
BITCOUNT long 3 37 => :241
BITCOUNT long 13 290 bit => :248
SET p hex:fff000 => +OK
BITPOS p 0 => :12
BITPOS p 1 => :0
BITPOS p 1 2 => :-1
BITPOS p 0 2 => :16
BITPOS p 0 0 0 => :-1
BITPOS p 0 0 1 => :12
BITPOS p 1 7 15 bit => :7
BITPOS p 0 7 11 bit => :-1
BITPOS p 0 7 bit => -ERR value is not an integer or out of range
BITPOS p 1 12 bit => -ERR value is not an integer or out of range
BITPOS p 0 100 => :-1
BITPOS p 0 -1 => :16
BITPOS p 0 -1 -1 => :16
BITPOS p 1 -2 -1 => :8
BITPOS p 2 => -ERR The bit argument must be 1 or 0.
BITPOS p x => -ERR value is not an integer or out of range
BITPOS p 0 1 x => -ERR value is not an integer or out of range
BITPOS p 0 1 2 bogus => -ERR syntax error
BITPOS p 0 1 x bogus => -ERR syntax error
BITPOS p 0 1 2 bit x => -ERR syntax error
BITPOS nokey 0 => :0
BITPOS nokey 1 => :-1
BITPOS nokey 1 a b c d => :-1
BITPOS nokey 3 => -ERR The bit argument must be 1 or 0.
SET ones hex:ffffffffffffffffffffffffffffffffffff => +OK
BITPOS ones 0 => :144
BITPOS ones 0 0 -1 => :-1
BITPOS ones 0 3 => :144
BITPOS ones 1 3 => :24
SET zeros hex:00000000000000000000000000000000000001 => +OK
BITPOS zeros 1 => :151
BITPOS zeros 1 1 17 => :-1
BITPOS zeros 1 9 200 bit => :151
SET e hex: => +OK
BITPOS e 0 => :-1
BITPOS e 1 => :-1
BITCOUNT e => :0
SET a hex:ff00ff00ff00ff00ff00ff00ff00ff00ff => +OK
SET b hex:0f0f0f0f0f0f0f0f0f0f0f0f0f => +OK
BITOP AND d a b => :17
GET d => hex:0f000f000f000f000f000f000f00000000
BITOP or d a b nokey => :17
GET d => hex:ff0fff0fff0fff0fff0fff0fff00ff00ff
BITOP XOR d a b => :17
GET d => hex:f00ff00ff00ff00ff00ff00ff000ff00ff
BITOP NOT d b => :13
GET d => hex:f0f0f0f0f0f0f0f0f0f0f0f0f0
BITOP NOT d a b => -ERR BITOP NOT must be called with a single source key.
BITOP NAND d a b => -ERR syntax error
BITOP AND d nokey nokey2 => :0
EXISTS d => :0
BITOP AND d a nokey => :17
GET d => hex:0000000000000000000000000000000000
BITFIELD bf SET i8 0 -100 GET u8 0 GET i4 0 => [:0,:156,:-7]
BITFIELD bf INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 4 OVERFLOW FAIL INCRBY u2 100 3 => [:1,:3,nil]
GET bf => hex:9c000000000000000000000007
BITFIELD bf GET u63 1 GET i64 #1 => [:2017612633061982208,:117440512]
BITFIELD bf SET i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 -1 INCRBY i64 0 2 => [:-7205759403792793600,:-9223372036854775808,:-9223372036854775808,:-9223372036854775806]
BITFIELD bf OVERFLOW WRAP INCRBY u8 8 300 SET u3 #3 9 INCRBY i5 #2 40 => [:44,:2,:-10]
BITFIELD bf OVERFLOW SAT SET u8 8 -1 SET i8 8 200 INCRBY i8 8 -300 => [:44,:-1,:-128]
BITFIELD bf => []
BITFIELD nokey2 => []
EXISTS nokey2 => :0
BITFIELD nk OVERFLOW FAIL SET u8 0 256 => [nil]
EXISTS nk => :1
GET nk => hex:00
BITFIELD_RO bf GET u8 0 GET i3 #5 => [:128,:0]
BITFIELD_RO bf GET u8 0 SET u8 0 1 => -ERR BITFIELD_RO only supports the GET subcommand
BITFIELD_RO bf INCRBY u8 0 x => -ERR value is not an integer or out of range
BITFIELD bf GET u64 0 => -ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.
BITFIELD bf GET i0 0 => -ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.
BITFIELD bf GET I8 0 => -ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.
BITFIELD bf GET u8 #-1 => -ERR bit offset is not an integer or out of range
BITFIELD bf GET u8 4294967296 => -ERR bit offset is not an integer or out of range
BITFIELD bf GET u8 #536870912 => -ERR bit offset is not an integer or out of range
BITFIELD bf GET u8 => -ERR syntax error
BITFIELD bf FOO u8 0 => -ERR syntax error
BITFIELD bf OVERFLOW => -ERR syntax error
BITFIELD bf OVERFLOW wrapx GET u8 0 => -ERR Invalid OVERFLOW type specified
BITFIELD bf get u8 0 overflow sat set u8 0 x => -ERR value is not an integer or out of range
// CASES END
";

#[test]
fn commands_match_redis() {
    let mut db = Db::new();
    for line in CASES.lines() {
        let Some((command, expected)) = line.split_once(" => ") else {
            continue;
        };
        assert_eq!(render(&exec(&mut db, command)), expected, "{command}");
    }
}

#[test]
fn popcount_matches_a_bit_by_bit_count() {
    let data: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (start, end) in [(0, 1000), (3, 997), (1, 9), (0, 0), (500, 501)] {
        let slow: u32 = data[start..end].iter().map(|b| b.count_ones()).sum();
        assert_eq!(popcount(&data[start..end]), u64::from(slow));
    }
}

#[test]
fn find_bit_matches_a_bit_by_bit_search() {
    let mut data = vec![0u8; 100];
    data[57] = 0x10;
    let mut ones = vec![0xffu8; 100];
    ones[83] = 0xfb;
    for (first, last) in [
        (0, 799),
        (3, 460),
        (459, 460),
        (461, 799),
        (1, 6),
        (600, 799),
    ] {
        let slow = |d: &[u8], bit| (first..=last).find(|&i| bit_at(d, i) == bit);
        assert_eq!(
            find_bit(&data, first, last, true),
            slow(&data, true),
            "{first}..{last}"
        );
        assert_eq!(
            find_bit(&ones, first, last, false),
            slow(&ones, false),
            "{first}..{last}"
        );
    }
}

#[test]
fn bitop_is_bounded_by_the_longest_source() {
    let a = vec![0xaau8; 1000];
    let b = vec![0x0fu8; 37];
    let out = BitOp::Xor.apply(&[Some(&a), Some(&b), None]);
    assert_eq!(out.len(), 1000);
    assert!(out[..37].iter().all(|&x| x == 0xa5) && out[37..].iter().all(|&x| x == 0xaa));
    let out = BitOp::And.apply(&[Some(&a), Some(&b)]);
    assert!(out[..37].iter().all(|&x| x == 0x0a) && out[37..].iter().all(|&x| x == 0));
}
