//! Consumer group commands: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP),
//! XREADGROUP for one stream, and XACK.
//!
//! XREADGROUP never propagates itself: it propagates, per entry it adds to the PEL,
//! `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-id`, then,
//! once the group moved, `XGROUP SETID key group last-id ENTRIESREAD n` (plus `XGROUP CREATECONSUMER` when it
//! created the consumer), so a replica ends with the same PEL and last delivered ID
//! (`streamPropagateXCLAIM`, `streamPropagateGroupID`, `streamPropagateConsumerCreation`).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::args::{self, is, text};
use super::group::{ConsumerGroup, PendingEntry};
use super::id::StreamId;
use super::xrange::{entry_reply, ReadStart};
use super::{Applied, StreamValue};

/// Where a group starts: `$` or an ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupStart {
    /// `$`: the stream's last ID.
    Last,
    /// This ID.
    Id(StreamId),
}

/// A parsed XGROUP: the subcommand and its arguments, checked against the key when applied
/// (Redis checks the key before the subcommand's arity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XGroupRequest {
    args: Vec<Bytes>,
    /// MKSTREAM was given (CREATE only).
    pub(crate) mkstream: bool,
    /// ENTRIESREAD (`None` for -1 or not given).
    pub(crate) entries_read: Option<u64>,
}

const HELP: [&str; 17] = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Print this help.",
];

impl XGroupRequest {
    /// Parses XGROUP's arguments (subcommand first).
    ///
    /// # Errors
    /// Redis's subcommand syntax error, integer error, and
    /// `ERR value for ENTRIESREAD must be positive or -1`.
    pub(crate) fn parse(args: &[Bytes]) -> Result<XGroupRequest, Reply> {
        let mut req = XGroupRequest {
            args: args.to_vec(),
            mkstream: false,
            entries_read: None,
        };
        let Some(sub) = args.first() else {
            return Err(args::subcommand_syntax("XGROUP", b""));
        };
        if args.len() >= 3 {
            let create = is(sub, "create");
            let setid = is(sub, "setid");
            let mut i = 4;
            while i < args.len() {
                if create && is(&args[i], "mkstream") {
                    req.mkstream = true;
                    i += 1;
                } else if (create || setid) && is(&args[i], "entriesread") && i + 1 < args.len() {
                    let n = args::int(&args[i + 1])?;
                    if n < -1 {
                        return Err(Reply::error(
                            "ERR value for ENTRIESREAD must be positive or -1",
                        ));
                    }
                    req.entries_read = u64::try_from(n).ok();
                    i += 2;
                } else {
                    return Err(args::subcommand_syntax("XGROUP", sub));
                }
            }
        }
        Ok(req)
    }

    /// The key, when the subcommand names one.
    pub(crate) fn key(&self) -> Option<&Bytes> {
        self.args.get(1).filter(|_| self.args.len() >= 3)
    }
}

