//! Splitting a request over groups ([`Spread`] from [`super::commands`]) and sending the parts.
//!
//! - By key (`MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`): keys are grouped by owning
//!   group, one sub-request per group; keys of one group stay in one request, in their
//!   original order, each with the arguments that follow it up to the key step (`MSET`'s
//!   values). When every key falls in one group the request passes through whole.
//! - To every group (`DBSIZE`, `KEYS`, `FLUSHALL`, `RANDOMKEY`...): the same request to every
//!   group's primary.
//! - `SCAN`: the proxy's cursor carries the group in its low [`SCAN_GROUP_BITS`] bits and the
//!   node's cursor above them; a scan walks the groups in order.

use bytes::Bytes;
use redoubt_protocol::command_table::{CommandFlags, CommandSpec};
use redoubt_protocol::{errors, Reply};

use super::commands::{Rule, Spread};
use super::conn::ClientConn;
use super::merge::{Merge, SCAN_GROUP_BITS};
use super::pending::{encode, encode_args, NodeCall, Pending};
use crate::state::Worker;

/// A keyed request split by group.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeySplit {
    /// Every key is in this group: the request goes whole.
    Whole(usize),
    /// One sub-request per group, in the order groups were first met, and how to merge them.
    Parts {
        /// Each part's group and arguments (the command name first).
        parts: Vec<(usize, Vec<Bytes>)>,
        /// How the parts' replies become one.
        merge: Merge,
    },
}

/// Where the keys of a by-key request of `count` arguments are: the first key's index and the
/// key step (`MSET`'s is 2); `None` when the arguments after the first key are not whole key
/// groups (`MSET k v k`), Redis's wrong-arity case.
fn key_layout(spec: &CommandSpec, count: usize) -> Option<(usize, usize)> {
    let first = usize::try_from(spec.first_key).unwrap_or(0).max(1);
    let step = usize::try_from(spec.key_step).unwrap_or(1).max(1);
    (count > first && (count - first) % step == 0).then_some((first, step))
}

/// Splits the keyed request `args` of `spec` by the group `group_of` gives each key.
///
/// # Errors
/// Redis's wrong-arity error when the arguments after the first key are not whole key groups
/// (`MSET k v k`).
pub(crate) fn split_by_key(
    spec: &CommandSpec,
    name: &str,
    args: &[Bytes],
    rule: Rule,
    group_of: impl Fn(&[u8]) -> usize,
) -> Result<KeySplit, Reply> {
    let Some((first, step)) = key_layout(spec, args.len()) else {
        return Err(Reply::error_owned(errors::wrong_arity(name)));
    };
    // Key positions (in key order) by group, groups in the order first met.
    let mut by_group: Vec<(usize, Vec<usize>)> = Vec::new();
    for (position, index) in (first..args.len()).step_by(step).enumerate() {
        let group = group_of(&args[index]);
        match by_group.iter_mut().find(|(g, _)| *g == group) {
            Some((_, positions)) => positions.push(position),
            None => by_group.push((group, vec![position])),
        }
    }
    if let [(group, _)] = by_group[..] {
        return Ok(KeySplit::Whole(group));
    }
    let parts = by_group
        .iter()
        .map(|(group, positions)| {
            let mut sub = args[..first].to_vec();
            for &position in positions {
                let index = first + position * step;
                sub.extend_from_slice(&args[index..index + step]);
            }
            (*group, sub)
        })
        .collect();
    let merge = match rule {
        Rule::KeyOrder => Merge::KeyOrder {
            positions: by_group.into_iter().map(|(_, p)| p).collect(),
            total: (args.len() - first) / step,
        },
        rule => Merge::Rule(rule),
    };
    Ok(KeySplit::Parts { parts, merge })
}

