//! `CLIENT` subcommands: ID, SETNAME, GETNAME, INFO, LIST, SETINFO.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, CmdResult, Ctx, SYNTAX};

/// Dispatches `CLIENT <sub> ...`.
pub fn client(ctx: &mut Ctx, sub: &str, args: &[Bytes]) -> CmdResult {
    // CLIENT INFO/LIST show the command being run as this client's `cmd`.
    {
        let mut view = ctx.session.handle.view.lock();
        view.db = ctx.session.db;
        view.last_command = format!("client|{sub}");
    }
    match sub {
        "id" => Ok(Reply::Int(ctx.session.handle.id as i64)),
        "setname" => {
            set_name(ctx, args[2].clone())?;
            Ok(Reply::ok())
        }
        "getname" => Ok(ctx.session.name.clone().into()),
        "info" => Ok(Reply::Verbatim(
            "txt",
            Bytes::from(ctx.session.handle.info_line() + "\n"),
        )),
        "list" => list(ctx, args),
        "setinfo" => setinfo(ctx, args),
        _ => Err(super::unknown_subcommand_named("client", sub)),
    }
}

/// Sets the connection's name; an empty name clears it.
///
/// # Errors
/// Redis's error for names with spaces, newlines or other special characters.
pub fn set_name(ctx: &mut Ctx, name: Bytes) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    let text = String::from_utf8_lossy(&name).into_owned();
    ctx.session.name = (!name.is_empty()).then_some(name);
    ctx.session.handle.view.lock().name = text;
    Ok(())
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`: one line per client.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "type") && i + 1 < args.len() {
            let kind = String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase();
            match kind.as_str() {
                "normal" => {}
                "master" | "replica" | "slave" | "pubsub" => ids = Some(Vec::new()),
                _ => {
                    return Err(Reply::error_owned(format!(
                        "ERR Unknown client type '{kind}'"
                    )))
                }
            }
            i += 2;
        } else if is(&args[i], "id") && i + 1 < args.len() {
            let mut wanted = Vec::new();
            for arg in &args[i + 1..] {
                let id =
                    super::parse_i64(arg).map_err(|_| Reply::error("ERR Invalid client ID"))?;
                wanted.push(id as u64);
            }
            ids = Some(wanted);
            i = args.len();
        } else {
            return Err(Reply::error(SYNTAX));
        }
    }
    let mut text = String::new();
    for client in ctx.node.clients.all() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&client.id)) {
            continue;
        }
        text.push_str(&client.info_line());
        text.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

/// `CLIENT SETINFO LIB-NAME name | LIB-VER version` → `+OK`.
fn setinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 4 {
        return Err(Reply::error_owned(super::wrong_arity("client|setinfo")));
    }
    let value = String::from_utf8_lossy(&args[3]).into_owned();
    if value.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::error_owned(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(&args[2]).to_ascii_lowercase()
        )));
    }
    let mut view = ctx.session.handle.view.lock();
    if is(&args[2], "lib-name") {
        view.lib_name = value;
    } else if is(&args[2], "lib-ver") {
        view.lib_ver = value;
    } else {
        return Err(Reply::error_owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    }
    Ok(Reply::ok())
}
