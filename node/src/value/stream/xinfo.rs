//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS and XINFO CONSUMERS (`xinfoCommand`). Replies
//! are maps (flat arrays in RESP2); a lag that cannot be known is nil. The caller answers a
//! missing key with `ERR no such key`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::args::{self, is, text};
use super::group::ConsumerGroup;
use super::id::StreamId;
use super::xrange::{entry_reply, range_reply};
use super::StreamValue;

/// Default COUNT of XINFO STREAM FULL.
const FULL_DEFAULT_COUNT: u64 = 10;

/// XINFO's HELP reply.
pub(crate) fn help() -> Reply {
    const LINES: [&str; 9] = [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Print this help.",
    ];
    Reply::Array(LINES.iter().map(|l| Reply::simple(l)).collect())
}

fn field(name: &'static str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk_static(name), value)
}

fn opt_int(value: Option<u64>) -> Reply {
    value.map_or(Reply::Null, |n| Reply::Int(n as i64))
}

/// XINFO STREAM with `opts` (the arguments after the key; `sub` is the subcommand as typed,
/// quoted in the syntax error).
pub(crate) fn xinfo_stream(stream: &StreamValue, sub: &[u8], opts: &[Bytes]) -> Reply {
    let full = match opts.len() {
        0 => None,
        1 | 3 if is(&opts[0], "full") => {
            if opts.len() == 1 {
                Some(FULL_DEFAULT_COUNT)
            } else if !is(&opts[1], "count") {
                return args::subcommand_syntax("XINFO", sub);
            } else {
                match args::int(&opts[2]) {
                    Ok(n) if n < 0 => Some(FULL_DEFAULT_COUNT),
                    Ok(n) => Some(n as u64),
                    Err(reply) => return reply,
                }
            }
        }
        _ => return args::subcommand_syntax("XINFO", sub),
    };
    let mut map = vec![
        field("length", Reply::Int(stream.len() as i64)),
        field("radix-tree-keys", Reply::Int(stream.block_count() as i64)),
        field(
            "radix-tree-nodes",
            Reply::Int(stream.block_count() as i64 + 1),
        ),
        field("last-generated-id", stream.last_id().reply()),
        field("max-deleted-entry-id", stream.max_deleted_id().reply()),
        field("entries-added", Reply::Int(stream.entries_added() as i64)),
        field("recorded-first-entry-id", stream.first_id().reply()),
    ];
    let Some(count) = full else {
        map.push(field("groups", Reply::Int(stream.groups().len() as i64)));
        let edge = |rev| {
            stream
                .range(StreamId::MIN, StreamId::MAX, rev)
                .next()
                .map_or(Reply::Null, |e| entry_reply(&e))
        };
        map.push(field("first-entry", edge(false)));
        map.push(field("last-entry", edge(true)));
        return Reply::Map(map);
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    map.push(field(
        "entries",
        Reply::Array(range_reply(
            stream,
            StreamId::MIN,
            StreamId::MAX,
            false,
            count,
        )),
    ));
    let groups = stream
        .groups()
        .iter()
        .map(|(name, group)| full_group(stream, name, group, limit))
        .collect();
    map.push(field("groups", Reply::Array(groups)));
    Reply::Map(map)
}

fn full_group(stream: &StreamValue, name: &Bytes, group: &ConsumerGroup, limit: usize) -> Reply {
    let pending = group
        .pel
        .iter()
        .take(limit)
        .map(|(id, p)| {
            Reply::Array(vec![
                id.reply(),
                Reply::bulk(&p.consumer),
                Reply::Int(p.delivery_time_ms),
                Reply::Int(p.delivery_count as i64),
            ])
        })
        .collect();
    let consumers = group
        .consumers
        .iter()
        .map(|(cname, c)| {
            let pel = c
                .pel
                .iter()
                .take(limit)
                .map(|id| {
                    let p = &group.pel[id];
                    Reply::Array(vec![
                        id.reply(),
                        Reply::Int(p.delivery_time_ms),
                        Reply::Int(p.delivery_count as i64),
                    ])
                })
                .collect();
            Reply::Map(vec![
                field("name", Reply::bulk(cname)),
                field("seen-time", Reply::Int(c.seen_time_ms)),
                field("active-time", Reply::Int(c.active_time_ms)),
                field("pel-count", Reply::Int(c.pel.len() as i64)),
                field("pending", Reply::Array(pel)),
            ])
        })
        .collect();
    Reply::Map(vec![
        field("name", Reply::bulk(name)),
        field("last-delivered-id", group.last_id.reply()),
        field("entries-read", opt_int(group.entries_read)),
        field("lag", opt_int(stream.lag(group))),
        field("pel-count", Reply::Int(group.pel.len() as i64)),
        field("pending", Reply::Array(pending)),
        field("consumers", Reply::Array(consumers)),
    ])
}

/// XINFO GROUPS: one map per group, in name order.
pub(crate) fn xinfo_groups(stream: &StreamValue) -> Reply {
    let groups = stream
        .groups()
        .iter()
        .map(|(name, group)| {
            Reply::Map(vec![
                field("name", Reply::bulk(name)),
                field("consumers", Reply::Int(group.consumers.len() as i64)),
                field("pending", Reply::Int(group.pel.len() as i64)),
                field("last-delivered-id", group.last_id.reply()),
                field("entries-read", opt_int(group.entries_read)),
                field("lag", opt_int(stream.lag(group))),
            ])
        })
        .collect();
    Reply::Array(groups)
}

/// XINFO CONSUMERS: one map per consumer (`name`, `pending`, `idle`, `inactive`; `inactive` is
/// -1 for a consumer that never read or claimed).
pub(crate) fn xinfo_consumers(
    stream: &StreamValue,
    key: &[u8],
    group: &[u8],
    now_ms: i64,
) -> Reply {
    let Some(group_value) = stream.groups().get(group) else {
        return Reply::error_owned(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(group),
            text(key)
        ));
    };
    let consumers = group_value
        .consumers
        .iter()
        .map(|(name, c)| {
            let inactive = if c.active_time_ms == -1 {
                -1
            } else {
                now_ms - c.active_time_ms
            };
            Reply::Map(vec![
                field("name", Reply::bulk(name)),
                field("pending", Reply::Int(c.pel.len() as i64)),
                field("idle", Reply::Int((now_ms - c.seen_time_ms).max(0))),
                field("inactive", Reply::Int(inactive)),
            ])
        })
        .collect();
    Reply::Array(consumers)
}
