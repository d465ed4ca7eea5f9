//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT and FUNCTION.
//! Behaviour and texts from Redis 7.2's `eval.c`, `script.c` (`scriptPrepareForRun`,
//! `scriptCall`) and `function.c`.
//!
//! A script runs inside its command's handler, under the store lock the connection holds, so
//! it is atomic. Its `redis.call` goes through the node's dispatch ([`install_dispatch`]) with
//! the caller's `Ctx` (a `SELECT` inside changes only the script's database: the caller's is
//! restored afterwards), after the checks Redis makes for scripts (unknown command, arity, `noscript`, writes in a
//! read-only script). Its writes stream to the standbys as one unit (`MULTI` ... `EXEC` when
//! more than one, see `Replication::stream_script_effects`). While it runs,
//! `NodeState::script_busy` lets other connections answer `-BUSY` or kill it without the lock.
//!
//! `SCRIPT LOAD` / `SCRIPT FLUSH` and `FUNCTION LOAD / DELETE / FLUSH / RESTORE` stream as they
//! were received, so a promoted standby has the same scripts and functions (Redis 7 does not
//! stream `SCRIPT LOAD`; Redoubt does, so `EVALSHA` keeps working after a failover).

mod functions;

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use redoubt_protocol::command_table::{self, CommandFlags, Resolved};
use redoubt_protocol::{Protocol, Reply};

use super::{is, CmdResult, Ctx};
use crate::script::busy::{ConnSettings, RunInfo};
use crate::script::control::{ScriptControl, REPL_REPLICA};
use crate::script::eval::split_keys;
use crate::script::flags::ScriptFlags;

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("eval", eval),
    ("evalsha", evalsha),
    ("eval_ro", eval_ro),
    ("evalsha_ro", evalsha_ro),
    ("fcall", fcall),
    ("fcall_ro", fcall_ro),
    ("script|load", script_load),
    ("script|exists", script_exists),
    ("script|flush", script_flush),
    ("script|kill", script_kill),
    ("script|help", script_help),
    ("function|load", functions::load),
    ("function|delete", functions::delete),
    ("function|flush", functions::flush),
    ("function|list", functions::list),
    ("function|dump", functions::dump),
    ("function|restore", functions::restore),
    ("function|stats", functions::stats),
    ("function|kill", functions::kill),
    ("function|help", functions::help),
];

/// The node's dispatch as a script's `redis.call` uses it, for a command [`script_call`] has
/// already resolved: the reply, and whether the node serves the command. Dispatch
/// (`crate::exec`) sits above the command families, so it installs itself here
/// ([`install_dispatch`]) when it builds its handler table.
pub(crate) type Dispatch = fn(&mut Ctx, Resolved, &[Bytes]) -> (Reply, bool);

static DISPATCH: OnceLock<Dispatch> = OnceLock::new();

/// Gives scripts the node's dispatch (called once, by `crate::exec::table`).
pub(crate) fn install_dispatch(dispatch: Dispatch) {
    let _ = DISPATCH.set(dispatch);
}

const READONLY_REPLICA: &str = "READONLY You can't write against a read only replica.";

/// What a scripting command runs.
#[derive(Clone, Copy)]
enum Target {
    /// EVAL: the body is `args[1]`.
    Body,
    /// EVALSHA: the SHA1 is `args[1]`.
    Sha,
    /// FCALL: the function name is `args[1]`.
    Function,
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Body, false)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Sha, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Body, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Sha, true)
}

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Function, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Target::Function, true)
}

