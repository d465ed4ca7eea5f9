//! `redoubt ctl import`: live migration from a running Redis into a Redoubt deployment.
//!
//! The importer attaches to the source as a replica does (`REPLCONF capa eof capa psync2`,
//! `PSYNC ? -1`, Redis's replication protocol), so the source needs nothing but network access
//! and its password. It receives the source's RDB (disk-based `$<len>` or diskless `$EOF:`
//! form), sends every key to the deployment's proxy as `RESTORE key expiry payload REPLACE
//! ABSTTL` (the proxy routes each key to its group, so any number of groups works), then
//! applies the source's command stream through the proxy in order, acknowledging offsets to
//! the source (`REPLCONF ACK`) as a replica does.
//!
//! Cutover (`--cutover`): once the initial copy is in, writes at the source are paused
//! (`CLIENT PAUSE <ms> WRITE`), the source's replication offset at that moment is read, and
//! the importer returns when everything up to it has been applied and acknowledged by the
//! proxy: every write the source acknowledged is then in the deployment, and clients can be
//! pointed at the proxy while the source stays paused.
//!
//! Transactions of the source (`MULTI` ... `EXEC` in its stream) are applied as their commands
//! one by one, since their keys may live in different groups: a reader of the deployment may see
//! part of one while the import runs.

use std::io::{BufWriter, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use bytes::{Bytes, BytesMut};
use redoubt_protocol::reply_decoder::{decode, ReplyDecoder};
use redoubt_protocol::request::encode_request_into;
use redoubt_protocol::{Reply, RequestLimits, RequestParser};

/// Flags of `redoubt ctl import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The running Redis to copy from (`HOST:PORT`).
    #[arg(long)]
    from: String,
    /// The source's password (`AUTH`).
    #[arg(long)]
    password: Option<String>,
    /// The source's ACL user, with `--password`.
    #[arg(long)]
    user: Option<String>,
    /// A proxy of the deployment to copy into (`HOST:PORT`).
    #[arg(long, default_value = "127.0.0.1:7000")]
    to: String,
    /// The deployment's password, when it has one.
    #[arg(long)]
    to_password: Option<String>,
    /// After the initial copy, pause writes at the source, apply everything it acknowledged,
    /// and return.
    #[arg(long)]
    cutover: bool,
    /// How long the source's writes stay paused at cutover, in ms (`CLIENT PAUSE`): the time
    /// left to point clients at the proxy.
    #[arg(long, default_value_t = 10_000)]
    pause_ms: u64,
}

/// How much of the source's stream may wait in memory while the initial copy is applied:
/// chunks of [`CHUNK`] bytes (256 MB in all); the source's own replica output limit applies
/// beyond that.
const QUEUED_CHUNKS: usize = 4096;
const CHUNK: usize = 64 * 1024;
/// Cutover pauses the source once the importer is at most this far behind it (bytes).
const CUTOVER_LAG: u64 = 1024 * 1024;
/// How often the importer acknowledges its offset to the source and prints its progress.
const TICK: Duration = Duration::from_secs(1);

