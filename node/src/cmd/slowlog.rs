//! `SLOWLOG GET [count] | LEN | RESET | HELP`: the slow log kept by [`crate::observe::slowlog`].
//! Source: Redis 7.2 `slowlog.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("slowlog|get", get),
    ("slowlog|len", len),
    ("slowlog|reset", reset),
    ("slowlog|help", help),
];

/// Entries `SLOWLOG GET` answers without a count.
const DEFAULT_COUNT: usize = 10;

/// `SLOWLOG GET [count]` → the newest `count` entries (10 by default, all for -1), each
/// `[id, unix time, µs, [arg ...], "ip:port", name]`.
/// Errors: a count that is not an integer ≥ -1 → `-ERR count should be greater than or
/// equal to -1`.
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = match args.get(2) {
        None => DEFAULT_COUNT,
        Some(arg) => match crate::value::parse_canonical_i64(arg) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            _ => {
                return Err(Reply::error(
                    "ERR count should be greater than or equal to -1",
                ))
            }
        },
    };
    Ok(ctx.store.observe.slowlog.reply(count))
}

/// `SLOWLOG LEN` → `:entries`.
fn len(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(ctx.store.observe.slowlog.len() as i64))
}

/// `SLOWLOG RESET` → `+OK`, the log emptied.
fn reset(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    ctx.store.observe.slowlog.reset();
    Ok(Reply::ok())
}

/// `SLOWLOG HELP` → Redis's help lines.
fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Array(
        [
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        ]
        .into_iter()
        .map(Reply::simple)
        .collect(),
    ))
}
