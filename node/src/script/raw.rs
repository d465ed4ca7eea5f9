//! The Lua C API side of scripts: `redis.call` and `redis.pcall` as two C functions made once per
//! state, which read a command's words straight off Lua's stack, run it through the closure of
//! the run in progress on this thread and push its reply back (Redis 7.2's `script_lua.c`:
//! `luaRedisGenericCommand`, `luaArgsToRedisArgv`, `redisProtocolToLuaType`). Going through
//! mlua's function wrappers instead cost a registry handle per argument and a scoped function
//! per run, about a fifth of an `EVALSHA`.
//!
//! A run makes its closure reachable with [`ActiveRun`] for exactly its length; outside a run
//! both functions raise Redis's error.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::c_int;

use bytes::Bytes;
use mlua::{ffi, Lua, Table};
use redoubt_protocol::reply::format_double;
use redoubt_protocol::Reply;

use super::convert::{error_text, format_g17};
use super::redis_api::RunState;

/// Sets `redis.call` and `redis.pcall` in the `redis` table of scripts.
///
/// # Errors
/// Only when Lua cannot allocate.
pub(crate) fn install_calls(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    // SAFETY: both follow Lua's C function protocol (see `redis_call`).
    redis.raw_set("call", unsafe { lua.create_c_function(redis_call) }?)?;
    redis.raw_set("pcall", unsafe { lua.create_c_function(redis_pcall) }?)?;
    Ok(())
}

/// The command closure of the run in progress on this thread and the buffer its command words
/// go in, for [`redis_call`] / [`redis_pcall`].
pub(crate) struct RunCalls<'a> {
    pub(crate) call: &'a mut dyn FnMut(&[Bytes]) -> Reply,
    pub(crate) words: Vec<Bytes>,
    /// A command is executing: a second `redis.call` now would come from inside it.
    pub(crate) busy: bool,
}

thread_local! {
    /// The [`RunCalls`] of the run in progress on this thread, or null between runs. Set by
    /// [`ActiveRun`] for the length of a run, whose frame owns what it points to.
    static RUN_CALLS: Cell<*mut RunCalls<'static>> = const { Cell::new(std::ptr::null_mut()) };
}

/// Makes a run's [`RunCalls`] the one `redis.call` finds on this thread until dropped, then
/// restores what was there.
pub(crate) struct ActiveRun(*mut RunCalls<'static>);

impl ActiveRun {
    pub(crate) fn enter(calls: &mut RunCalls<'_>) -> ActiveRun {
        // The lifetime is erased: the pointer is cleared (on drop) before `calls` goes away.
        let pointer = std::ptr::from_mut(calls).cast::<RunCalls<'static>>();
        ActiveRun(RUN_CALLS.replace(pointer))
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        RUN_CALLS.set(self.0);
    }
}

/// `redis.call` (Redis's `luaRedisCallCommand`): runs the command its arguments name through
/// the run's closure and returns the reply as a Lua value; a command error, bad arguments or a
/// call outside a run raise Redis's `{err=...}` table.
///
/// # Safety
/// Called by Lua only, as a C function on `state`'s thread.
unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua's calling convention; `command` has dropped everything it owned when it
    // returns, so raising (a `longjmp` out of this frame) leaves nothing undropped.
    unsafe {
        if command(state, true) {
            1
        } else {
            ffi::lua_error(state)
        }
    }
}

/// `redis.pcall` (`luaRedisPCallCommand`): as [`redis_call`], but an error is returned as the
/// `{err=...}` table instead of raised.
///
/// # Safety
/// Called by Lua only, as a C function on `state`'s thread.
unsafe extern "C-unwind" fn redis_pcall(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua's calling convention.
    unsafe {
        command(state, false);
    }
    1
}

