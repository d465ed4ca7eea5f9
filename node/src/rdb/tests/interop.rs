//! Checks against a running redis-server (7.0 here), run by hand:
//!
//! ```text
//! RDB_OUT=/tmp/x.rdb cargo test -p redoubt-node --lib rdb::tests::interop::write_file -- --ignored
//! redis-check-rdb /tmp/x.rdb; redis-server --dir /tmp --dbfilename x.rdb --port 7777 &
//! REDIS_PORT=7777 cargo test ... interop::redis_loaded_our_file -- --ignored
//! REDIS_PORT=7777 cargo test ... interop::dump_and_restore_both_ways -- --ignored
//! REDIS_PORT=7777 RDB_IN=/path/dump.rdb cargo test ... interop::read_redis_file -- --ignored
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::{hash, list, mixed_dataset, same, set, string, write, zset};
use crate::rdb::{decode_dump, encode_dump, RdbReader, Record, WriteOptions};
use crate::value::Value;

/// A RESP reply, as far as these checks need.
#[derive(Debug)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b.clone(),
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }

    fn items(self) -> Vec<Vec<u8>> {
        match self {
            Reply::Array(items) => items.iter().map(Reply::bytes).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open() -> Conn {
        let port: u16 = std::env::var("REDIS_PORT")
            .expect("REDIS_PORT")
            .parse()
            .unwrap();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).unwrap();
        self.reply()
    }

    fn reply(&mut self) -> Reply {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        let (tag, rest) = line.split_at(1);
        match tag {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0; n as usize + 2];
                self.reader.read_exact(&mut buf).unwrap();
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
            "*" => {
                let n: usize = rest.parse().unwrap();
                Reply::Array((0..n).map(|_| self.reply()).collect())
            }
            _ => panic!("unexpected reply line {line:?}"),
        }
    }

    fn int(&mut self, args: &[&[u8]]) -> i64 {
        match self.call(args) {
            Reply::Int(n) => n,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn select(&mut self, db: u32) {
        let reply = self.call(&[b"SELECT", db.to_string().as_bytes()]);
        assert!(matches!(reply, Reply::Simple(_)), "{reply:?}");
    }

    /// The value at `key` in the selected database, read through commands.
    fn fetch(&mut self, key: &[u8]) -> Option<Value> {
        let Reply::Simple(kind) = self.call(&[b"TYPE", key]) else {
            panic!("TYPE")
        };
        Some(match kind.as_str() {
            "none" => return None,
            "string" => string(self.call(&[b"GET", key]).bytes()),
            "list" => list(self.call(&[b"LRANGE", key, b"0", b"-1"]).items()),
            "set" => set(self.call(&[b"SMEMBERS", key]).items()),
            "hash" => {
                let flat = self.call(&[b"HGETALL", key]).items();
                hash(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())))
            }
            "zset" => {
                let flat = self
                    .call(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"])
                    .items();
                zset(flat.chunks(2).map(|p| {
                    let score = std::str::from_utf8(&p[1]).unwrap().parse::<f64>().unwrap();
                    (p[0].clone(), score)
                }))
            }
            other => panic!("unexpected type {other}"),
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Writes the mixed dataset to `$RDB_OUT` for redis-check-rdb and redis-server.
#[test]
#[ignore = "interop: run by hand"]
fn write_file() {
    let path = std::env::var("RDB_OUT").expect("RDB_OUT");
    std::fs::write(path, write(&mixed_dataset(), WriteOptions::default())).unwrap();
}

/// redis-server at `$REDIS_PORT` started from the file `write_file` wrote holds the dataset.
#[test]
#[ignore = "interop: run by hand"]
fn redis_loaded_our_file() {
    let mut conn = Conn::open();
    let live: Vec<_> = mixed_dataset()
        .into_iter()
        .filter(|(.., expire)| expire.is_none_or(|ms| ms > now_ms()))
        .collect();
    let mut per_db = std::collections::BTreeMap::<u32, i64>::new();
    for (db, key, value, expire) in &live {
        *per_db.entry(*db).or_default() += 1;
        conn.select(*db);
        let got = conn.fetch(key).unwrap_or_else(|| panic!("{key:?} missing"));
        assert!(same(&got, value), "{key:?}: {got:?}");
        let pexpiretime = conn.int(&[b"PEXPIRETIME", key]);
        assert_eq!(pexpiretime, expire.unwrap_or(-1), "{key:?}");
    }
    for (db, count) in per_db {
        conn.select(db);
        assert_eq!(conn.int(&[b"DBSIZE"]), count, "db {db}");
    }
    println!("redis-server holds all {} live keys", live.len());
}

/// Our payloads restore in redis-server, and its `DUMP` of them decodes to the same values.
#[test]
#[ignore = "interop: run by hand"]
fn dump_and_restore_both_ways() {
    let mut conn = Conn::open();
    conn.select(9);
    for (_, key, value, _) in mixed_dataset() {
        let payload = encode_dump(&value);
        let reply = conn.call(&[b"RESTORE", &key, b"0", &payload, b"REPLACE"]);
        assert!(
            matches!(reply, Reply::Simple(ref s) if s == "OK"),
            "{key:?}: {reply:?}"
        );
        let got = conn.fetch(&key).unwrap();
        assert!(same(&got, &value), "{key:?}: redis holds {got:?}");
        let theirs = conn.call(&[b"DUMP", &key]).bytes();
        let decoded = decode_dump(&theirs).unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert!(same(&decoded, &value), "{key:?}: decoded {decoded:?}");
    }
    // Redis refuses a payload we corrupted, and we refuse one it corrupted, the same way.
    let mut payload = encode_dump(&string("x"));
    payload[1] ^= 1;
    let Reply::Error(e) = conn.call(&[b"RESTORE", b"bad", b"0", &payload]) else {
        panic!()
    };
    assert_eq!(e, "ERR DUMP payload version or checksum are wrong");
    conn.call(&[b"SET", b"good", b"value"]);
    let mut theirs = conn.call(&[b"DUMP", b"good"]).bytes();
    theirs[1] ^= 1;
    assert_eq!(decode_dump(&theirs).unwrap_err().to_string(), e);
    conn.call(&[b"FLUSHDB"]);
}

/// `$RDB_IN`, written by redis-server at `$REDIS_PORT` (which still holds that data), reads to
/// exactly the server's contents, and so does the server's `DUMP` of every key.
#[test]
#[ignore = "interop: run by hand"]
fn read_redis_file() {
    let data = std::fs::read(std::env::var("RDB_IN").expect("RDB_IN")).unwrap();
    let mut conn = Conn::open();
    let mut per_db = std::collections::BTreeMap::<u32, i64>::new();
    let mut encodings = std::collections::BTreeSet::new();
    let (mut functions, mut idle, mut freq) = (0, 0, 0);
    for record in RdbReader::new(&data).unwrap() {
        let k = match record.unwrap() {
            Record::Key(k) => k,
            Record::Function(code) => {
                assert!(code.starts_with(b"#!lua"), "{code:?}");
                functions += 1;
                continue;
            }
            _ => continue,
        };
        idle += usize::from(k.idle_secs.is_some());
        freq += usize::from(k.freq.is_some());
        *per_db.entry(k.db).or_default() += 1;
        conn.select(k.db);
        let live = conn
            .fetch(&k.key)
            .unwrap_or_else(|| panic!("{:?} missing", k.key));
        assert!(same(&live, &k.value), "{:?}: file has {:?}", k.key, k.value);
        let dumped = decode_dump(&conn.call(&[b"DUMP", &k.key]).bytes()).unwrap();
        assert!(
            same(&dumped, &k.value),
            "{:?}: DUMP gives {dumped:?}",
            k.key
        );
        let encoding = conn.call(&[b"OBJECT", b"ENCODING", &k.key]).bytes();
        encodings.insert(format!(
            "{}:{}",
            k.value.type_name(),
            String::from_utf8_lossy(&encoding)
        ));
        assert_eq!(
            conn.int(&[b"PEXPIRETIME", &k.key]),
            k.expire_ms.unwrap_or(-1)
        );
    }
    for (db, count) in &per_db {
        conn.select(*db);
        assert_eq!(conn.int(&[b"DBSIZE"]), *count, "db {db}");
    }
    println!(
        "read {per_db:?} keys per db, {functions} function libraries, {idle} keys with IDLE, \
         {freq} with FREQ; encodings {encodings:?}"
    );
}

/// Re-writes `$RDB_IN` (any Redis file) with this writer to `$RDB_OUT`, key for key, so a
/// fresh redis-server can load it and `read_redis_file` compare it with the original.
#[test]
#[ignore = "interop: run by hand"]
fn rewrite_redis_file() {
    let data = std::fs::read(std::env::var("RDB_IN").expect("RDB_IN")).unwrap();
    let out = std::fs::File::create(std::env::var("RDB_OUT").expect("RDB_OUT")).unwrap();
    let info = crate::rdb::SnapshotInfo {
        redis_version: "7.2.4".into(),
        ctime_secs: 0,
        used_memory: 0,
        replication: None,
        aof_base: false,
    };
    let mut writer =
        crate::rdb::RdbWriter::new(std::io::BufWriter::new(out), WriteOptions::default(), &info)
            .unwrap();
    for record in RdbReader::new(&data).unwrap() {
        match record.unwrap() {
            Record::Key(k) => writer
                .write_key(k.db, &k.key, &k.value, k.expire_ms)
                .unwrap(),
            Record::Function(code) => writer.write_function(&code).unwrap(),
            _ => {}
        }
    }
    writer.finish().unwrap();
}
