//! Pending entries: XPENDING (summary and extended form), XCLAIM and XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM never propagate themselves: each PEL change goes to replicas as the
//! idempotent `XCLAIM ... TIME ms RETRYCOUNT n FORCE JUSTID LASTID id` (an entry no longer in
//! the stream leaves the PEL the same way), and a LASTID that moved the group with no claim
//! as `XGROUP SETID ... ENTRIESREAD n`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::args::{self, is, text, SYNTAX};
use super::group::{ConsumerGroup, PendingEntry};
use super::id::StreamId;
use super::xgroup::{setid_effect, xclaim_effect};
use super::xrange::entry_reply;
use super::{Applied, Propagate, StreamValue};

fn nogroup(key: &[u8], group: &[u8]) -> Reply {
    Reply::error_owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

fn effects(list: Vec<Vec<Bytes>>) -> Propagate {
    if list.is_empty() {
        Propagate::Nothing
    } else {
        Propagate::Effects(list)
    }
}

/// A parsed XPENDING: `group` alone (summary) or `group [IDLE ms] start end count [consumer]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XPendingRequest {
    /// The group.
    pub(crate) group: Bytes,
    /// The extended form's range, count, idle filter and consumer; `None` for the summary.
    pub(crate) extended: Option<PendingRange>,
}

/// XPENDING's extended form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingRange {
    /// Smallest ID.
    pub(crate) start: StreamId,
    /// Largest ID.
    pub(crate) end: StreamId,
    /// Most entries to list.
    pub(crate) count: u64,
    /// Only entries idle at least this long (ms; 0: all).
    pub(crate) min_idle_ms: i64,
    /// Only this consumer's entries.
    pub(crate) consumer: Option<Bytes>,
}

impl XPendingRequest {
    /// Parses XPENDING's arguments after the key (`xpendingCommand`).
    ///
    /// # Errors
    /// Redis's syntax, integer, ID and interval errors.
    pub(crate) fn parse(args: &[Bytes]) -> Result<XPendingRequest, Reply> {
        let argc = args.len() + 2;
        let Some(group) = args.first().cloned() else {
            return Err(Reply::error_owned(redoubt_protocol::errors::wrong_arity(
                "xpending",
            )));
        };
        if argc != 3 && !(6..=9).contains(&argc) {
            return Err(Reply::error(SYNTAX));
        }
        if argc == 3 {
            return Ok(XPendingRequest {
                group,
                extended: None,
            });
        }
        let mut at = 1;
        let mut min_idle_ms = 0;
        if is(&args[1], "idle") {
            min_idle_ms = args::int(&args[2])?;
            if argc < 8 {
                return Err(Reply::error(SYNTAX));
            }
            at += 2;
        }
        let count = args::int(&args[at + 2])?.max(0) as u64;
        let start = StreamId::parse_range_start(&args[at])?;
        let end = StreamId::parse_range_end(&args[at + 1])?;
        let consumer = args.get(at + 3).cloned();
        Ok(XPendingRequest {
            group,
            extended: Some(PendingRange {
                start,
                end,
                count,
                min_idle_ms,
                consumer,
            }),
        })
    }
}

/// XPENDING. Summary: `[count, first-id, last-id, [[consumer, count-as-bulk], ...]]` (nils
/// when nothing is pending); extended: `[[id, consumer, idle-ms, deliveries], ...]`.
pub(crate) fn xpending(
    key: &[u8],
    req: &XPendingRequest,
    stream: Option<&StreamValue>,
    now_ms: i64,
) -> Reply {
    let Some(group) = stream.and_then(|s| s.groups().get(&req.group)) else {
        return nogroup(key, &req.group);
    };
    let Some(range) = &req.extended else {
        return summary(group);
    };
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match &range.consumer {
        Some(name) => match group.consumers.get(name) {
            Some(consumer) => Box::new(consumer.pel.range(range.start..).copied()),
            None => return Reply::Array(Vec::new()),
        },
        None => Box::new(group.pel.range(range.start..).map(|(id, _)| *id)),
    };
    let mut rows = Vec::new();
    for id in ids.take_while(|&id| id <= range.end) {
        if rows.len() as u64 >= range.count {
            break;
        }
        let pending = &group.pel[&id];
        let idle = now_ms - pending.delivery_time_ms;
        if range.min_idle_ms != 0 && idle < range.min_idle_ms {
            continue;
        }
        rows.push(Reply::Array(vec![
            id.reply(),
            Reply::bulk(&pending.consumer),
            Reply::Int(idle.max(0)),
            Reply::Int(pending.delivery_count as i64),
        ]));
    }
    Reply::Array(rows)
}

