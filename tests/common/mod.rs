//! End-to-end test harness: starts a server process on an ephemeral port and talks to it through the
//! `redis` crate or raw RESP bytes.
//!
//! By default the server under test is the real binary, `redoubt node --port 0 [extra args]`; it
//! prints `listening on 127.0.0.1:PORT` on stdout once it accepts connections.
//!
//! Differential checking: with `REDOUBT_TEST_SERVER=redis-server` in the environment the harness
//! starts `redis-server --port <free port> --save '' --appendonly no [extra args]` instead, so the very
//! same tests run against real Redis and prove that their expectations are Redis's behaviour:
//!
//! ```text
//! REDOUBT_TEST_SERVER=redis-server cargo test --test node
//! ```
//!
//! Extra arguments are passed through unchanged, so tests only use flags both servers understand
//! (`--requirepass PW`). The server's stderr (and redis-server's log) is kept and printed when a test
//! panics, to help diagnose failures.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a server may take to start accepting connections.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// How long a single raw read may wait for a reply.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How many lines of the server's log are kept for a failure report.
const LOG_LINES: usize = 200;

/// Which server binary the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `redoubt node`, the binary built by this workspace.
    Redoubt,
    /// A real `redis-server` from `PATH` (`REDOUBT_TEST_SERVER=redis-server`).
    RedisServer,
}

/// The target chosen by `REDOUBT_TEST_SERVER`.
pub fn target() -> Target {
    match std::env::var("REDOUBT_TEST_SERVER") {
        Err(_) => Target::Redoubt,
        Ok(v) if v.is_empty() || v == "redoubt" => Target::Redoubt,
        Ok(v) if v == "redis-server" => Target::RedisServer,
        Ok(v) => panic!("REDOUBT_TEST_SERVER={v:?}: expected `redis-server` or unset"),
    }
}

/// A directory for this test process's files, created on first use.
pub fn test_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("redoubt-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// A running server process, killed when dropped.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    password: Option<String>,
    target: Target,
    log: Arc<Mutex<VecDeque<String>>>,
}

