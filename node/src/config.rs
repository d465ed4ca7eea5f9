//! Node configuration: every Redis 7.2 parameter in a [`ParamStore`] (what `CONFIG GET`,
//! `CONFIG SET` and `CONFIG REWRITE` see), and the typed fields the node reads on its hot
//! paths, derived from the store at startup and after every `CONFIG SET`.
//!
//! A node starts from a configuration file, either Redoubt's TOML (keys are parameter names,
//! `maxmemory = "1gb"`) or Redis's own `redis.conf` format, then `--name value` arguments as
//! redis-server takes them. Its defaults are Redis's, except `bind` (127.0.0.1) and
//! `repl-backlog-size` (64 MB: a standby that lost its link during a failover should resume
//! with a partial resync; `redoubt up` relies on it).

use std::path::{Path, PathBuf};

use crate::params::{self, ParamStore, SetContext};
use crate::value::{HashLimits, SetLimits};

/// Redoubt's defaults where they differ from Redis's, as `name value` configuration lines.
const NODE_DEFAULTS: &str = "bind 127.0.0.1\nrepl-backlog-size 64mb\n";

/// Which format the node's configuration file is in (for `CONFIG REWRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileFormat {
    /// Redoubt's TOML: `name = value` per parameter.
    Toml,
    /// Redis's `redis.conf`: `name value ...` per line.
    RedisConf,
}

/// The eviction policy (`maxmemory-policy`). Source: Redis 7.2 `server.h`, `MAXMEMORY_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Refuse writes that need memory (`noeviction`).
    NoEviction,
    /// Least recently used among all keys / keys with a TTL.
    Lru {
        /// Only keys with a time to live (`volatile-lru`).
        volatile: bool,
    },
    /// Least frequently used among all keys / keys with a TTL.
    Lfu {
        /// Only keys with a time to live (`volatile-lfu`).
        volatile: bool,
    },
    /// Any key at random among all keys / keys with a TTL.
    Random {
        /// Only keys with a time to live (`volatile-random`).
        volatile: bool,
    },
    /// The key with the nearest expiry time (`volatile-ttl`).
    VolatileTtl,
}

impl Policy {
    fn from_name(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::Lru { volatile: false },
            "volatile-lru" => Policy::Lru { volatile: true },
            "allkeys-lfu" => Policy::Lfu { volatile: false },
            "volatile-lfu" => Policy::Lfu { volatile: true },
            "allkeys-random" => Policy::Random { volatile: false },
            "volatile-random" => Policy::Random { volatile: true },
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }
}

