//! Lua scripting through the server: EVAL / EVALSHA / *_RO, SCRIPT, FUNCTION and FCALL, the
//! checks Redis makes on commands a script calls, and busy scripts (`-BUSY`, `SCRIPT KILL`).
//! Expected replies observed from redis-server 7.0.

use std::time::Duration;

use crate::common::{encode, Reply, Server};

const SET_SCRIPT: &str = "\"return redis.call('set', KEYS[1], ARGV[1])\"";
const LIB: &str = "\"#!lua name=lib\\nredis.register_function('f', function(keys, args) return redis.call('set', keys[1], args[1]) end)\\nredis.register_function{function_name='g', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}\"";

#[tokio::test]
async fn eval_evalsha_and_the_script_cache() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let sha = "6af4f5a9e1e6f4d5a7f4cf2e3e6f5e4b1a5b9b0f";
    let load = c.q(&format!("SCRIPT LOAD {SET_SCRIPT}")).await.text();
    assert_eq!(load.len(), 40);
    c.table(&[
        (&format!("EVAL {SET_SCRIPT} 1 k v"), "+OK"),
        ("GET k", "\"v\""),
        (&format!("EVALSHA {load} 1 k w"), "+OK"),
        (&format!("EVALSHA {} 1 k w", load.to_uppercase()), "+OK"),
        ("GET k", "\"w\""),
        (
            &format!("EVALSHA {sha} 0"),
            "-NOSCRIPT No matching script. Please use EVAL.",
        ),
        (&format!("SCRIPT EXISTS {load} {sha}"), "[:1, :0]"),
        (
            "EVAL \"return 1\" abc",
            "-ERR value is not an integer or out of range",
        ),
        (
            "EVAL \"return 1\" -1",
            "-ERR Number of keys can't be negative",
        ),
        (
            "EVAL \"return 1\" 2 k",
            "-ERR Number of keys can't be greater than number of args",
        ),
        (
            "EVAL \"return {KEYS[1], ARGV[1], 3}\" 1 a b",
            "[\"a\", \"b\", :3]",
        ),
        (
            "SCRIPT FLUSH bogus",
            "-ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        ),
        ("SCRIPT FLUSH ASYNC", "+OK"),
        (&format!("SCRIPT EXISTS {load}"), "[:0]"),
        (
            &format!("EVALSHA {load} 1 k w"),
            "-NOSCRIPT No matching script. Please use EVAL.",
        ),
        ("SCRIPT KILL", "-NOTBUSY No scripts in execution right now."),
        (
            "FUNCTION KILL",
            "-NOTBUSY No scripts in execution right now.",
        ),
    ])
    .await;
}

#[tokio::test]
async fn commands_a_script_may_not_call() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("EVAL \"return redis.call('eval','return 1','0')\" 0", "-ERR This Redis command is not allowed from script script: 1e5046f3a9119d3dc9cf5824428b6d9fedd305d2, on @user_script:1."),
        ("EVAL \"return redis.call('nosuch')\" 0", "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1."),
        ("EVAL \"return redis.call('get')\" 0", "-ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1."),
        ("EVAL \"return redis.call('config')\" 0", "-ERR Wrong number of args calling Redis command from script script: 7606e80c4491d47b7e4d27375c865fbb82912077, on @user_script:1."),
        ("EVAL \"return redis.call('config','bogus')\" 0", "-ERR Unknown Redis command called from script script: dca9c937c2c3c9085008b28689823be8ab38cfe7, on @user_script:1."),
        ("EVAL \"return redis.call('blpop','nolist',0)\" 0", "-ERR This Redis command is not allowed from script script: abca6f0af300bbde50e15c9226201a7d087652cf, on @user_script:1."),
        ("EVAL_RO \"return redis.call('set','a','1')\" 0", "-ERR Write commands are not allowed from read-only scripts. script: 67ed14c1cb086d8c2fcf91ebe13410ba087fd0f8, on @user_script:1."),
        ("EVAL \"#!lua flags=no-writes\\nreturn redis.call('set','a','1')\" 0", "-ERR Write commands are not allowed from read-only scripts. script: 71c6978aa8dbb43cfeb7536150d4b9326e6031a2, on @user_script:2."),
        ("EVAL_RO \"#!lua\\nreturn 1\" 0", "-ERR Can not execute a script with write flag using *_ro command."),
        ("EVAL_RO \"#!lua flags=no-writes\\nreturn redis.call('get','a')\" 0", "nil"),
        ("EXISTS a", ":0"),
        // pcall hands the error to the script as a table.
        ("EVAL \"local r = redis.pcall('incr', KEYS[1]) if type(r) == 'table' then return r['err'] end return r\" 1 s", ":1"),
        ("SET s x", "+OK"),
        ("EVAL \"local r = redis.pcall('incr', KEYS[1]) if type(r) == 'table' then return r['err'] end return r\" 1 s", "\"ERR value is not an integer or out of range\""),
    ])
    .await;
}