/// The body of `redis.call` / `redis.pcall`: leaves one value on top of the stack, the reply or
/// an error table, and returns false when that is an error `redis.call` must raise.
///
/// # Safety
/// `state` is the Lua state (or a coroutine of it) calling a C function on this thread.
unsafe fn command(state: *mut ffi::lua_State, raise: bool) -> bool {
    // SAFETY: the pointer is set only by `ActiveRun` for a run on this thread, whose frame
    // owns the `RunCalls` until it clears it; nothing else borrows it while Lua calls us.
    unsafe {
        // Lua gives a C function `LUA_MINSTACK` (20) free slots above its arguments: room for
        // an error table, or a reply nested a few levels deep (`push_reply` asks for more).
        let Some(calls) = RUN_CALLS.get().as_mut() else {
            push_error_table(
                state,
                "redis.call/pcall can only be called inside a script invocation",
            );
            return !raise;
        };
        if calls.busy {
            push_error_table(state, "redis.call called from a command");
            return !raise;
        }
        calls.words.clear();
        if let Err(message) = command_words(state, &mut calls.words) {
            push_error_table(state, message);
            return !raise;
        }
        calls.busy = true;
        let reply = (calls.call)(&calls.words);
        calls.busy = false;
        calls.words.clear();
        match reply {
            Reply::Error(text) => {
                push_error_table(state, &format!("-{text}"));
                !raise
            }
            reply => {
                let resp3 = match reply {
                    Reply::Int(_) | Reply::Bulk(_) | Reply::Simple(_) => false,
                    _ => run_resp3(state),
                };
                if !push_reply(state, &reply, resp3) {
                    push_error_table(state, "reached lua stack limit");
                    return !raise;
                }
                true
            }
        }
    }
}

/// The run chose RESP3 replies (`redis.setresp(3)`).
///
/// # Safety
/// As [`command`].
unsafe fn run_resp3(state: *mut ffi::lua_State) -> bool {
    // SAFETY: the state belongs to a live `Lua` (the run's), which outlives this call.
    let lua = unsafe { Lua::get_or_init_from_ptr(state) };
    lua.app_data_ref::<RunState>()
        .is_some_and(|state| state.resp3)
}

/// Redis's `luaArgsToRedisArgv`: the call's arguments from the stack as command words, strings
/// as they are and numbers as integers when they are whole (else `%.17g`). Fills `argv`, which
/// is empty.
///
/// # Safety
/// `state` is the state of the running C function.
unsafe fn command_words(
    state: *mut ffi::lua_State,
    argv: &mut Vec<Bytes>,
) -> Result<(), &'static str> {
    // SAFETY: only indexes 1..=top are read, each as the type Lua reports.
    unsafe {
        let top = ffi::lua_gettop(state);
        for index in 1..=top {
            argv.push(match ffi::lua_type(state, index) {
                ffi::LUA_TSTRING => {
                    let mut len = 0;
                    let data = ffi::lua_tolstring(state, index, &mut len);
                    Bytes::copy_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), len))
                }
                ffi::LUA_TNUMBER => number_word(ffi::lua_tonumber(state, index)),
                _ => return Err("Lua redis lib command arguments must be strings or integers"),
            });
        }
    }
    if argv.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    Ok(())
}

/// A number argument as a command word: a whole number in `i64`'s range as an integer, any
/// other as `%.17g`.
fn number_word(n: f64) -> Bytes {
    // -2^63 <= n < 2^63: `as` is then exact for whole numbers (and -0.0 keeps its sign bit).
    let whole = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n)
        && ((n as i64) as f64).to_bits() == n.to_bits();
    if whole {
        Bytes::from((n as i64).to_string())
    } else {
        Bytes::from(format_g17(n))
    }
}

/// Pushes onto `state`'s stack the Lua value `redis.call` / `redis.pcall` hand the script for a
/// command's reply (the forms in this module's documentation; `resp3` after `redis.setresp(3)`).
/// Returns false, with the stack as it was, when the stack cannot grow for a deeply nested reply.
///
/// # Safety
/// `state` is a live Lua state on this thread. Lua raises (a `longjmp`) only when it cannot
/// allocate; the frames here hold only borrows, so nothing of theirs is left undropped.
pub(crate) unsafe fn push_reply(state: *mut ffi::lua_State, reply: &Reply, resp3: bool) -> bool {
    // SAFETY: the caller's contract.
    unsafe { push_value(state, reply, resp3, 0) }
}

/// Levels of a reply pushed within the `LUA_MINSTACK` (20) slots a C function starts with: each
/// holds at most three values while the next level is pushed, and pushes at most four at once.
const GUARANTEED_LEVELS: usize = 4;