/// The node's configuration: the parameter store and typed copies of what the node uses.
#[derive(Clone, Debug)]
pub struct Config {
    /// Every parameter's current value.
    pub(crate) params: ParamStore,
    /// The file the node was started from, for `CONFIG REWRITE`.
    pub(crate) file: Option<(PathBuf, FileFormat)>,
    /// Address the listener is bound to (`bind`'s first address; immutable at runtime).
    pub bind: String,
    /// TCP port (`port`; immutable at runtime; the bound port when started with 0).
    pub port: u16,
    /// Password of the default user (`requirepass`; empty: none).
    pub requirepass: String,
    /// Memory limit in bytes of `used_memory` (`maxmemory`; 0: none).
    pub maxmemory: u64,
    /// Eviction policy (`maxmemory-policy`).
    pub maxmemory_policy: Policy,
    /// Keys sampled per eviction round (`maxmemory-samples`, default 5).
    pub maxmemory_samples: usize,
    /// LFU counter growth: higher is slower (`lfu-log-factor`, default 10).
    pub lfu_log_factor: u32,
    /// Minutes per halving step of an idle key's LFU counter (`lfu-decay-time`; 0: never).
    pub lfu_decay_time: u32,
    /// Whether a standby ignores `maxmemory` (`replica-ignore-maxmemory`, default yes).
    pub replica_ignore_maxmemory: bool,
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
    /// Snapshot schedule (`save`), as `CONFIG GET` prints it.
    pub save: String,
    /// Snapshot file name inside `dir` (`dbfilename`, default `dump.rdb`).
    pub dbfilename: String,
    /// LZF-compress long strings in snapshots (`rdbcompression`, default yes).
    pub rdbcompression: bool,
    /// End snapshots with a CRC-64 (`rdbchecksum`, default yes).
    pub rdbchecksum: bool,
    /// Refuse writes while the last background save failed (`stop-writes-on-bgsave-error`,
    /// default yes).
    pub stop_writes_on_bgsave_error: bool,
    /// Append-only file switch (`appendonly`).
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
    pub dir: PathBuf,
    /// Primary to follow from the start (`replicaof host port`); `REPLICAOF` changes it
    /// at runtime.
    pub replicaof: Option<(String, u16)>,
    /// Keyspace notification classes (`notify-keyspace-events`), as
    /// `crate::pubsub::events` flags; 0: none.
    pub notify_keyspace_events: u32,
    /// `client-output-buffer-limit` per class (normal, replica, pubsub): hard limit and soft
    /// limit in bytes (0: none) and seconds the soft limit may be exceeded. Only the pubsub
    /// class is enforced (on queued messages).
    pub client_output_buffer_limit: [(u64, u64, u64); 3],
    /// How long a script may run before other clients get `-BUSY` and `SCRIPT KILL` may stop
    /// it, in ms (`busy-reply-threshold`, alias `lua-time-limit`, default 5000; 0: at once).
    pub busy_reply_threshold_ms: u64,
    /// Largest sparse HyperLogLog in bytes, header included, before it turns dense
    /// (`hll-sparse-max-bytes`, default 3000).
    pub hll_sparse_max_bytes: usize,
    /// Commands slower than this many µs go to the slow log (`slowlog-log-slower-than`,
    /// default 10000; negative: none, 0: every command).
    pub slowlog_log_slower_than: i64,
    /// Entries the slow log keeps (`slowlog-max-len`, default 128).
    pub slowlog_max_len: usize,
    /// Events lasting at least this many ms are sampled by the latency monitor
    /// (`latency-monitor-threshold`; 0: off).
    pub latency_monitor_threshold_ms: u64,
    /// Per-command latency histograms for `INFO latencystats` and `LATENCY HISTOGRAM`
    /// (`latency-tracking`, default yes).
    pub latency_tracking: bool,
    /// Percentiles `INFO latencystats` prints (`latency-tracking-info-percentiles`).
    pub latency_percentiles: Vec<f64>,
    /// When a hash leaves the `listpack` encoding (`hash-max-listpack-entries`/`-value`).
    pub(crate) hash_limits: HashLimits,
    /// When a set leaves `intset`/`listpack` (`set-max-intset-entries`,
    /// `set-max-listpack-entries`/`-value`).
    pub(crate) set_limits: SetLimits,
}

impl Default for Config {
    fn default() -> Self {
        let mut params = ParamStore::new();
        params::load_text(&mut params, NODE_DEFAULTS.as_bytes())
            .expect("the node's defaults are valid configuration");
        Config::from_params(params, None)
    }
}

impl Config {
    fn from_params(params: ParamStore, file: Option<(PathBuf, FileFormat)>) -> Config {
        let mut config = Config {
            params,
            file,
            bind: String::new(),
            port: 0,
            requirepass: String::new(),
            maxmemory: 0,
            maxmemory_policy: Policy::NoEviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            replica_ignore_maxmemory: true,
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            databases: 16,
            hz: 10,
            timeout: 0,
            maxclients: 0,
            save: String::new(),
            dbfilename: "dump.rdb".to_string(),
            rdbcompression: true,
            rdbchecksum: true,
            stop_writes_on_bgsave_error: true,
            appendonly: false,
            masterauth: String::new(),
            min_replicas_to_ack: 0,
            replica_ack_timeout_ms: 1000,
            repl_backlog_size: 0,
            dir: PathBuf::from("."),
            replicaof: None,
            notify_keyspace_events: 0,
            client_output_buffer_limit: [(0, 0, 0); 3],
            busy_reply_threshold_ms: 5000,
            hll_sparse_max_bytes: 3000,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold_ms: 0,
            latency_tracking: true,
            latency_percentiles: Vec::new(),
            hash_limits: HashLimits::default(),
            set_limits: SetLimits::default(),
        };
        let p = &config.params;
        config.bind = match p.bind_addrs().first().map(|a| a.trim_start_matches('-')) {
            Some("*") => "0.0.0.0".to_string(),
            Some(addr) => addr.to_string(),
            None => "127.0.0.1".to_string(),
        };
        config.port = p.get_i64("port").map_or(6379, |n| n as u16);
        config.databases = p.get_i64("databases").map_or(16, |n| n as usize);
        config.dir =
            PathBuf::from(String::from_utf8_lossy(p.get_str("dir").unwrap_or(b".")).as_ref());
        config.replicaof = p.replicaof();
        config.refresh();
        config
    }

