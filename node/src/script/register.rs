//! `redis.register_function`, available only while `FUNCTION LOAD` runs a library's top-level
//! code. It accepts Redis 7's two forms, `(name, callback)` and the table
//! `{function_name=, callback=, flags={...}, description=}`, and collects the functions in the
//! load's [`LoadContext`]. Texts from Redis 7.2's `function_lua.c` and `function.c`.

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::error::table_error;
use super::flags::ScriptFlags;

/// One function a library registered.
#[derive(Clone, Debug)]
pub(crate) struct Registration {
    /// The name FCALL uses.
    pub(crate) name: String,
    /// The Lua function, called with the keys table and the arguments table.
    pub(crate) callback: Function,
    /// Its declared flags (`eval_compat` is never set).
    pub(crate) flags: ScriptFlags,
    /// Its description, if given.
    pub(crate) description: Option<String>,
}

/// What one `FUNCTION LOAD` collected.
#[derive(Debug, Default)]
pub(crate) struct LoadContext {
    /// The registered functions, in order.
    pub(crate) functions: Vec<Registration>,
}

/// True for a valid library or function name: letters, digits and `_`, at least one.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `redis.register_function(...)`.
pub(super) fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if lua.app_data_ref::<LoadContext>().is_none() {
        return Err(table_error(
            "redis.register_function can only be called on FUNCTION LOAD command",
        ));
    }
    let registration = match args.len() {
        1 => named_args(args.front())?,
        2 => positional_args(&args)?,
        _ => {
            return Err(table_error(
                "wrong number of arguments to redis.register_function",
            ))
        }
    };
    if !valid_name(registration.name.as_bytes()) {
        return Err(table_error(
            "Function names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    let mut context = lua.app_data_mut::<LoadContext>().ok_or_else(|| {
        table_error("redis.register_function can only be called on FUNCTION LOAD command")
    })?;
    if context
        .functions
        .iter()
        .any(|f| f.name == registration.name)
    {
        return Err(table_error("Function already exists in the library"));
    }
    context.functions.push(registration);
    Ok(())
}

/// `lua_isstring`: strings and numbers, as text.
fn string_like(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Number(n) => Some(super::convert::format_lua_number(*n)),
        Value::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

fn positional_args(args: &MultiValue) -> mlua::Result<Registration> {
    let name = args
        .front()
        .and_then(string_like)
        .ok_or_else(|| table_error("first argument to redis.register_function must be a string"))?;
    let Some(Value::Function(callback)) = args.get(1) else {
        return Err(table_error(
            "second argument to redis.register_function must be a function",
        ));
    };
    Ok(Registration {
        name,
        callback: callback.clone(),
        flags: ScriptFlags::default(),
        description: None,
    })
}

fn named_args(arg: Option<&Value>) -> mlua::Result<Registration> {
    let Some(Value::Table(table)) = arg else {
        return Err(table_error("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
    };
    let (mut name, mut callback, mut description) = (None, None, None);
    let mut flags = ScriptFlags::default();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Some(key) = string_like(&key) else {
            return Err(table_error(
                "named argument key given to redis.register_function is not a string",
            ));
        };
        match key.to_ascii_lowercase().as_str() {
            "function_name" => {
                name = Some(string_like(&value).ok_or_else(|| {
                    table_error("function_name argument given to redis.register_function must be a string")
                })?);
            }
            "description" => {
                description = Some(string_like(&value).ok_or_else(|| {
                    table_error("description argument given to redis.register_function must be a string")
                })?);
            }
            "callback" => match value {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(table_error(
                        "callback argument given to redis.register_function must be a function",
                    ))
                }
            },
            "flags" => match value {
                Value::Table(list) => flags = read_flags(&list)?,
                _ => return Err(table_error("flags argument to redis.register_function must be a table representing function flags")),
            },
            _ => {
                return Err(table_error(
                    "unknown argument given to redis.register_function",
                ))
            }
        }
    }
    let name = name
        .ok_or_else(|| table_error("redis.register_function must get a function name argument"))?;
    let callback = callback
        .ok_or_else(|| table_error("redis.register_function must get a callback argument"))?;
    Ok(Registration {
        name,
        callback,
        flags,
        description,
    })
}

fn read_flags(list: &Table) -> mlua::Result<ScriptFlags> {
    let mut flags = ScriptFlags::default();
    for pair in list.pairs::<Value, Value>() {
        let (_, value) = pair?;
        let known = match &value {
            Value::String(s) => flags.set(&s.as_bytes()),
            _ => false,
        };
        if !known {
            return Err(table_error("unknown flag given"));
        }
    }
    Ok(flags)
}
