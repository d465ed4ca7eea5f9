//! Node configuration: the parameters `CONFIG GET`/`CONFIG SET` know, with Redis's names,
//! defaults, units and error texts. Sizes accept Redis's suffixes (`64mb`, `1gb`, `512k`).

use crate::glob::glob_match;

/// The node's runtime configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address the listener is bound to (`bind`; immutable at runtime).
    pub bind: String,
    /// TCP port (`port`; immutable at runtime; the bound port when started with 0).
    pub port: u16,
    /// Password of the default user (`requirepass`; empty: none).
    pub requirepass: String,
    /// Memory limit in bytes (`maxmemory`; 0: none). Reported; eviction is not enforced yet.
    pub maxmemory: u64,
    /// Eviction policy name (`maxmemory-policy`).
    pub maxmemory_policy: String,
    /// Largest bulk argument in bytes (`proto-max-bulk-len`, default 512 MB).
    pub proto_max_bulk_len: u64,
    /// Largest query buffer per client in bytes (`client-query-buffer-limit`, default 1 GB).
    pub client_query_buffer_limit: u64,
    /// Number of databases (`databases`, 16; immutable).
    pub databases: usize,
    /// Background task frequency per second (`hz`, 1-500; active expiry runs at this rate).
    pub hz: u32,
    /// Close idle clients after this many seconds (`timeout`; 0: never).
    pub timeout: u64,
    /// Maximum number of connected clients (`maxclients`).
    pub maxclients: u64,
    /// Snapshot schedule (`save`); kept for tools that read it, nothing is saved.
    pub save: String,
    /// Append-only file switch (`appendonly`); always `no`.
    pub appendonly: bool,
    /// Password a standby gives its primary (`masterauth`).
    pub masterauth: String,
    /// Standby acks a write needs before its reply is sent (`min-replicas-to-ack`;
    /// 0: asynchronous replication).
    pub min_replicas_to_ack: u64,
    /// How long a write waits for those acks before failing with `NOREPLICAS`, in ms
    /// (`replica-ack-timeout`, default 1000).
    pub replica_ack_timeout_ms: u64,
    /// Size of the replication backlog in bytes (`repl-backlog-size`, default 64 MB).
    pub repl_backlog_size: u64,
    /// Directory for the node's files (the epoch file); Redis's `dir`.
    pub dir: std::path::PathBuf,
    /// Primary to follow from the start (`--replicaof host:port`); `REPLICAOF` changes it
    /// at runtime.
    pub replicaof: Option<(String, u16)>,
    /// How long a script may run before other clients get `-BUSY` and `SCRIPT KILL` may stop
    /// it, in ms (`busy-reply-threshold`, alias `lua-time-limit`, default 5000; 0: at once).
    pub busy_reply_threshold_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".to_string(),
            port: 6379,
            requirepass: String::new(),
            maxmemory: 0,
            maxmemory_policy: "noeviction".to_string(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            databases: 16,
            hz: 10,
            timeout: 0,
            maxclients: 10000,
            save: String::new(),
            appendonly: false,
            masterauth: String::new(),
            min_replicas_to_ack: 0,
            replica_ack_timeout_ms: 1000,
            repl_backlog_size: 64 * 1024 * 1024,
            replicaof: None,
            dir: std::path::PathBuf::from("."),
            busy_reply_threshold_ms: 5000,
        }
    }
}

/// Every parameter name, in the order `CONFIG GET *` lists them.
const PARAMS: &[&str] = &[
    "bind",
    "port",
    "requirepass",
    "maxmemory",
    "maxmemory-policy",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "databases",
    "hz",
    "timeout",
    "maxclients",
    "save",
    "appendonly",
    "masterauth",
    "min-replicas-to-ack",
    "replica-ack-timeout",
    "repl-backlog-size",
    "busy-reply-threshold",
    "lua-time-limit",
];

const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

