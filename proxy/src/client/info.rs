//! `INFO` at the proxy, in Redis 7.2's sections and fields (its `server.c` `genRedisInfoString`).
//!
//! The proxy answers for itself where a field describes the server the client talks to
//! (`server`, `clients`, `memory`, `stats` counters, `replication` as a master with no
//! replicas of its own, `cluster`), and sums the groups' figures where the meaning is the
//! data set's: `keyspace` per database (`keys` and `expires` summed, `avg_ttl` weighted by
//! `expires`), `keyspace_hits`, `keyspace_misses`, `expired_keys` and `evicted_keys`.
//! `commandstats` and `errorstats` count the requests and error replies the proxy's clients
//! got (from the metrics' per-command series and the error prefixes). A `proxy`
//! section lists the groups. When a requested section needs the groups, a task asks every
//! group's primary (`INFO stats keyspace`) and the reply is ready once all answered; a group
//! that does not answer adds nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};
use tokio::sync::oneshot;

use super::conn::ClientConn;
use super::pending::{encode, encode_args, Pending};
use crate::state::Worker;

/// The Redis version the proxy reports in `HELLO` and `INFO`, as the nodes do.
pub(crate) const REDIS_VERSION: &str = "7.2.4";

/// Sections printed for `INFO` and `INFO default`, in Redis's order.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "errorstats",
    "cluster",
    "keyspace",
    "proxy",
];

/// Stats fields summed over the groups.
const SUMMED_STATS: &[&str] = &[
    "keyspace_hits",
    "keyspace_misses",
    "expired_keys",
    "evicted_keys",
];

/// The sections `args` (`INFO [section ...]`) asks for, in print order.
fn sections(args: &[Bytes]) -> Vec<&'static str> {
    let wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if wanted.is_empty() {
        return DEFAULT.to_vec();
    }
    let everything = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.iter().any(|w| w == "default");
    let mut all = DEFAULT.to_vec();
    all.insert(all.len() - 2, "commandstats");
    all.into_iter()
        .filter(|s| everything || (default && DEFAULT.contains(s)) || wanted.iter().any(|w| w == s))
        .collect()
}

/// The node figures `INFO` needs, summed over the groups.
#[derive(Debug, Default)]
struct Groups {
    /// Summed stats fields.
    stats: BTreeMap<String, u64>,
    /// Per database: keys, expires, and the sum of avg_ttl × expires.
    keyspace: BTreeMap<usize, (u64, u64, u128)>,
}

impl Groups {
    /// Adds one node's `INFO stats keyspace` text.
    fn add(&mut self, text: &str) {
        for line in text.lines() {
            let Some((field, value)) = line.trim_end().split_once(':') else {
                continue;
            };
            if SUMMED_STATS.contains(&field) {
                *self.stats.entry(field.to_string()).or_default() += value.parse().unwrap_or(0);
            } else if let Some(db) = field.strip_prefix("db").and_then(|d| d.parse().ok()) {
                let mut keys = 0;
                let mut expires = 0;
                let mut avg_ttl: u64 = 0;
                for pair in value.split(',') {
                    match pair.split_once('=') {
                        Some(("keys", n)) => keys = n.parse().unwrap_or(0),
                        Some(("expires", n)) => expires = n.parse().unwrap_or(0),
                        Some(("avg_ttl", n)) => avg_ttl = n.parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let entry = self.keyspace.entry(db).or_default();
                entry.0 += keys;
                entry.1 += expires;
                entry.2 += u128::from(avg_ttl) * u128::from(expires);
            }
        }
    }
}

/// Answers `INFO`: at once when no requested section needs the groups, else from a task that
/// asks them first.
pub(crate) fn send(worker: &Arc<Worker>, conn: &ClientConn, args: &[Bytes]) -> Pending {
    let sections = sections(args);
    let protocol = conn.protocol;
    let port = conn.local.map_or(worker.config.listen.port(), |a| a.port());
    if !sections.iter().any(|s| matches!(*s, "stats" | "keyspace")) {
        return Pending::Ready(encode(
            &render(worker, port, &sections, &Groups::default()),
            protocol,
        ));
    }
    let (tx, rx) = oneshot::channel();
    let worker = worker.clone();
    let affinity = conn.id;
    tokio::spawn(async move {
        let request = encode_args(&[
            Bytes::from_static(b"INFO"),
            Bytes::from_static(b"stats"),
            Bytes::from_static(b"keyspace"),
        ]);
        let asked: Vec<_> = worker
            .groups
            .iter()
            .map(|g| {
                g.primary()
                    .send(Protocol::Resp2, 0, affinity, request.clone(), 1)
            })
            .collect();
        let mut groups = Groups::default();
        for rx in asked {
            let reply = tokio::time::timeout(worker.config.request_timeout, rx).await;
            if let Ok(Ok(Ok(bytes))) = reply {
                if let Ok(Reply::Bulk(text)) = redoubt_protocol::reply_decoder::decode(&bytes) {
                    groups.add(&String::from_utf8_lossy(&text));
                }
            }
        }
        let _ = tx.send(encode(&render(&worker, port, &sections, &groups), protocol));
    });
    Pending::Task {
        rx,
        result: None,
        group: None,
    }
}

/// This process's run id: 40 random hex digits, drawn once.
fn run_id() -> &'static str {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(|| {
        (0..40)
            .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
            .collect()
    })
}