/// [`push_reply`] for a reply nested `depth` levels down.
unsafe fn push_value(state: *mut ffi::lua_State, reply: &Reply, resp3: bool, depth: usize) -> bool {
    // SAFETY: the caller's contract; below `GUARANTEED_LEVELS` the stack has room, deeper
    // every level first asks Lua for four more slots.
    unsafe {
        if depth >= GUARANTEED_LEVELS && ffi::lua_checkstack(state, 4) == 0 {
            return false;
        }
        let base = ffi::lua_gettop(state);
        let pushed = match reply {
            Reply::Int(n) => {
                ffi::lua_pushnumber(state, *n as f64);
                true
            }
            Reply::Bulk(data) => {
                push_bytes(state, data);
                true
            }
            Reply::Simple(text) => {
                ffi::lua_createtable(state, 0, 1);
                push_bytes(state, text.as_bytes());
                ffi::lua_setfield(state, -2, c"ok".as_ptr());
                true
            }
            Reply::Error(text) => {
                push_error_table(state, &format!("-{text}"));
                true
            }
            Reply::Null | Reply::NullArray if resp3 => {
                ffi::lua_pushnil(state);
                true
            }
            Reply::Null | Reply::NullArray => {
                ffi::lua_pushboolean(state, 0);
                true
            }
            // A push frame never answers a command; as an array if one ever reaches a script.
            Reply::Array(items) | Reply::Push(items) => push_array(state, items, resp3, depth),
            Reply::Set(items) if resp3 => {
                ffi::lua_createtable(state, 0, 1);
                ffi::lua_createtable(state, 0, table_size(items.len()));
                let mut pushed = true;
                for item in items {
                    pushed = push_value(state, item, resp3, depth + 1);
                    if !pushed {
                        break;
                    }
                    ffi::lua_pushboolean(state, 1);
                    set_pair(state);
                }
                ffi::lua_setfield(state, -2, c"set".as_ptr());
                pushed
            }
            Reply::Set(items) => push_array(state, items, resp3, depth),
            Reply::Map(pairs) if resp3 => {
                ffi::lua_createtable(state, 0, 1);
                ffi::lua_createtable(state, 0, table_size(pairs.len()));
                let mut pushed = true;
                for (key, value) in pairs {
                    pushed = push_value(state, key, resp3, depth + 1)
                        && push_value(state, value, resp3, depth + 1);
                    if !pushed {
                        break;
                    }
                    set_pair(state);
                }
                ffi::lua_setfield(state, -2, c"map".as_ptr());
                pushed
            }
            Reply::Map(pairs) => {
                ffi::lua_createtable(state, table_size(pairs.len() * 2), 0);
                let mut pushed = true;
                for (i, (key, value)) in pairs.iter().enumerate() {
                    pushed = push_value(state, key, resp3, depth + 1);
                    if !pushed {
                        break;
                    }
                    ffi::lua_rawseti_(state, -2, table_size(2 * i + 1));
                    pushed = push_value(state, value, resp3, depth + 1);
                    if !pushed {
                        break;
                    }
                    ffi::lua_rawseti_(state, -2, table_size(2 * i + 2));
                }
                pushed
            }
            Reply::Double(d) if resp3 => {
                ffi::lua_createtable(state, 0, 1);
                ffi::lua_pushnumber(state, *d);
                ffi::lua_setfield(state, -2, c"double".as_ptr());
                true
            }
            Reply::Double(d) => {
                push_bytes(state, format_double(*d).as_bytes());
                true
            }
            Reply::Bool(b) if resp3 => {
                ffi::lua_pushboolean(state, i32::from(*b));
                true
            }
            Reply::Bool(b) => {
                ffi::lua_pushnumber(state, if *b { 1.0 } else { 0.0 });
                true
            }
            Reply::Verbatim(format, data) if resp3 => {
                ffi::lua_createtable(state, 0, 1);
                ffi::lua_createtable(state, 0, 2);
                push_bytes(state, format.as_bytes());
                ffi::lua_setfield(state, -2, c"format".as_ptr());
                push_bytes(state, data);
                ffi::lua_setfield(state, -2, c"string".as_ptr());
                ffi::lua_setfield(state, -2, c"verbatim_string".as_ptr());
                true
            }
            Reply::Verbatim(_, data) => {
                push_bytes(state, data);
                true
            }
        };
        if !pushed {
            ffi::lua_settop(state, base);
        }
        pushed
    }
}