#[tokio::test]
async fn redis_call_arguments_and_replies_convert_as_redis_does() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        // Numbers become words: whole ones as integers, others as `%.17g`.
        ("EVAL \"redis.call('set', KEYS[1], 3.0) return redis.call('get', KEYS[1])\" 1 n", "\"3\""),
        ("EVAL \"redis.call('set', KEYS[1], 1.5) return redis.call('get', KEYS[1])\" 1 n", "\"1.5\""),
        ("EVAL \"redis.call('set', KEYS[1], 0.1) return redis.call('get', KEYS[1])\" 1 n", "\"0.10000000000000001\""),
        ("EVAL \"redis.call('set', KEYS[1], 2^53) return redis.call('get', KEYS[1])\" 1 n", "\"9007199254740992\""),
        ("EVAL \"return redis.call()\" 0", "-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1."),
        ("EVAL \"return redis.pcall()\" 0", "-ERR Please specify at least one argument for this redis lib call"),
        ("EVAL \"return redis.call('get', {})\" 0", "-ERR Lua redis lib command arguments must be strings or integers script: 4368e88f98d93af9caf358186e5fbf273374ee91, on @user_script:1."),
        ("EVAL \"return redis.pcall('get', {})['err']\" 0", "\"ERR Lua redis lib command arguments must be strings or integers\""),
        // RESP2 replies: null as false, status as {ok=...}, a map as a flat array.
        ("HSET h a 1", ":1"),
        ("SADD s x", ":1"),
        ("XADD st 1-1 f v", "\"1-1\""),
        ("EVAL \"return {tostring(redis.call('get', 'nokey') == false), redis.call('ping')['ok'], redis.call('hgetall', KEYS[1])[2]}\" 1 h", "[\"true\", \"PONG\", \"1\"]"),
        ("EVAL \"local r = redis.call('xrange', KEYS[1], '-', '+') return {r[1][1], r[1][2][2]}\" 1 st", "[\"1-1\", \"v\"]"),
        // RESP3 replies after redis.setresp(3): {map=...}, {set=...}, null as nil.
        ("EVAL \"redis.setresp(3) local m = redis.call('hgetall', KEYS[1]) local s = redis.call('smembers', KEYS[2]) return {m['map']['a'], tostring(s['set']['x']), tostring(redis.call('get', 'nokey') == nil)}\" 2 h s", "[\"1\", \"true\", \"true\"]"),
        // A call with nearly as many arguments as Lua's stack holds still gets its reply.
        ("EVAL \"local t = {} for i = 1, 7996 do t[i] = 'k' .. i end return redis.call('del', unpack(t))\" 0", ":0"),
        // The functions can be kept in locals and called from a coroutine of the script.
        ("EVAL \"local call = redis.call local co = coroutine.create(function() return call('get', KEYS[1]) end) local ok, v = coroutine.resume(co) return v\" 1 n", "\"9007199254740992\""),
    ])
    .await;
}

#[tokio::test]
async fn select_in_a_script_changes_only_the_scripts_database() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SELECT 2", "+OK"),
        ("EVAL \"redis.call('set','here','x') redis.call('select','1') redis.call('set','there','y') return 1\" 0", ":1"),
        ("GET here", "\"x\""),
        ("GET there", "nil"),
        ("SELECT 1", "+OK"),
        ("GET there", "\"y\""),
    ])
    .await;
}

