//! The proxy's configuration file (TOML, kebab-case keys, unknown keys rejected by name).
//!
//! ```toml
//! listen = "127.0.0.1:7000"
//! requirepass = "secret"          # optional: clients must AUTH
//! backend-password = "secret"     # optional: sent to every node
//! request-timeout = "2s"
//! connect-timeout = "500ms"
//! connections-per-backend = 2
//! probe-interval = "100ms"
//!
//! [[groups]]
//! id = "a"
//! primary = "127.0.0.1:7001"
//! standbys = ["127.0.0.1:7002"]
//! read-policy = "prefer-standby"  # primary | prefer-standby | round-robin | least-latency
//! max-lag-bytes = 1048576         # optional: keep reads off standbys further behind
//! ```
//!
//! Several proxies agree on the topology through Raft when `proxies` lists them (each proxy's
//! file names its own `id`; every proxy needs `admin` and `dir`):
//!
//! ```toml
//! id = 1
//! dir = "/var/lib/redoubt/proxy1"   # Raft log, vote and snapshot under dir/raft
//! proxies = [{ id = 1, admin = "127.0.0.1:7100" }, { id = 2, admin = "127.0.0.1:7101" },
//!            { id = 3, admin = "127.0.0.1:7102" }]
//! raft-heartbeat = "50ms"
//! raft-election-timeout = "250ms"   # the first proxy's shortest (see below)
//! write-lease = "400ms"             # shorter than down-after
//! # join = true                     # a proxy added to a running group (ctl add-proxy)
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// Where reads of a group go. Writes always go to the primary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPolicy {
    /// Every read to the primary (the default: reads see every acknowledged write).
    #[default]
    Primary,
    /// Reads to a healthy standby within the lag bound, the primary when there is none.
    PreferStandby,
    /// Reads rotate over every healthy member within the lag bound, primary included.
    RoundRobin,
    /// Reads to the member with the lowest latency (EWMA of probe and request latency).
    LeastLatency,
}

/// One group: a primary and its standbys, owning a share of the slots.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupConfig {
    /// Group id; it names the group and places it on the consistent-hash ring.
    pub id: String,
    /// Address of the primary.
    pub primary: SocketAddr,
    /// Addresses of the standbys.
    #[serde(default)]
    pub standbys: Vec<SocketAddr>,
    /// Read policy.
    #[serde(default)]
    pub read_policy: ReadPolicy,
    /// Largest replication lag, in bytes behind the primary, at which a standby still serves
    /// reads; a standby whose lag is unknown serves none while a bound is set.
    #[serde(default)]
    pub max_lag_bytes: Option<u64>,
    /// Standby acks every write needs before its reply (synchronous mode; 0: asynchronous).
    /// The proxy keeps the primary's `min-replicas-to-ack` at this, or at the number of
    /// standbys in sync if fewer are.
    #[serde(default)]
    pub sync_replicas: usize,
    /// Promotion priority of members by address (higher wins ties; default 0).
    #[serde(default)]
    pub priorities: std::collections::BTreeMap<SocketAddr, i64>,
}

/// One proxy of the control plane.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PeerConfig {
    /// Its id in the Raft group (unique, non-zero).
    pub id: u64,
    /// Its admin HTTP address, where Raft calls and reports go.
    pub admin: SocketAddr,
}