/// Resident memory of the proxy process, in bytes (0 where `/proc` is not there).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn human(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "K", "M", "G", "T"] {
        if value < 1024.0 || unit == "T" {
            return if unit == "B" {
                format!("{bytes}B")
            } else {
                format!("{value:.2}{unit}")
            };
        }
        value /= 1024.0;
    }
    unreachable!("the loop returns at the last unit")
}

fn render(state: &Worker, port: u16, sections: &[&str], groups: &Groups) -> Reply {
    let mut text = String::new();
    let stats = &state.stats;
    for section in sections {
        match *section {
            "server" => {
                let uptime = state.started.elapsed().as_secs();
                let now_us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                let _ = write!(
                    text,
                    "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\n\
                     redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n\
                     os:{} {}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\n\
                     multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\n\
                     process_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{port}\r\n\
                     server_time_usec:{now_us}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n\
                     hz:10\r\nconfigured_hz:10\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:\r\n\
                     io_threads_active:0\r\nlistener0:name=tcp,bind={},port={port}\r\n\
                     redoubt_version:{}\r\nredoubt_role:proxy\r\n\r\n",
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    usize::BITS,
                    std::process::id(),
                    run_id(),
                    uptime / 86400,
                    (now_us / 1_000_000) & ((1 << 24) - 1),
                    std::env::current_exe().map_or(String::new(), |p| p.display().to_string()),
                    state.config.listen.ip(),
                    env!("CARGO_PKG_VERSION"),
                );
            }
            "clients" => {
                let _ = write!(
                    text,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                     client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\n\
                     blocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n\
                     total_blocking_keys:0\r\ntotal_blocking_keys_on_nokey:0\r\n\r\n",
                    stats.connected_clients.load(Ordering::Relaxed),
                    state.config.maxclients,
                    stats.blocked_clients.load(Ordering::Relaxed),
                );
            }
            "memory" => {
                let rss = resident_bytes();
                let _ = write!(
                    text,
                    "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                     used_memory_rss_human:{}\r\nused_memory_peak:{rss}\r\nused_memory_peak_human:{}\r\n\
                     maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n\
                     mem_allocator:libc\r\n\r\n",
                    human(rss),
                    human(rss),
                    human(rss),
                );
            }
            "persistence" => text.push_str(
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n\
                 rdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\n\
                 aof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\n\r\n",
            ),
            "stats" => {
                let _ = write!(
                    text,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
                     instantaneous_ops_per_sec:0\r\nrejected_connections:{}\r\n",
                    stats.connections_received.load(Ordering::Relaxed),
                    stats.commands.sum(),
                    stats.rejected_connections.load(Ordering::Relaxed),
                );
                for field in SUMMED_STATS {
                    let value = groups.stats.get(*field).copied().unwrap_or(0);
                    let _ = write!(text, "{field}:{value}\r\n");
                }
                let _ = write!(
                    text,
                    "pubsub_channels:0\r\npubsub_patterns:0\r\ntotal_commands_forwarded:{}\r\n\r\n",
                    stats.forwarded.sum(),
                );
            }
            "replication" => text.push_str(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
                 master_replid:0000000000000000000000000000000000000000\r\n\
                 master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\
                 second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:0\r\n\
                 repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n\r\n",
            ),
            "cpu" => text.push_str(
                "# CPU\r\nused_cpu_sys:0.000000\r\nused_cpu_user:0.000000\r\n\
                 used_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n\r\n",
            ),
            "errorstats" => {
                text.push_str("# Errorstats\r\n");
                for (prefix, count) in state.stats.errors.lock().iter() {
                    let _ = write!(text, "errorstat_{prefix}:count={count}\r\n");
                }
                text.push_str("\r\n");
            }
            "commandstats" => {
                text.push_str("# Commandstats\r\n");
                for stat in state.metrics.command_stats() {
                    let per_call = if stat.calls == 0 {
                        0.0
                    } else {
                        stat.usec as f64 / stat.calls as f64
                    };
                    let _ = write!(
                        text,
                        "cmdstat_{}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls=0,failed_calls={}\r\n",
                        stat.name, stat.calls, stat.usec, stat.failed
                    );
                }
                text.push_str("\r\n");
            }
            "cluster" => text.push_str("# Cluster\r\ncluster_enabled:0\r\n\r\n"),
            "keyspace" => {
                text.push_str("# Keyspace\r\n");
                for (db, (keys, expires, ttl_sum)) in &groups.keyspace {
                    if *keys == 0 {
                        continue;
                    }
                    let avg_ttl = if *expires == 0 {
                        0
                    } else {
                        ttl_sum / u128::from(*expires)
                    };
                    let _ = write!(
                        text,
                        "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n"
                    );
                }
                text.push_str("\r\n");
            }
            "proxy" => {
                let _ = write!(text, "# Proxy\r\ngroups:{}\r\n", state.groups.len());
                for (index, group) in state.groups.iter().enumerate() {
                    let standbys: Vec<String> =
                        group.standbys().map(|s| s.addr.to_string()).collect();
                    let _ = write!(
                        text,
                        "group{index}:id={},primary={},standbys={},read_policy={:?},slots={}\r\n",
                        group.id,
                        group.primary().addr,
                        standbys.join("|"),
                        group.read_policy,
                        state.slots.shares(state.groups.len())[index],
                    );
                }
                text.push_str("\r\n");
            }
            _ => {}
        }
    }
    let text = text.trim_end_matches("\r\n").to_string() + "\r\n";
    Reply::Verbatim("txt", Bytes::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn sections_follow_redis_selection_rules() {
        assert_eq!(sections(&args(&["info"])), DEFAULT);
        assert_eq!(sections(&args(&["info", "default"])), DEFAULT);
        assert!(sections(&args(&["info", "all"])).contains(&"commandstats"));
        assert!(!sections(&args(&["info"])).contains(&"commandstats"));
        assert_eq!(
            sections(&args(&["info", "KEYSPACE", "server", "nosuch"])),
            ["server", "keyspace"]
        );
    }

    #[test]
    fn groups_sum_keyspace_and_hits() {
        let mut groups = Groups::default();
        groups.add("# Stats\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n# Keyspace\r\ndb0:keys=4,expires=2,avg_ttl=100\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n");
        groups.add("keyspace_hits:2\r\ndb0:keys=6,expires=2,avg_ttl=300\r\n");
        assert_eq!(groups.stats["keyspace_hits"], 5);
        assert_eq!(groups.stats["keyspace_misses"], 1);
        assert_eq!(groups.keyspace[&0], (10, 4, 800));
        assert_eq!(groups.keyspace[&3], (1, 0, 0));
    }
}
