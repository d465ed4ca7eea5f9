use bytes::BytesMut;
use redoubt_protocol::Protocol;

use super::observed::{OBSERVED_RESP2, OBSERVED_RESP3};
use super::*;
use crate::script::testing::{words, FakeStore};
use std::sync::Arc;

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
        let (keys, args): (&[&str], &[&str]) = if observed.len() == OBSERVED_RESP2.len() {
            (&["k1"], &["a1", "a2"])
        } else {
            (&[], &[])
        };
        let reply = eval(&mut engine, script, keys, args);
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

#[test]
fn cmsgpack_and_struct_match_redis() {
    compare(
        super::observed_libraries::OBSERVED_LIBRARIES,
        Protocol::Resp2,
    );
}

fn kill_after_start(control: Arc<ScriptControl>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while control.running_for().is_none_or(|d| d.as_millis() < 20) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(control.kill());
    })
}

#[test]
fn a_busy_script_is_killed_with_redis_text() {
    // Texts observed from redis-server 7.0.15 after SCRIPT KILL.
    let mut engine = ScriptEngine::new().unwrap();
    let control = engine.control();
    assert!(control.running_for().is_none());
    assert!(!control.kill(), "nothing to kill while idle");
    for script in [
        "local i=0 while true do i=i+1 end",
        "while true do pcall(function() local i=0 while true do i=i+1 end end) end",
    ] {
        let killer = kill_after_start(control.clone());
        let reply = eval(&mut engine, script, &[], &[]);
        killer.join().unwrap();
        let sha = sha1_hex(script.as_bytes());
        assert_eq!(
            reply,
            Reply::error_owned(format!(
                "ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1."
            ))
        );
        assert!(control.running_for().is_none());
    }
    // The engine runs the next script normally.
    assert_eq!(eval(&mut engine, "return 1", &[], &[]), Reply::Int(1));
}

#[test]
fn set_repl_is_visible_to_the_command_closure() {
    let mut engine = ScriptEngine::new().unwrap();
    let control = engine.control();
    let mut seen = Vec::new();
    let reply = engine.eval(
        b"redis.call('ping') redis.set_repl(redis.REPL_NONE) redis.call('ping') redis.set_repl(redis.REPL_REPLICA) return redis.call('ping')",
        &[],
        &[],
        &mut |_| {
            seen.push(control.repl_flags());
            Reply::simple("PONG")
        },
    );
    assert_eq!(reply, Reply::simple("PONG"));
    assert_eq!(seen, vec![3, 0, 2]);
}

#[test]
fn script_cache_load_exists_flush() {
    let mut engine = ScriptEngine::new().unwrap();
    let body = b"return ARGV[1]";
    let sha = engine.load(body).unwrap();
    // redis-server 7.0.15: SCRIPT LOAD "return ARGV[1]".
    assert_eq!(sha, "098e0f0d1448c0a81dafe820f66d460eb09263da");
    let mut store = FakeStore::default();
    let reply = engine.run(
        sha.to_ascii_uppercase().as_bytes(),
        &[],
        &words(&["x"]),
        &mut |a| store.call(a),
    );
    assert_eq!(reply, Reply::bulk("x"));
    let other = Bytes::from_static(b"ffffffffffffffffffffffffffffffffffffffff");
    assert_eq!(
        engine.exists(&[Bytes::from(sha.clone()), other.clone()]),
        vec![true, false]
    );
    assert_eq!(
        engine.run(&other, &[], &[], &mut |a| store.call(a)),
        Reply::error("NOSCRIPT No matching script. Please use EVAL.")
    );
    assert_eq!(
        engine.flags(&other).unwrap_err(),
        Reply::error("NOSCRIPT No matching script. Please use EVAL.")
    );
    engine.flush();
    assert_eq!(engine.exists(&[Bytes::from(sha)]), vec![false]);
    assert_eq!(engine.len(), 0);
}

#[test]
fn compile_errors_and_shebang_flags() {
    // Texts observed from redis-server 7.0.15.
    let mut engine = ScriptEngine::new().unwrap();
    assert_eq!(
        engine.load(b"return +").unwrap_err(),
        Reply::error(
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'"
        )
    );
    assert_eq!(
        engine.prepare(b"#!lua flags=bogus\nreturn 1").unwrap_err(),
        Reply::error("ERR Unexpected flag in script shebang: bogus")
    );
    let (_, flags) = engine.prepare(b"#!lua flags=no-writes\nreturn 1").unwrap();
    assert!(flags.no_writes && !flags.eval_compat);
    let (_, flags) = engine.prepare(b"return 1").unwrap();
    assert!(flags.eval_compat);
    // The shebang line counts: the error is on line 2, as Redis reports it.
    let script = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
    let reply = engine.eval(script.as_bytes(), &[], &[], &mut |_| {
        Reply::error("ERR Write commands are not allowed from read-only scripts.")
    });
    assert_eq!(
        reply,
        Reply::error_owned(format!(
            "ERR Write commands are not allowed from read-only scripts. script: {}, on @user_script:2.",
            sha1_hex(script.as_bytes())
        ))
    );
}

