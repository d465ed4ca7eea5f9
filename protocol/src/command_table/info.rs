//! `COMMAND`, `COMMAND INFO`, `COMMAND COUNT` and `COMMAND LIST` replies.

use bytes::Bytes;

use super::resolve::{resolve_full_name, CommandSet};
use super::{BeginSearch, CommandSpec, FindKeys, KeySpec, COMMANDS};
use crate::reply::Reply;

/// The `COMMAND INFO` entry of a top-level command, shaped as Redis 7.0's: `[name, arity,
/// flags, first key, last key, step, ACL categories, tips, key specs, subcommands]`, the flags
/// and categories as sets of status strings, the tips as a set of bulk strings, the key specs
/// as a set of maps, and the subcommands as an array of such entries named `container|sub`
/// (an empty set when there are none). [`super::CommandFlags::MULTI_KEY`] is not reported.
/// Only the subcommands in `served` are listed.
pub fn command_info_reply(spec: &'static CommandSpec, served: &CommandSet) -> Reply {
    info_entry(spec, spec.name, served)
}

fn info_entry(spec: &'static CommandSpec, full_name: &str, served: &CommandSet) -> Reply {
    let flags = spec.flags.names().map(Reply::simple).collect();
    let categories = spec
        .acl_categories
        .split_whitespace()
        .map(Reply::simple)
        .collect();
    let tips = spec
        .tips
        .split_whitespace()
        .map(Reply::bulk_static)
        .collect();
    let key_specs = spec
        .key_specs()
        .map(|key_spec| key_spec_reply(&key_spec))
        .collect();
    let subcommands = if spec.subcommands.is_empty() {
        Reply::Set(Vec::new())
    } else {
        Reply::Array(
            spec.subcommands
                .iter()
                .filter(|sub| served.contains_spec(Some(spec), sub))
                .map(|sub| info_entry(sub, &format!("{full_name}|{}", sub.name), served))
                .collect(),
        )
    };
    Reply::Array(vec![
        Reply::bulk(full_name),
        Reply::Int(i64::from(spec.arity)),
        Reply::Set(flags),
        Reply::Int(i64::from(spec.first_key)),
        Reply::Int(i64::from(spec.last_key)),
        Reply::Int(i64::from(spec.key_step)),
        Reply::Set(categories),
        Reply::Set(tips),
        Reply::Set(key_specs),
        subcommands,
    ])
}

fn key_spec_reply(key_spec: &KeySpec) -> Reply {
    let flags = key_spec
        .flags
        .split_whitespace()
        .map(Reply::simple)
        .collect();
    let (begin_type, begin_spec) = match key_spec.begin {
        BeginSearch::Index(index) => ("index", vec![int_field("index", index)]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => (
            "keyword",
            vec![
                (Reply::bulk_static("keyword"), Reply::bulk_static(keyword)),
                int_field("startfrom", start_from),
            ],
        ),
        BeginSearch::Unknown => ("unknown", Vec::new()),
    };
    let (find_type, find_spec) = match key_spec.find {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => (
            "range",
            vec![
                int_field("lastkey", last_key),
                int_field("keystep", key_step),
                int_field("limit", limit),
            ],
        ),
        FindKeys::KeyNum {
            key_num_index,
            first_key,
            key_step,
        } => (
            "keynum",
            vec![
                int_field("keynumidx", key_num_index),
                int_field("firstkey", first_key),
                int_field("keystep", key_step),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    Reply::Map(vec![
        (Reply::bulk_static("flags"), Reply::Set(flags)),
        (
            Reply::bulk_static("begin_search"),
            search_map(begin_type, begin_spec),
        ),
        (
            Reply::bulk_static("find_keys"),
            search_map(find_type, find_spec),
        ),
    ])
}

fn int_field(name: &'static str, value: i32) -> (Reply, Reply) {
    (Reply::bulk_static(name), Reply::Int(i64::from(value)))
}

fn search_map(kind: &'static str, spec: Vec<(Reply, Reply)>) -> Reply {
    Reply::Map(vec![
        (Reply::bulk_static("type"), Reply::bulk_static(kind)),
        (Reply::bulk_static("spec"), Reply::Map(spec)),
    ])
}

/// The reply to `COMMAND INFO [name ...]` (and, with no names, to `COMMAND`): an array with
/// the entry of each named command, `Null` for names not in `served`, or of every command in
/// `served` when `names` is empty. `container|sub` names a subcommand.
pub fn command_info(names: &[Bytes], served: &CommandSet) -> Reply {
    if names.is_empty() {
        return Reply::Array(
            COMMANDS
                .iter()
                .filter(|spec| served.contains_spec(None, spec))
                .map(|spec| command_info_reply(spec, served))
                .collect(),
        );
    }
    Reply::Array(
        names
            .iter()
            .map(|name| match resolve_full_name(name) {
                Some(found) if served.contains(found.index) => {
                    info_entry(found.spec(), &found.to_string(), served)
                }
                _ => Reply::Null,
            })
            .collect(),
    )
}

/// The reply to `COMMAND COUNT`: the number of top-level commands in `served`.
pub fn command_count(served: &CommandSet) -> i64 {
    COMMANDS
        .iter()
        .filter(|spec| served.contains_spec(None, spec))
        .count() as i64
}

/// The reply to `COMMAND LIST` (without `FILTERBY`): the names of every command and
/// subcommand (`config|get`) in `served`, as bulk strings.
pub fn command_list(served: &CommandSet) -> Reply {
    let mut names = Vec::new();
    for spec in COMMANDS {
        if !served.contains_spec(None, spec) {
            continue;
        }
        names.push(Reply::bulk_static(spec.name));
        for sub in spec.subcommands {
            if served.contains_spec(Some(spec), sub) {
                names.push(Reply::bulk(format!("{}|{}", spec.name, sub.name)));
            }
        }
    }
    Reply::Array(names)
}
