//! `COMMAND`, `COMMAND COUNT | INFO | DOCS | LIST | GETKEYS | GETKEYSANDFLAGS`, answered from the shared table.

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandFlags, CommandSet};
use redoubt_protocol::Reply;

use super::{is, CmdResult, Ctx, SYNTAX};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("command", all),
    ("command|count", count),
    ("command|info", info),
    ("command|docs", docs),
    ("command|list", list),
    ("command|getkeys", getkeys),
    ("command|getkeysandflags", getkeysandflags),
];

/// The commands this node serves.
fn served() -> &'static CommandSet {
    crate::exec::table::handlers().served()
}

/// `COMMAND` → the `COMMAND INFO` reply of every command served.
fn all(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(command_table::command_info(&[], served()))
}

/// `COMMAND COUNT` → how many top-level commands the node serves.
fn count(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(command_table::command_count(served())))
}

/// `COMMAND INFO [name ...]` → each named command's details, nil for one not served.
fn info(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(command_table::command_info(&args[2..], served()))
}

/// `COMMAND DOCS [name ...]` → map of each named command's documentation.
fn docs(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(command_table::command_docs(&args[2..], served()))
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`.
fn list(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let all = command_table::command_list(served());
    match args.len() {
        2 => Ok(all),
        5 if is(&args[2], "filterby") => {
            let Reply::Array(names) = all else {
                return Ok(all);
            };
            let keep = |name: &[u8]| {
                if is(&args[3], "pattern") {
                    crate::glob::glob_match(&args[4], name, true)
                } else if is(&args[3], "module") {
                    false
                } else if is(&args[3], "aclcat") {
                    let category = format!(
                        "@{}",
                        String::from_utf8_lossy(&args[4]).to_ascii_lowercase()
                    );
                    let request: Vec<Bytes> = name
                        .split(|&b| b == b'|')
                        .map(Bytes::copy_from_slice)
                        .collect();
                    command_table::lookup_request(&request).is_some_and(|spec| {
                        let Reply::Array(fields) =
                            command_table::command_info_reply(spec, served())
                        else {
                            return false;
                        };
                        matches!(fields.get(6), Some(Reply::Set(cats) | Reply::Array(cats))
                            if cats.iter().any(|c| matches!(c, Reply::Simple(t) if *t == category)))
                    })
                } else {
                    false
                }
            };
            Ok(Reply::Array(
                names
                    .into_iter()
                    .filter(|n| matches!(n, Reply::Bulk(name) if keep(name)))
                    .collect(),
            ))
        }
        _ => Err(Reply::error(SYNTAX)),
    }
}

/// `COMMAND GETKEYS command [arg ...]` → the key arguments of that request.
fn getkeys(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = request_keys(&args[2..])?;
    Ok(Reply::Array(
        keys.into_iter().map(|(key, _)| Reply::Bulk(key)).collect(),
    ))
}

/// `COMMAND GETKEYSANDFLAGS command [arg ...]` → `[[key, {flag ...}] ...]`: each key with its
/// key specification's flags (`RW access delete`), a set in RESP3.
fn getkeysandflags(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let keys = request_keys(&args[2..])?;
    Ok(Reply::Array(
        keys.into_iter()
            .map(|(key, flags)| {
                let flags = flags.split_whitespace().map(Reply::simple).collect();
                Reply::Array(vec![Reply::Bulk(key), Reply::Set(flags)])
            })
            .collect(),
    ))
}

/// The keys of `request` with their key-spec flags, checked in Redis's order
/// (`getKeysSubcommandImpl`): known command, has keys, arity, then keys found (none is an
/// error unless the command's keys are optional).
fn request_keys(request: &[Bytes]) -> Result<Vec<(Bytes, &'static str)>, Reply> {
    let spec = command_table::lookup_request(request)
        .filter(|spec| spec.subcommands.is_empty())
        .ok_or(Reply::error("ERR Invalid command specified"))?;
    let has_keys = spec.first_key > 0
        || !spec.key_specs.is_empty()
        || spec.flags.contains(CommandFlags::MOVABLE_KEYS);
    if !has_keys {
        return Err(Reply::error("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(request.len()) {
        return Err(Reply::error(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = spec.keys_and_flags(request);
    if keys.is_empty() && !spec.flags.contains(CommandFlags::NO_MANDATORY_KEYS) {
        return Err(Reply::error("ERR Invalid arguments specified for command"));
    }
    Ok(keys
        .into_iter()
        .map(|(index, flags)| (request[index].clone(), flags))
        .collect())
}
