//! A fake keyspace for the scripting tests: the few commands the test scripts call, with
//! Redis's replies and the errors Redis gives a script (`scriptCall`).

use std::collections::HashMap;

use bytes::Bytes;
use redoubt_protocol::Reply;

/// Strings and hashes in maps; enough of Redis for the test scripts.
#[derive(Default)]
pub(crate) struct FakeStore {
    strings: HashMap<Bytes, Bytes>,
    hashes: HashMap<Bytes, Vec<(Bytes, Bytes)>>,
    /// Every command executed, in order.
    pub(crate) log: Vec<Vec<Bytes>>,
}

impl FakeStore {
    /// Executes one command.
    pub(crate) fn call(&mut self, argv: &[Bytes]) -> Reply {
        self.log.push(argv.to_vec());
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let arity: (usize, bool) = match name.as_str() {
            "get" | "incr" | "hgetall" | "echo" => (2, true),
            "set" => (3, true),
            "ping" => (1, false),
            "exists" => (2, false),
            "hset" => (4, false),
            _ => return Reply::error("ERR Unknown Redis command called from script"),
        };
        let arity_ok = if arity.1 {
            argv.len() == arity.0
        } else {
            argv.len() >= arity.0
        };
        if !arity_ok || (name == "hset" && argv.len() % 2 != 0) {
            return Reply::error("ERR Wrong number of args calling Redis command from script");
        }
        match name.as_str() {
            "get" => self.strings.get(&argv[1]).cloned().into(),
            "set" => {
                self.strings.insert(argv[1].clone(), argv[2].clone());
                Reply::ok()
            }
            "incr" => {
                let current = self.strings.get(&argv[1]);
                let n = match current.map(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                }) {
                    None => 0,
                    Some(Some(n)) => n,
                    Some(None) => {
                        return Reply::error("ERR value is not an integer or out of range")
                    }
                };
                self.strings
                    .insert(argv[1].clone(), Bytes::from((n + 1).to_string()));
                Reply::Int(n + 1)
            }
            "ping" => Reply::simple("PONG"),
            "echo" => Reply::Bulk(argv[1].clone()),
            "exists" => Reply::Int(
                argv[1..]
                    .iter()
                    .filter(|k| self.strings.contains_key(*k) || self.hashes.contains_key(*k))
                    .count() as i64,
            ),
            "hset" => {
                let hash = self.hashes.entry(argv[1].clone()).or_default();
                let mut added = 0;
                for pair in argv[2..].chunks(2) {
                    match hash.iter_mut().find(|(f, _)| f == &pair[0]) {
                        Some(entry) => entry.1 = pair[1].clone(),
                        None => {
                            hash.push((pair[0].clone(), pair[1].clone()));
                            added += 1;
                        }
                    }
                }
                Reply::Int(added)
            }
            _ => Reply::Map(
                self.hashes
                    .get(&argv[1])
                    .map(|hash| {
                        hash.iter()
                            .map(|(f, v)| (Reply::Bulk(f.clone()), Reply::Bulk(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Owned arguments from string literals.
pub(crate) fn words(items: &[&str]) -> Vec<Bytes> {
    items
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}
