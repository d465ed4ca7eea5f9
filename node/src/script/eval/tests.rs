use bytes::BytesMut;
use redoubt_protocol::Protocol;

use super::observed::{OBSERVED_RESP2, OBSERVED_RESP3};
use super::*;
use crate::script::testing::{words, FakeStore};

fn eval(engine: &mut ScriptEngine, script: &str, keys: &[&str], args: &[&str]) -> Reply {
    let mut store = FakeStore::default();
    engine.eval(script.as_bytes(), &words(keys), &words(args), &mut |argv| {
        store.call(argv)
    })
}

fn encoded(reply: &Reply, protocol: Protocol) -> String {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Scripts whose replies differ from Redis's, and why.
const KNOWN_DIFFERENCES: &[&str] = &[
    // lua-cjson's own parser names the token it expected; serde_json's errors do not say.
    "return cjson.decode('[1,2')",
];

fn compare(observed: &[(&str, &str)], protocol: Protocol) {
    let mut engine = ScriptEngine::new().unwrap();
    let mut mismatches = Vec::new();
    for (script, expected) in observed {
        if KNOWN_DIFFERENCES.contains(script) {
            continue;
        }
        let reply = eval(&mut engine, script, &["k1"], &["a1", "a2"]);
        let actual = encoded(&reply, protocol);
        if actual != *expected {
            mismatches.push(format!(
                "{script}\n  redis:   {expected:?}\n  redoubt: {actual:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn replies_match_redis_over_resp2() {
    compare(OBSERVED_RESP2, Protocol::Resp2);
}

#[test]
fn replies_match_redis_over_resp3() {
    compare(OBSERVED_RESP3, Protocol::Resp3);
}