    /// Re-reads the typed fields a running node may change (everything but `bind`, `port`,
    /// `databases`, `dir` and `replicaof`) from the parameter store.
    pub(crate) fn refresh(&mut self) {
        let p = &self.params;
        let text =
            |name: &str| String::from_utf8_lossy(p.get_str(name).unwrap_or_default()).into_owned();
        let int = |name: &str, default: i64| p.get_i64(name).unwrap_or(default);
        self.requirepass = text("requirepass");
        self.masterauth = text("masterauth");
        self.maxmemory = p.get_memory("maxmemory").unwrap_or(0);
        self.maxmemory_policy = Policy::from_name(p.get_enum("maxmemory-policy").unwrap_or(""));
        self.maxmemory_samples = int("maxmemory-samples", 5).clamp(1, 64) as usize;
        self.lfu_log_factor = int("lfu-log-factor", 10).clamp(0, i64::from(u32::MAX)) as u32;
        self.lfu_decay_time = int("lfu-decay-time", 1).clamp(0, i64::from(u32::MAX)) as u32;
        self.replica_ignore_maxmemory = p.get_bool("replica-ignore-maxmemory").unwrap_or(true);
        self.proto_max_bulk_len = p.get_memory("proto-max-bulk-len").unwrap_or(512 << 20);
        self.client_query_buffer_limit =
            p.get_memory("client-query-buffer-limit").unwrap_or(1 << 30);
        self.hz = int("hz", 10).clamp(1, 500) as u32;
        self.timeout = int("timeout", 0).max(0) as u64;
        self.maxclients = int("maxclients", 10000).max(1) as u64;
        self.save = text("save");
        self.dbfilename = text("dbfilename");
        self.rdbcompression = p.get_bool("rdbcompression").unwrap_or(true);
        self.rdbchecksum = p.get_bool("rdbchecksum").unwrap_or(true);
        self.stop_writes_on_bgsave_error =
            p.get_bool("stop-writes-on-bgsave-error").unwrap_or(true);
        // `CONFIG SET dir` moves where snapshots go, as Redis's chdir does.
        if let Some(dir) = p.get_str("dir").filter(|d| !d.is_empty()) {
            self.dir = PathBuf::from(String::from_utf8_lossy(dir).as_ref());
        }
        self.appendonly = p.get_bool("appendonly").unwrap_or(false);
        self.min_replicas_to_ack = int("min-replicas-to-ack", 0).max(0) as u64;
        self.replica_ack_timeout_ms = int("replica-ack-timeout", 1000).max(1) as u64;
        self.repl_backlog_size = p.get_memory("repl-backlog-size").unwrap_or(64 << 20);
        self.busy_reply_threshold_ms = int("busy-reply-threshold", 5000).max(0) as u64;
        self.hll_sparse_max_bytes = p
            .get_memory("hll-sparse-max-bytes")
            .unwrap_or(3000)
            .min(1 << 30) as usize;
        self.slowlog_log_slower_than = int("slowlog-log-slower-than", 10_000);
        self.slowlog_max_len = int("slowlog-max-len", 128).clamp(0, 1 << 24) as usize;
        self.latency_monitor_threshold_ms = int("latency-monitor-threshold", 0).max(0) as u64;
        self.latency_tracking = p.get_bool("latency-tracking").unwrap_or(true);
        self.latency_percentiles = p.latency_percentiles();
        let size = |name: &str, default: i64| int(name, default).max(0) as usize;
        self.hash_limits = HashLimits {
            entries: size("hash-max-listpack-entries", 512),
            value: size("hash-max-listpack-value", 64),
        };
        self.set_limits = SetLimits {
            intset_entries: size("set-max-intset-entries", 512),
            listpack_entries: size("set-max-listpack-entries", 128),
            listpack_value: size("set-max-listpack-value", 64),
        };
        crate::memory::set_background_thread(p.get_bool("jemalloc-bg-thread").unwrap_or(true));
        self.notify_keyspace_events =
            crate::pubsub::events::parse_flags(&text("notify-keyspace-events")).unwrap_or(0);
        for (slot, (_, hard, soft, seconds)) in self
            .client_output_buffer_limit
            .iter_mut()
            .zip(p.output_buffer_limits())
        {
            *slot = (hard, soft, seconds.max(0) as u64);
        }
    }