/// Applies XGROUP to the stream at its key (`None` if missing). With CREATE ... MKSTREAM on a
/// missing key, returns the new stream for the caller to store.
pub(crate) fn xgroup(
    req: &XGroupRequest,
    mut stream: Option<&mut StreamValue>,
    now_ms: i64,
) -> (Applied, Option<StreamValue>) {
    let args = &req.args;
    let sub = &args[0];
    let err = |reply: Reply| (Applied::read(reply), None);
    if args.len() >= 3 && !req.mkstream {
        let Some(s) = stream.as_deref() else {
            return err(Reply::error(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        };
        let needs_group = is(sub, "setid") || is(sub, "createconsumer") || is(sub, "delconsumer");
        if needs_group && !s.groups().contains_key(&args[2]) {
            return err(Reply::error_owned(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                text(&args[2]),
                text(&args[1])
            )));
        }
    }
    let n = args.len() + 1; // Redis's argc counts the command name.
    if n == 2 && is(sub, "help") {
        return err(Reply::Array(
            HELP.iter().map(|l| Reply::simple(l)).collect(),
        ));
    }
    if is(sub, "create") && (5..=8).contains(&n) {
        let start = match parse_group_start(&args[3], false) {
            Ok(start) => start,
            Err(reply) => return err(reply),
        };
        let mut created = None;
        let target = match stream.as_deref_mut() {
            Some(s) => s,
            None => created.insert(StreamValue::new()),
        };
        let id = match start {
            GroupStart::Last => target.last_id(),
            GroupStart::Id(id) => id,
        };
        if target.groups().contains_key(&args[2]) {
            return err(Reply::error("BUSYGROUP Consumer Group name already exists"));
        }
        target
            .groups_mut()
            .insert(args[2].clone(), ConsumerGroup::new(id, req.entries_read));
        return (Applied::verbatim(Reply::ok()), created);
    }
    let Some(s) = stream else {
        return err(args::subcommand_syntax("XGROUP", sub));
    };
    if is(sub, "setid") && (n == 5 || n == 7) {
        let start = match parse_group_start(&args[3], true) {
            Ok(start) => start,
            Err(reply) => return err(reply),
        };
        let id = match start {
            GroupStart::Last => s.last_id(),
            GroupStart::Id(id) => id,
        };
        let group = s.groups_mut().get_mut(&args[2]).expect("checked above");
        group.last_id = id;
        group.entries_read = req.entries_read;
        return (Applied::verbatim(Reply::ok()), None);
    }
    if is(sub, "destroy") && n == 4 {
        let gone = s.groups_mut().remove(&args[2]).is_some();
        let reply = Reply::Int(i64::from(gone));
        return (
            if gone {
                Applied::verbatim(reply)
            } else {
                Applied::read(reply)
            },
            None,
        );
    }
    if is(sub, "createconsumer") && n == 5 {
        let group = s.groups_mut().get_mut(&args[2]).expect("checked above");
        let created = group.create_consumer(&args[3], now_ms);
        let reply = Reply::Int(i64::from(created));
        return (
            if created {
                Applied::verbatim(reply)
            } else {
                Applied::read(reply)
            },
            None,
        );
    }
    if is(sub, "delconsumer") && n == 5 {
        let group = s.groups_mut().get_mut(&args[2]).expect("checked above");
        return match group.delete_consumer(&args[3]) {
            Some(pending) => (Applied::verbatim(Reply::Int(pending as i64)), None),
            None => (Applied::read(Reply::Int(0)), None),
        };
    }
    err(args::subcommand_syntax("XGROUP", sub))
}

/// `$` or an ID (strict for CREATE; SETID also takes `-` and `+`).
fn parse_group_start(arg: &[u8], lenient: bool) -> Result<GroupStart, Reply> {
    if arg == b"$" {
        return Ok(GroupStart::Last);
    }
    let id = if lenient {
        StreamId::parse(arg, 0)?
    } else {
        StreamId::parse_strict(arg, 0)?
    };
    Ok(GroupStart::Id(id))
}

/// What XREADGROUP did on one stream.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GroupRead {
    /// The entries served (an array of entries; a history entry no longer in the stream is
    /// `[id, nil]`), or `None` when there was nothing new for `>` (the stream is left out, or
    /// the client blocks).
    pub(crate) entries: Option<Reply>,
    /// Commands to propagate in place of XREADGROUP (full argv each).
    pub(crate) effects: Vec<Vec<Bytes>>,
}

