//! Errors raised inside Lua the way Redis raises them.
//!
//! Redis raises two kinds of error values: error tables `{err="CODE message"}` (from
//! `redis.call` and the `redis.*` helpers, via `luaPushError` + `lua_error`) and plain strings
//! prefixed with the caller's position (`user_script:1: bad argument #1 to 'band' ...`, from
//! `luaL_error`). A Rust callback can only raise an `mlua::Error`, which reaches Lua as an
//! opaque value; [`normalize`] turns it back into the table or string Redis would have raised,
//! and the sandbox calls it wherever a script or the engine can observe an error value
//! (`pcall`, `xpcall`, the run's error handler).

use std::fmt;

use mlua::{Error, Lua, Value};

/// An error that Lua sees as Redis's `{err=...}` table; the text carries its code (`ERR ...`).
#[derive(Debug)]
pub(crate) struct ScriptError(pub(crate) String);

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScriptError {}

/// An error table raised from Rust: `text` is normalized as `luaPushError` does (`ERR ` added
/// when there is no code).
pub(crate) fn table_error(text: impl AsRef<str>) -> Error {
    Error::external(ScriptError(super::convert::error_text(text.as_ref())))
}

/// A string error as `luaL_error` raises it: prefixed with the position of the Lua code that
/// called the current Rust function, if that is Lua code.
pub(crate) fn string_error(lua: &Lua, message: impl fmt::Display) -> Error {
    Error::RuntimeError(format!("{}{message}", caller_position(lua)))
}

/// `luaL_argerror`'s text: `bad argument #n to 'name' (message)`, name `?` when the caller did
/// not call the function by a name.
pub(crate) fn arg_error(lua: &Lua, n: usize, message: impl fmt::Display) -> Error {
    let name = lua
        .inspect_stack(0, |debug| debug.names().name.map(|n| n.to_string()))
        .flatten()
        .unwrap_or_else(|| "?".to_string());
    string_error(lua, format!("bad argument #{n} to '{name}' ({message})"))
}

/// `luaL_where(L, 1)`: `chunk:line: ` of the caller when it is Lua code, else empty.
fn caller_position(lua: &Lua) -> String {
    lua.inspect_stack(1, |debug| {
        let line = debug.current_line()?;
        let source = debug.source();
        let short = source.short_src?;
        Some(format!("{short}:{line}: "))
    })
    .flatten()
    .unwrap_or_default()
}

/// Turns an error value caught in Lua into the value Redis would have raised: a table for
/// [`ScriptError`], the message string for other Rust errors; Lua values pass unchanged.
pub(crate) fn normalize(lua: &Lua, value: Value) -> mlua::Result<Value> {
    match value {
        Value::Error(error) => describe(lua, &error),
        other => Ok(other),
    }
}

fn describe(lua: &Lua, error: &Error) -> mlua::Result<Value> {
    match error {
        Error::ExternalError(inner) => match inner.downcast_ref::<ScriptError>() {
            Some(ScriptError(text)) => {
                let table = lua.create_table_with_capacity(0, 1)?;
                table.raw_set("err", text.as_str())?;
                Ok(Value::Table(table))
            }
            None => Ok(Value::String(lua.create_string(inner.to_string())?)),
        },
        Error::CallbackError { cause, .. } => describe(lua, cause),
        Error::WithContext { cause, .. } => describe(lua, cause),
        Error::RuntimeError(message) | Error::MemoryError(message) => {
            Ok(Value::String(lua.create_string(message)?))
        }
        Error::SyntaxError { message, .. } => Ok(Value::String(lua.create_string(message)?)),
        other => Ok(Value::String(lua.create_string(other.to_string())?)),
    }
}

/// The text of an error that escaped to Rust, without mlua's decorations.
pub(crate) fn plain_text(error: &Error) -> String {
    match error {
        Error::ExternalError(inner) => inner.to_string(),
        Error::CallbackError { cause, .. } | Error::WithContext { cause, .. } => plain_text(cause),
        Error::RuntimeError(message) | Error::MemoryError(message) => message.clone(),
        Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
