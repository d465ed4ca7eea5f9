//! The geo cores against replies observed on redis-server. `redis_cases.txt` holds a session
//! recorded on redis-server 7.0.15 (whose geo code is the same as 7.2's): Redis's documentation
//! examples, edge cases at the poles and the antimeridian, scores not written by `GEOADD`,
//! every argument error, and a seeded random mix of searches (`BYRADIUS`, `BYBOX`, every unit,
//! `ASC`/`DESC`, `COUNT [ANY]`, `WITH*`, `STORE`/`STOREDIST`). Each command is replayed here on
//! a small keyspace driving the cores, and its encoding compared byte for byte.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::{Protocol, Reply};

use super::{GeoAdd, GeoDist, GeoHash, GeoPos, Search, SearchKind, SearchOutcome};
use crate::value::zset::ZSetValue;

/// Keys → sorted sets, with just enough commands around the cores to replay the session.
#[derive(Default)]
struct Keyspace {
    keys: HashMap<Bytes, ZSetValue>,
}

impl Keyspace {
    fn exec(&mut self, args: &[Bytes], protocol: Protocol) -> Reply {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        // Arity is the command table's check, before any core runs.
        let min_args = match name.as_str() {
            "geoadd" | "georadiusbymember" | "georadiusbymember_ro" => 5,
            "geodist" => 4,
            "georadius" | "georadius_ro" => 6,
            "geosearch" => 7,
            "geosearchstore" => 8,
            _ => 2,
        };
        if args.len() < min_args {
            return Reply::error_owned(format!(
                "ERR wrong number of arguments for '{name}' command"
            ));
        }
        let kind = match name.as_str() {
            "georadius" => Some(SearchKind::Radius),
            "georadius_ro" => Some(SearchKind::RadiusRo),
            "georadiusbymember" => Some(SearchKind::RadiusByMember),
            "georadiusbymember_ro" => Some(SearchKind::RadiusByMemberRo),
            "geosearch" => Some(SearchKind::Search),
            "geosearchstore" => Some(SearchKind::SearchStore),
            _ => None,
        };
        if let Some(kind) = kind {
            return self.search(kind, args, protocol);
        }
        let key = &args[1];
        match name.as_str() {
            "geoadd" => match GeoAdd::parse(args) {
                Ok(add) => {
                    let mut zset = self.keys.remove(key).unwrap_or_default();
                    let reply = add.run(&mut zset);
                    if !zset.is_empty() {
                        self.keys.insert(key.clone(), zset);
                    }
                    reply
                }
                Err(e) => e,
            },
            "geodist" => match GeoDist::parse(args) {
                Ok(dist) => dist.run(self.keys.get(key)),
                Err(e) => e,
            },
            "geohash" => GeoHash::parse(args).run(self.keys.get(key)),
            "geopos" => GeoPos::parse(args).run(self.keys.get(key), protocol),
            "zadd" => {
                let zset = self.keys.entry(key.clone()).or_default();
                let mut added = 0;
                for pair in args[2..].chunks_exact(2) {
                    let score = std::str::from_utf8(&pair[0]).unwrap().parse().unwrap();
                    added += i64::from(zset.insert(pair[1].clone(), score));
                }
                Reply::Int(added)
            }
            "zrange" => {
                // Only `ZRANGE key 0 -1 WITHSCORES`; Redis 7.0 prints scores with `%.17g`.
                let items = self.keys.get(key).into_iter().flat_map(|z| z.iter());
                let mut out = Vec::new();
                for (member, score) in items {
                    let score = match protocol {
                        Protocol::Resp2 => Reply::bulk(printf_17g(score)),
                        Protocol::Resp3 => Reply::Double(score),
                    };
                    match protocol {
                        Protocol::Resp2 => {
                            out.extend([Reply::Bulk(Bytes::copy_from_slice(member)), score])
                        }
                        Protocol::Resp3 => out.push(Reply::Array(vec![
                            Reply::Bulk(Bytes::copy_from_slice(member)),
                            score,
                        ])),
                    }
                }
                Reply::Array(out)
            }
            other => panic!("the session uses no {other}"),
        }
    }

    fn search(&mut self, kind: SearchKind, args: &[Bytes], protocol: Protocol) -> Reply {
        let source = self.keys.get(&args[kind.source_index()]);
        let outcome = Search::parse(kind, args, source).map(|s| s.run(source, protocol));
        match outcome {
            Err(e) => e,
            Ok(SearchOutcome::Reply(reply)) => reply,
            Ok(SearchOutcome::Store { key, members }) => {
                let n = members.len() as i64;
                if members.is_empty() {
                    self.keys.remove(&key);
                } else {
                    self.keys.insert(key, members.into_iter().collect());
                }
                Reply::Int(n)
            }
        }
    }
}

/// C's `printf("%.17g")`, which Redis 7.0 uses for sorted-set scores.
fn printf_17g(x: f64) -> String {
    let sci = format!("{x:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if !(-4..17).contains(&exp) {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = (16 - exp).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn encode(reply: &Reply, protocol: Protocol) -> String {
    let mut out = BytesMut::new();
    reply.encode(protocol, &mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

/// Compares RESP3 encodings line by line; RESP3 double lines (`,`) by value, since Redis
/// prints coordinates with seventeen decimals and [`Reply::Double`] prints them shortest.
fn same_resp3(ours: &str, redis: &str) -> bool {
    let ours: Vec<&str> = ours.split("\r\n").collect();
    let redis: Vec<&str> = redis.split("\r\n").collect();
    ours.len() == redis.len()
        && ours
            .iter()
            .zip(&redis)
            .all(|(a, b)| match (a.strip_prefix(','), b.strip_prefix(',')) {
                (Some(a), Some(b)) => {
                    let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
                    (a - b).abs() <= 1e-17 + a.abs() * 4e-16
                }
                _ => a == b,
            })
}

#[test]
fn replays_the_redis_session() {
    let session = include_str!("redis_cases.txt");
    let mut keyspace = Keyspace::default();
    let mut lines = session.lines().filter(|l| !l.starts_with('#'));
    let mut checked = 0;
    while let Some(command) = lines.next() {
        let command = command.strip_prefix("> ").expect("a command line");
        let resp2 = lines.next().and_then(|l| l.strip_prefix("2 ")).unwrap();
        let resp3 = lines.next().and_then(|l| l.strip_prefix("3 ")).unwrap();
        let resp2 = resp2.replace("\\r\\n", "\r\n");
        let resp3 = if resp3 == "=" {
            resp2.clone()
        } else {
            resp3.replace("\\r\\n", "\r\n")
        };
        let args: Vec<Bytes> = command
            .split('\t')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let ours = encode(&keyspace.exec(&args, Protocol::Resp2), Protocol::Resp2);
        assert_eq!(ours, resp2, "RESP2 reply to {command}");
        let ours = encode(&keyspace.exec(&args, Protocol::Resp3), Protocol::Resp3);
        assert!(
            same_resp3(&ours, &resp3),
            "RESP3 reply to {command}:\n ours  {ours:?}\n redis {resp3:?}"
        );
        checked += 1;
    }
    assert!(checked > 400, "only {checked} commands replayed");
}