impl Config {
    /// The parameters whose names match any of `patterns` (glob, any case), as name/value pairs.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        PARAMS
            .iter()
            .filter(|name| {
                patterns
                    .iter()
                    .any(|p| glob_match(p, name.as_bytes(), true))
            })
            .map(|&name| (name, self.value(name)))
            .collect()
    }

    fn value(&self, name: &str) -> String {
        match name {
            "bind" => self.bind.clone(),
            "port" => self.port.to_string(),
            "requirepass" => self.requirepass.clone(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.clone(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "databases" => self.databases.to_string(),
            "hz" => self.hz.to_string(),
            "timeout" => self.timeout.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "save" => self.save.clone(),
            "appendonly" => if self.appendonly { "yes" } else { "no" }.to_string(),
            "masterauth" => self.masterauth.clone(),
            "min-replicas-to-ack" => self.min_replicas_to_ack.to_string(),
            "replica-ack-timeout" => self.replica_ack_timeout_ms.to_string(),
            "repl-backlog-size" => self.repl_backlog_size.to_string(),
            "busy-reply-threshold" | "lua-time-limit" => self.busy_reply_threshold_ms.to_string(),
            _ => String::new(),
        }
    }

    /// Sets one parameter from its text form.
    ///
    /// # Errors
    /// Redis's `CONFIG SET` texts: unknown parameter, immutable parameter, or a value that does
    /// not parse or is out of range.
    pub fn set(&mut self, name: &[u8], value: &[u8]) -> Result<(), String> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        let Some(&name) = PARAMS.iter().find(|p| **p == lower) else {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{lower}'"
            ));
        };
        let fail = |why: &str| {
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let text = std::str::from_utf8(value).map_err(|_| fail("argument must be valid text"))?;
        match name {
            "bind" | "port" | "databases" => return Err(fail("can't set immutable config")),
            "requirepass" => self.requirepass = text.to_string(),
            "maxmemory" => {
                self.maxmemory =
                    parse_size(text).ok_or_else(|| fail("argument must be a memory value"))?
            }
            "maxmemory-policy" => {
                let policy = text.to_ascii_lowercase();
                if !POLICIES.contains(&policy.as_str()) {
                    return Err(fail("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"));
                }
                self.maxmemory_policy = policy;
            }
            "proto-max-bulk-len" => {
                let n = parse_size(text).ok_or_else(|| fail("argument must be a memory value"))?;
                if n < 1024 * 1024 {
                    return Err(fail(
                        "argument must be between 1048576 and 9223372036854775807 inclusive",
                    ));
                }
                self.proto_max_bulk_len = n;
            }
            "client-query-buffer-limit" => {
                let n = parse_size(text).ok_or_else(|| fail("argument must be a memory value"))?;
                if n < 1024 * 1024 {
                    return Err(fail(
                        "argument must be between 1048576 and 9223372036854775807 inclusive",
                    ));
                }
                self.client_query_buffer_limit = n;
            }
            "hz" => {
                let n: i64 = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
                self.hz = n.clamp(1, 500) as u32;
            }
            "timeout" => {
                self.timeout = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
            }
            "maxclients" => {
                let n: u64 = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
                if n < 1 {
                    return Err(fail("argument must be between 1 and 4294967295 inclusive"));
                }
                self.maxclients = n;
            }
            "save" => self.save = text.to_string(),
            "appendonly" => match text.to_ascii_lowercase().as_str() {
                "no" => self.appendonly = false,
                "yes" => return Err(fail("the append-only file is not supported")),
                _ => return Err(fail("argument must be 'yes' or 'no'")),
            },
            "masterauth" => self.masterauth = text.to_string(),
            "min-replicas-to-ack" => {
                self.min_replicas_to_ack = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
            }
            "replica-ack-timeout" => {
                let ms: u64 = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
                if ms == 0 {
                    return Err(fail(
                        "argument must be between 1 and 9223372036854775807 inclusive",
                    ));
                }
                self.replica_ack_timeout_ms = ms;
            }
            "busy-reply-threshold" | "lua-time-limit" => {
                self.busy_reply_threshold_ms = text
                    .parse()
                    .map_err(|_| fail("argument couldn't be parsed into an integer"))?;
            }
            "repl-backlog-size" => {
                let n = parse_size(text).ok_or_else(|| fail("argument must be a memory value"))?;
                if n < 16 * 1024 {
                    return Err(fail(
                        "argument must be between 16384 and 9223372036854775807 inclusive",
                    ));
                }
                self.repl_backlog_size = n;
            }
            _ => unreachable!("every name in PARAMS is handled"),
        }
        Ok(())
    }
}

impl Config {
    /// Reads a node configuration file: TOML whose keys are the `CONFIG SET` parameter names
    /// (`maxmemory = "1gb"`, `min-replicas-to-ack = 1`...), plus `port`, `bind`, `dir` and
    /// `replicaof = "host:port"`. Values are checked as `CONFIG SET` checks them.
    ///
    /// # Errors
    /// A sentence naming the file and the offending key or value.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{name}: {}", e.to_string().trim()))?;
        let mut config = Config::default();
        for (key, value) in &table {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
                other => {
                    return Err(format!(
                        "{name}: '{key}' must be a string, an integer or a boolean, not {}",
                        other.type_str()
                    ))
                }
            };
            match key.as_str() {
                "port" => {
                    config.port = text
                        .parse()
                        .map_err(|_| format!("{name}: 'port' must be a port number"))?
                }
                "bind" => config.bind = text,
                "dir" => config.dir = std::path::PathBuf::from(text),
                "replicaof" => {
                    let target = text
                        .rsplit_once(':')
                        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                        .ok_or_else(|| format!("{name}: 'replicaof' must be \"host:port\""))?;
                    config.replicaof = Some(target);
                }
                "databases" => {
                    config.databases = text
                        .parse()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| format!("{name}: 'databases' must be 1-1024"))?;
                }
                _ => config
                    .set(key.as_bytes(), text.as_bytes())
                    .map_err(|e| format!("{name}: {}", e.trim_start_matches("ERR ")))?,
            }
        }
        Ok(config)
    }
}

/// Parses a size with Redis's suffixes: `k`/`m`/`g` (powers of 1000) and `kb`/`mb`/`gb`
/// (powers of 1024), any case. Source: Redis `util.c`, `memtoull`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("64mb"), Some(64 << 20));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("2k"), Some(2000));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1"), None);
    }

    #[test]
    fn get_and_set() {
        let mut config = Config::default();
        config.set(b"MAXMEMORY", b"10mb").unwrap();
        assert_eq!(
            config.get(&[b"maxmemory"]),
            vec![("maxmemory", "10485760".to_string())]
        );
        assert_eq!(config.get(&[b"maxmemory*"]).len(), 2);
        assert!(config
            .set(b"nope", b"1")
            .unwrap_err()
            .contains("Unknown option"));
        assert!(config
            .set(b"databases", b"3")
            .unwrap_err()
            .contains("immutable"));
        assert!(config.set(b"hz", b"abc").is_err());
    }
}
