//! Commands the proxy splits over groups or fans out to all of them, and how their parts are
//! merged back into one reply.
//!
//! - `MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`: keys are grouped by owning group, one
//!   sub-request per group; keys of one group stay in one request, in their original order.
//!   `MSET` reports `OK` only if every part did; counts are summed; `MGET` values are put back
//!   in request order. When every key falls in one group the request passes through whole.
//! - `DBSIZE`, `KEYS`, `FLUSHALL`, `FLUSHDB`, `RANDOMKEY`: sent to every group's primary.
//! - `SCAN`: the proxy's cursor carries the group in its low [`SCAN_GROUP_BITS`] bits and the
//!   node's cursor above them; a scan walks the groups in order.

use std::sync::Arc;

use bytes::Bytes;
use rand::seq::SliceRandom;
use redoubt_protocol::{Protocol, Reply};

use crate::backend::{Backend, BackendReply};
use crate::session::{ClientContext, NodeCall, Pending};

/// Low bits of a proxy `SCAN` cursor that hold the group index.
pub const SCAN_GROUP_BITS: u32 = 10;

/// How to merge the parts of a split or fanned-out request.
#[derive(Debug)]
pub enum Merge {
    /// `MGET`: part `i` answers the keys at `positions[i]` of a `total`-key request.
    Mget {
        /// Positions in the merged array of each part's values.
        positions: Vec<Vec<usize>>,
        /// Number of keys.
        total: usize,
    },
    /// `+OK` if every part said so, else the first error.
    AllOk,
    /// Sum of integer replies.
    Sum,
    /// Arrays concatenated (`KEYS`).
    Concat,
    /// One non-nil reply picked at random (`RANDOMKEY`).
    AnyNonNull,
    /// `SCAN` on group `group` of `groups`.
    Scan {
        /// The group scanned.
        group: usize,
        /// Number of groups.
        groups: usize,
    },
}

/// Splits or fans out the request if its command needs it; `None` for ordinary routing.
pub fn split(client: &impl ClientContext, command: &str, args: &[Bytes]) -> Option<Pending> {
    let state = client.state().clone();
    let (step, read) = match command {
        "mget" => (1, true),
        "exists" | "touch" => (1, true),
        "del" | "unlink" => (1, false),
        "mset" => (2, false),
        "dbsize" | "keys" | "flushall" | "flushdb" | "randomkey" => {
            return Some(fan_out(client, command, args))
        }
        "scan" => return Some(scan(client, args)),
        _ => return None,
    };
    if command == "mset" && args.len() % 2 == 0 {
        return Some(ready(
            client,
            Reply::error("ERR wrong number of arguments for 'mset' command"),
        ));
    }
    // Group the keys (with their values for MSET), keeping request order within a group.
    let mut by_group: Vec<(usize, Vec<usize>)> = Vec::new();
    for (position, index) in (1..args.len()).step_by(step).enumerate() {
        let group = state.slots.group_of_key(&args[index]);
        match by_group.iter_mut().find(|(g, _)| *g == group) {
            Some((_, positions)) => positions.push(position),
            None => by_group.push((group, vec![position])),
        }
    }
    let pick = |group: usize| -> Arc<Backend> {
        let group = &state.groups[group];
        if read {
            group.read_target().clone()
        } else {
            group.primary().clone()
        }
    };
    if by_group.len() == 1 {
        let backend = pick(by_group[0].0);
        let call = NodeCall::send(
            &state,
            &backend,
            client.protocol(),
            client.id(),
            crate::encode_args(args),
        );
        return Some(Pending::Node(call));
    }
    let mut parts = Vec::with_capacity(by_group.len());
    for (group, positions) in &by_group {
        let mut sub: Vec<&[u8]> = vec![&args[0]];
        for &position in positions {
            let index = 1 + position * step;
            sub.extend(args[index..index + step].iter().map(|a| &a[..]));
        }
        let backend = pick(*group);
        parts.push(NodeCall::send(
            &state,
            &backend,
            client.protocol(),
            client.id(),
            crate::encode_request(&sub),
        ));
    }
    let merge = match command {
        "mget" => Merge::Mget {
            positions: by_group.into_iter().map(|(_, p)| p).collect(),
            total: (args.len() - 1) / step,
        },
        "mset" => Merge::AllOk,
        _ => Merge::Sum,
    };
    Some(Pending::Merged {
        merge,
        parts,
        protocol: client.protocol(),
    })
}

fn ready(client: &impl ClientContext, reply: Reply) -> Pending {
    Pending::Ready(crate::session::encode(&reply, client.protocol()))
}

fn fan_out(client: &impl ClientContext, command: &str, args: &[Bytes]) -> Pending {
    let state = client.state();
    let request = crate::encode_args(args);
    let parts = state
        .groups
        .iter()
        .map(|g| {
            NodeCall::send(
                state,
                g.primary(),
                client.protocol(),
                client.id(),
                request.clone(),
            )
        })
        .collect();
    let merge = match command {
        "dbsize" => Merge::Sum,
        "keys" => Merge::Concat,
        "randomkey" => Merge::AnyNonNull,
        _ => Merge::AllOk,
    };
    Pending::Merged {
        merge,
        parts,
        protocol: client.protocol(),
    }
}