#[tokio::test]
async fn functions_load_call_list_dump_restore() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        (&format!("FUNCTION LOAD {LIB}"), "\"lib\""),
        (
            &format!("FUNCTION LOAD {LIB}"),
            "-ERR Library 'lib' already exists",
        ),
        (&format!("FUNCTION LOAD REPLACE {LIB}"), "\"lib\""),
        ("FUNCTION LOAD bogus x", "-ERR Unknown option given: bogus"),
        ("FUNCTION LOAD replace", "-ERR Missing library metadata"),
        ("FCALL f abc", "-ERR Bad number of keys provided"),
        ("FCALL nosuch 0", "-ERR Function not found"),
        ("FCALL f -1", "-ERR Number of keys can't be negative"),
        ("FCALL f 1 k v", "+OK"),
        (
            "FCALL_RO f 1 k v",
            "-ERR Can not execute a script with write flag using *_ro command.",
        ),
        ("FCALL_RO g 1 k", "\"v\""),
        ("FCALL g 1 k", "\"v\""),
        (
            "FUNCTION LIST LIBRARYNAME",
            "-ERR library name argument was not given",
        ),
        ("FUNCTION LIST bogus", "-ERR Unknown argument bogus"),
        ("FUNCTION LIST LIBRARYNAME nomatch*", "[]"),
        (
            "FUNCTION FLUSH bogus",
            "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ),
        (
            "FUNCTION RESTORE bogus",
            "-ERR DUMP payload version or checksum are wrong",
        ),
        (
            "FUNCTION RESTORE bogus bad",
            "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
        ),
        ("FUNCTION DELETE nosuch", "-ERR Library not found"),
    ])
    .await;
    let list = c.q("FUNCTION LIST").await;
    let libs = list.array();
    assert_eq!(libs.len(), 1);
    let mut names: Vec<String> = libs[0]
        .get("functions")
        .unwrap()
        .array()
        .iter()
        .map(|f| f.get("name").unwrap().text())
        .collect();
    // Redis lists a library's functions in hash order.
    names.sort();
    assert_eq!(names, ["f", "g"]);
    let stats = c.q("FUNCTION STATS").await;
    let lua = stats.get("engines").unwrap().get("LUA").unwrap();
    assert_eq!(lua.get("libraries_count"), Some(Reply::Int(1)));
    assert_eq!(lua.get("functions_count"), Some(Reply::Int(2)));
    // A dump restores what it was taken from.
    let payload = c.q("FUNCTION DUMP").await.bytes();
    assert_eq!(c.q("FUNCTION FLUSH").await, Reply::ok());
    assert_eq!(c.q("FCALL g 1 k").await.err(), "ERR Function not found");
    assert_eq!(
        c.cmd(&[b"FUNCTION".as_slice(), b"RESTORE", &payload]).await,
        Reply::ok()
    );
    assert_eq!(
        c.cmd(&[b"FUNCTION".as_slice(), b"RESTORE", &payload])
            .await
            .err(),
        "ERR Library lib already exists"
    );
    assert_eq!(
        c.cmd(&[b"FUNCTION".as_slice(), b"RESTORE", &payload, b"REPLACE"])
            .await,
        Reply::ok()
    );
    assert_eq!(c.q("FCALL g 1 k").await, Reply::bulk("v"));
    assert_eq!(c.q("FUNCTION DELETE lib").await, Reply::ok());
    assert_eq!(c.q("FUNCTION LIST").await, Reply::Array(vec![]));
}

#[tokio::test]
async fn info_counts_scripts_and_functions() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("EVAL \"return 1\" 0").await;
    let sha = c.q(&format!("SCRIPT LOAD {SET_SCRIPT}")).await.text();
    c.q(&format!("FUNCTION LOAD {LIB}")).await;
    let info = c.q("INFO memory").await.text();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
    };
    assert_eq!(field("number_of_cached_scripts").as_deref(), Some("2"));
    assert_eq!(field("number_of_functions").as_deref(), Some("2"));
    assert!(field("used_memory_lua").unwrap().parse::<u64>().unwrap() > 0);
    assert!(
        field("used_memory_scripts")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    c.q(&format!("EVALSHA {sha} 1 k v")).await;
    let stats = c.q("INFO commandstats").await.text();
    assert!(stats.contains("cmdstat_eval:calls=1,"), "{stats}");
    assert!(stats.contains("cmdstat_evalsha:calls=1,"), "{stats}");
    assert!(stats.contains("cmdstat_set:calls=1,"), "{stats}");
}

/// Sends a busy script on its own connection (its reply is read later).
async fn start_busy(s: &Server, script: &str) -> crate::common::Raw {
    let mut runner = s.raw().await;
    runner.send(&encode(&["EVAL", script, "0"])).await;
    runner
}

