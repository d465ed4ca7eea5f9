//! Per-command statistics (`INFO commandstats`, `INFO errorstats`, `INFO latencystats`,
//! latency histograms): calls, time, failures and rejections, kept in the store under the
//! command's full name; and what else watches a command that ran: the slow log, the latency
//! monitor and `MONITOR` ([`observe`]).

use std::sync::LazyLock;
use std::time::Instant;

use bytes::Bytes;
use redoubt_protocol::command_table::{CommandFlags, Resolved};
use redoubt_protocol::Reply;

use crate::cmd::Ctx;
use crate::keyspace::{CommandStat, Store};
use crate::observe::slowlog::Caller;

/// Microseconds on a monotonic clock since the process first read it. A command's time is
/// the difference of two readings, as Redis's `call()` takes it (`ustime()` before and after
/// the command): each reading is truncated, not the difference, so the calls shorter than a
/// microsecond add up to their true total on average (`usec_per_call` 0.4, say) instead of to
/// nothing.
pub(crate) fn clock_us() -> u64 {
    static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);
    ORIGIN.elapsed().as_micros() as u64
}

/// Counts a call of `command` that took `usec` microseconds and answered `reply`.
pub(crate) fn record(store: &mut Store, command: Resolved, usec: u64, reply: &Reply) {
    store.commands_processed += 1;
    let tracking = store.config.latency_tracking;
    let stat = stat_entry(store, command);
    stat.calls += 1;
    stat.usec += usec;
    stat.latency_buckets[crate::keyspace::latency_bucket(usec)] += 1;
    if tracking {
        stat.histogram
            .get_or_insert_with(Default::default)
            .record(usec);
    }
    if reply.is_error() {
        stat.failed_calls += 1;
        count_error(store, reply);
    }
}

/// Counts a request of `command` refused before it ran (arity, authentication, fencing,
/// read-only standby), under the top-level name as Redis does, and builds its error reply.
pub(crate) fn reject(store: &mut Store, command: Resolved, error: &str) -> Reply {
    let reply = Reply::error_owned(error.to_string());
    let name = command.name();
    store
        .command_stats
        .entry_ref(name)
        .or_default()
        .rejected_calls += 1;
    count_error(store, &reply);
    reply
}

/// The error reply `text` for a request refused before it resolved to a command (unknown
/// command or subcommand), counted in `INFO errorstats` only, as Redis does.
pub(crate) fn error(store: &mut Store, text: String) -> Reply {
    let reply = Reply::error_owned(text);
    count_error(store, &reply);
    reply
}

fn stat_entry(store: &mut Store, command: Resolved) -> &mut CommandStat {
    // Look up without allocating; only a command's first call builds its key.
    let key: std::borrow::Cow<str> = match command.sub {
        None => command.name().into(),
        Some(_) => command.to_string().into(),
    };
    store.command_stats.entry_ref(key.as_ref()).or_default()
}

/// Distinct error prefixes `INFO errorstats` keeps (Redis's `ERROR_STATS_NUMBER`); errors
/// with a new prefix past it are not tracked.
const MAX_ERROR_PREFIXES: usize = 128;

fn count_error(store: &mut Store, reply: &Reply) {
    if let Reply::Error(text) = reply {
        let prefix = text.split(' ').next().unwrap_or("ERR");
        if let Some(count) = store.error_stats.get_mut(prefix) {
            *count += 1;
        } else if store.error_stats.len() < MAX_ERROR_PREFIXES {
            store.error_stats.insert(prefix.to_string(), 1);
        }
    }
}

/// After a command ran for `usec` µs: the slow log (`slowlog-log-slower-than`), the latency
/// monitor's `command` / `fast-command` events (`latency-monitor-threshold`) and the
/// `MONITOR` feed, each skipped at the cost of one comparison when off. Commands flagged
/// `skip_slowlog` (`EXEC`) are not logged; `admin` and `skip_monitor` ones are not monitored.
/// Source: Redis 7.2 `call()`.
pub(crate) fn observe(ctx: &mut Ctx, command: Resolved, args: &[Bytes], usec: u64) {
    let flags = command.spec().flags;
    let config = &ctx.store.config;
    let slower_than = config.slowlog_log_slower_than;
    if slower_than >= 0 && usec >= slower_than as u64 && !flags.contains(CommandFlags::SKIP_SLOWLOG)
    {
        let max_len = config.slowlog_max_len;
        let unix_secs = ctx.now_ms / 1000;
        let from_script = ctx.store.observe.script_depth > 0;
        let addr = ctx.session.handle.addr;
        let peer: &dyn std::fmt::Display = if from_script { &"?:0" } else { &addr };
        let name = match (&ctx.session.name, from_script) {
            (Some(name), false) => &name[..],
            _ => &[],
        };
        let caller = Caller { peer, name };
        let redacted = crate::observe::redacted(args);
        ctx.store
            .observe
            .slowlog
            .push(args, &redacted, usec, unix_secs, caller, max_len);
    }
    let threshold = ctx.store.config.latency_monitor_threshold_ms;
    if threshold > 0 && usec / 1000 >= threshold {
        let event = if flags.contains(CommandFlags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        let now = ctx.now_ms / 1000;
        ctx.store.observe.latency.add(event, usec / 1000, now);
    }
    if !ctx.store.observe.monitors.is_empty()
        && !flags.contains(CommandFlags::SKIP_MONITOR)
        && !flags.contains(CommandFlags::ADMIN)
    {
        feed_monitors(ctx, args);
    }
}

/// True for the commands that run scripts (`EVAL`, `FCALL` and their variants): flagged
/// `skip_monitor`, they are shown to monitors before they run instead of after.
pub(crate) fn runs_scripts(command: Resolved) -> bool {
    matches!(
        command.name(),
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Shows `args` to every monitor, as run by this connection on its database, or by `lua`
/// inside a script.
pub(crate) fn feed_monitors(ctx: &mut Ctx, args: &[Bytes]) {
    let limit = crate::observe::monitor::limit(ctx.store.config.client_output_buffer_limit[0]);
    let addr = ctx.session.handle.addr;
    let from: &dyn std::fmt::Display = if ctx.store.observe.script_depth > 0 {
        &"lua"
    } else {
        &addr
    };
    let redacted = crate::observe::redacted(args);
    let db = ctx.session.db;
    ctx.store
        .observe
        .monitors
        .feed(db, from, args, &redacted, limit);
}