/// Runs the import until it is interrupted, or until cutover with `--cutover`.
///
/// # Errors
/// The source refusing replication (authentication, `PSYNC`), a corrupt RDB, a connection lost
/// to either side, or a cutover that could not catch up within the pause.
pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let auth = auth_command(args.user.as_deref(), args.password.as_deref());
    let mut source = Conn::open(&args.from, auth.as_deref())
        .with_context(|| format!("cannot connect to the source at {}", args.from))?;
    source.call(&["REPLCONF", "capa", "eof", "capa", "psync2"])?;
    source.send(&["PSYNC", "?", "-1"])?;
    let line = source.line_skipping_keepalives()?;
    let mut words = line.split_ascii_whitespace();
    let (Some("+FULLRESYNC"), Some(replid), Some(offset)) =
        (words.next(), words.next(), words.next())
    else {
        bail!("the source refused to replicate: {line}");
    };
    let mut offset: u64 = offset.parse().context("the source sent a bad offset")?;
    println!(
        "import: {} sends its dataset (replication id {replid}, offset {offset})",
        args.from
    );
    let rdb = source.rdb()?;
    println!(
        "import: received {} bytes of RDB in {} ms",
        rdb.len(),
        started.elapsed().as_millis()
    );
    // A diskless source starts its command stream only after the first acknowledgement.
    source.send(&["REPLCONF", "ACK", &offset.to_string()])?;
    let (mut ack_socket, chunks) = source.into_stream()?;

    let to_auth = args
        .to_password
        .as_deref()
        .map(|p| vec!["AUTH".to_string(), p.to_string()]);
    let mut sink = Sink::open(&args.to, to_auth.as_deref())
        .with_context(|| format!("cannot connect to the proxy at {}", args.to))?;
    let now = unix_ms();
    let mut expired = 0u64;
    let contents = redoubt_node::transfer::read_rdb(&rdb, |key| {
        let mut digits = itoa::Buffer::new();
        match key.expire_at_ms {
            Some(at) if at <= now => expired += 1,
            Some(at) => {
                let at = digits.format(at).to_owned();
                sink.send(
                    key.db,
                    &[
                        b"RESTORE",
                        &key.key,
                        at.as_bytes(),
                        &key.payload,
                        b"REPLACE",
                        b"ABSTTL",
                    ],
                );
            }
            None => sink.send(
                key.db,
                &[b"RESTORE", &key.key, b"0", &key.payload, b"REPLACE"],
            ),
        }
    })
    .map_err(|why| anyhow!("the source's RDB is corrupt: {why}"))?;
    drop(rdb);
    for code in &contents.functions {
        sink.send(0, &[b"FUNCTION", b"LOAD", b"REPLACE", code]);
    }
    sink.settle()?;
    println!(
        "import: initial copy: {} keys restored ({} already expired, {} function libraries) in {} ms, {} errors",
        contents.keys - expired,
        expired,
        contents.functions.len(),
        started.elapsed().as_millis(),
        sink.errors(),
    );

    let mut control = Conn::open(&args.from, auth.as_deref())
        .with_context(|| format!("cannot connect to the source at {}", args.from))?;
    let mut stream = Stream::new();
    // Cutover starts once the stream has nearly caught up, so the pause only covers the rest.
    let mut cutover: Option<(u64, Instant)> = None;
    let mut lag = u64::MAX;
    let mut last_tick = Instant::now();
    loop {
        match chunks.recv_timeout(Duration::from_millis(20)) {
            Ok(chunk) => {
                stream.input.extend_from_slice(&chunk);
                offset += stream.apply(&mut sink, &mut ack_socket, offset)?;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => bail!("the source closed the replication link"),
        }
        sink.flush()?;
        if args.cutover && cutover.is_none() && lag <= CUTOVER_LAG {
            control.call(&["CLIENT", "PAUSE", &args.pause_ms.to_string(), "WRITE"])?;
            let target = source_offset(&mut control)?;
            println!(
                "import: cutover: writes at the source paused for {} ms at offset {target}",
                args.pause_ms
            );
            cutover = Some((target, Instant::now()));
        }
        if let Some((target, paused_at)) = cutover {
            if offset >= target {
                sink.settle()?;
                println!(
                    "import: cutover complete in {} ms ({} ms after the pause): every write the source acknowledged (offset {offset}) is in the deployment, {} commands applied, {} errors; point clients at {} (the source refuses writes for the rest of the pause)",
                    started.elapsed().as_millis(),
                    paused_at.elapsed().as_millis(),
                    stream.applied,
                    sink.errors(),
                    args.to
                );
                if sink.errors() > 0 {
                    bail!("{} commands failed at the proxy (see above)", sink.errors());
                }
                return Ok(());
            }
            if paused_at.elapsed() >= Duration::from_millis(args.pause_ms) {
                let _ = control.call(&["CLIENT", "UNPAUSE"]);
                bail!("cutover did not catch up within the pause ({} ms): the source takes writes again", args.pause_ms);
            }
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            write_command(&mut ack_socket, &["REPLCONF", "ACK", &offset.to_string()])?;
            let source_at = source_offset(&mut control)?;
            lag = source_at.saturating_sub(offset);
            println!(
                "import: offset {offset} (source at {source_at}, lag {lag} bytes), {} commands applied, {} errors",
                stream.applied,
                sink.errors()
            );
        }
    }
}

/// The `AUTH` command for the source, if it needs one.
fn auth_command(user: Option<&str>, password: Option<&str>) -> Option<Vec<String>> {
    let password = password?;
    let mut auth = vec!["AUTH".to_string()];
    auth.extend(user.map(str::to_string));
    auth.push(password.to_string());
    Some(auth)
}