fn keep_log(log: &Arc<Mutex<VecDeque<String>>>, reader: impl Read + Send + 'static) {
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let mut log = log.lock().unwrap();
            if log.len() == LOG_LINES {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}

impl Server {
    /// Starts a server on an ephemeral port with `extra_args` and waits until it accepts connections.
    pub fn start(extra_args: &[&str]) -> Server {
        let password = extra_args
            .iter()
            .position(|a| *a == "--requirepass")
            .map(|i| extra_args[i + 1].to_string());
        match target() {
            Target::Redoubt => Self::start_redoubt(extra_args, password),
            Target::RedisServer => Self::start_redis(extra_args, password),
        }
    }

    fn start_redoubt(extra_args: &[&str], password: Option<String>) -> Server {
        let mut args = vec!["node", "--port", "0"];
        args.extend_from_slice(extra_args);
        Self::spawn_redoubt(&args, password)
    }

    /// Starts `redoubt <args>` (any subcommand) and waits for its `listening on` line. Nodes
    /// keep their files (the epoch file) in a directory of this test process.
    pub fn spawn_redoubt(args: &[&str], password: Option<String>) -> Server {
        Self::spawn_redoubt_in(None, args, password)
    }

    /// Like [`Server::spawn_redoubt`], inside the network namespace `netns` when given
    /// (`ip netns exec NETNS redoubt ...`, which execs: the child is redoubt itself).
    pub fn spawn_redoubt_in(
        netns: Option<&str>,
        args: &[&str],
        password: Option<String>,
    ) -> Server {
        let what = args.first().copied().unwrap_or("node");
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if what == "node" && !args.iter().any(|a| a == "--dir") {
            args.push("--dir".into());
            args.push(test_dir().display().to_string());
        }
        let mut command = match netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_redoubt")]);
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_redoubt")),
        };
        let mut child = command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn redoubt");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        keep_log(&log, child.stderr.take().unwrap());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let out_log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr);
                    }
                }
                out_log
                    .lock()
                    .unwrap()
                    .push_back(format!("[stdout] {line}"));
            }
        });
        let mut server = Server {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            password,
            target: Target::Redoubt,
            log,
        };
        match rx.recv_timeout(START_DEADLINE) {
            Ok(addr) => {
                server.addr = addr
                    .parse()
                    .unwrap_or_else(|e| panic!("bad listening address {addr:?}: {e}"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "redoubt {what} printed no `listening on` line within {START_DEADLINE:?}\n{}",
                server.log_text()
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait().ok();
                panic!(
                    "redoubt {what} closed stdout without a `listening on` line \
                     (exit status: {status:?})\n{}",
                    server.log_text()
                );
            }
        }
        server
    }

    fn start_redis(extra_args: &[&str], password: Option<String>) -> Server {
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a free port")
                .port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn redis-server (is it installed?)");
            let log = Arc::new(Mutex::new(VecDeque::new()));
            keep_log(&log, child.stdout.take().unwrap());
            keep_log(&log, child.stderr.take().unwrap());
            let mut server = Server {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                password: password.clone(),
                target: Target::RedisServer,
                log,
            };
            let deadline = Instant::now() + START_DEADLINE;
            loop {
                if std::net::TcpStream::connect(server.addr).is_ok() {
                    return server;
                }
                if server.child.try_wait().ok().flatten().is_some() {
                    break; // port taken meanwhile, most likely: try another
                }
                if Instant::now() > deadline {
                    panic!("redis-server did not start\n{}", server.log_text());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("redis-server failed to start five times");
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Which server this is.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The password given with `--requirepass`, if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// A `redis` crate client for this server (authenticating when a password is set).
    pub fn client(&self) -> redis::Client {
        let url = match &self.password {
            Some(pw) => format!("redis://:{pw}@{}/", self.addr),
            None => format!("redis://{}/", self.addr),
        };
        redis::Client::open(url).expect("redis client")
    }

    /// A multiplexed async connection through the `redis` crate.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect with the redis crate")
    }

    /// A raw TCP connection (no handshake, no AUTH).
    pub async fn raw(&self) -> Raw {
        Raw::connect(self.addr).await
    }

    /// A raw TCP connection that has authenticated with AUTH when the server has a password.
    pub async fn raw_authed(&self) -> Raw {
        let mut raw = self.raw().await;
        if let Some(pw) = &self.password {
            assert_eq!(raw.cmd(&["AUTH", pw]).await, Reply::ok());
        }
        raw
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` to the process (e.g. SIGSTOP / SIGCONT). After SIGSTOP, waits (up to
    /// 5 s) until every thread of the process is stopped: the stop reaches each thread
    /// asynchronously, and one still running could answer a request sent right after.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), signal)
            .expect("signal the server");
        if signal == nix::sys::signal::Signal::SIGSTOP {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !all_threads_stopped(self.pid()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The kept tail of the server's log.
    pub fn log_text(&self) -> String {
        let log = self.log.lock().unwrap();
        let mut text = String::new();
        for line in log.iter() {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- {:?} server log (last {LOG_LINES} lines) ----\n{}",
                self.target,
                self.log_text()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One RESP2/RESP3 reply, as received.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+...`
    Simple(String),
    /// `-...` or `!len` (blob error).
    Error(String),
    /// `:n`
    Int(i64),
    /// `$len` bulk string.
    Bulk(Vec<u8>),
    /// RESP2 null bulk `$-1` or null array `*-1`.
    Nil,
    /// RESP3 null `_`.
    Null,
    /// `*n`
    Array(Vec<Reply>),
    /// `,` double, kept as text.
    Double(String),
    /// `#t` / `#f`
    Bool(bool),
    /// `=len` verbatim string: format and text.
    Verbatim(String, Vec<u8>),
    /// `(` big number, kept as text.
    BigNumber(String),
    /// `%n` map.
    Map(Vec<(Reply, Reply)>),
    /// `~n` set.
    Set(Vec<Reply>),
    /// `>n` push.
    Push(Vec<Reply>),
}

impl Reply {
    /// `+OK`
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }

    /// A bulk string.
    pub fn bulk(s: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(s.as_ref().to_vec())
    }

    /// The integer, or panics.
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("expected an integer reply, got {other}"),
        }
    }

    /// The bytes of a bulk, simple or verbatim string, or panics.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(b) | Reply::Verbatim(_, b) => b.clone(),
            Reply::Simple(s) => s.as_bytes().to_vec(),
            other => panic!("expected a string reply, got {other}"),
        }
    }

    /// A string reply as UTF-8 text, or panics.
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes()).expect("utf-8 reply")
    }

    /// The elements of an array (or set/push), or panics.
    pub fn array(&self) -> &[Reply] {
        match self {
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v,
            other => panic!("expected an array reply, got {other}"),
        }
    }

    /// The error text, or panics.
    pub fn err(&self) -> &str {
        match self {
            Reply::Error(e) => e,
            other => panic!("expected an error reply, got {other}"),
        }
    }

    /// Whether this is a RESP2 or RESP3 null.
    pub fn is_null(&self) -> bool {
        matches!(self, Reply::Nil | Reply::Null)
    }

    /// Key/value pairs of a RESP3 map or of a RESP2 flat array of pairs.
    pub fn pairs(&self) -> Vec<(Reply, Reply)> {
        match self {
            Reply::Map(m) => m.clone(),
            Reply::Array(v) => {
                assert!(v.len() % 2 == 0, "odd-length array is not a map: {self}");
                v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
            }
            other => panic!("expected a map reply, got {other}"),
        }
    }

    /// The value under a string key in a map (RESP3 map or RESP2 flat array).
    pub fn get(&self, key: &str) -> Option<Reply> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| matches!(k, Reply::Bulk(_) | Reply::Simple(_)) && k.text() == key)
            .map(|(_, v)| v)
    }
}