fn summary(group: &ConsumerGroup) -> Reply {
    let (Some((first, _)), Some((last, _))) =
        (group.pel.first_key_value(), group.pel.last_key_value())
    else {
        return Reply::Array(vec![
            Reply::Int(0),
            Reply::Null,
            Reply::Null,
            Reply::NullArray,
        ]);
    };
    let consumers = group
        .consumers
        .iter()
        .filter(|(_, c)| !c.pel.is_empty())
        .map(|(name, c)| Reply::Array(vec![Reply::bulk(name), Reply::Bulk(args::num(c.pel.len()))]))
        .collect();
    Reply::Array(vec![
        Reply::Int(group.pel.len() as i64),
        first.reply(),
        last.reply(),
        Reply::Array(consumers),
    ])
}

/// A parsed XCLAIM (`key group consumer min-idle-time id... [IDLE ms] [TIME ms]
/// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XClaimRequest {
    /// The group.
    pub(crate) group: Bytes,
    /// The claiming consumer.
    pub(crate) consumer: Bytes,
    /// Claim only entries idle at least this long (ms).
    pub(crate) min_idle_ms: i64,
    /// The IDs to claim.
    pub(crate) ids: Vec<StreamId>,
    /// New delivery time (Unix ms), from IDLE or TIME.
    pub(crate) delivery_time_ms: Option<i64>,
    /// RETRYCOUNT.
    pub(crate) retry_count: Option<u64>,
    /// FORCE: create missing PEL entries for existing stream entries.
    pub(crate) force: bool,
    /// JUSTID: reply IDs only, and leave delivery counts alone.
    pub(crate) justid: bool,
    /// LASTID: move the group's last delivered ID forward to this.
    pub(crate) last_id: StreamId,
}

impl XClaimRequest {
    /// Parses XCLAIM's arguments after the key. IDs run until the first argument that is not
    /// one; what follows are options.
    ///
    /// # Errors
    /// Redis's texts (`ERR Invalid min-idle-time argument for XCLAIM`, `ERR Invalid IDLE option
    /// argument for XCLAIM`, ..., `ERR Unrecognized XCLAIM option '<opt>'`).
    pub(crate) fn parse(args: &[Bytes], now_ms: i64) -> Result<XClaimRequest, Reply> {
        if args.len() < 4 {
            return Err(Reply::error_owned(redoubt_protocol::errors::wrong_arity(
                "xclaim",
            )));
        }
        let min_idle_ms =
            args::int_or(&args[2], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
        let mut req = XClaimRequest {
            group: args[0].clone(),
            consumer: args[1].clone(),
            min_idle_ms,
            ids: Vec::new(),
            delivery_time_ms: None,
            retry_count: None,
            force: false,
            justid: false,
            last_id: StreamId::MIN,
        };
        let mut j = 3;
        while j < args.len() {
            match StreamId::parse_strict(&args[j], 0) {
                Ok(id) => req.ids.push(id),
                Err(_) => break,
            }
            j += 1;
        }
        while j < args.len() {
            let more = args.len() - 1 - j;
            let opt = &args[j];
            if is(opt, "force") {
                req.force = true;
            } else if is(opt, "justid") {
                req.justid = true;
            } else if is(opt, "idle") && more > 0 {
                j += 1;
                let idle = args::int_or(&args[j], "ERR Invalid IDLE option argument for XCLAIM")?;
                req.delivery_time_ms = Some(now_ms.saturating_sub(idle));
            } else if is(opt, "time") && more > 0 {
                j += 1;
                req.delivery_time_ms = Some(args::int_or(
                    &args[j],
                    "ERR Invalid TIME option argument for XCLAIM",
                )?);
            } else if is(opt, "retrycount") && more > 0 {
                j += 1;
                let n = args::int_or(
                    &args[j],
                    "ERR Invalid RETRYCOUNT option argument for XCLAIM",
                )?;
                req.retry_count = u64::try_from(n).ok();
            } else if is(opt, "lastid") && more > 0 {
                j += 1;
                req.last_id = StreamId::parse_strict(&args[j], 0)?;
            } else {
                return Err(Reply::error_owned(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    text(opt)
                )));
            }
            j += 1;
        }
        Ok(req)
    }
}

