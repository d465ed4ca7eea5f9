//! The `redis` table scripts see, and the smaller one libraries see while `FUNCTION LOAD` runs
//! their top-level code. Behaviour and error texts from Redis 7.2's `script_lua.c`
//! (`luaRegisterRedisAPI`) and `function_lua.c` (`luaEngineInitEngine`).
//!
//! `redis.call` / `redis.pcall` are C functions added by `raw.rs`, as they reach the run's
//! command closure.

use std::sync::Arc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::control::{ScriptControl, REPL_ALL};
use super::error::table_error;

/// Per-run state the `redis.*` functions read and change.
#[derive(Debug)]
pub(super) struct RunState {
    /// True inside a script or function call (not while a library loads).
    pub(super) running: bool,
    /// `redis.setresp(3)` was called.
    pub(super) resp3: bool,
    /// The engine's shared control handle.
    pub(super) control: Arc<ScriptControl>,
}

/// Redis's log levels (`LL_DEBUG` .. `LL_WARNING`).
const LOG_LEVELS: [(&str, i64); 4] = [
    ("LOG_DEBUG", 0),
    ("LOG_VERBOSE", 1),
    ("LOG_NOTICE", 2),
    ("LOG_WARNING", 3),
];

/// `REDIS_VERSION_NUM` for a dotted version: `0x00MMmmpp`.
fn version_num(version: &str) -> i64 {
    version
        .split('.')
        .take(3)
        .fold(0, |acc, part| (acc << 8) | part.parse::<i64>().unwrap_or(0))
}

fn add_log_and_version(lua: &Lua, table: &Table) -> mlua::Result<()> {
    table.raw_set("log", lua.create_function(log)?)?;
    for (name, level) in LOG_LEVELS {
        table.raw_set(name, level)?;
    }
    table.raw_set("REDIS_VERSION", crate::REDIS_VERSION)?;
    table.raw_set("REDIS_VERSION_NUM", version_num(crate::REDIS_VERSION))?;
    Ok(())
}

/// The `redis` table of scripts and functions.
pub(super) fn script_api(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    add_log_and_version(lua, &redis)?;
    redis.raw_set("setresp", lua.create_function(setresp)?)?;
    redis.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| error_reply(lua, args))?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| status_reply(lua, args))?,
    )?;
    redis.raw_set("set_repl", lua.create_function(set_repl)?)?;
    redis.raw_set("REPL_NONE", 0)?;
    redis.raw_set("REPL_AOF", 1)?;
    redis.raw_set("REPL_SLAVE", 2)?;
    redis.raw_set("REPL_REPLICA", 2)?;
    redis.raw_set("REPL_ALL", i64::from(REPL_ALL))?;
    // Kept for old scripts: effects replication is the only mode since Redis 7.
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    // The Lua debugger is not offered: breakpoint() answers "not debugging", debug() is a no-op.
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(redis)
}

/// The `redis` table libraries see while they load; `register_function` is added by the
/// function engine.
pub(super) fn load_api(lua: &Lua, register: Function) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set("register_function", register)?;
    add_log_and_version(lua, &redis)?;
    Ok(redis)
}

fn single_string_arg(args: &MultiValue) -> Option<mlua::String> {
    match args.len() {
        1 => match args.front() {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn error_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    let Some(text) = single_string_arg(&args) else {
        return super::convert::error_table(lua, "wrong number or type of arguments");
    };
    let text = text.to_string_lossy();
    let text = if text.starts_with('-') {
        text.to_string()
    } else {
        format!("-{text}")
    };
    super::convert::error_table(lua, &text)
}

fn status_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    let Some(text) = single_string_arg(&args) else {
        return super::convert::error_table(lua, "wrong number or type of arguments");
    };
    let table = lua.create_table()?;
    table.raw_set("ok", text)?;
    Ok(table)
}

fn sha1hex(_: &Lua, args: MultiValue) -> mlua::Result<String> {
    if args.len() != 1 {
        return Err(table_error("wrong number of arguments"));
    }
    let data: Vec<u8> = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Number(n)) => super::convert::format_lua_number(*n).into_bytes(),
        _ => Vec::new(),
    };
    Ok(sha1_smol::Sha1::from(data).digest().to_string())
}

fn log(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(table_error("redis.log() requires two arguments or more."));
    }
    let level = match args.front() {
        Some(Value::Number(n)) => *n as i64,
        Some(Value::Integer(n)) => *n,
        Some(Value::String(s)) => {
            match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
                Some(n) => n as i64,
                None => return Err(table_error("First argument must be a number (log level).")),
            }
        }
        _ => return Err(table_error("First argument must be a number (log level).")),
    };
    if !(0..=3).contains(&level) {
        return Err(table_error("Invalid debug level."));
    }
    let mut message = String::new();
    for value in args.iter().skip(1) {
        let text = match value {
            Value::String(s) => s.to_string_lossy(),
            Value::Number(n) => super::convert::format_lua_number(*n),
            _ => continue,
        };
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(&text);
    }
    match level {
        0 => tracing::debug!(target: "redoubt::script", "{message}"),
        1 | 2 => tracing::info!(target: "redoubt::script", "{message}"),
        _ => tracing::warn!(target: "redoubt::script", "{message}"),
    }
    Ok(())
}

fn number_arg(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::Number(n)) => *n as i64,
        Some(Value::Integer(n)) => *n,
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map_or(0, |n| n as i64),
        _ => 0,
    }
}

fn setresp(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let mut state = lua
        .app_data_mut::<RunState>()
        .filter(|state| state.running)
        .ok_or_else(|| {
            table_error("redis.setresp can only be called inside a script invocation")
        })?;
    if args.len() != 1 {
        return Err(table_error("redis.setresp() requires one argument."));
    }
    match number_arg(args.front()) {
        2 => state.resp3 = false,
        3 => state.resp3 = true,
        _ => return Err(table_error("RESP version must be 2 or 3.")),
    }
    Ok(())
}

fn set_repl(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let state = lua
        .app_data_ref::<RunState>()
        .filter(|state| state.running)
        .ok_or_else(|| {
            table_error("redis.set_repl can only be called inside a script invocation")
        })?;
    if args.len() != 1 {
        return Err(table_error("redis.set_repl() requires two arguments."));
    }
    let flags = number_arg(args.front());
    if flags & !i64::from(REPL_ALL) != 0 {
        return Err(table_error(
            "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ));
    }
    state.control.set_repl_flags(flags as u8);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_pack_like_redis() {
        // redis-server 7.0.15 reports REDIS_VERSION_NUM 458767 = 0x07000f.
        assert_eq!(version_num("7.0.15"), 458767);
        assert_eq!(version_num("7.2.4"), 0x070204);
    }
}