/// `master_repl_offset` from the source's `INFO replication`.
fn source_offset(control: &mut Conn) -> anyhow::Result<u64> {
    let reply = control.call(&["INFO", "replication"])?;
    let Reply::Bulk(text) = reply else {
        bail!("the source answered INFO with {reply:?}");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("master_repl_offset:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow!("the source's INFO has no master_repl_offset"))
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn write_command(socket: &mut TcpStream, args: &[&str]) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    encode_request_into(&mut out, &refs);
    socket.write_all(&out)
}

/// A plain client connection to the source, for the handshake and `INFO`.
struct Conn {
    socket: TcpStream,
    input: BytesMut,
    decoder: ReplyDecoder,
}

impl Conn {
    fn open(addr: &str, auth: Option<&[String]>) -> anyhow::Result<Conn> {
        let socket = TcpStream::connect(addr)?;
        socket.set_nodelay(true)?;
        socket.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut conn = Conn {
            socket,
            input: BytesMut::new(),
            decoder: ReplyDecoder::new(),
        };
        if let Some(auth) = auth {
            let args: Vec<&str> = auth.iter().map(String::as_str).collect();
            conn.call(&args).context("AUTH failed")?;
        }
        Ok(conn)
    }

    fn send(&mut self, args: &[&str]) -> anyhow::Result<()> {
        write_command(&mut self.socket, args)?;
        Ok(())
    }

    /// Sends `args` and reads the reply; an error reply is an error.
    fn call(&mut self, args: &[&str]) -> anyhow::Result<Reply> {
        self.send(args)?;
        loop {
            if let Some(frame) = self
                .decoder
                .next(&mut self.input)
                .map_err(|_| anyhow!("malformed reply"))?
            {
                let reply = decode(&frame).map_err(|_| anyhow!("malformed reply"))?;
                if let Reply::Error(text) = &reply {
                    bail!("{} answered {text}", args[0]);
                }
                return Ok(reply);
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> anyhow::Result<()> {
        let mut buf = [0u8; CHUNK];
        let n = self.socket.read(&mut buf)?;
        if n == 0 {
            bail!("the source closed the connection");
        }
        self.input.extend_from_slice(&buf[..n]);
        Ok(())
    }

    /// The next line, after the bare newlines a primary sends while it prepares the RDB.
    fn line_skipping_keepalives(&mut self) -> anyhow::Result<String> {
        loop {
            while self.input.first() == Some(&b'\n') {
                let _ = self.input.split_to(1);
            }
            if let Some(end) = self.input.windows(2).position(|w| w == b"\r\n") {
                let line = self.input.split_to(end + 2);
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if self.input.len() > 64 * 1024 {
                bail!("the source sent an over-long line");
            }
            self.fill()?;
        }
    }

    /// The RDB payload: `$<len>\r\n<bytes>`, or `$EOF:<40 bytes>\r\n<bytes><the same 40 bytes>`.
    fn rdb(&mut self) -> anyhow::Result<Bytes> {
        let header = self.line_skipping_keepalives()?;
        let Some(size) = header.strip_prefix('$') else {
            bail!("the source sent {header:?} instead of its RDB");
        };
        if let Some(mark) = size.strip_prefix("EOF:") {
            let mark = mark.as_bytes().to_vec();
            if mark.len() != 40 {
                bail!("the source sent a bad end mark");
            }
            // Nothing follows the mark before the first acknowledgement.
            while !self.input.ends_with(&mark) {
                self.fill()?;
            }
            let len = self.input.len() - mark.len();
            let rdb = self.input.split_to(len).freeze();
            let _ = self.input.split_to(mark.len());
            return Ok(rdb);
        }
        let len: usize = size.parse().context("the source sent a bad RDB length")?;
        while self.input.len() < len {
            self.input.reserve(len - self.input.len());
            self.fill()?;
        }
        Ok(self.input.split_to(len).freeze())
    }

    /// Hands the link over to a reader thread that queues the command stream in chunks;
    /// returns the socket to write acknowledgements on.
    fn into_stream(self) -> anyhow::Result<(TcpStream, Receiver<Vec<u8>>)> {
        let (tx, rx) = sync_channel(QUEUED_CHUNKS);
        let writer = self.socket.try_clone()?;
        let mut socket = self.socket;
        socket.set_read_timeout(None)?;
        let leftover = self.input.to_vec();
        std::thread::spawn(move || {
            if !leftover.is_empty() && tx.send(leftover).is_err() {
                return;
            }
            let mut buf = vec![0u8; CHUNK];
            while let Ok(n) = socket.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        Ok((writer, rx))
    }
}

/// The source's command stream: parsed, filtered and applied through the proxy.
struct Stream {
    input: BytesMut,
    parser: RequestParser,
    db: u32,
    applied: u64,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            input: BytesMut::new(),
            parser: RequestParser::new(RequestLimits {
                max_bulk_len: 512 * 1024 * 1024,
                max_query_buffer: usize::MAX / 4,
            }),
            db: 0,
            applied: 0,
        }
    }

    /// Applies every whole command in the input; returns how many stream bytes they took.
    fn apply(&mut self, sink: &mut Sink, ack: &mut TcpStream, offset: u64) -> anyhow::Result<u64> {
        let mut taken = 0u64;
        loop {
            let before = self.input.len();
            let Some(args) = self
                .parser
                .parse(&mut self.input)
                .map_err(|e| anyhow!("the source's stream is malformed: {e}"))?
            else {
                return Ok(taken);
            };
            taken += (before - self.input.len()) as u64;
            let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
            match name.as_str() {
                "ping" | "multi" | "exec" => {}
                "replconf" => {
                    if args
                        .get(1)
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"))
                    {
                        write_command(ack, &["REPLCONF", "ACK", &(offset + taken).to_string()])?;
                    }
                }
                "select" => {
                    self.db = std::str::from_utf8(args.get(1).map_or(&b""[..], |a| &a[..]))
                        .ok()
                        .and_then(|d| d.parse().ok())
                        .ok_or_else(|| anyhow!("the source selected a bad database"))?;
                }
                _ => {
                    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                    sink.send(self.db, &refs);
                    self.applied += 1;
                }
            }
        }
    }
}

/// The pipelined connection to the proxy: commands go out in order; a reader thread counts
/// the replies and reports the errors.
struct Sink {
    writer: BufWriter<TcpStream>,
    out: BytesMut,
    db: u32,
    sent: u64,
    acked: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    failed: Option<std::io::Error>,
}

impl Sink {
    fn open(addr: &str, auth: Option<&[String]>) -> anyhow::Result<Sink> {
        let socket = TcpStream::connect(addr)?;
        socket.set_nodelay(true)?;
        let mut reader = socket.try_clone()?;
        let acked = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let (acked_by_reader, errors_by_reader) = (acked.clone(), errors.clone());
        std::thread::spawn(move || {
            let mut decoder = ReplyDecoder::new();
            let mut input = BytesMut::new();
            let mut buf = vec![0u8; CHUNK];
            loop {
                while let Ok(Some(frame)) = decoder.next(&mut input) {
                    if frame.first() == Some(&b'-') {
                        let n = errors_by_reader.fetch_add(1, Ordering::Relaxed);
                        if n < 20 {
                            let text = String::from_utf8_lossy(&frame[1..]);
                            eprintln!("import: the proxy answered: {}", text.trim_end());
                        }
                    }
                    acked_by_reader.fetch_add(1, Ordering::Release);
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => input.extend_from_slice(&buf[..n]),
                }
            }
        });
        let mut sink = Sink {
            writer: BufWriter::with_capacity(CHUNK, socket),
            out: BytesMut::new(),
            db: 0,
            sent: 0,
            acked,
            errors,
            failed: None,
        };
        if let Some(auth) = auth {
            let refs: Vec<&[u8]> = auth.iter().map(|a| a.as_bytes()).collect();
            sink.send(0, &refs);
            sink.settle()?;
            if sink.errors() > 0 {
                bail!("the proxy refused the password");
            }
        }
        Ok(sink)
    }

    /// Queues `args` to run in database `db`.
    fn send(&mut self, db: u32, args: &[&[u8]]) {
        if db != self.db {
            let mut digits = itoa::Buffer::new();
            self.push(&[b"SELECT", digits.format(db).as_bytes()]);
            self.db = db;
        }
        self.push(args);
    }

    fn push(&mut self, args: &[&[u8]]) {
        self.out.clear();
        encode_request_into(&mut self.out, args);
        self.sent += 1;
        if self.failed.is_none() {
            if let Err(err) = self.writer.write_all(&self.out) {
                self.failed = Some(err);
            }
        }
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(err) = self.failed.take() {
            return Err(err).context("the connection to the proxy failed");
        }
        self.writer
            .flush()
            .context("the connection to the proxy failed")
    }

    /// Flushes and waits until the proxy answered everything sent.
    fn settle(&mut self) -> anyhow::Result<()> {
        self.flush()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.acked.load(Ordering::Acquire) < self.sent {
            if Instant::now() > deadline {
                bail!("the proxy stopped answering");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}