#[test]
fn scripts_added_by_eval_alone_are_capped() {
    let mut engine = ScriptEngine::new().unwrap();
    let loaded = engine.load(b"return 'kept'").unwrap();
    let first = engine.prepare(b"return 0").unwrap().0;
    for i in 1..=EVAL_SCRIPTS_CAP {
        engine.prepare(format!("return {i}").as_bytes()).unwrap();
    }
    assert_eq!(engine.len(), EVAL_SCRIPTS_CAP + 1);
    assert_eq!(
        engine.exists(&[Bytes::from(first.to_string()), Bytes::from(loaded)]),
        vec![false, true]
    );
}

#[test]
fn globals_do_not_leak_between_scripts() {
    let mut engine = ScriptEngine::new().unwrap();
    let reply = eval(
        &mut engine,
        "local ok = pcall(function() leak = 1 end) return tostring(ok)",
        &[],
        &[],
    );
    assert_eq!(reply, Reply::bulk("false"));
    let reply = eval(
        &mut engine,
        "return rawget(_G, 'leak') == nil and 1 or 0",
        &[],
        &[],
    );
    assert_eq!(reply, Reply::Int(1));
}

#[test]
fn math_random_draws_redis_sequence() {
    // Replies observed from a fresh redis-server 7.0.15, in this order.
    let mut engine = ScriptEngine::new().unwrap();
    let observed: &[(&str, Reply)] = &[
        (
            "return tostring(math.random())",
            Reply::bulk("0.39646477363839"),
        ),
        (
            "return tostring(math.random())",
            Reply::bulk("0.84048536971234"),
        ),
        (
            "return {math.random(10), math.random(5, 7), tostring(math.random())}",
            Reply::Array(vec![
                Reply::Int(4),
                Reply::Int(6),
                Reply::bulk("0.31869277233197"),
            ]),
        ),
        (
            "math.randomseed(42); return {math.random(1000), math.random(1000)}",
            Reply::Array(vec![Reply::Int(745), Reply::Int(343)]),
        ),
    ];
    for (script, expected) in observed {
        assert_eq!(&eval(&mut engine, script, &[], &[]), expected, "{script}");
    }
    let reply = eval(&mut engine, "return math.random(0)", &[], &[]);
    assert_eq!(
        reply,
        Reply::error_owned(format!(
            "ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: {}, on @user_script:1.",
            sha1_hex(b"return math.random(0)")
        ))
    );
}

#[test]
fn engines_can_move_between_threads() {
    // The node keeps its engines in state shared by the connection tasks.
    fn assert_send<T: Send>() {}
    assert_send::<ScriptEngine>();
    assert_send::<crate::script::functions::FunctionLibraries>();
    let mut engine = ScriptEngine::new().unwrap();
    let reply = std::thread::spawn(move || eval(&mut engine, "return 7", &[], &[]))
        .join()
        .unwrap();
    assert_eq!(reply, Reply::Int(7));
}

#[test]
fn self_referencing_results_end_with_an_error_not_a_crash() {
    let mut engine = ScriptEngine::new().unwrap();
    let reply = eval(&mut engine, "local t = {} t[1] = t return t", &[], &[]);
    let mut depth = 0;
    let mut current = &reply;
    while let Reply::Array(items) = current {
        depth += 1;
        current = &items[0];
    }
    assert_eq!(current, &Reply::error("ERR reached lua stack limit"));
    assert!(depth > 100);
    let reply = eval(
        &mut engine,
        "local t = {} t[1] = t return cjson.encode(t)",
        &[],
        &[],
    );
    assert!(
        matches!(&reply, Reply::Error(e) if e.contains("Cannot serialise, excessive nesting (257)"))
    );
}

#[test]
fn a_script_spinning_in_a_coroutine_is_killed() {
    let mut engine = ScriptEngine::new().unwrap();
    let killer = kill_after_start(engine.control());
    let script = "local co = coroutine.wrap(function() while true do end end) co()";
    let reply = eval(&mut engine, script, &[], &[]);
    killer.join().unwrap();
    assert!(
        matches!(&reply, Reply::Error(e) if e.starts_with("ERR Script killed by user with SCRIPT KILL...")),
        "{reply:?}"
    );
}

#[test]
fn keys_and_argv_are_fresh_tables_for_few_and_many_words() {
    let mut engine = ScriptEngine::new().unwrap();
    let script = "local before = tostring(KEYS.extra); KEYS.extra = 1; \
        return {#KEYS, #ARGV, KEYS[1] or '-', ARGV[#ARGV] or '-', before}";
    let many: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (keys, args) in [
        (&["k"][..], &["a", "b"][..]),
        (&[][..], &[][..]),
        (&many[..30], &many[30..]),
        (&many[..1], &many[..]),
    ] {
        let expected = Reply::Array(vec![
            Reply::Int(keys.len() as i64),
            Reply::Int(args.len() as i64),
            Reply::bulk(keys.first().unwrap_or(&"-")),
            Reply::bulk(args.last().unwrap_or(&"-")),
            Reply::bulk("nil"),
        ]);
        assert_eq!(eval(&mut engine, script, keys, args), expected);
    }
    // A script's own arguments are empty, as Redis calls the body with none.
    assert_eq!(
        eval(&mut engine, "return select('#', ...)", &["k"], &["a"]),
        Reply::Int(0)
    );
}
