//! Blocking commands: `BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`, `BLMPOP`, `BZPOPMIN`,
//! `BZPOPMAX`, `BZMPOP`. Source: the Redis command reference; error texts from Redis's
//! `timeout.c`, `t_list.c` and `t_zset.c`.
//!
//! Each command first tries to serve itself like its non-blocking form. When every key is
//! empty it registers its client in the store's [`BlockingRegistry`] and answers a placeholder
//! the connection discards: the connection then waits for the reply that
//! `crate::connection` produces by running the command again through [`serve`], or
//! answers nil at the deadline.
//!
//! [`BlockingRegistry`]: crate::blocking::BlockingRegistry

use std::time::Duration;

use bytes::Bytes;
use redoubt_protocol::command_table::Resolved;
use redoubt_protocol::Reply;
use tokio::time::Instant;

use super::list::{move_item, multi_pop, parse_multi_pop, parse_side, pop_items, MultiPop};
use super::{CmdResult, Ctx};
use crate::blocking::{BlockKind, BlockWait, Blocked};
use crate::value::ZSetValue;

/// Registrations of this family's handlers: one for all, told apart by the resolved command.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("blpop", run),
    ("brpop", run),
    ("blmove", run),
    ("brpoplpush", run),
    ("blmpop", run),
    ("bzpopmin", run),
    ("bzpopmax", run),
    ("bzmpop", run),
];

/// Runs a blocking command: served at once when a key has elements, else the client blocks.
fn run(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let command = ctx.command.expect("dispatch sets the running command");
    let request = parse_request(command.name(), args)?;
    serve_or_block(ctx, command, args, request)
}

/// Runs a blocked client's `command` again on its behalf: its reply, or `None` when it would
/// still block.
pub(crate) fn serve(ctx: &mut Ctx, command: Resolved, args: &[Bytes]) -> Option<Reply> {
    let request = parse_request(command.name(), args).ok()?;
    attempt(ctx, &request.op).unwrap_or_else(Some)
}

/// A parsed blocking command.
struct Request {
    op: Op,
    timeout: Option<Duration>,
}

/// What a blocking command does once a key has elements.
enum Op {
    /// `BLPOP`/`BRPOP` (`left`): one element from the first non-empty list.
    Pop { keys: Vec<Bytes>, left: bool },
    /// `BLMOVE`/`BRPOPLPUSH`.
    Move {
        source: Bytes,
        destination: Bytes,
        from_left: bool,
        to_left: bool,
    },
    /// `BLMPOP`.
    ListMulti(MultiPop),
    /// `BZPOPMIN`/`BZPOPMAX` (`max`): one member from the first non-empty sorted set.
    ZPop { keys: Vec<Bytes>, max: bool },
    /// `BZMPOP` (`first_side` is `MIN`).
    ZMulti(MultiPop),
}

impl Op {
    fn keys(&self) -> Vec<Bytes> {
        match self {
            Op::Pop { keys, .. } | Op::ZPop { keys, .. } => keys.clone(),
            Op::Move { source, .. } => vec![source.clone()],
            Op::ListMulti(spec) | Op::ZMulti(spec) => spec.keys.clone(),
        }
    }

    fn kind(&self) -> BlockKind {
        match self {
            Op::Pop { .. } | Op::Move { .. } | Op::ListMulti(_) => BlockKind::List,
            Op::ZPop { .. } | Op::ZMulti(_) => BlockKind::ZSet,
        }
    }
}

