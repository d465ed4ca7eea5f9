//! `INFO [section ...]`: the node's state in Redis's format (`# Section` headers, `field:value`
//! lines, CRLF line ends) and field names, so redis-cli, redis_exporter and client libraries
//! parse it. Source: the Redis `INFO` command reference.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::memory;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[("info", info)];

/// Sections printed by a bare `INFO` (or `INFO default`).
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
/// Sections printed by `INFO all` / `INFO everything`.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// `INFO [section ...]` → a bulk string (verbatim in RESP3).
pub(crate) fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut sections: Vec<String> = Vec::new();
    for arg in &args[1..] {
        let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
        let expanded: &[&str] = match name.as_str() {
            "all" | "everything" => ALL_SECTIONS,
            "default" => DEFAULT_SECTIONS,
            _ => {
                sections.push(name);
                continue;
            }
        };
        sections.extend(expanded.iter().map(|s| s.to_string()));
    }
    if sections.is_empty() {
        sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    let mut text = String::new();
    for section in ALL_SECTIONS
        .iter()
        .filter(|s| sections.iter().any(|w| w == *s))
    {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        write_section(ctx, section, &mut text);
    }
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

fn write_section(ctx: &mut Ctx, section: &str, out: &mut String) {
    let title = match section {
        "cpu" => "CPU".to_string(),
        s => {
            let mut c = s.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        }
    };
    let _ = write!(out, "# {title}\r\n");
    let node = ctx.node;
    let used = ctx.store.used_memory();
    let store = &*ctx.store;
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        let _ = write!(out, "{name}:{value}\r\n");
    };
    match section {
        "server" => {
            let uptime = node.started.elapsed().as_secs();
            field("redis_version", &crate::REDIS_VERSION);
            field("redoubt_version", &env!("CARGO_PKG_VERSION"));
            field("redis_git_sha1", &"00000000");
            field("redis_git_dirty", &0);
            field("redis_build_id", &"0");
            field("redis_mode", &"standalone");
            field(
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            field("arch_bits", &(usize::BITS));
            field("multiplexing_api", &"epoll");
            field("process_id", &std::process::id());
            field("run_id", &node.run_id);
            field("tcp_port", &store.config.port);
            field("server_time_usec", &(ctx.now_ms * 1000));
            field("uptime_in_seconds", &uptime);
            field("uptime_in_days", &(uptime / 86400));
            field("hz", &store.config.hz);
            field("configured_hz", &store.config.hz);
            field(
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            field("config_file", &store.config.file_path());
        }
        "clients" => {
            field("connected_clients", &node.clients.len());
            field("cluster_connections", &0);
            field("maxclients", &store.config.maxclients);
            field("blocked_clients", &store.blocking.len());
            field("tracking_clients", &store.tracking.client_count());
        }
        "memory" => {
            let overhead = overhead(ctx.node, store);
            let stats = memory::stats();
            let rss = memory::process_rss();
            let system = memory::total_system_memory();
            let peak = memory::peak(used);
            let dataset = used.saturating_sub(overhead.total);
            // Redis's figures: the dataset against the memory used beyond the startup's.
            let net = used.saturating_sub(overhead.startup).max(1);
            field("used_memory", &used);
            field("used_memory_human", &human_bytes(used));
            field("used_memory_rss", &rss);
            field("used_memory_rss_human", &human_bytes(rss));
            field("used_memory_peak", &peak);
            field("used_memory_peak_human", &human_bytes(peak));
            field("used_memory_peak_perc", &percent(used, peak));
            field("used_memory_overhead", &overhead.total);
            field("used_memory_startup", &overhead.startup);
            field("used_memory_dataset", &dataset);
            field("used_memory_dataset_perc", &percent(dataset, net));
            field("allocator_allocated", &stats.allocated);
            field("allocator_active", &stats.active);
            field("allocator_resident", &stats.resident);
            field("total_system_memory", &system);
            field("total_system_memory_human", &human_bytes(system));
            // Held only by a script running now, on this thread (INFO called from it): then
            // the script fields are left out rather than waiting on ourselves.
            if let Some(scripting) = node.scripting.try_lock() {
                let lua_eval = scripting.eval.used_memory();
                let lua_functions = scripting.functions.used_memory();
                let scripts_eval = scripting.eval.cached_bytes();
                let functions = scripting.functions.code_bytes();
                field("used_memory_lua", &lua_eval);
                field("used_memory_vm_eval", &lua_eval);
                field("used_memory_lua_human", &human_bytes(lua_eval as u64));
                field("used_memory_scripts_eval", &scripts_eval);
                field("number_of_cached_scripts", &scripting.eval.len());
                field("number_of_functions", &scripting.functions.function_count());
                field("number_of_libraries", &scripting.functions.library_count());
                field("used_memory_vm_functions", &lua_functions);
                let vm_total = (lua_eval + lua_functions) as u64;
                field("used_memory_vm_total", &vm_total);
                field("used_memory_vm_total_human", &human_bytes(vm_total));
                field("used_memory_functions", &functions);
                let scripts = (scripts_eval + functions) as u64;
                field("used_memory_scripts", &scripts);
                field("used_memory_scripts_human", &human_bytes(scripts));
            }
            let config = &store.config;
            field("maxmemory", &config.maxmemory);
            field("maxmemory_human", &human_bytes(config.maxmemory));
            field(
                "maxmemory_policy",
                &config
                    .params
                    .get_enum("maxmemory-policy")
                    .unwrap_or("noeviction"),
            );
            field(
                "allocator_frag_ratio",
                &ratio(stats.active, stats.allocated),
            );
            field(
                "allocator_frag_bytes",
                &difference(stats.active, stats.allocated),
            );
            field("allocator_rss_ratio", &ratio(stats.resident, stats.active));
            field(
                "allocator_rss_bytes",
                &difference(stats.resident, stats.active),
            );
            field("rss_overhead_ratio", &ratio(rss, stats.resident));
            field("rss_overhead_bytes", &difference(rss, stats.resident));
            field("mem_fragmentation_ratio", &ratio(rss, used));
            field("mem_fragmentation_bytes", &difference(rss, used));
            field("mem_not_counted_for_evict", &store.not_counted_memory());
            field("mem_replication_backlog", &overhead.backlog);
            field("mem_total_replication_buffers", &overhead.backlog);
            field("mem_clients_slaves", &overhead.clients_slaves);
            field("mem_clients_normal", &overhead.clients_normal);
            field("mem_cluster_links", &0);
            field("mem_aof_buffer", &overhead.aof_buffer);
            field("mem_allocator", &memory::allocator_name());
        }
        "persistence" => {
            let saves = &store.saves;
            let running = saves.bgsave_started.map(|at| at.elapsed().as_secs() as i64);
            field("loading", &0);
            field("async_loading", &0);
            field("current_cow_peak", &0);
            field("current_cow_size", &0);
            field("current_cow_size_age", &0);
            field("current_fork_perc", &"0.00");
            field("current_save_keys_processed", &0);
            field("current_save_keys_total", &0);
            field(
                "rdb_changes_since_last_save",
                &(store.dirty() - saves.dirty_at_save),
            );
            field("rdb_bgsave_in_progress", &i32::from(running.is_some()));
            field("rdb_last_save_time", &saves.last_save_unix);
            field(
                "rdb_last_bgsave_status",
                &if saves.last_bgsave_ok { "ok" } else { "err" },
            );
            field("rdb_last_bgsave_time_sec", &saves.last_bgsave_secs);
            field("rdb_current_bgsave_time_sec", &running.unwrap_or(-1));
            field("rdb_saves", &saves.saves);
            field("rdb_last_cow_size", &0);
            field("rdb_last_load_keys_expired", &saves.loaded_expired);
            field("rdb_last_load_keys_loaded", &saves.loaded_keys);
            crate::aof::info(store, &mut field);
        }
        "stats" => {
            field(
                "total_connections_received",
                &node.net.connections_received.load(Ordering::Relaxed),
            );
            field("total_commands_processed", &store.commands_processed);
            let uptime = node.started.elapsed().as_secs_f64().max(1.0);
            field(
                "instantaneous_ops_per_sec",
                &((store.commands_processed as f64 / uptime) as u64),
            );
            field(
                "total_net_input_bytes",
                &node.net.input_bytes.load(Ordering::Relaxed),
            );
            field(
                "total_net_output_bytes",
                &node.net.output_bytes.load(Ordering::Relaxed),
            );
            field(
                "rejected_connections",
                &node.net.rejected_connections.load(Ordering::Relaxed),
            );
            field("expired_keys", &store.expired_keys());
            field("evicted_keys", &store.evicted_keys);
            field("keyspace_hits", &store.keyspace_hits);
            field("keyspace_misses", &store.keyspace_misses);
            field("sync_full", &store.repl.sync_full);
            field("sync_partial_ok", &store.repl.sync_partial_ok);
            field("sync_partial_err", &store.repl.sync_partial_err);
            field(
                "pubsub_channels",
                &store.pubsub.count(crate::pubsub::Kind::Channel),
            );
            field(
                "pubsub_patterns",
                &store.pubsub.count(crate::pubsub::Kind::Pattern),
            );
            field(
                "pubsubshard_channels",
                &store.pubsub.count(crate::pubsub::Kind::Shard),
            );
            field("tracking_total_keys", &store.tracking.key_count());
            field("tracking_total_items", &store.tracking.item_count());
            field("tracking_total_prefixes", &store.tracking.prefix_count());
            field(
                "total_error_replies",
                &store.error_stats.values().sum::<u64>(),
            );
        }
        "replication" => {
            let mut text = String::new();
            store.repl.info(&mut text);
            out.push_str(&text);
            out.push_str(&format!("redoubt_epoch:{}\r\n", store.epoch));
        }
        "cpu" => {
            let (user, sys) = memory::cpu_seconds();
            field("used_cpu_sys", &format!("{sys:.6}"));
            field("used_cpu_user", &format!("{user:.6}"));
        }
        "modules" => {}
        "commandstats" => {
            let mut names: Vec<&String> = store.command_stats.keys().collect();
            names.sort();
            for name in names {
                let s = &store.command_stats[name];
                let per_call = if s.calls == 0 {
                    0.0
                } else {
                    s.usec as f64 / s.calls as f64
                };
                field(
                    &format!("cmdstat_{name}"),
                    &format!(
                        "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                        s.calls, s.usec, s.rejected_calls, s.failed_calls
                    ),
                );
            }
        }
        "errorstats" => {
            let mut names: Vec<&String> = store.error_stats.keys().collect();
            names.sort();
            for name in names {
                field(
                    &format!("errorstat_{name}"),
                    &format!("count={}", store.error_stats[name]),
                );
            }
        }
        "latencystats" => {
            let percentiles = &store.config.latency_percentiles;
            let mut names: Vec<&String> = store.command_stats.keys().collect();
            names.sort();
            for name in names {
                let Some(histogram) = &store.command_stats[name].histogram else {
                    continue;
                };
                let values: Vec<String> = percentiles
                    .iter()
                    .map(|&p| format!("p{p}={:.3}", histogram.percentile_usec(p)))
                    .collect();
                field(
                    &format!("latency_percentiles_usec_{name}"),
                    &values.join(","),
                );
            }
        }
        "cluster" => field("cluster_enabled", &0),
        "keyspace" => {
            for (index, db) in store.dbs.iter().enumerate() {
                if db.is_empty() {
                    continue;
                }
                field(
                    &format!("db{index}"),
                    &format!(
                        "keys={},expires={},avg_ttl={}",
                        db.len(),
                        db.expires_len(),
                        db.avg_ttl_ms(ctx.now_ms)
                    ),
                );
            }
        }
        _ => {}
    }
}

/// Bytes of one connection beside what it queues: its input and output buffers, 16 KiB each
/// when they start (the connection's read chunk), and its registry handle.
const CONNECTION_BYTES: u64 =
    2 * 16 * 1024 + std::mem::size_of::<crate::client::ClientHandle>() as u64;

/// What `used_memory_overhead` adds up (Redis's `getMemoryOverheadData`), in bytes; INFO
/// memory and `MEMORY STATS` print it.
pub(crate) struct Overhead {
    /// `used_memory` when the node started (`used_memory_startup`, `startup.allocated`).
    pub(crate) startup: u64,
    /// The replication backlog (`mem_replication_backlog`, `replication.backlog`).
    pub(crate) backlog: u64,
    /// Standby links' connections (`mem_clients_slaves`, `clients.slaves`).
    pub(crate) clients_slaves: u64,
    /// Other clients' connections and queued pub/sub messages (`mem_clients_normal`,
    /// `clients.normal`).
    pub(crate) clients_normal: u64,
    /// Stream bytes waiting for the append-only file (`mem_aof_buffer`, `aof.buffer`).
    pub(crate) aof_buffer: u64,
    /// Cached `EVAL` scripts (`lua.caches`).
    pub(crate) lua_caches: u64,
    /// Function libraries' code (`functions.caches`).
    pub(crate) functions_caches: u64,
    /// Per non-empty database: its index and its key tables' estimated bytes, main and
    /// expires (`db.N` `overhead.hashtable.main`, `.expires`).
    pub(crate) dbs: Vec<(usize, u64, u64)>,
    /// The sum of all the above (`used_memory_overhead`, `overhead.total`).
    pub(crate) total: u64,
}

/// The node's memory overhead now: what is not the keys' and values' data.
pub(crate) fn overhead(node: &crate::state::NodeState, store: &crate::keyspace::Store) -> Overhead {
    let (mut clients_slaves, mut clients_normal) = (0u64, 0u64);
    for client in node.clients.all() {
        let bytes = CONNECTION_BYTES + client.outbox.queued_bytes() as u64;
        if client.is_replica.load(Ordering::Relaxed) {
            clients_slaves += bytes;
        } else {
            clients_normal += bytes;
        }
    }
    let (lua_caches, functions_caches) = node.scripting.try_lock().map_or((0, 0), |s| {
        (
            s.eval.cached_bytes() as u64,
            s.functions.code_bytes() as u64,
        )
    });
    let dbs: Vec<(usize, u64, u64)> = (0..store.dbs.len())
        .filter(|&i| !store.dbs[i].is_empty())
        .map(|i| {
            let (main, expires) = store.key_tables_memory(i);
            (i, main, expires)
        })
        .collect();
    let mut overhead = Overhead {
        startup: store.startup_memory,
        backlog: store.backlog_memory(),
        clients_slaves,
        clients_normal,
        aof_buffer: store.aof_buffer_memory(),
        lua_caches,
        functions_caches,
        dbs,
        total: 0,
    };
    overhead.total = overhead.startup
        + overhead.backlog
        + overhead.clients_slaves
        + overhead.clients_normal
        + overhead.aof_buffer
        + overhead.lua_caches
        + overhead.functions_caches
        + overhead.dbs.iter().map(|(_, m, e)| m + e).sum::<u64>();
    overhead
}

/// `a / b` with two decimals, as INFO prints its ratios; 0 when `b` is 0.
fn ratio(a: u64, b: u64) -> String {
    let r = if b == 0 { 0.0 } else { a as f64 / b as f64 };
    format!("{r:.2}")
}

/// `100 * a / b` with two decimals and a percent sign; 0 when `b` is 0.
fn percent(a: u64, b: u64) -> String {
    let p = if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    };
    format!("{p:.2}%")
}

/// `a - b`, negative when `b` is larger.
fn difference(a: u64, b: u64) -> i64 {
    a as i64 - b as i64
}

/// Bytes as Redis's `*_human` fields print them (`1.50M`).
fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 4] = [
        ("T", 1099511627776.0),
        ("G", 1073741824.0),
        ("M", 1048576.0),
        ("K", 1024.0),
    ];
    for (unit, size) in UNITS {
        if n as f64 >= size {
            return format!("{:.2}{unit}", n as f64 / size);
        }
    }
    format!("{n}B")
}