fn fmt_bytes(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    f.write_str("\"")?;
    for &c in b {
        match c {
            b'"' => f.write_str("\\\"")?,
            b'\\' => f.write_str("\\\\")?,
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            0x20..=0x7e => write!(f, "{}", c as char)?,
            _ => write!(f, "\\x{c:02x}")?,
        }
    }
    f.write_str("\"")
}

fn fmt_list(f: &mut fmt::Formatter<'_>, open: &str, v: &[Reply]) -> fmt::Result {
    f.write_str(open)?;
    for (i, r) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{r}")?;
    }
    f.write_str("]")
}

/// Compact rendering used by the semantics tables: `+OK`, `-ERR ...`, `:1`, `"bulk"`, `nil` (RESP2
/// null), `_` (RESP3 null), `[a, b]`, `{k: v}`, `~[...]` (set), `,1.5`, `#t`.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "+{s}"),
            Reply::Error(e) => write!(f, "-{e}"),
            Reply::Int(n) => write!(f, ":{n}"),
            Reply::Bulk(b) => fmt_bytes(f, b),
            Reply::Nil => f.write_str("nil"),
            Reply::Null => f.write_str("_"),
            Reply::Array(v) => fmt_list(f, "[", v),
            Reply::Set(v) => fmt_list(f, "~[", v),
            Reply::Push(v) => fmt_list(f, ">[", v),
            Reply::Double(d) => write!(f, ",{d}"),
            Reply::Bool(b) => f.write_str(if *b { "#t" } else { "#f" }),
            Reply::Verbatim(fmt, b) => {
                write!(f, "={fmt}:")?;
                fmt_bytes(f, b)
            }
            Reply::BigNumber(n) => write!(f, "({n}"),
            Reply::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

fn parse_int(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad integer {:?}", String::from_utf8_lossy(line)))
}

