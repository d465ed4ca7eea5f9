//! Merging the parts of a split or fanned-out request back into one reply, by the rule the
//! command's tips give ([`Rule`]), or by key order (`MGET`), or by `SCAN`'s cursor walk.

use bytes::Bytes;
use rand::seq::SliceRandom;
use redoubt_protocol::reply_decoder::decode;
use redoubt_protocol::Reply;

use crate::backend::BackendReply;

/// How the parts' replies are merged (`response_policy:*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `agg_sum`: integers summed.
    Sum,
    /// `agg_min`: the smallest integer.
    Min,
    /// `agg_max`: the largest integer.
    Max,
    /// `agg_logical_and`: 1 when every part says 1 (element-wise for arrays).
    And,
    /// `agg_logical_or`: 1 when any part says 1 (element-wise for arrays).
    Or,
    /// `all_succeeded`: the first part's reply when none failed, else the first error.
    AllSucceeded,
    /// `one_succeeded`: the first reply that is not an error, else the first error.
    OneSucceeded,
    /// No response policy, keyed request: the parts' values put back in key order (`MGET`).
    KeyOrder,
    /// No response policy, keyless request: the parts' arrays concatenated (`KEYS`).
    Concat,
    /// One non-nil reply picked at random (`RANDOMKEY`: `response_policy:special`).
    AnyNonNull,
    /// The reply every part gave, which must be the same (`SCRIPT LOAD`'s sha, `FUNCTION
    /// DUMP`'s payload), else an error naming the disagreement.
    Agreed,
    /// The parts' arrays with each element once, in first-seen order (`FUNCTION LIST`: every
    /// group holds the same libraries, a group missing one still shows it).
    Union,
    /// `FUNCTION STATS`: the first part's reply, with the script running on any group.
    FunctionStats,
}

/// Low bits of a proxy `SCAN` cursor that hold the group index.
pub(crate) const SCAN_GROUP_BITS: u32 = 10;

/// How to merge the parts of a split or fanned-out request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Merge {
    /// By a response policy.
    Rule(Rule),
    /// Values put back in request order: part `i` answers the keys at `positions[i]` of a
    /// `total`-key request (`MGET`).
    KeyOrder {
        /// Positions in the merged array of each part's values.
        positions: Vec<Vec<usize>>,
        /// Number of keys.
        total: usize,
    },
    /// `SCAN` on group `group` of `groups`.
    Scan {
        /// The group scanned.
        group: usize,
        /// Number of groups.
        groups: usize,
    },
}

impl Merge {
    /// Merges the parts' replies (in part order) into the client's reply. A part that failed
    /// (no reply, or an error reply) makes the whole an error, except under
    /// [`Rule::OneSucceeded`], which needs one part to succeed.
    pub(crate) fn merge(&self, replies: Vec<BackendReply>) -> Reply {
        let mut parsed = Vec::with_capacity(replies.len());
        let mut first_error = None;
        for reply in replies {
            let reply = match reply {
                Err(err) => Reply::error_owned(err.to_string()),
                Ok(raw) => match decode(&raw) {
                    Ok(reply) => reply,
                    Err(_) => Reply::error("ERR malformed reply from node"),
                },
            };
            if reply.is_error() {
                first_error.get_or_insert(reply);
            } else {
                parsed.push(reply);
            }
        }
        if let Merge::Rule(Rule::OneSucceeded) = self {
            return match parsed.into_iter().next() {
                Some(reply) => reply,
                None => first_error.unwrap_or(Reply::Null),
            };
        }
        if let Some(error) = first_error {
            return error;
        }
        match self {
            Merge::Rule(rule) => merge_by(*rule, parsed),
            Merge::KeyOrder { positions, total } => {
                let mut values = vec![Reply::Null; *total];
                for (part, reply) in parsed.into_iter().enumerate() {
                    let Some(positions) = positions.get(part) else {
                        break;
                    };
                    for (value, &position) in into_items(reply).into_iter().zip(positions) {
                        if let Some(slot) = values.get_mut(position) {
                            *slot = value;
                        }
                    }
                }
                Reply::Array(values)
            }
            Merge::Scan { group, groups } => scan_reply(parsed.pop(), *group, *groups),
        }
    }
}