/// The whole proxy configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProxyConfig {
    /// Address clients connect to.
    pub listen: SocketAddr,
    /// Password clients must give with `AUTH`/`HELLO` (none: open).
    #[serde(default)]
    pub requirepass: Option<String>,
    /// Password the proxy gives the nodes.
    #[serde(default)]
    pub backend_password: Option<String>,
    /// How long a request to a node waits while that node answers nothing at all: a node
    /// that keeps answering earlier requests is busy, not stalled (`request-timeout`).
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Deadline of a connection attempt to a node.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Multiplexed connections the proxy keeps to each node, per protocol version.
    #[serde(default = "default_connections")]
    pub connections_per_backend: usize,
    /// Worker threads, each with its own event loop and its own connections to every node
    /// (default: one per core from 4 cores, else one, as `redoubt proxy` chooses them).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Interval between health probes of each node.
    #[serde(default = "default_probe_interval", with = "humantime_serde")]
    pub probe_interval: Duration,
    /// Time without a good probe after which a node is down (and a primary replaced).
    #[serde(default = "default_down_after", with = "humantime_serde")]
    pub down_after: Duration,
    /// Admin HTTP address (`/topology`, `/healthz`, `POST /failover/GROUP`); none: off.
    #[serde(default)]
    pub admin: Option<SocketAddr>,
    /// Replace failed primaries automatically (default true).
    #[serde(default = "default_true")]
    pub failover: bool,
    /// This proxy's id among `proxies`.
    #[serde(default)]
    pub id: Option<u64>,
    /// Directory of the proxy's files (the Raft log, vote and snapshot under `raft/`).
    #[serde(default)]
    pub dir: Option<std::path::PathBuf>,
    /// Every proxy of the control plane, this one included; empty: this proxy alone decides.
    /// They form the group's first membership; proxies added or removed online
    /// (`redoubt ctl add-proxy` / `remove-proxy`) change it in Raft, not here.
    #[serde(default)]
    pub proxies: Vec<PeerConfig>,
    /// This proxy joins a running group (also `redoubt proxy --join`): it never initializes
    /// a group of its own, and serves no client until it has been added
    /// (`redoubt ctl add-proxy`) and has the committed topology. `proxies` need only list
    /// this proxy.
    #[serde(default)]
    pub join: bool,
    /// Interval of the Raft leader's heartbeats.
    #[serde(default = "default_raft_heartbeat", with = "humantime_serde")]
    pub raft_heartbeat: Duration,
    /// Shortest Raft election timeout, of the first proxy; each next proxy (by id) waits a
    /// third of it longer (so survivors rarely stand at once), with a range as wide as it.
    /// openraft also sends every Raft call with `raft-heartbeat` as its deadline.
    #[serde(default = "default_raft_election_timeout", with = "humantime_serde")]
    pub raft_election_timeout: Duration,
    /// How long a proxy that reaches no quorum of proxies keeps taking writes (shorter than
    /// `down-after`, so it has stopped before the others can replace a primary); default
    /// four fifths of `down-after`.
    #[serde(default, with = "humantime_serde")]
    pub write_lease: Option<Duration>,
    /// `client-output-buffer-limit` for subscribers, in Redis's form `"hard soft seconds"`
    /// (sizes such as `32mb`; default `"32mb 8mb 60"`, Redis's `pubsub` class): a subscriber
    /// with more than `hard` bytes of messages waiting in the proxy, or more than `soft` for
    /// `seconds`, is disconnected.
    #[serde(default, deserialize_with = "output_limit")]
    pub client_output_buffer_limit_pubsub: OutputLimit,
    /// Most client connections open at once (Redis's `maxclients`, default 10000). A
    /// connection past it is answered `-ERR max number of clients reached` and closed, as
    /// Redis answers it, and counted in `INFO`'s `rejected_connections`. Each client in a
    /// blocking command also holds a node connection, so the process's descriptor limit
    /// should allow about twice this.
    #[serde(default = "default_maxclients")]
    pub maxclients: u64,
    /// The groups; at least one.
    pub groups: Vec<GroupConfig>,
}

/// An output buffer limit, as Redis's `client-output-buffer-limit` gives one class (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    /// Bytes past which the client is disconnected at once.
    pub hard: u64,
    /// Bytes past which the client is disconnected after `soft_for`.
    pub soft: u64,
    /// How long the soft limit may be exceeded.
    pub soft_for: Duration,
}

impl Default for OutputLimit {
    /// Redis's default for pub/sub clients: `32mb 8mb 60`.
    fn default() -> OutputLimit {
        OutputLimit {
            hard: 32 * 1024 * 1024,
            soft: 8 * 1024 * 1024,
            soft_for: Duration::from_secs(60),
        }
    }
}

impl std::str::FromStr for OutputLimit {
    type Err = String;

    /// `"hard soft seconds"`, sizes in Redis's units (`k` 1000, `kb` 1024, `m`, `mb`, `g`,
    /// `gb`, or bytes).
    fn from_str(text: &str) -> Result<OutputLimit, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad =
            || format!("invalid output buffer limit '{text}' (expected \"hard soft seconds\")");
        let [hard, soft, seconds] = words[..] else {
            return Err(bad());
        };
        Ok(OutputLimit {
            hard: size(hard).ok_or_else(bad)?,
            soft: size(soft).ok_or_else(bad)?,
            soft_for: Duration::from_secs(seconds.parse().map_err(|_| bad())?),
        })
    }
}

