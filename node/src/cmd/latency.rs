//! `LATENCY LATEST | HISTORY | RESET | GRAPH | DOCTOR | HISTOGRAM | HELP`: the latency
//! monitor's samples ([`crate::observe::latency`]) and the per-command latency histograms
//! ([`crate::observe::histogram`]). Source: Redis 7.2 `latency.c`.

use bytes::Bytes;
use redoubt_protocol::command_table::resolve_full_name;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("latency|latest", latest),
    ("latency|history", history),
    ("latency|reset", reset),
    ("latency|graph", graph),
    ("latency|doctor", doctor),
    ("latency|histogram", histogram),
    ("latency|help", help),
];

/// `LATENCY LATEST` → `[[event, unix time, latest ms, all-time max ms] ...]`.
fn latest(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let events = ctx.store.observe.latency.latest();
    Ok(Reply::Array(
        events
            .into_iter()
            .map(|(name, time, ms, max)| {
                Reply::Array(vec![
                    Reply::bulk(name),
                    Reply::Int(time as i64),
                    Reply::Int(ms as i64),
                    Reply::Int(max as i64),
                ])
            })
            .collect(),
    ))
}

/// `LATENCY HISTORY event` → `[[unix time, ms] ...]`, oldest first (empty for an unknown
/// event).
fn history(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let samples = ctx.store.observe.latency.history(&args[2]);
    Ok(Reply::Array(
        samples
            .into_iter()
            .map(|(time, ms)| Reply::Array(vec![Reply::Int(time as i64), Reply::Int(ms as i64)]))
            .collect(),
    ))
}

/// `LATENCY RESET [event ...]` → `:events reset` (every event without arguments).
fn reset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let events: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    Ok(Reply::Int(ctx.store.observe.latency.reset(&events) as i64))
}

/// `LATENCY GRAPH event` → the event's ASCII graph (verbatim text).
/// Errors: `-ERR No samples available for event '<event>'`.
fn graph(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms / 1000;
    match ctx.store.observe.latency.graph(&args[2], now) {
        Some(text) => Ok(Reply::Verbatim("txt", Bytes::from(text))),
        None => Err(Reply::error_owned(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        ))),
    }
}

/// `LATENCY DOCTOR` → a human-readable report (verbatim text).
fn doctor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let enabled = ctx.store.config.latency_monitor_threshold_ms > 0;
    let report = ctx.store.observe.latency.doctor(enabled, ctx.now_ms / 1000);
    Ok(Reply::Verbatim("txt", Bytes::from(report)))
}

/// `LATENCY HISTOGRAM [command ...]` → `{name: {calls: n, histogram_usec: {µs: cumulative
/// calls ...}} ...}` for every command with calls tracked (`latency-tracking`), or for the
/// named ones (a container names its subcommands too; unknown names are skipped).
fn histogram(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let stats = &ctx.store.command_stats;
    let entry = |name: &str| {
        let histogram = stats.get(name)?.histogram.as_ref()?;
        Some((Reply::bulk(name), histogram.reply()))
    };
    let mut entries = Vec::new();
    if args.len() == 2 {
        let mut names: Vec<&String> = stats.keys().collect();
        names.sort();
        entries.extend(names.into_iter().filter_map(|name| entry(name)));
    }
    for arg in &args[2..] {
        let Some(resolved) = resolve_full_name(arg) else {
            continue;
        };
        let name = resolved.to_string();
        entries.extend(entry(&name));
        if resolved.sub.is_none() {
            for sub in resolved.command.subcommands {
                entries.extend(entry(&format!("{name}|{}", sub.name)));
            }
        }
    }
    Ok(Reply::Map(entries))
}

/// `LATENCY HELP` → Redis's help lines.
fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        [
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Prints this help.",
        ]
        .into_iter()
        .map(Reply::simple)
        .collect(),
    ))
}