/// Waits until the script started by [`start_busy`] has run past `busy-reply-threshold`:
/// until `PING` on `c` answers `-BUSY` (a `PING` sent before the script started answers
/// `PONG`, so it is asked again).
async fn wait_busy(c: &mut crate::common::Raw) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match c.q("PING").await {
            Reply::Error(e) if e.starts_with("BUSY ") => return,
            other => assert!(
                std::time::Instant::now() < deadline,
                "the script never became busy: PING answered {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `SCRIPT KILL` on `killer` and checks that the script `runner` waits on ends with
/// Redis's error.
async fn kill_busy(killer: &mut crate::common::Raw, runner: &mut crate::common::Raw) {
    assert_eq!(killer.q("SCRIPT KILL").await, Reply::ok());
    let killed = runner.read_reply().await;
    assert!(
        killed
            .err()
            .starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{killed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_script_is_reported_and_killed() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET busy-reply-threshold 100").await,
        Reply::ok()
    );
    assert_eq!(
        c.q("CONFIG GET lua-time-limit").await.array()[1],
        Reply::bulk("100")
    );
    let mut runner = start_busy(&s, "while true do end").await;
    wait_busy(&mut c).await;
    let busy =
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(c.q("PING").await.err(), busy);
    assert_eq!(c.q("GET k").await.err(), busy);
    assert_eq!(c.q("FUNCTION KILL").await.err(), busy);
    // Clients connecting and leaving meanwhile (as redis-cli does) are served too.
    let mut passing = s.raw().await;
    assert_eq!(passing.q("PING").await.err(), busy);
    drop(passing);
    let mut killer = s.raw().await;
    kill_busy(&mut killer, &mut runner).await;
    assert_eq!(c.q("PING").await, Reply::Simple("PONG".into()));
    assert_eq!(runner.q("PING").await, Reply::Simple("PONG".into()));
}

/// Connections that have run a script are served by the script thread from then on: they go
/// on serving pipelines, transactions and blocking pops there, and a busy script on one of
/// them still lets the others (all on that thread) answer `-BUSY` and kill it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_ran_scripts_keep_every_behaviour() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut runner = s.raw().await;
    let mut killer = s.raw().await;
    for conn in [&mut c, &mut runner, &mut killer] {
        assert_eq!(conn.q("EVAL \"return 1\" 0").await, Reply::Int(1));
    }
    // A pipeline, a transaction and a blocking pop served by another moved connection.
    let mut requests = Vec::new();
    for i in 0..100 {
        requests.extend(encode(&["RPUSH", "l", &i.to_string()]));
    }
    requests.extend(encode(&["MULTI"]));
    requests.extend(encode(&["LLEN", "l"]));
    requests.extend(encode(&[
        "EVAL",
        "return redis.call('lpop', KEYS[1])",
        "1",
        "l",
    ]));
    requests.extend(encode(&["EXEC"]));
    c.send(&requests).await;
    for i in 0..100 {
        assert_eq!(c.read_reply().await, Reply::Int(i + 1));
    }
    assert_eq!(c.read_reply().await, Reply::ok());
    c.read_reply().await;
    c.read_reply().await;
    assert_eq!(
        c.read_reply().await,
        Reply::Array(vec![Reply::Int(100), Reply::bulk("0")])
    );
    killer.send(&encode(&["BLPOP", "empty", "5"])).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.q("RPUSH empty x").await, Reply::Int(1));
    assert_eq!(
        killer.read_reply().await,
        Reply::Array(vec![Reply::bulk("empty"), Reply::bulk("x")])
    );

    assert_eq!(
        c.q("CONFIG SET busy-reply-threshold 100").await,
        Reply::ok()
    );
    runner
        .send(&encode(&["EVAL", "while true do end", "0"]))
        .await;
    wait_busy(&mut c).await;
    assert!(c.q("GET k").await.err().starts_with("BUSY "));
    kill_busy(&mut killer, &mut runner).await;
    assert_eq!(runner.q("LLEN l").await, Reply::Int(99));
    assert_eq!(c.q("PING").await, Reply::Simple("PONG".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_script_that_wrote_cannot_be_killed() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    assert_eq!(
        c.q("CONFIG SET busy-reply-threshold 100").await,
        Reply::ok()
    );
    // Writes, then runs for about a second by the server's clock.
    let script = "redis.call('set','w','1') local t = redis.call('time') local start = t[1] * 1000000 + t[2] while true do t = redis.call('time') if t[1] * 1000000 + t[2] - start > 1000000 then break end end return 'done'";
    let mut runner = start_busy(&s, script).await;
    wait_busy(&mut c).await;
    assert_eq!(c.q("SCRIPT KILL").await.err(), "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    assert_eq!(runner.read_reply().await, Reply::bulk("done"));
    assert_eq!(c.q("GET w").await, Reply::bulk("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_waits_for_a_script_under_the_threshold() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let script = "local t = redis.call('time') local start = t[1] * 1000000 + t[2] while true do t = redis.call('time') if t[1] * 1000000 + t[2] - start > 300000 then break end end return redis.call('set','late','1')";
    let mut runner = start_busy(&s, script).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Default threshold (5 s): the GET waits for the script and sees its write.
    assert_eq!(c.q("GET late").await, Reply::bulk("1"));
    assert_eq!(runner.read_reply().await, Reply::ok());
}
