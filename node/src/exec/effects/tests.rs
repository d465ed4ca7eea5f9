//! The rewrite rules, checked through dispatch: each request runs on a primary with a
//! backlog, and the test reads back what it streamed to the standbys.

use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::Reply;

use crate::client::{ClientHandle, Session};
use crate::cmd::Ctx;
use crate::config::Config;
use crate::state::NodeState;

/// The batch clock of every request: effects that carry absolute times are exact.
const NOW_MS: u64 = 1_700_000_000_000;

struct Primary {
    node: Arc<NodeState>,
    session: Session,
}

impl Primary {
    fn new() -> Primary {
        let node = NodeState::new(Config::default());
        node.store.lock().repl.ensure_backlog();
        let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let handle = Arc::new(ClientHandle::new(1, nowhere, nowhere));
        Primary {
            node,
            session: Session::new(handle, true),
        }
    }

    /// Runs `line` (space-separated words) → its reply and the commands it streamed, each as
    /// its words (a `SELECT` of the stream's database left out).
    fn run(&mut self, line: &str) -> (Reply, Vec<String>) {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        let mut store = self.node.store.lock();
        let before = store.repl.offset;
        let mut ctx = Ctx {
            store: &mut store,
            session: &mut self.session,
            node: &self.node,
            now_ms: NOW_MS,
            command: None,
        };
        let (reply, _) = crate::exec::execute(&mut ctx, &args);
        let stream = store
            .repl
            .backlog
            .as_ref()
            .and_then(|backlog| backlog.read_from(before + 1, usize::MAX))
            .expect("the backlog holds what was just streamed");
        let commands = decode(&stream)
            .into_iter()
            .filter(|words| !words.starts_with("SELECT "))
            .collect();
        (reply, commands)
    }

    /// Runs `line` and returns what it streamed.
    fn streamed(&mut self, line: &str) -> Vec<String> {
        self.run(line).1
    }
}

/// Decodes a stream of RESP multibulk commands into space-joined words.
fn decode(mut stream: &[u8]) -> Vec<String> {
    fn line(stream: &mut &[u8]) -> String {
        let end = stream
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a line");
        let text = String::from_utf8_lossy(&stream[..end]).into_owned();
        *stream = &stream[end + 2..];
        text
    }
    let mut commands = Vec::new();
    while !stream.is_empty() {
        let header = line(&mut stream);
        let count: usize = header[1..].parse().expect("a multibulk header");
        let mut words = Vec::new();
        for _ in 0..count {
            let len: usize = line(&mut stream)[1..].parse().expect("a bulk header");
            words.push(String::from_utf8_lossy(&stream[..len]).into_owned());
            stream = &stream[len + 2..];
        }
        commands.push(words.join(" "));
    }
    commands
}

fn at(ms_from_now: u64) -> String {
    (NOW_MS + ms_from_now).to_string()
}

#[test]
fn writes_that_reproduce_themselves_stream_as_received() {
    let mut p = Primary::new();
    assert_eq!(p.streamed("SET k v"), ["SET k v"]);
    assert_eq!(p.streamed("RPUSH l a b c"), ["RPUSH l a b c"]);
    assert_eq!(p.streamed("HSET h f 1"), ["HSET h f 1"]);
    assert_eq!(p.streamed("SADD s x"), ["SADD s x"]);
    assert_eq!(p.streamed("INCRBY n 5"), ["INCRBY n 5"]);
    assert_eq!(
        p.streamed("PEXPIREAT k 1800000000000"),
        ["PEXPIREAT k 1800000000000"]
    );
}

#[test]
fn reads_and_writes_that_change_nothing_do_not_stream() {
    let mut p = Primary::new();
    assert!(p.streamed("GET k").is_empty());
    assert!(p.streamed("DEL nothing").is_empty());
    assert!(p.streamed("SREM s absent").is_empty());
    assert!(p.streamed("EXPIRE absent 10").is_empty());
}