/// XCLAIM (`xclaimCommand`): the group is looked up before the arguments are checked.
/// Replies the claimed entries (or IDs with JUSTID); propagates the PEL changes.
pub(crate) fn xclaim(
    key: &Bytes,
    args: &[Bytes],
    stream: Option<&mut StreamValue>,
    now_ms: i64,
) -> Applied {
    let Some(stream) = stream.filter(|s| args.first().is_some_and(|g| s.groups().contains_key(g)))
    else {
        let group = args.first().map_or(&b""[..], |g| g.as_ref());
        return Applied::read(nogroup(key, group));
    };
    let req = match XClaimRequest::parse(args, now_ms) {
        Ok(req) => req,
        Err(reply) => return Applied::read(reply),
    };
    let (name, mut group) = stream
        .groups_mut()
        .remove_entry(&req.group)
        .expect("checked above");
    let mut out = Vec::new();
    let mut claimed = Vec::new();
    let mut propagate_last_id = false;
    if req.last_id > group.last_id {
        group.last_id = req.last_id;
        propagate_last_id = true;
    }
    let delivery_time = match req.delivery_time_ms {
        Some(t) if (0..=now_ms).contains(&t) => t,
        _ => now_ms,
    };
    group
        .consumer_or_create(&req.consumer, now_ms)
        .0
        .seen_time_ms = now_ms;
    for &id in &req.ids {
        let pending = group.pel.get(&id).cloned();
        if !stream.contains(id) {
            if let Some(pending) = pending {
                out.push(xclaim_effect(key, &name, id, &pending, group.last_id));
                propagate_last_id = false;
                group.acknowledge(id);
            }
            continue;
        }
        let forced_new = pending.is_none() && req.force;
        match &pending {
            None if !forced_new => continue,
            Some(p) if req.min_idle_ms > 0 && now_ms - p.delivery_time_ms < req.min_idle_ms => {
                continue
            }
            _ => {}
        }
        let entry = group.assign(id, &req.consumer);
        if forced_new {
            entry.delivery_count = 1;
        }
        entry.delivery_time_ms = delivery_time;
        match req.retry_count {
            Some(n) => entry.delivery_count = n,
            None if !req.justid => entry.delivery_count += 1,
            None => {}
        }
        let entry = entry.clone();
        claimed.push(claim_reply(stream, id, req.justid));
        if let Some(c) = group.consumers.get_mut(&req.consumer) {
            c.active_time_ms = now_ms;
        }
        out.push(xclaim_effect(key, &name, id, &entry, group.last_id));
        propagate_last_id = false;
    }
    if propagate_last_id {
        out.push(setid_effect(key, &name, &group));
    }
    stream.groups_mut().insert(name, group);
    Applied {
        reply: Reply::Array(claimed),
        propagate: effects(out),
    }
}

fn claim_reply(stream: &StreamValue, id: StreamId, justid: bool) -> Reply {
    if justid {
        return id.reply();
    }
    entry_reply(&stream.get(id).expect("checked to exist"))
}

/// A parsed XAUTOCLAIM (`key group consumer min-idle-time start [COUNT n] [JUSTID]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct XAutoClaimRequest {
    /// The group.
    pub(crate) group: Bytes,
    /// The claiming consumer.
    pub(crate) consumer: Bytes,
    /// Claim only entries idle at least this long (ms).
    pub(crate) min_idle_ms: i64,
    /// Scan the PEL from this ID.
    pub(crate) start: StreamId,
    /// Most entries to claim (default 100); the scan looks at most 10 times as many.
    pub(crate) count: u64,
    /// JUSTID.
    pub(crate) justid: bool,
}

/// Largest XAUTOCLAIM COUNT: `LONG_MAX / max(sizeof(streamID), 10)`.
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;