fn merge_by(rule: Rule, parsed: Vec<Reply>) -> Reply {
    let ints = || {
        parsed
            .iter()
            .map(|r| if let Reply::Int(n) = r { *n } else { 0 })
    };
    match rule {
        Rule::Sum => Reply::Int(ints().fold(0i64, i64::saturating_add)),
        Rule::Min => ints().min().map_or(Reply::Null, Reply::Int),
        Rule::Max => ints().max().map_or(Reply::Null, Reply::Int),
        Rule::And => logical(parsed, |a, b| a && b),
        Rule::Or => logical(parsed, |a, b| a || b),
        Rule::AllSucceeded | Rule::OneSucceeded => parsed.into_iter().next().unwrap_or(Reply::Null),
        Rule::KeyOrder | Rule::Concat => {
            Reply::Array(parsed.into_iter().flat_map(into_items).collect())
        }
        Rule::Agreed => {
            let mut parts = parsed.into_iter();
            let first = parts.next().unwrap_or(Reply::Null);
            if parts.any(|other| other != first) {
                return Reply::error("ERR the groups answered differently");
            }
            first
        }
        Rule::Union => {
            let mut items: Vec<Reply> = Vec::new();
            for item in parsed.into_iter().flat_map(into_items) {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            Reply::Array(items)
        }
        Rule::FunctionStats => {
            let running = parsed
                .iter()
                .filter_map(|stats| field(stats, "running_script"))
                .find(|script| !matches!(script, Reply::Null | Reply::NullArray))
                .cloned();
            let mut parts = parsed.into_iter();
            let mut first = parts.next().unwrap_or(Reply::Null);
            if let (Some(running), Some(slot)) = (running, field_mut(&mut first, "running_script"))
            {
                *slot = running;
            }
            first
        }
        Rule::AnyNonNull => {
            let found: Vec<Reply> = parsed
                .into_iter()
                .filter(|r| matches!(r, Reply::Bulk(_)))
                .collect();
            found
                .choose(&mut rand::thread_rng())
                .cloned()
                .unwrap_or(Reply::Null)
        }
    }
}

/// Integers (or arrays of integers, element-wise) combined by `op`, as 1 or 0.
fn logical(parsed: Vec<Reply>, op: fn(bool, bool) -> bool) -> Reply {
    let truth = |r: &Reply| matches!(r, Reply::Int(n) if *n != 0);
    let mut parts = parsed.into_iter();
    let Some(first) = parts.next() else {
        return Reply::Null;
    };
    parts.fold(first, |acc, next| match (acc, next) {
        (Reply::Array(a), Reply::Array(b)) => Reply::Array(
            a.iter()
                .zip(&b)
                .map(|(x, y)| Reply::Int(i64::from(op(truth(x), truth(y)))))
                .collect(),
        ),
        (a, b) => Reply::Int(i64::from(op(truth(&a), truth(&b)))),
    })
}

fn scan_reply(reply: Option<Reply>, group: usize, groups: usize) -> Reply {
    let mut items = into_items(reply.unwrap_or(Reply::Null)).into_iter();
    let (Some(Reply::Bulk(next)), Some(keys)) = (items.next(), items.next()) else {
        return Reply::error("ERR malformed SCAN reply from node");
    };
    let next: u64 = String::from_utf8_lossy(&next).parse().unwrap_or(0);
    let cursor = if next == 0 {
        if group + 1 < groups {
            (group + 1) as u64
        } else {
            0
        }
    } else if next >> (64 - SCAN_GROUP_BITS) != 0 {
        return Reply::error("ERR node cursor too large for the proxy");
    } else {
        (next << SCAN_GROUP_BITS) | group as u64
    };
    Reply::Array(vec![Reply::Bulk(Bytes::from(cursor.to_string())), keys])
}

/// The value of field `name` of a map reply (RESP3 map, or RESP2 flat array of pairs).
fn field<'a>(reply: &'a Reply, name: &str) -> Option<&'a Reply> {
    let is_name = |key: &Reply| matches!(key, Reply::Bulk(b) if b.as_ref() == name.as_bytes());
    match reply {
        Reply::Map(pairs) => pairs.iter().find(|(k, _)| is_name(k)).map(|(_, v)| v),
        Reply::Array(items) => items
            .chunks(2)
            .find(|pair| is_name(&pair[0]))
            .and_then(|pair| pair.get(1)),
        _ => None,
    }
}

fn field_mut<'a>(reply: &'a mut Reply, name: &str) -> Option<&'a mut Reply> {
    let is_name = |key: &Reply| matches!(key, Reply::Bulk(b) if b.as_ref() == name.as_bytes());
    match reply {
        Reply::Map(pairs) => pairs.iter_mut().find(|(k, _)| is_name(k)).map(|(_, v)| v),
        Reply::Array(items) => items
            .chunks_mut(2)
            .find(|pair| is_name(&pair[0]))
            .and_then(|pair| pair.get_mut(1)),
        _ => None,
    }
}

fn into_items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