/// Refuses a script whose flags forbid running it here (Redis's `scriptPrepareForRun`), and
/// tells whether its run is read-only (`*_RO` commands and `no-writes`).
fn check_flags(ctx: &Ctx, flags: ScriptFlags, ro_command: bool) -> Result<bool, Reply> {
    if !flags.eval_compat && !flags.no_writes {
        if ctx.store.repl.is_replica() && !ctx.session.primary_link {
            return Err(Reply::error(
                "READONLY Can not run script with write flag on readonly replica",
            ));
        }
        if ro_command {
            return Err(Reply::error(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
    }
    Ok(ro_command || flags.no_writes)
}

/// Runs EVAL / EVALSHA / FCALL and their read-only forms.
fn run(ctx: &mut Ctx, args: &[Bytes], target: Target, ro_command: bool) -> CmdResult {
    let node = ctx.node;
    let mut scripting = node.scripting.lock();
    let scripting = &mut *scripting;
    let (name, flags, keys, argv) = match target {
        Target::Body => {
            let (keys, argv) = split_keys(&args[2], &args[3..])?;
            let (sha, flags) = scripting.eval.prepare(&args[1])?;
            (sha, flags, keys, argv)
        }
        Target::Sha => {
            let (keys, argv) = split_keys(&args[2], &args[3..])?;
            let (sha, flags) = scripting.eval.find(&args[1])?;
            (sha, flags, keys, argv)
        }
        Target::Function => {
            let flags = scripting.functions.flags(&args[1])?;
            if super::parse_i64(&args[2]).is_err() {
                return Err(Reply::error("ERR Bad number of keys provided"));
            }
            let (keys, argv) = split_keys(&args[2], &args[3..])?;
            let name = String::from_utf8_lossy(&args[1]).into();
            (name, flags, keys, argv)
        }
    };
    let read_only = check_flags(ctx, flags, ro_command)?;
    let function = matches!(target, Target::Function);
    let control = if function {
        scripting.functions.control()
    } else {
        scripting.eval.control()
    };
    node.script_busy.begin(RunInfo {
        threshold: Duration::from_millis(ctx.store.config.busy_reply_threshold_ms),
        function,
        name: name.clone(),
        // Only FUNCTION STATS shows the command, and only a function's.
        command: if function { args.to_vec() } else { Vec::new() },
        control: control.clone(),
        settings: ConnSettings::of(&ctx.store.config),
    });
    let saved_db = ctx.session.db;
    let saved_protocol = ctx.session.protocol;
    ctx.session.protocol = Protocol::Resp2;
    ctx.store.repl.hold_script_effects();
    let mut call = |words: &[Bytes]| script_call(ctx, words, read_only, &control);
    let reply = if function {
        scripting.functions.call(&args[1], keys, argv, &mut call)
    } else {
        scripting.eval.run(name.as_bytes(), keys, argv, &mut call)
    };
    ctx.store.repl.stream_script_effects();
    ctx.session.db = saved_db;
    ctx.session.protocol = saved_protocol;
    node.script_busy.end();
    Ok(reply)
}

/// One `redis.call` / `redis.pcall`: Redis's script checks (`scriptCall`), then the command
/// through the node's dispatch.
fn script_call(ctx: &mut Ctx, words: &[Bytes], read_only: bool, control: &ScriptControl) -> Reply {
    const UNKNOWN: &str = "ERR Unknown Redis command called from script";
    let Some(resolved) = command_table::resolve(words) else {
        return Reply::error(UNKNOWN);
    };
    if resolved.is_container_without_sub() && words.len() > 1 {
        return Reply::error(UNKNOWN);
    }
    if !resolved.arity_ok(words.len()) || resolved.is_container_without_sub() {
        return Reply::error("ERR Wrong number of args calling Redis command from script");
    }
    let flags = resolved.spec().flags;
    if flags.contains(CommandFlags::NOSCRIPT)
        || resolved.command.flags.contains(CommandFlags::NOSCRIPT)
    {
        return Reply::error("ERR This Redis command is not allowed from script");
    }
    let write =
        flags.contains(CommandFlags::WRITE) || resolved.command.flags.contains(CommandFlags::WRITE);
    if read_only && write {
        return Reply::error("ERR Write commands are not allowed from read-only scripts.");
    }
    let dirty = ctx.store.dirty();
    let held = ctx.store.repl.held_len();
    // Blocking commands are `noscript`, so nothing here can block.
    let Some(dispatch) = DISPATCH.get() else {
        return Reply::error(UNKNOWN);
    };
    let (reply, served) = dispatch(ctx, resolved, words);
    if !served {
        return Reply::error(UNKNOWN);
    }
    if ctx.store.dirty() != dirty {
        ctx.node.script_busy.wrote();
    }
    if control.repl_flags() & REPL_REPLICA == 0 {
        ctx.store.repl.drop_held_after(held);
    }
    reply
}

/// Streams a scripting command as it was received (on a primary).
fn stream_as_received(ctx: &mut Ctx, args: &[Bytes]) {
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    let db = ctx.session.db;
    ctx.store.repl.propagate(db, &refs);
}

/// Refuses a change to the scripts or functions on a standby, unless it comes from its primary.
fn refuse_on_standby(ctx: &Ctx) -> Result<(), Reply> {
    if ctx.store.repl.is_replica() && !ctx.session.primary_link {
        return Err(Reply::error(READONLY_REPLICA));
    }
    Ok(())
}

/// Parses the optional `ASYNC|SYNC` of `SCRIPT FLUSH` / `FUNCTION FLUSH` (both flush at once).
fn flush_mode(args: &[Bytes], error: &'static str) -> Result<(), Reply> {
    match args.len() {
        2 => Ok(()),
        3 if is(&args[2], "async") || is(&args[2], "sync") => Ok(()),
        _ => Err(Reply::error(error)),
    }
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sha = ctx.node.scripting.lock().eval.load(&args[2])?;
    stream_as_received(ctx, args);
    Ok(Reply::bulk(&sha))
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found = ctx.node.scripting.lock().eval.exists(&args[2..]);
    Ok(Reply::Array(
        found
            .into_iter()
            .map(|f| Reply::Int(i64::from(f)))
            .collect(),
    ))
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")?;
    ctx.node.scripting.lock().eval.flush();
    stream_as_received(ctx, args);
    Ok(Reply::ok())
}

fn script_kill(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // Under the store lock no script runs, so this answers NOTBUSY; while one runs, the
    // connection serves SCRIPT KILL without the lock (see `ScriptBusy::kill`).
    Ok(ctx.node.script_busy.kill(false))
}

/// Redis's help reply: one status line each.
fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::simple(l)).collect())
}

fn script_help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(help_reply(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ]))
}