/// Sends a request spread by `spread` and returns its pending reply. `raw` is the request as
/// the client sent it, when at hand: what goes whole is sent as it is.
pub(crate) fn send(
    worker: &Worker,
    conn: &ClientConn,
    spec: &CommandSpec,
    name: &str,
    spread: Spread,
    args: &[Bytes],
    raw: Option<Bytes>,
) -> Pending {
    let whole = |raw: Option<Bytes>| raw.unwrap_or_else(|| encode_args(args));
    let one_group = worker.groups.len() == 1;
    let call = |group: usize, request: Bytes, read: bool| {
        let group = &worker.groups[group];
        let backend = if read {
            group.read_target()
        } else {
            group.primary()
        };
        NodeCall::send(
            backend,
            conn.protocol,
            conn.db,
            conn.id,
            request,
            worker.config.request_timeout,
        )
    };
    let merged = |merge: Merge, parts: Vec<NodeCall>| Pending::Merged {
        merge,
        parts,
        protocol: conn.protocol,
    };
    match spread {
        Spread::ByKey(rule) => {
            let read = spec.flags.contains(CommandFlags::READONLY);
            let split = split_by_key(spec, name, args, rule, |key| {
                if one_group {
                    0
                } else {
                    worker.slots.group_of_key(key)
                }
            });
            match split {
                Err(reply) => Pending::Ready(encode(&reply, conn.protocol)),
                Ok(KeySplit::Whole(group)) => Pending::Node(call(group, whole(raw), read)),
                Ok(KeySplit::Parts { parts, merge }) => {
                    let parts = parts
                        .into_iter()
                        .map(|(group, sub)| call(group, encode_args(&sub), read))
                        .collect();
                    merged(merge, parts)
                }
            }
        }
        Spread::AllGroups(rule) => {
            let request = whole(raw);
            let parts = (0..worker.groups.len())
                .map(|group| call(group, request.clone(), false))
                .collect();
            merged(Merge::Rule(rule), parts)
        }
        Spread::Scan => match scan_request(args, worker.groups.len()) {
            Err(reply) => Pending::Ready(encode(&reply, conn.protocol)),
            Ok((group, sub)) => {
                let groups = worker.groups.len();
                let part = call(group, encode_args(&sub), false);
                merged(Merge::Scan { group, groups }, vec![part])
            }
        },
    }
}

/// A by-key request (`MGET`, `MSET`, `DEL`...) whose keys are all in one group, sent whole from
/// the client's own bytes (`args` as [`super::frame::take`] read them): no argument is copied
/// or counted. `None` when it needs [`send`]: keys in several groups, arguments that are not
/// whole key groups (the arity error), or a request without its raw bytes.
pub(crate) fn send_whole(
    worker: &Worker,
    conn: &ClientConn,
    spec: &CommandSpec,
    args: &super::frame::Args,
) -> Option<Pending> {
    let raw = args.raw()?;
    let count = args.len();
    let (first, step) = key_layout(spec, count)?;
    let group = if worker.groups.len() == 1 {
        0
    } else {
        let mut keys = (first..count).step_by(step).map(|i| args.arg(i));
        let group = worker.slots.group_of_key(keys.next()?);
        if !keys.all(|key| worker.slots.group_of_key(key) == group) {
            return None;
        }
        group
    };
    let target = &worker.groups[group];
    let backend = if spec.flags.contains(CommandFlags::READONLY) {
        target.read_target()
    } else {
        target.primary()
    };
    Some(Pending::Node(NodeCall::send(
        backend,
        conn.protocol,
        conn.db,
        conn.id,
        raw.clone(),
        worker.config.request_timeout,
    )))
}

/// The group a proxy `SCAN` cursor points at and the node's request.
fn scan_request(args: &[Bytes], groups: usize) -> Result<(usize, Vec<Bytes>), Reply> {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
        .ok_or(Reply::error("ERR invalid cursor"))?;
    let group = (cursor & ((1 << SCAN_GROUP_BITS) - 1)) as usize;
    if group >= groups {
        return Err(Reply::error("ERR invalid cursor"));
    }
    let mut sub = vec![
        args[0].clone(),
        Bytes::from((cursor >> SCAN_GROUP_BITS).to_string()),
    ];
    sub.extend_from_slice(&args[2..]);
    Ok((group, sub))
}

#[cfg(test)]
mod tests;