/// Parses one reply from the front of `buf`: `Ok(None)` if incomplete, else the reply and its length.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    if buf.is_empty() {
        return Ok(None);
    }
    let Some(eol) = find_crlf(buf) else {
        return Ok(None);
    };
    let line = &buf[1..eol];
    let mut pos = eol + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let reply = match buf[0] {
        b'+' => Reply::Simple(text()),
        b'-' => Reply::Error(text()),
        b':' => Reply::Int(parse_int(line)?),
        b'_' => Reply::Null,
        b',' => Reply::Double(text()),
        b'(' => Reply::BigNumber(text()),
        b'#' => match line {
            b"t" => Reply::Bool(true),
            b"f" => Reply::Bool(false),
            _ => return Err(format!("bad boolean {:?}", text())),
        },
        b'$' | b'=' | b'!' => {
            let len = parse_int(line)?;
            if len < 0 {
                return Ok(Some((Reply::Nil, pos)));
            }
            let len = len as usize;
            if buf.len() < pos + len + 2 {
                return Ok(None);
            }
            let data = buf[pos..pos + len].to_vec();
            if &buf[pos + len..pos + len + 2] != b"\r\n" {
                return Err("bulk string not terminated by CRLF".into());
            }
            pos += len + 2;
            match buf[0] {
                b'$' => Reply::Bulk(data),
                b'!' => Reply::Error(String::from_utf8_lossy(&data).into_owned()),
                _ => {
                    if data.len() < 4 || data[3] != b':' {
                        return Err("bad verbatim string".into());
                    }
                    let fmt = String::from_utf8_lossy(&data[..3]).into_owned();
                    Reply::Verbatim(fmt, data[4..].to_vec())
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_int(line)?;
            if n < 0 {
                return Ok(Some((Reply::Nil, pos)));
            }
            let count = if matches!(buf[0], b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut items = Vec::with_capacity(count.min(1 << 16) as usize);
            for _ in 0..count {
                match parse_reply(&buf[pos..])? {
                    None => return Ok(None),
                    Some((r, used)) => {
                        items.push(r);
                        pos += used;
                    }
                }
            }
            match buf[0] {
                b'*' => Reply::Array(items),
                b'~' => Reply::Set(items),
                b'>' => Reply::Push(items),
                b'%' => {
                    let mut m = Vec::new();
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        m.push((k, v));
                    }
                    Reply::Map(m)
                }
                _ => {
                    // An attribute: skip it and return the reply it annotates.
                    return match parse_reply(&buf[pos..])? {
                        None => Ok(None),
                        Some((r, used)) => Ok(Some((r, pos + used))),
                    };
                }
            }
        }
        other => return Err(format!("unknown RESP type byte {:?}", other as char)),
    };
    Ok(Some((reply, pos)))
}

/// Splits a command line into arguments: whitespace separates, `"..."` groups with the escapes
/// `\" \\ \n \r \t \xHH`, and `'...'` groups literally. `""` is an empty argument.
pub fn split_args(line: &str) -> Vec<Vec<u8>> {
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let mut arg = Vec::new();
        match b[i] {
            b'"' => {
                i += 1;
                while b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                        match b[i] {
                            b'n' => arg.push(b'\n'),
                            b'r' => arg.push(b'\r'),
                            b't' => arg.push(b'\t'),
                            b'x' => {
                                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                                arg.push(u8::from_str_radix(hex, 16).unwrap());
                                i += 2;
                            }
                            c => arg.push(c),
                        }
                    } else {
                        arg.push(b[i]);
                    }
                    i += 1;
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                while b[i] != b'\'' {
                    arg.push(b[i]);
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    arg.push(b[i]);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
    args
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A raw TCP connection speaking RESP by hand.
pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
}

impl Raw {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("raw connect");
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The local (client-side) address of this connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Writes bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(READ_TIMEOUT, self.stream.write_all(bytes))
            .await
            .unwrap_or_else(|_| {
                panic!("server stopped reading: write blocked for {READ_TIMEOUT:?}")
            })
            .expect("raw write");
    }

    /// Reads more bytes; returns false at EOF (or on a connection reset).
    async fn fill(&mut self) -> bool {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        // Read straight into the heap buffer: a stack array would bloat every future around it.
        self.buf.reserve(64 * 1024);
        let n = tokio::time::timeout(READ_TIMEOUT, self.stream.read_buf(&mut self.buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no reply within {READ_TIMEOUT:?}; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf[self.start..])
                )
            })
            .unwrap_or(0);
        n > 0
    }

    /// Reads one reply and returns its exact bytes.
    pub async fn read_raw(&mut self) -> Vec<u8> {
        loop {
            match parse_reply(&self.buf[self.start..]) {
                Ok(Some((_, used))) => {
                    let bytes = self.buf[self.start..self.start + used].to_vec();
                    self.start += used;
                    return bytes;
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "malformed reply ({e}): {:?}",
                    String::from_utf8_lossy(&self.buf[self.start..])
                ),
            }
            if !self.fill().await {
                panic!(
                    "connection closed; unparsed bytes: {:?}",
                    String::from_utf8_lossy(&self.buf[self.start..])
                );
            }
        }
    }

    /// Reads one reply.
    pub async fn read_reply(&mut self) -> Reply {
        let raw = self.read_raw().await;
        parse_reply(&raw).unwrap().unwrap().0
    }

    /// Reads one reply, or `None` if the server closes the connection first.
    pub async fn try_read_reply(&mut self) -> Option<Reply> {
        loop {
            if let Ok(Some((r, used))) = parse_reply(&self.buf[self.start..]) {
                self.start += used;
                return Some(r);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads everything until the server closes the connection (panics after the read timeout).
    pub async fn read_until_closed(&mut self) -> Vec<u8> {
        while self.fill().await {}
        let rest = self.buf[self.start..].to_vec();
        self.start = self.buf.len();
        rest
    }

    /// Sends a command given as arguments and reads its reply.
    pub async fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(&encode(args)).await;
        self.read_reply().await
    }

    /// Sends a command written as a line (see [`split_args`]) and reads its reply.
    pub async fn q(&mut self, line: &str) -> Reply {
        self.cmd(&split_args(line)).await
    }

    /// Runs `line` and returns its integer reply.
    pub async fn int(&mut self, line: &str) -> i64 {
        let r = self.q(line).await;
        match r {
            Reply::Int(n) => n,
            other => panic!("{line}: expected an integer, got {other}"),
        }
    }

    /// Runs `line` and returns its error text.
    pub async fn err(&mut self, line: &str) -> String {
        match self.q(line).await {
            Reply::Error(e) => e,
            other => panic!("{line}: expected an error, got {other}"),
        }
    }

    /// Runs each `(command line, expected rendering)` row in order and checks the replies. Every
    /// row runs; the panic lists all mismatches (the first one may explain the later ones).
    pub async fn table(&mut self, rows: &[(&str, &str)]) {
        let mut failures = Vec::new();
        for (line, want) in rows {
            let got = self.q(line).await.to_string();
            if &got != want {
                failures.push(format!("  `{line}`\n     got: {got}\n    want: {want}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} replies differ:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        );
    }
}

/// Polls `check` every 10 ms until it returns true or `deadline` passes; returns whether it did.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Parses `INFO` text into `(field, value)` pairs (comments and blank lines skipped).
pub fn info_fields(info: &str) -> Vec<(String, String)> {
    info.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

/// The value of `field` in `INFO` text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info_fields(info)
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
}

/// Parses `a=1,b=2` (as in `db0:keys=1,expires=0,avg_ttl=0`) into pairs.
pub fn kv_list(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether every thread of process `pid` is in the stopped state (`T` in
/// `/proc/PID/task/TID/stat`, the field after the command name).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).map_or(true, |stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_some_and(|state| state == 'T' || state == 't')
        })
    })
}