fn scan(client: &impl ClientContext, args: &[Bytes]) -> Pending {
    let state = client.state();
    let groups = state.groups.len();
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok());
    let Some(cursor) = cursor else {
        return ready(client, Reply::error("ERR invalid cursor"));
    };
    let group = (cursor & ((1 << SCAN_GROUP_BITS) - 1)) as usize;
    if group >= groups {
        return ready(client, Reply::error("ERR invalid cursor"));
    }
    let node_cursor = (cursor >> SCAN_GROUP_BITS).to_string();
    let mut sub: Vec<&[u8]> = vec![&args[0], node_cursor.as_bytes()];
    sub.extend(args[2..].iter().map(|a| &a[..]));
    let call = NodeCall::send(
        state,
        state.groups[group].primary(),
        client.protocol(),
        client.id(),
        crate::encode_request(&sub),
    );
    Pending::Merged {
        merge: Merge::Scan { group, groups },
        parts: vec![call],
        protocol: client.protocol(),
    }
}

impl Merge {
    /// Merges the parts' replies (in part order) into the client's reply.
    pub fn merge(&self, replies: Vec<BackendReply>, protocol: Protocol) -> Reply {
        let mut parsed = Vec::with_capacity(replies.len());
        for reply in replies {
            match reply {
                Err(err) => return Reply::error_owned(err.to_string()),
                Ok(raw) => match parse_reply(&raw, protocol) {
                    Some(Reply::Error(text)) => return Reply::Error(text),
                    Some(reply) => parsed.push(reply),
                    None => return Reply::error("ERR malformed reply from node"),
                },
            }
        }
        match self {
            Merge::AllOk => Reply::ok(),
            Merge::Sum => Reply::Int(
                parsed
                    .iter()
                    .map(|r| if let Reply::Int(n) = r { *n } else { 0 })
                    .sum(),
            ),
            Merge::Concat => Reply::Array(parsed.into_iter().flat_map(into_items).collect()),
            Merge::AnyNonNull => {
                let found: Vec<Reply> = parsed
                    .into_iter()
                    .filter(|r| matches!(r, Reply::Bulk(_)))
                    .collect();
                found
                    .choose(&mut rand::thread_rng())
                    .cloned()
                    .unwrap_or(Reply::Null)
            }
            Merge::Mget { positions, total } => {
                let mut values = vec![Reply::Null; *total];
                for (part, reply) in parsed.into_iter().enumerate() {
                    for (value, &position) in into_items(reply).into_iter().zip(&positions[part]) {
                        values[position] = value;
                    }
                }
                Reply::Array(values)
            }
            Merge::Scan { group, groups } => {
                let mut items = into_items(parsed.pop().unwrap_or(Reply::Null)).into_iter();
                let (Some(Reply::Bulk(next)), Some(keys)) = (items.next(), items.next()) else {
                    return Reply::error("ERR malformed SCAN reply from node");
                };
                let next: u64 = String::from_utf8_lossy(&next).parse().unwrap_or(0);
                let cursor = if next == 0 {
                    if group + 1 < *groups {
                        (group + 1) as u64
                    } else {
                        0
                    }
                } else if next >> (64 - SCAN_GROUP_BITS) != 0 {
                    return Reply::error("ERR node cursor too large for the proxy");
                } else {
                    (next << SCAN_GROUP_BITS) | *group as u64
                };
                Reply::Array(vec![Reply::bulk(cursor.to_string()), keys])
            }
        }
    }
}

fn into_items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        _ => Vec::new(),
    }
}

/// Decodes a node's raw reply into a [`Reply`] (with `redis-protocol`'s decoders).
pub fn parse_reply(raw: &Bytes, protocol: Protocol) -> Option<Reply> {
    match protocol {
        Protocol::Resp2 => {
            let (frame, _) = redis_protocol::resp2::decode::decode_bytes(raw).ok()??;
            Some(from_resp2(frame))
        }
        Protocol::Resp3 => {
            let (frame, _) = redis_protocol::resp3::decode::complete::decode_bytes(raw).ok()??;
            Some(from_resp3(frame))
        }
    }
}

fn from_resp2(frame: redis_protocol::resp2::types::BytesFrame) -> Reply {
    use redis_protocol::resp2::types::BytesFrame as F;
    match frame {
        F::SimpleString(s) => Reply::Simple(String::from_utf8_lossy(&s).into_owned().into()),
        F::Error(e) => Reply::Error(e.to_string().into()),
        F::Integer(n) => Reply::Int(n),
        F::BulkString(b) => Reply::Bulk(b),
        F::Array(items) => Reply::Array(items.into_iter().map(from_resp2).collect()),
        F::Null => Reply::Null,
    }
}

fn from_resp3(frame: redis_protocol::resp3::types::BytesFrame) -> Reply {
    use redis_protocol::resp3::types::BytesFrame as F;
    match frame {
        F::BlobString { data, .. } => Reply::Bulk(data),
        F::SimpleString { data, .. } => {
            Reply::Simple(String::from_utf8_lossy(&data).into_owned().into())
        }
        F::SimpleError { data, .. } => Reply::Error(data.to_string().into()),
        F::BlobError { data, .. } => {
            Reply::Error(String::from_utf8_lossy(&data).into_owned().into())
        }
        F::Number { data, .. } => Reply::Int(data),
        F::Double { data, .. } => Reply::Double(data),
        F::Boolean { data, .. } => Reply::Bool(data),
        F::Null => Reply::Null,
        F::Array { data, .. } | F::Push { data, .. } => {
            Reply::Array(data.into_iter().map(from_resp3).collect())
        }
        F::Set { data, .. } => Reply::Set(data.into_iter().map(from_resp3).collect()),
        F::Map { data, .. } => Reply::Map(
            data.into_iter()
                .map(|(k, v)| (from_resp3(k), from_resp3(v)))
                .collect(),
        ),
        F::BigNumber { data, .. } | F::VerbatimString { data, .. } => Reply::Bulk(data),
        F::Hello { .. } | F::ChunkedString(_) => Reply::Null,
    }
}
