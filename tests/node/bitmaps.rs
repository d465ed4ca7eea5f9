//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD): semantics tables holding Redis's own replies (checked against `redis-server` with
//! `REDOUBT_TEST_SERVER=redis-server cargo test --test node bitmaps`).

use crate::common::Server;

/// Single bits, counts and searches, with argument errors before WRONGTYPE where Redis checks them first.
#[tokio::test]
async fn setbit_getbit_bitcount_bitpos() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SETBIT bm 7 1", ":0"),
        ("GETBIT bm 7", ":1"),
        ("GETBIT bm 0", ":0"),
        ("GETBIT bm 100", ":0"),
        ("GET bm", "\"\\x01\""),
        ("SETBIT bm 7 0", ":1"),
        ("SETBIT bm 7 0", ":0"),
        ("GET bm", "\"\\x00\""),
        ("SETBIT bm 23 1", ":0"),
        ("STRLEN bm", ":3"),
        (
            "SETBIT bm -1 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm 4294967296 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm abc 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "SETBIT bm 1 2",
            "-ERR bit is not an integer or out of range",
        ),
        (
            "SETBIT bm abc 2",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "GETBIT bm -1",
            "-ERR bit offset is not an integer or out of range",
        ),
        ("GETBIT missing 5", ":0"),
        ("EXISTS missing", ":0"),
        ("SETBIT \"bm\\x00\" 0 1", ":0"),
        ("GET \"bm\\x00\"", "\"\\x80\""),
        ("RPUSH list a", ":1"),
        (
            "SETBIT list 0 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "SETBIT list -1 1",
            "-ERR bit offset is not an integer or out of range",
        ),
        (
            "GETBIT list 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "GETBIT list x",
            "-ERR bit offset is not an integer or out of range",
        ),
        ("SET s foobar", "+OK"),
        ("BITCOUNT s", ":26"),
        ("BITCOUNT s 0 0", ":4"),
        ("BITCOUNT s 1 1", ":6"),
        ("BITCOUNT s 1 -2", ":18"),
        ("BITCOUNT s -1 -1", ":4"),
        ("BITCOUNT s 5 30 BIT", ":17"),
        ("BITCOUNT s 0 -1 bit", ":26"),
        ("BITCOUNT s 0 -1 BYTE", ":26"),
        ("BITCOUNT s 0", "-ERR syntax error"),
        ("BITCOUNT s 0 1 words", "-ERR syntax error"),
        (
            "BITCOUNT s a b",
            "-ERR value is not an integer or out of range",
        ),
        ("BITCOUNT missing", ":0"),
        (
            "BITCOUNT list",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("SET p \"\\xff\\xf0\\x00\"", "+OK"),
        ("BITPOS p 0", ":12"),
        ("BITPOS p 1", ":0"),
        ("BITPOS p 0 0 1", ":12"),
        ("BITPOS p 0 2 -1 BYTE", ":16"),
        ("BITPOS p 1 7 15 BIT", ":7"),
        ("SET allset \"\\xff\\xff\"", "+OK"),
        ("BITPOS allset 0", ":16"),
        ("BITPOS allset 0 0 -1", ":-1"),
        ("BITPOS missing 0", ":0"),
        ("BITPOS missing 1", ":-1"),
        ("BITPOS p 2", "-ERR The bit argument must be 1 or 0."),
        ("BITPOS list 2", "-ERR The bit argument must be 1 or 0."),
        (
            "BITPOS list 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BITPOS p 1 a",
            "-ERR value is not an integer or out of range",
        ),
        ("BITPOS p 1 0 1 2", "-ERR syntax error"),
    ])
    .await;
}

/// BITOP's operations, its destination replaced without a TTL or deleted when empty.
#[tokio::test]
async fn bitop_stores_or_deletes_its_destination() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET a \"\\xff\\x0f\"", "+OK"),
        ("SET b \"\\x0f\"", "+OK"),
        ("BITOP AND dest a b", ":2"),
        ("GET dest", "\"\\x0f\\x00\""),
        ("BITOP OR dest a b", ":2"),
        ("GET dest", "\"\\xff\\x0f\""),
        ("BITOP XOR dest a b", ":2"),
        ("GET dest", "\"\\xf0\\x0f\""),
        ("BITOP NOT dest a", ":2"),
        ("GET dest", "\"\\x00\\xf0\""),
        (
            "BITOP NOT dest a b",
            "-ERR BITOP NOT must be called with a single source key.",
        ),
        ("BITOP NAND dest a b", "-ERR syntax error"),
        ("BITOP AND dest missing1 missing2", ":0"),
        ("EXISTS dest", ":0"),
        ("SET dest x", "+OK"),
        ("EXPIRE dest 100", ":1"),
        ("BITOP OR dest a", ":2"),
        ("TTL dest", ":-1"),
        ("RPUSH list x", ":1"),
        (
            "BITOP OR dest a list",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("BITOP AND dest a", ":2"),
        ("OBJECT ENCODING dest", "\"raw\""),
    ])
    .await;
}

/// BITFIELD's types, overflow policies and errors; read-only requests never create the key.
#[tokio::test]
async fn bitfield_and_bitfield_ro() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("BITFIELD bf SET i8 0 100 GET i8 0", "[:0, :100]"),
        ("BITFIELD bf INCRBY i8 0 100", "[:-56]"),
        ("BITFIELD bf OVERFLOW SAT INCRBY i8 0 100", "[:44]"),
        ("BITFIELD bf OVERFLOW FAIL INCRBY i8 0 100", "[nil]"),
        ("BITFIELD bf GET u4 0 GET u4 4 GET i16 #1", "[:2, :12, :0]"),
        ("BITFIELD bf SET u8 #2 255 GET u8 16", "[:0, :255]"),
        ("GET bf", "\",\\x00\\xff\""),
        ("BITFIELD bf", "[]"),
        ("BITFIELD_RO bf GET u8 0 GET u8 #2", "[:44, :255]"),
        ("BITFIELD_RO bf SET u8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand"),
        ("BITFIELD bf GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf GET i64 0", "[:3170814513133912064]"),
        ("BITFIELD bf GET u63 0", "[:1585407256566956032]"),
        ("BITFIELD bf GET i65 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."),
        ("BITFIELD bf OVERFLOW WHAT GET u8 0", "-ERR Invalid OVERFLOW type specified"),
        ("BITFIELD bf GET u8 -1", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD bf SET u8 0 x", "-ERR value is not an integer or out of range"),
        ("BITFIELD bf FOO u8 0", "-ERR syntax error"),
        ("BITFIELD bf GET u8", "-ERR syntax error"),
        ("BITFIELD nokey GET u8 0", "[:0]"),
        ("EXISTS nokey", ":0"),
        ("BITFIELD_RO nokey GET u8 100", "[:0]"),
        ("EXISTS nokey", ":0"),
        ("BITFIELD nokey2 OVERFLOW FAIL INCRBY u2 0 10", "[nil]"),
        ("EXISTS nokey2", ":1"),
        ("RPUSH list x", ":1"),
        ("BITFIELD list GET u8 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("BITFIELD list GET u8 x", "-ERR bit offset is not an integer or out of range"),
        ("BITFIELD_RO list GET u8 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
        ("BITFIELD bf INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1", "[:1, :2, :3, :0]"),
    ])
    .await;
}