    /// Loads the configuration as redis-server does: the node's defaults, then `file` (TOML
    /// or `redis.conf`, told apart by extension, else by whether it parses as TOML), then `args` (`["--maxmemory", "1gb", ...]`).
    ///
    /// # Errors
    /// A sentence naming the file and the offending line, key or value.
    pub fn load(file: Option<&Path>, args: &[String]) -> Result<Config, String> {
        let mut params = ParamStore::new();
        params::load_text(&mut params, NODE_DEFAULTS.as_bytes()).map_err(|e| e.to_string())?;
        let mut source = None;
        if let Some(path) = file {
            let name = path.display();
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
            let format = file_format(path, &text);
            let lines = match format {
                FileFormat::Toml => toml_lines(&text).map_err(|e| format!("{name}: {e}"))?,
                FileFormat::RedisConf => text,
            };
            params::load_text(&mut params, lines.as_bytes())
                .map_err(|e| format!("{name}: {}", e.to_string().trim()))?;
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            source = Some((absolute, format));
        }
        if !args.is_empty() {
            params::load(&mut params, None, args).map_err(|e| e.to_string().trim().to_string())?;
        }
        Ok(Config::from_params(params, source))
    }

    /// Reads a node configuration file: TOML whose keys are the parameter names
    /// (`maxmemory = "1gb"`, `min-replicas-to-ack = 1`...), or a `redis.conf`.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_file(path: &Path) -> Result<Config, String> {
        Config::load(Some(path), &[])
    }

    /// Records the port the listener actually bound (a node started with port 0).
    pub fn set_bound_port(&mut self, port: u16) {
        self.port = port;
        let _ = params::load_text(&mut self.params, format!("port {port}").as_bytes());
    }

    /// `CONFIG GET pattern ...`: `(name, value)` pairs (see [`ParamStore::get`]).
    pub(crate) fn get(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.params.get(patterns)
    }

    /// `CONFIG SET name value ...`: all pairs or none; returns the names whose value
    /// changed, with the typed fields already updated. `bind`, `port` and `dir` are
    /// immutable here: the node cannot move its listener or its files at runtime.
    ///
    /// # Errors
    /// Redis's error text (see [`ParamStore::set`]).
    pub(crate) fn set(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        context: SetContext,
    ) -> Result<Vec<&'static str>, String> {
        for (name, _) in pairs {
            if let Some((param, alias)) = params::find(name) {
                if matches!(param.name, "bind" | "port") && !alias {
                    return Err(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                        String::from_utf8_lossy(name)
                    ));
                }
            }
        }
        let changed = self.params.set(pairs, context)?;
        if changed.contains(&"hz") {
            // Redis stores the clamped rate (`CONFIG_MIN_HZ`..`CONFIG_MAX_HZ`).
            let hz = self.params.get_i64("hz").unwrap_or(10).clamp(1, 500);
            let _ = params::load_text(&mut self.params, format!("hz {hz}").as_bytes());
        }
        self.refresh();
        Ok(changed)
    }

    /// `CONFIG REWRITE`: the file the node started from, rewritten in place with the current
    /// values, keeping its comments (a `redis.conf` as Redis rewrites it; TOML key by key).
    ///
    /// # Errors
    /// Redis's texts: no file (`ERR The server is running without a config file`), or the
    /// IO error (`ERR Rewriting config file: <reason>`).
    pub(crate) fn rewrite(&self) -> Result<(), String> {
        let Some((path, format)) = &self.file else {
            return Err("ERR The server is running without a config file".into());
        };
        let io = |e: std::io::Error| format!("ERR Rewriting config file: {e}");
        let original = std::fs::read_to_string(path).unwrap_or_default();
        let text = match format {
            FileFormat::RedisConf => params::rewrite(&original, &self.params),
            FileFormat::Toml => rewrite_toml(&original, &self.params),
        };
        let tmp = path.with_extension("rewrite.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The configuration file's absolute path (INFO `config_file`); empty without one.
    pub(crate) fn file_path(&self) -> String {
        self.file
            .as_ref()
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default()
    }
}

/// A file ending in `.toml` is TOML, one ending in `.conf` is a `redis.conf`; otherwise a
/// file that parses as TOML is TOML.
pub(crate) fn file_format(path: &Path, text: &str) -> FileFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => FileFormat::Toml,
        Some("conf") => FileFormat::RedisConf,
        _ if text.parse::<toml::Table>().is_ok() => FileFormat::Toml,
        _ => FileFormat::RedisConf,
    }
}

/// A TOML node file as `redis.conf` lines: strings, integers and booleans (`yes`/`no`);
/// `replicaof = "host:port"` is also accepted.
fn toml_lines(text: &str) -> Result<String, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.to_string().trim().to_string())?;
    let mut lines = String::new();
    for (key, value) in &table {
        let mut text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => if *b { "yes" } else { "no" }.to_string(),
            other => {
                return Err(format!(
                    "'{key}' must be a string, an integer or a boolean, not {}",
                    other.type_str()
                ))
            }
        };
        if params::find(key.as_bytes()).is_none() {
            return Err(format!("unknown parameter '{key}'"));
        }
        if key == "replicaof" || key == "slaveof" {
            if let Some((host, port)) = text.rsplit_once(':') {
                text = format!("{host} {port}");
            }
            lines.push_str(&format!("{key} {text}\n"));
            continue;
        }
        lines.push_str(&format!("{key} {}\n", toml_quote(&text)));
    }
    Ok(lines)
}