#[test]
fn relative_expiry_becomes_absolute() {
    let mut p = Primary::new();
    assert_eq!(
        p.streamed("SET k v EX 10"),
        [format!("SET k v PXAT {}", at(10_000))]
    );
    assert_eq!(
        p.streamed("SET k v PX 250"),
        [format!("SET k v PXAT {}", at(250))]
    );
    assert_eq!(
        p.streamed("SETEX k 7 v"),
        [format!("SET k v PXAT {}", at(7_000))]
    );
    assert_eq!(
        p.streamed("PSETEX k 70 v"),
        [format!("SET k v PXAT {}", at(70))]
    );
    assert_eq!(
        p.streamed("EXPIRE k 100"),
        [format!("PEXPIREAT k {}", at(100_000))]
    );
    assert_eq!(
        p.streamed("PEXPIRE k 100"),
        [format!("PEXPIREAT k {}", at(100))]
    );
    assert_eq!(
        p.streamed("GETEX k EX 5"),
        [format!("PEXPIREAT k {}", at(5_000))]
    );
    assert_eq!(p.streamed("GETEX k PERSIST"), ["PERSIST k"]);
    // A SET without expiry streams a plain SET even when the request was SETEX-free.
    assert_eq!(p.streamed("SET k v"), ["SET k v"]);
}

#[test]
fn expiry_in_the_past_deletes() {
    let mut p = Primary::new();
    p.run("SET k v");
    assert_eq!(p.streamed("EXPIREAT k 1"), ["DEL k"]);
    p.run("SET k v");
    assert_eq!(p.streamed("PEXPIRE k -5"), ["DEL k"]);
}

#[test]
fn float_arithmetic_streams_its_result() {
    let mut p = Primary::new();
    assert_eq!(p.streamed("INCRBYFLOAT f 1.5"), ["SET f 1.5 KEEPTTL"]);
    assert_eq!(p.streamed("INCRBYFLOAT f 0.25"), ["SET f 1.75 KEEPTTL"]);
    assert_eq!(p.streamed("HINCRBYFLOAT h f 2.5"), ["HSET h f 2.5"]);
}

#[test]
fn getdel_becomes_del() {
    let mut p = Primary::new();
    p.run("SET k v");
    assert_eq!(p.streamed("GETDEL k"), ["DEL k"]);
}

#[test]
fn spop_becomes_srem_of_the_chosen_members() {
    let mut p = Primary::new();
    p.run("SADD s a b c");
    let (reply, streamed) = p.run("SPOP s");
    let Reply::Bulk(member) = reply else {
        panic!("a member: {reply:?}");
    };
    assert_eq!(
        streamed,
        [format!("SREM s {}", String::from_utf8_lossy(&member))]
    );
    let (reply, streamed) = p.run("SPOP s 5");
    let (Reply::Array(members) | Reply::Set(members)) = reply else {
        panic!("members: {reply:?}");
    };
    assert_eq!(members.len(), 2);
    let mut expected = vec!["SREM".to_string(), "s".to_string()];
    expected.extend(members.iter().map(|m| match m {
        Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("a member: {other:?}"),
    }));
    assert_eq!(streamed, [expected.join(" ")]);
}

#[test]
fn blocking_pops_served_at_once_become_plain_pops() {
    let mut p = Primary::new();
    p.run("RPUSH l a b c d e f");
    assert_eq!(p.streamed("BLPOP none l 0"), ["LPOP l"]);
    assert_eq!(p.streamed("BRPOP l 0"), ["RPOP l"]);
    assert_eq!(
        p.streamed("BLMOVE l m LEFT RIGHT 0"),
        ["LMOVE l m LEFT RIGHT"]
    );
    assert_eq!(p.streamed("BRPOPLPUSH l m 0"), ["RPOPLPUSH l m"]);
    assert_eq!(p.streamed("BLMPOP 0 2 none l RIGHT COUNT 5"), ["RPOP l 2"]);
    p.run("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(p.streamed("BZPOPMIN z 0"), ["ZPOPMIN z"]);
    assert_eq!(p.streamed("BZPOPMAX z 0"), ["ZPOPMAX z"]);
    assert_eq!(p.streamed("BZMPOP 0 1 z MIN COUNT 9"), ["ZPOPMIN z 2"]);
}