/// XREADGROUP on one stream (`xreadCommand` + `streamReplyWithRange`): serves `>` from the
/// group's last delivered ID, adding to the PEL unless `noack`, or an ID from the consumer's
/// own PEL. `count` 0 means no limit.
///
/// # Errors
/// `NOGROUP No such key '<key>' or consumer group '<group>' in XREADGROUP with GROUP option`
/// when the group does not exist (the caller gives the same for a missing key).
#[allow(clippy::too_many_arguments)]
pub(crate) fn xreadgroup_one(
    key: &Bytes,
    stream: &mut StreamValue,
    group_name: &Bytes,
    consumer: &Bytes,
    start: ReadStart,
    count: u64,
    noack: bool,
    now_ms: i64,
) -> Result<GroupRead, Reply> {
    let Some((name, mut group)) = stream.groups_mut().remove_entry(group_name) else {
        return Err(nogroup_read(key, group_name));
    };
    let mut effects = Vec::new();
    let (owner, created) = group.consumer_or_create(consumer, now_ms);
    owner.seen_time_ms = now_ms;
    if created && noack {
        effects.push(args::argv([
            &args::word("XGROUP"),
            &args::word("CREATECONSUMER"),
            key,
            group_name,
            consumer,
        ]));
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let entries = match start {
        ReadStart::After(after) => Some(Reply::Array(history(
            stream, &mut group, consumer, after, limit, now_ms,
        ))),
        _ => {
            let fresh = stream
                .last_entry_id()
                .is_some_and(|newest| newest > group.last_id);
            fresh.then(|| {
                let from = group.last_id.next().unwrap_or(StreamId::MAX);
                let mut served = Vec::new();
                let batch: Vec<(StreamId, Reply)> = stream
                    .range(from, StreamId::MAX, false)
                    .take(limit)
                    .map(|e| (e.id, entry_reply(&e)))
                    .collect();
                for (id, reply) in batch {
                    stream.advance_group(&mut group, id);
                    served.push(reply);
                    if noack {
                        continue;
                    }
                    let pending = group.assign(id, consumer);
                    pending.delivery_time_ms = now_ms;
                    pending.delivery_count = 1;
                    let pending = pending.clone();
                    if let Some(owner) = group.consumers.get_mut(consumer) {
                        owner.active_time_ms = now_ms;
                    }
                    effects.push(xclaim_effect(key, group_name, id, &pending, group.last_id));
                }
                // Redis 7 propagates the group's position whenever it moved, NOACK or not,
                // so the read counter (`entries-read`) matches on replicas too.
                if !served.is_empty() {
                    effects.push(setid_effect(key, group_name, &group));
                }
                Reply::Array(served)
            })
        }
    };
    stream.groups_mut().insert(name, group);
    Ok(GroupRead { entries, effects })
}

/// The consumer's pending entries after `after`, redelivered (`streamReplyWithRangeFromConsumerPEL`).
fn history(
    stream: &StreamValue,
    group: &mut ConsumerGroup,
    consumer: &Bytes,
    after: StreamId,
    limit: usize,
    now_ms: i64,
) -> Vec<Reply> {
    let Some(from) = after.next() else {
        return Vec::new();
    };
    let ids: Vec<StreamId> = group.consumers[consumer]
        .pel
        .range(from..)
        .take(limit)
        .copied()
        .collect();
    let mut served = Vec::with_capacity(ids.len());
    for id in ids {
        match stream.get(id) {
            Some(entry) => {
                served.push(entry_reply(&entry));
                if let Some(pending) = group.pel.get_mut(&id) {
                    pending.delivery_time_ms = now_ms;
                    pending.delivery_count += 1;
                }
            }
            None => served.push(Reply::Array(vec![id.reply(), Reply::NullArray])),
        }
    }
    served
}

fn nogroup_read(key: &[u8], group: &[u8]) -> Reply {
    Reply::error_owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        text(key),
        text(group)
    ))
}

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-id`, the
/// idempotent form Redis propagates for a PEL change (`streamPropagateXCLAIM`).
pub(crate) fn xclaim_effect(
    key: &Bytes,
    group: &Bytes,
    id: StreamId,
    pending: &PendingEntry,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        args::word("XCLAIM"),
        key.clone(),
        group.clone(),
        pending.consumer.clone(),
        args::word("0"),
        id.to_bytes(),
        args::word("TIME"),
        args::num(pending.delivery_time_ms),
        args::word("RETRYCOUNT"),
        args::num(pending.delivery_count),
        args::word("FORCE"),
        args::word("JUSTID"),
        args::word("LASTID"),
        last_id.to_bytes(),
    ]
}

/// `XGROUP SETID key group last-id ENTRIESREAD n` (`streamPropagateGroupID`; -1 when unknown).
pub(crate) fn setid_effect(key: &Bytes, name: &Bytes, group: &ConsumerGroup) -> Vec<Bytes> {
    let read = group.entries_read.map_or(-1, |n| n as i64);
    vec![
        args::word("XGROUP"),
        args::word("SETID"),
        key.clone(),
        name.clone(),
        group.last_id.to_bytes(),
        args::word("ENTRIESREAD"),
        args::num(read),
    ]
}

/// XACK: the group is looked up before the IDs are parsed, so a missing key or group replies 0
/// whatever the IDs. Replies how many entries left the PEL.
///
/// # Errors
/// Returned as an error reply in [`Applied`]: [`super::id::INVALID_ID`].
pub(crate) fn xack(
    group_name: &[u8],
    id_args: &[Bytes],
    stream: Option<&mut StreamValue>,
) -> Applied {
    let Some(group) = stream.and_then(|s| s.groups_mut().get_mut(group_name)) else {
        return Applied::read(Reply::Int(0));
    };
    let ids: Result<Vec<StreamId>, Reply> = id_args
        .iter()
        .map(|a| StreamId::parse_strict(a, 0))
        .collect();
    let ids = match ids {
        Ok(ids) => ids,
        Err(reply) => return Applied::read(reply),
    };
    let acked = ids.into_iter().filter(|&id| group.acknowledge(id)).count();
    let reply = Reply::Int(acked as i64);
    if acked > 0 {
        Applied::verbatim(reply)
    } else {
        Applied::read(reply)
    }
}