/// `text` as one `redis.conf` argument (double-quoted with escapes).
fn toml_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML node file with each parameter key set to its current value; parameters not in the
/// file are appended when they differ from the node's defaults. Other lines stay.
fn rewrite_toml(original: &str, store: &ParamStore) -> String {
    let defaults = Config::default().params;
    let value =
        |name: &str| String::from_utf8_lossy(store.value(name).unwrap_or_default()).into_owned();
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for line in original.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        match params::find(key.as_bytes()) {
            Some((param, _)) if line.contains('=') && !line.trim_start().starts_with('#') => {
                seen.insert(param.name);
                out.push_str(&format!("{key} = {:?}\n", value(param.name)));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for param in params::PARAMS {
        if !seen.contains(param.name)
            && param.name != "dir"
            && store.value(param.name) != defaults.value(param.name)
        {
            out.push_str(&format!("{} = {:?}\n", param.name, value(param.name)));
        }
    }
    out
}

/// Parses a `save` schedule: pairs of `seconds changes` (a snapshot is due once `changes`
/// writes happened and `seconds` passed since the last one); `""` is no schedule. `None` when
/// the text is not such pairs. Source: Redis `config.c`, `setConfigSaveOption`.
pub(crate) fn parse_save_points(text: &str) -> Option<Vec<(u64, u64)>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() % 2 != 0 {
        return None;
    }
    words
        .chunks(2)
        .map(|pair| Some((pair[0].parse().ok()?, pair[1].parse().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_set() {
        let mut config = Config::default();
        assert_eq!(config.bind, "127.0.0.1");
        assert_eq!(config.repl_backlog_size, 64 << 20);
        let changed = config
            .set(
                &[
                    (b"MAXMEMORY", b"10mb"),
                    (b"maxmemory-policy", b"allkeys-lru"),
                ],
                SetContext::default(),
            )
            .unwrap();
        assert_eq!(changed, vec!["maxmemory", "maxmemory-policy"]);
        assert_eq!(config.maxmemory, 10 << 20);
        assert_eq!(config.maxmemory_policy, Policy::Lru { volatile: false });
        // All or nothing: the bad second pair leaves the first unapplied.
        let e = config
            .set(
                &[(b"maxmemory", b"1"), (b"hz", b"abc")],
                SetContext::default(),
            )
            .unwrap_err();
        assert!(e.contains("'hz'"), "{e}");
        assert_eq!(config.maxmemory, 10 << 20);
        assert!(config
            .set(&[(b"databases", b"3")], SetContext::default())
            .unwrap_err()
            .contains("immutable"));
        assert!(config
            .set(&[(b"port", b"3")], SetContext::default())
            .unwrap_err()
            .contains("immutable"));
        config
            .set(&[(b"hz", b"1000")], SetContext::default())
            .unwrap();
        assert_eq!(config.hz, 500);
        assert_eq!(
            config.get(&[b"hz"]),
            vec![(b"hz".to_vec(), b"500".to_vec())]
        );
    }

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(file_format(Path::new("a.toml"), "port 1"), FileFormat::Toml);
        assert_eq!(
            file_format(Path::new("a.conf"), "a = 1"),
            FileFormat::RedisConf
        );
        assert_eq!(
            file_format(Path::new("node"), "maxmemory = \"1gb\"\n"),
            FileFormat::Toml
        );
        assert_eq!(
            file_format(Path::new("node"), "maxmemory 1gb\n"),
            FileFormat::RedisConf
        );
    }

    #[test]
    fn toml_keys_become_parameters() {
        let lines =
            toml_lines("maxmemory = \"1gb\"\nhz = 20\nappendonly = true\nreplicaof = \"h:7\"\n")
                .unwrap();
        let mut params = ParamStore::new();
        params::load_text(&mut params, lines.as_bytes()).unwrap();
        assert_eq!(params.get_memory("maxmemory"), Some(1 << 30));
        assert_eq!(params.get_i64("hz"), Some(20));
        assert_eq!(params.get_bool("appendonly"), Some(true));
        assert_eq!(params.replicaof(), Some(("h".to_string(), 7)));
        assert!(toml_lines("nosuch = 1\n").unwrap_err().contains("nosuch"));
    }
}