/// Pushes `data` as a Lua string.
unsafe fn push_bytes(state: *mut ffi::lua_State, data: &[u8]) {
    // SAFETY: the caller made room on the stack; Lua copies the bytes.
    unsafe { ffi::lua_pushlstring_(state, data.as_ptr().cast(), data.len()) }
}

/// Pops a key and a value and stores them in the table below them; a nil key (a null inside a
/// RESP3 set or map, which Lua cannot index by) is dropped with its value.
unsafe fn set_pair(state: *mut ffi::lua_State) {
    // SAFETY: the caller pushed a table, a key and a value.
    unsafe {
        if ffi::lua_type(state, -2) == ffi::LUA_TNIL {
            ffi::lua_settop(state, -3);
        } else {
            ffi::lua_rawset(state, -3);
        }
    }
}

/// A table size hint for Lua (a C int).
fn table_size(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Pushes `items` as a Lua array.
unsafe fn push_array(
    state: *mut ffi::lua_State,
    items: &[Reply],
    resp3: bool,
    depth: usize,
) -> bool {
    // SAFETY: the caller made room for the table; each item makes its own.
    unsafe {
        ffi::lua_createtable(state, table_size(items.len()), 0);
        for (i, item) in items.iter().enumerate() {
            if !push_value(state, item, resp3, depth + 1) {
                return false;
            }
            ffi::lua_rawseti_(state, -2, table_size(i + 1));
        }
        true
    }
}

/// Pushes Redis's `{err="CODE message"}` table for `text` (normalized as [`error_text`] does).
///
/// # Safety
/// `state` is a live Lua state on this thread with room for two more values.
pub(crate) unsafe fn push_error_table(state: *mut ffi::lua_State, text: &str) {
    // SAFETY: the caller's contract.
    unsafe {
        ffi::lua_createtable(state, 0, 1);
        push_bytes(state, error_text(text).as_bytes());
        ffi::lua_setfield(state, -2, c"err".as_ptr());
    }
}

#[cfg(test)]
mod tests {
    use mlua::Value;

    use super::*;
    use crate::script::convert::lua_to_reply;

    /// The value [`push_reply`] leaves on the stack.
    fn to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> Value {
        // SAFETY: `exec_raw` hands a live state with room for the pushed values.
        unsafe {
            lua.exec_raw::<Value>((), |state| {
                assert!(push_reply(state, reply, resp3));
            })
        }
        .unwrap()
    }

    #[test]
    fn replies_round_trip_through_lua() {
        let lua = Lua::new();
        let reply = Reply::Array(vec![
            Reply::Int(7),
            Reply::bulk("x"),
            Reply::Array(vec![Reply::Int(1)]),
        ]);
        let value = to_lua(&lua, &reply, false);
        assert_eq!(lua_to_reply(&value, false), reply);
        let value = to_lua(&lua, &Reply::Null, false);
        assert_eq!(value, Value::Boolean(false));
        assert_eq!(lua_to_reply(&value, false), Reply::Null);
        let value = to_lua(&lua, &Reply::Null, true);
        assert_eq!(value, Value::Nil);
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        let flat = to_lua(&lua, &map, false);
        assert_eq!(
            lua_to_reply(&flat, false),
            Reply::Array(vec![Reply::bulk("a"), Reply::Int(1)])
        );
        let resp3 = to_lua(&lua, &map, true);
        assert_eq!(lua_to_reply(&resp3, true), map);
        let double = to_lua(&lua, &Reply::Double(1.5), true);
        assert_eq!(lua_to_reply(&double, true), Reply::Double(1.5));
        let double = to_lua(&lua, &Reply::Double(1.5), false);
        assert_eq!(lua_to_reply(&double, false), Reply::bulk("1.5"));
        let status = to_lua(&lua, &Reply::ok(), false);
        assert_eq!(lua_to_reply(&status, false), Reply::ok());
        let error = to_lua(&lua, &Reply::error("WRONGTYPE no"), false);
        assert_eq!(lua_to_reply(&error, false), Reply::error("WRONGTYPE no"));
    }
}