/// Parses blocking command `name`, in Redis's order of checks.
fn parse_request(name: &str, args: &[Bytes]) -> Result<Request, Reply> {
    let last = args.len() - 1;
    Ok(match name {
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let timeout = parse_timeout(&args[last])?;
            let keys = args[1..last].to_vec();
            let op = match name {
                "blpop" => Op::Pop { keys, left: true },
                "brpop" => Op::Pop { keys, left: false },
                "bzpopmin" => Op::ZPop { keys, max: false },
                _ => Op::ZPop { keys, max: true },
            };
            Request { op, timeout }
        }
        "brpoplpush" => Request {
            timeout: parse_timeout(&args[3])?,
            op: Op::Move {
                source: args[1].clone(),
                destination: args[2].clone(),
                from_left: false,
                to_left: true,
            },
        },
        "blmove" => {
            let (from_left, to_left) = (parse_side(&args[3])?, parse_side(&args[4])?);
            Request {
                timeout: parse_timeout(&args[5])?,
                op: Op::Move {
                    source: args[1].clone(),
                    destination: args[2].clone(),
                    from_left,
                    to_left,
                },
            }
        }
        "blmpop" => {
            let timeout = parse_timeout(&args[1])?;
            let spec = parse_multi_pop(args, 2, ("left", "right"))?;
            Request {
                timeout,
                op: Op::ListMulti(spec),
            }
        }
        _ => {
            let timeout = parse_timeout(&args[1])?;
            let spec = parse_multi_pop(args, 2, ("min", "max"))?;
            Request {
                timeout,
                op: Op::ZMulti(spec),
            }
        }
    })
}

/// Parses a timeout in seconds (fractional; 0 blocks forever) as Redis does: rounded up to
/// whole milliseconds.
fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, Reply> {
    let seconds = crate::value::parse_f64(arg)
        .ok_or(Reply::error("ERR timeout is not a float or out of range"))?;
    let ms = (seconds * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(Reply::error("ERR timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

fn serve_or_block(ctx: &mut Ctx, command: Resolved, args: &[Bytes], request: Request) -> CmdResult {
    if let Some(reply) = attempt(ctx, &request.op)? {
        return Ok(reply);
    }
    let deadline = request
        .timeout
        .and_then(|timeout| Instant::now().checked_add(timeout));
    ctx.store.blocking.block(Blocked {
        handle: ctx.session.handle.clone(),
        db: ctx.session.db,
        keys: request.op.keys(),
        command,
        args: args.to_vec(),
        kind: request.op.kind(),
        wait: BlockWait {
            slot: Default::default(),
            deadline,
        },
    });
    // Placeholder: the connection sees its client blocked and waits for the real reply.
    Ok(Reply::NullArray)
}

/// Runs `op` like its non-blocking form: the reply, or `None` when every key is empty.
fn attempt(ctx: &mut Ctx, op: &Op) -> Result<Option<Reply>, Reply> {
    match op {
        Op::Pop { keys, left } => {
            for key in keys {
                if let Some(mut items) = pop_items(ctx, key, *left, 1)? {
                    let item = items.pop().expect("a present list is not empty");
                    return Ok(Some(Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Bulk(item),
                    ])));
                }
            }
            Ok(None)
        }
        Op::Move {
            source,
            destination,
            from_left,
            to_left,
        } => Ok(move_item(ctx, source, destination, *from_left, *to_left)?.map(Reply::Bulk)),
        Op::ListMulti(spec) => multi_pop(ctx, spec),
        Op::ZPop { keys, max } => {
            for key in keys {
                if let Some(mut popped) = zpop(ctx, key, *max, 1)? {
                    let (member, score) = popped.pop().expect("a present zset is not empty");
                    return Ok(Some(Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Bulk(member),
                        Reply::Double(score),
                    ])));
                }
            }
            Ok(None)
        }
        Op::ZMulti(spec) => {
            for key in &spec.keys {
                if let Some(popped) = zpop(ctx, key, !spec.first_side, spec.count)? {
                    let pairs = popped
                        .into_iter()
                        .map(|(member, score)| {
                            Reply::Array(vec![Reply::Bulk(member), Reply::Double(score)])
                        })
                        .collect();
                    return Ok(Some(Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Array(pairs),
                    ])));
                }
            }
            Ok(None)
        }
    }
}

/// Pops up to `count` members of the sorted set under `key`, lowest scores first (highest
/// with `max`), removing the key when it empties; `None` when the key is absent.
fn zpop(
    ctx: &mut Ctx,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, Reply> {
    let Some(zset) = ctx.read_mut::<ZSetValue>(key)? else {
        return Ok(None);
    };
    let popped = zset.pop(max, count);
    ctx.store.changed(popped.len() as u64);
    ctx.remove_if_empty::<ZSetValue>(key);
    Ok(Some(popped))
}
