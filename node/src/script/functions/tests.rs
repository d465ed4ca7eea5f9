use bytes::BytesMut;
use redoubt_protocol::Protocol;

use super::observed::*;
use super::*;
use crate::script::eval::split_keys;
use crate::script::testing::{words, FakeStore};

fn encoded(reply: &Reply, protocol: Protocol) -> String {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn fcall(libraries: &mut FunctionLibraries, argv: &[&str]) -> Reply {
    let argv = words(argv);
    let (keys, args) = match split_keys(&argv[1], &argv[2..]) {
        Ok(split) => split,
        Err(reply) => return reply,
    };
    let mut store = FakeStore::default();
    libraries.call(&argv[0], keys, args, &mut |argv| store.call(argv))
}

#[test]
fn loads_and_calls_match_redis() {
    let mut libraries = FunctionLibraries::new().unwrap();
    let mut mismatches = Vec::new();
    for (code, expected) in OBSERVED_LOADS {
        let reply = match libraries.load(code.as_bytes(), false) {
            Ok(name) => Reply::bulk(name),
            Err(reply) => reply,
        };
        let actual = encoded(&reply, Protocol::Resp2);
        if actual != *expected {
            mismatches.push(format!(
                "{code}\n  redis:   {expected:?}\n  redoubt: {actual:?}"
            ));
        }
    }
    for (argv, expected) in OBSERVED_CALLS {
        let actual = encoded(&fcall(&mut libraries, argv), Protocol::Resp2);
        if actual != *expected {
            mismatches.push(format!(
                "{argv:?}\n  redis:   {expected:?}\n  redoubt: {actual:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(libraries.flags(b"f2").unwrap().names(), vec!["no-writes"]);
    assert_eq!(
        libraries.flags(b"nosuch").unwrap_err(),
        Reply::error("ERR Function not found")
    );
}

#[test]
fn list_and_stats_match_redis() {
    let mut libraries = FunctionLibraries::new().unwrap();
    assert_eq!(
        libraries.load(LIST_LIBRARY.as_bytes(), false).unwrap(),
        "mylib"
    );
    let list = libraries.list(None, false);
    assert_eq!(encoded(&list, Protocol::Resp2), OBSERVED_LIST);
    assert_eq!(encoded(&list, Protocol::Resp3), OBSERVED_LIST_RESP3);
    let with_code = libraries.list(Some(b"my*"), true);
    assert_eq!(encoded(&with_code, Protocol::Resp2), OBSERVED_LIST_WITHCODE);
    let none = libraries.list(Some(b"x*"), false);
    assert_eq!(encoded(&none, Protocol::Resp2), OBSERVED_LIST_NO_MATCH);
    let stats = libraries.stats(Reply::Null);
    assert_eq!(encoded(&stats, Protocol::Resp2), OBSERVED_STATS);
    assert_eq!(encoded(&stats, Protocol::Resp3), OBSERVED_STATS_RESP3);
}

#[test]
fn replace_delete_flush_dump_restore() {
    let mut libraries = FunctionLibraries::new().unwrap();
    let v1 = "#!lua name=lib\nredis.register_function('f', function() return 'v1' end)";
    let v2 = "#!lua name=lib\nredis.register_function('f', function() return 'v2' end)";
    libraries.load(v1.as_bytes(), false).unwrap();
    assert_eq!(
        libraries.load(v2.as_bytes(), false).unwrap_err(),
        Reply::error("ERR Library 'lib' already exists")
    );
    assert_eq!(fcall(&mut libraries, &["f", "0"]), Reply::bulk("v1"));
    libraries.load(v2.as_bytes(), true).unwrap();
    assert_eq!(fcall(&mut libraries, &["f", "0"]), Reply::bulk("v2"));

    let dump = libraries.dump();
    assert_eq!(dump, vec![Bytes::from(v2)]);
    assert_eq!(
        libraries.restore(&dump, RestorePolicy::Append).unwrap_err(),
        // redis-server 7.0.15: RESTORE names the library without quotes.
        Reply::error("ERR Library lib already exists")
    );
    assert_eq!(fcall(&mut libraries, &["f", "0"]), Reply::bulk("v2"));
    libraries
        .restore(&[Bytes::from(v1)], RestorePolicy::Replace)
        .unwrap();
    assert_eq!(fcall(&mut libraries, &["f", "0"]), Reply::bulk("v1"));

    libraries.delete(b"lib").unwrap();
    assert_eq!(
        libraries.delete(b"lib").unwrap_err(),
        Reply::error("ERR Library not found")
    );
    assert_eq!(
        fcall(&mut libraries, &["f", "0"]),
        Reply::error("ERR Function not found")
    );
    libraries.restore(&dump, RestorePolicy::Flush).unwrap();
    assert_eq!(fcall(&mut libraries, &["f", "0"]), Reply::bulk("v2"));
    libraries.flush();
    assert!(libraries.dump().is_empty());
}

#[test]
fn a_library_whose_top_level_never_ends_times_out() {
    let mut libraries = FunctionLibraries::new().unwrap();
    let reply = libraries
        .load(b"#!lua name=spin\nwhile true do end", false)
        .unwrap_err();
    assert_eq!(
        reply,
        Reply::error("ERR Error registering functions: ERR FUNCTION LOAD timeout")
    );
}

#[test]
fn key_counts_are_checked() {
    let mut libraries = FunctionLibraries::new().unwrap();
    libraries
        .load(
            b"#!lua name=l\nredis.register_function('f', function(k, a) return #k end)",
            false,
        )
        .unwrap();
    // Replies observed from redis-server 7.0.15.
    assert_eq!(
        fcall(&mut libraries, &["f", "5", "a"]),
        Reply::error("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        fcall(&mut libraries, &["f", "-1"]),
        Reply::error("ERR Number of keys can't be negative")
    );
    assert_eq!(fcall(&mut libraries, &["f", "1", "a"]), Reply::Int(1));
}
