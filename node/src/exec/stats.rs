//! Per-command statistics (`INFO commandstats`, `INFO errorstats`, latency histograms): calls,
//! time, failures and rejections, kept in the store under the command's full name.

use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;

use crate::keyspace::{CommandStat, Store};

/// Counts a call of `command` that took `usec` microseconds and answered `reply`.
pub(crate) fn record(store: &mut Store, command: Resolved, usec: u64, reply: &Reply) {
    store.commands_processed += 1;
    let stat = stat_entry(store, command);
    stat.calls += 1;
    stat.usec += usec;
    stat.latency_buckets[crate::keyspace::latency_bucket(usec)] += 1;
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
    if !store.command_stats.contains_key(name) {
        store
            .command_stats
            .insert(name.to_string(), CommandStat::default());
    }
    if let Some(stat) = store.command_stats.get_mut(name) {
        stat.rejected_calls += 1;
    }
    count_error(store, &reply);
    reply
}

fn stat_entry(store: &mut Store, command: Resolved) -> &mut CommandStat {
    // Look up without allocating; only a command's first call builds its key.
    let key: std::borrow::Cow<str> = match command.sub {
        None => command.name().into(),
        Some(_) => command.to_string().into(),
    };
    if !store.command_stats.contains_key(key.as_ref()) {
        store
            .command_stats
            .insert(key.to_string(), CommandStat::default());
    }
    store
        .command_stats
        .get_mut(key.as_ref())
        .expect("inserted above")
}

fn count_error(store: &mut Store, reply: &Reply) {
    if let Reply::Error(text) = reply {
        let prefix = text.split(' ').next().unwrap_or("ERR");
        *store.error_stats.entry(prefix.to_string()).or_default() += 1;
    }
}
