//! `FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP / RESTORE / STATS / KILL / HELP`, with Redis
//! 7.2's argument handling and texts (`function.c`). Changes stream to the standbys as received.
//!
//! The `FUNCTION DUMP` payload is Redoubt's own (see `crate::script::dump`).

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{flush_mode, help_reply, is, refuse_on_standby, stream_as_received};
use crate::cmd::{CmdResult, Ctx};
use crate::script::dump::{decode_dump, encode_dump};
use crate::script::functions::RestorePolicy;

const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";

pub(super) fn load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    refuse_on_standby(ctx)?;
    let mut replace = false;
    let mut pos = 2;
    while pos < args.len() - 1 {
        if is(&args[pos], "replace") {
            replace = true;
            pos += 1;
            continue;
        }
        return Err(Reply::error_owned(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(&args[pos])
        )));
    }
    if pos >= args.len() {
        return Err(Reply::error("ERR Function code is missing"));
    }
    let name = ctx
        .node
        .scripting
        .lock()
        .functions
        .load(&args[pos], replace)?;
    ctx.store.changed(1);
    stream_as_received(ctx, args);
    Ok(Reply::bulk(&name))
}

pub(super) fn delete(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    refuse_on_standby(ctx)?;
    ctx.node.scripting.lock().functions.delete(&args[2])?;
    ctx.store.changed(1);
    stream_as_received(ctx, args);
    Ok(Reply::ok())
}

pub(super) fn flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    refuse_on_standby(ctx)?;
    flush_mode(args, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")?;
    ctx.node.scripting.lock().functions.flush();
    ctx.store.changed(1);
    stream_as_received(ctx, args);
    Ok(Reply::ok())
}

pub(super) fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if !with_code && is(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "libraryname") {
            if i + 1 >= args.len() {
                return Err(Reply::error("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(Reply::error_owned(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
        i += 1;
    }
    Ok(ctx.node.scripting.lock().functions.list(pattern, with_code))
}

pub(super) fn dump(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let codes = ctx.node.scripting.lock().functions.dump();
    Ok(Reply::Bulk(encode_dump(&codes)))
}

pub(super) fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    refuse_on_standby(ctx)?;
    let policy =
        match args.get(3) {
            None => RestorePolicy::Append,
            Some(p) if is(p, "append") => RestorePolicy::Append,
            Some(p) if is(p, "replace") => RestorePolicy::Replace,
            Some(p) if is(p, "flush") => RestorePolicy::Flush,
            Some(_) => return Err(Reply::error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    if args.len() > 4 {
        return Err(Reply::error(
            "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
        ));
    }
    let codes = decode_dump(&args[2]).ok_or_else(|| Reply::error(BAD_PAYLOAD))?;
    ctx.node
        .scripting
        .lock()
        .functions
        .restore(&codes, policy)?;
    ctx.store.changed(1);
    stream_as_received(ctx, args);
    Ok(Reply::ok())
}

pub(super) fn stats(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let running = ctx.node.script_busy.running_script();
    Ok(ctx.node.scripting.lock().functions.stats(running))
}

pub(super) fn kill(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(ctx.node.script_busy.kill(true))
}

pub(super) fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(help_reply(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ]))
}