/// A size in Redis's units (`memtoull`): `k` 1000, `kb` 1024, `m`, `mb`, `g`, `gb`, else bytes.
fn size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match &lower[digits.len()..] {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

fn output_limit<'de, D: serde::Deserializer<'de>>(de: D) -> Result<OutputLimit, D::Error> {
    let text = String::deserialize(de)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_connect_timeout() -> Duration {
    Duration::from_millis(500)
}
fn default_connections() -> usize {
    2
}
fn default_maxclients() -> u64 {
    10_000
}
fn default_probe_interval() -> Duration {
    Duration::from_millis(100)
}
fn default_down_after() -> Duration {
    Duration::from_millis(500)
}
fn default_raft_heartbeat() -> Duration {
    Duration::from_millis(50)
}
fn default_raft_election_timeout() -> Duration {
    Duration::from_millis(250)
}
fn default_true() -> bool {
    true
}

/// Why a configuration was refused; the text names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The TOML did not parse or has unknown or mistyped keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// The values parse but make no sense together.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl ProxyConfig {
    /// Reads, parses and validates a configuration file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and the problem.
    pub fn load(path: &Path) -> Result<ProxyConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        let config = ProxyConfig::parse(&text).map_err(|message| ConfigError::Parse {
            path: name.clone(),
            message,
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: name,
            message,
        })?;
        Ok(config)
    }

    /// Parses TOML text (without validation).
    ///
    /// # Errors
    /// The TOML parser's message.
    pub fn parse(text: &str) -> Result<ProxyConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Checks what parsing cannot: at least one group, unique group ids, no node in two places,
    /// positive timeouts and pool size.
    ///
    /// # Errors
    /// A sentence naming the offending value.
    pub fn validate(&self) -> Result<(), String> {
        if self.groups.is_empty() {
            return Err("at least one [[groups]] entry is required".into());
        }
        let mut ids = HashSet::new();
        let mut nodes = HashSet::new();
        for group in &self.groups {
            if group.id.is_empty() {
                return Err("a group has an empty id".into());
            }
            if !ids.insert(group.id.as_str()) {
                return Err(format!("group id '{}' is used twice", group.id));
            }
            for addr in std::iter::once(&group.primary).chain(&group.standbys) {
                if !nodes.insert(*addr) {
                    return Err(format!("node {addr} appears twice (group '{}')", group.id));
                }
            }
        }
        if self.connections_per_backend == 0 {
            return Err("connections-per-backend must be at least 1".into());
        }
        for (name, value) in [
            ("request-timeout", self.request_timeout),
            ("connect-timeout", self.connect_timeout),
            ("probe-interval", self.probe_interval),
            ("down-after", self.down_after),
        ] {
            if value.is_zero() {
                return Err(format!("{name} must be greater than zero"));
            }
        }
        self.validate_proxies()
    }

    /// The write lease in force.
    pub fn lease(&self) -> Duration {
        self.write_lease.unwrap_or(self.down_after * 4 / 5)
    }

    fn validate_proxies(&self) -> Result<(), String> {
        if self.proxies.is_empty() {
            if self.join {
                return Err("join needs id, dir and proxies (at least this proxy)".into());
            }
            return Ok(());
        }
        let mut ids = HashSet::new();
        let mut admins = HashSet::new();
        for peer in &self.proxies {
            if peer.id == 0 {
                return Err("a proxy id must be greater than zero".into());
            }
            if !ids.insert(peer.id) {
                return Err(format!("proxy id {} is used twice", peer.id));
            }
            if !admins.insert(peer.admin) {
                return Err(format!("proxy admin address {} is used twice", peer.admin));
            }
        }
        let Some(id) = self.id else {
            return Err("id is required when proxies are listed".into());
        };
        let Some(me) = self.proxies.iter().find(|p| p.id == id) else {
            return Err(format!("id {id} is not among the proxies"));
        };
        if self.admin != Some(me.admin) {
            return Err(format!(
                "admin must be {} (this proxy's address in proxies)",
                me.admin
            ));
        }
        if self.dir.is_none() {
            return Err("dir is required when proxies are listed".into());
        }
        if self.raft_heartbeat.is_zero() || self.raft_heartbeat * 3 > self.raft_election_timeout {
            return Err(
                "raft-heartbeat must be greater than zero and at most a third of raft-election-timeout"
                    .into(),
            );
        }
        if self.lease().is_zero() || self.lease() >= self.down_after {
            return Err("write-lease must be greater than zero and shorter than down-after".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        listen = "127.0.0.1:7000"
        request-timeout = "1500ms"
        [[groups]]
        id = "a"
        primary = "127.0.0.1:7001"
        standbys = ["127.0.0.1:7002"]
        read-policy = "prefer-standby"
        max-lag-bytes = 100
    "#;

    #[test]
    fn parses_a_good_file() {
        let config = ProxyConfig::parse(GOOD).unwrap();
        config.validate().unwrap();
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        assert_eq!(config.groups[0].read_policy, ReadPolicy::PreferStandby);
        assert_eq!(config.groups[0].max_lag_bytes, Some(100));
        assert_eq!(config.connections_per_backend, 2);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = ProxyConfig::parse(&GOOD.replace("max-lag-bytes", "max-lagg")).unwrap_err();
        assert!(err.contains("max-lagg"), "{err}");
        let err = ProxyConfig::parse(&format!("{GOOD}\nlisten-port = 3\n")).unwrap_err();
        assert!(err.contains("listen-port"), "{err}");
    }

    #[test]
    fn proxies_are_validated() {
        let three = r#"
            admin = "127.0.0.1:7100"
            dir = "/tmp/p1"
            proxies = [{ id = 1, admin = "127.0.0.1:7100" }, { id = 2, admin = "127.0.0.1:7101" },
                       { id = 3, admin = "127.0.0.1:7102" }]
        "#;
        let config = |extra: &str| {
            ProxyConfig::parse(&format!("id = 1\n{extra}\n{three}\n{GOOD}"))
                .unwrap()
                .validate()
        };
        config("").unwrap();
        let table = [
            ("raft-heartbeat = \"150ms\"", "raft-heartbeat"),
            ("write-lease = \"600ms\"", "write-lease"),
        ];
        for (extra, named) in table {
            let err = config(extra).unwrap_err();
            assert!(err.contains(named), "{extra}: {err}");
        }
        let err = ProxyConfig::parse(&format!("id = 4\n{three}\n{GOOD}"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("id 4"), "{err}");
        let err = ProxyConfig::parse(&format!("{three}\n{GOOD}"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("id is required"), "{err}");
        let wrong_admin = three.replace(
            "admin = \"127.0.0.1:7100\"\n",
            "admin = \"127.0.0.1:7109\"\n",
        );
        let err = ProxyConfig::parse(&format!("id = 1\n{wrong_admin}\n{GOOD}"))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("admin must be"), "{err}");
    }

    #[test]
    fn output_limits_read_as_redis_writes_them() {
        let config = ProxyConfig::parse(GOOD).unwrap();
        assert_eq!(
            config.client_output_buffer_limit_pubsub,
            OutputLimit::default()
        );
        let limit: OutputLimit = "64kb 1k 5".parse().unwrap();
        assert_eq!(
            (limit.hard, limit.soft, limit.soft_for),
            (65536, 1000, Duration::from_secs(5))
        );
        for bad in ["32mb 8mb", "32xb 8mb 60", "1 2 x"] {
            assert!(bad.parse::<OutputLimit>().is_err(), "{bad}");
        }
        let text = GOOD.replace(
            "request-timeout",
            "client-output-buffer-limit-pubsub = \"1mb 0 0\"\nrequest-timeout",
        );
        let config = ProxyConfig::parse(&text).unwrap();
        assert_eq!(config.client_output_buffer_limit_pubsub.hard, 1024 * 1024);
    }

    #[test]
    fn bad_values_are_named() {
        let err = ProxyConfig::parse(&GOOD.replace("prefer-standby", "fastest")).unwrap_err();
        assert!(err.contains("fastest"), "{err}");
        let twice = format!("{GOOD}\n[[groups]]\nid = \"a\"\nprimary = \"127.0.0.1:7003\"\n");
        let err = ProxyConfig::parse(&twice).unwrap().validate().unwrap_err();
        assert!(err.contains("'a'"), "{err}");
    }
}