impl XAutoClaimRequest {
    /// Parses XAUTOCLAIM's arguments after the key (`xautoclaimCommand`).
    ///
    /// # Errors
    /// Redis's texts (`ERR Invalid min-idle-time argument for XAUTOCLAIM`,
    /// `ERR COUNT must be > 0`, syntax, ID and interval errors).
    pub(crate) fn parse(args: &[Bytes]) -> Result<XAutoClaimRequest, Reply> {
        if args.len() < 4 {
            return Err(Reply::error_owned(redoubt_protocol::errors::wrong_arity(
                "xautoclaim",
            )));
        }
        let min_idle_ms = args::int_or(
            &args[2],
            "ERR Invalid min-idle-time argument for XAUTOCLAIM",
        )?
        .max(0);
        let start = StreamId::parse_range_start(&args[3])?;
        let mut req = XAutoClaimRequest {
            group: args[0].clone(),
            consumer: args[1].clone(),
            min_idle_ms,
            start,
            count: 100,
            justid: false,
        };
        let mut j = 4;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if is(&args[j], "count") && more > 0 {
                let n = args::int_or(&args[j + 1], "ERR COUNT must be > 0")?;
                if !(1..=AUTOCLAIM_MAX_COUNT).contains(&n) {
                    return Err(Reply::error("ERR COUNT must be > 0"));
                }
                req.count = n as u64;
                j += 1;
            } else if is(&args[j], "justid") {
                req.justid = true;
            } else {
                return Err(Reply::error(SYNTAX));
            }
            j += 1;
        }
        Ok(req)
    }
}

/// XAUTOCLAIM: claims idle pending entries from `start`. Replies `[next-start, claimed,
/// deleted-ids]`, where `next-start` is 0-0 once the PEL has been scanned to its end and
/// `deleted-ids` lists pending entries no longer in the stream (dropped from the PEL).
pub(crate) fn xautoclaim(
    key: &Bytes,
    req: &XAutoClaimRequest,
    stream: Option<&mut StreamValue>,
    now_ms: i64,
) -> Applied {
    let Some(stream) = stream.filter(|s| s.groups().contains_key(&req.group)) else {
        return Applied::read(nogroup(key, &req.group));
    };
    let (name, mut group) = stream
        .groups_mut()
        .remove_entry(&req.group)
        .expect("checked above");
    group
        .consumer_or_create(&req.consumer, now_ms)
        .0
        .seen_time_ms = now_ms;
    let mut attempts = req.count.saturating_mul(10);
    let mut count = req.count;
    let mut cursor = Some(req.start);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut out = Vec::new();
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some((id, pending)) = cursor.and_then(|c| next_pending(&group, c)) else {
            cursor = None;
            break;
        };
        cursor = id.next();
        if !stream.contains(id) {
            out.push(xclaim_effect(key, &name, id, &pending, group.last_id));
            group.acknowledge(id);
            deleted.push(id.reply());
            count -= 1;
            continue;
        }
        if req.min_idle_ms > 0 && now_ms - pending.delivery_time_ms < req.min_idle_ms {
            continue;
        }
        let entry = group.assign(id, &req.consumer);
        entry.delivery_time_ms = now_ms;
        if !req.justid {
            entry.delivery_count += 1;
        }
        let entry = entry.clone();
        claimed.push(claim_reply(stream, id, req.justid));
        count -= 1;
        if let Some(c) = group.consumers.get_mut(&req.consumer) {
            c.active_time_ms = now_ms;
        }
        out.push(xclaim_effect(key, &name, id, &entry, group.last_id));
    }
    let next = cursor
        .and_then(|c| next_pending(&group, c))
        .map_or(StreamId::MIN, |(id, _)| id);
    stream.groups_mut().insert(name, group);
    Applied {
        reply: Reply::Array(vec![
            next.reply(),
            Reply::Array(claimed),
            Reply::Array(deleted),
        ]),
        propagate: effects(out),
    }
}

fn next_pending(group: &ConsumerGroup, from: StreamId) -> Option<(StreamId, PendingEntry)> {
    group
        .pel
        .range(from..)
        .next()
        .map(|(id, p)| (*id, p.clone()))
}
