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
    /// (default: one per core).
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
    /// The groups; at least one.
    pub groups: Vec<GroupConfig>,
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
fn default_probe_interval() -> Duration {
    Duration::from_millis(100)
}
fn default_down_after() -> Duration {
    Duration::from_millis(500)
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
    fn bad_values_are_named() {
        let err = ProxyConfig::parse(&GOOD.replace("prefer-standby", "fastest")).unwrap_err();
        assert!(err.contains("fastest"), "{err}");
        let twice = format!("{GOOD}\n[[groups]]\nid = \"a\"\nprimary = \"127.0.0.1:7003\"\n");
        let err = ProxyConfig::parse(&twice).unwrap().validate().unwrap_err();
        assert!(err.contains("'a'"), "{err}");
    }
}
