//! The `bit` library Redis ships (LuaBitOp 1.0): 32-bit operations on Lua numbers, results as
//! signed 32-bit numbers. Numbers are reduced to 32 bits the way LuaBitOp does (add 2^52+2^51
//! and keep the low word: round to nearest, then modulo 2^32).

use mlua::{Lua, MultiValue, Table, Value};

use super::error::arg_error;

/// Builds the `bit` table.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    bit.raw_set(
        "tobit",
        lua.create_function(|lua, a: MultiValue| Ok(signed(arg(lua, &a, 0)?)))?,
    )?;
    bit.raw_set(
        "bnot",
        lua.create_function(|lua, a: MultiValue| Ok(signed(!arg(lua, &a, 0)?)))?,
    )?;
    bit.raw_set("band", fold(lua, |x, y| x & y)?)?;
    bit.raw_set("bor", fold(lua, |x, y| x | y)?)?;
    bit.raw_set("bxor", fold(lua, |x, y| x ^ y)?)?;
    bit.raw_set("lshift", shift(lua, |x, n| x << n)?)?;
    bit.raw_set("rshift", shift(lua, |x, n| x >> n)?)?;
    bit.raw_set("arshift", shift(lua, |x, n| ((x as i32) >> n) as u32)?)?;
    bit.raw_set("rol", shift(lua, |x, n| x.rotate_left(n))?)?;
    bit.raw_set("ror", shift(lua, |x, n| x.rotate_right(n))?)?;
    bit.raw_set(
        "bswap",
        lua.create_function(|lua, a: MultiValue| Ok(signed(arg(lua, &a, 0)?.swap_bytes())))?,
    )?;
    bit.raw_set("tohex", lua.create_function(tohex)?)?;
    Ok(bit)
}

fn signed(x: u32) -> f64 {
    f64::from(x as i32)
}

/// LuaBitOp's `barg`: the number at `index`, reduced to 32 bits.
fn arg(lua: &Lua, args: &MultiValue, index: usize) -> mlua::Result<u32> {
    let n = check_number(lua, args, index)?;
    Ok((n + 6_755_399_441_055_744.0).to_bits() as u32)
}

/// `luaL_checknumber`: a number, or a string that reads as one.
pub(super) fn check_number(lua: &Lua, args: &MultiValue, index: usize) -> mlua::Result<f64> {
    let value = args.get(index);
    let number = match value {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::String(s)) => s.to_str().ok().and_then(|s| lua_str_to_number(&s)),
        _ => None,
    };
    number.ok_or_else(|| {
        arg_error(
            lua,
            index + 1,
            format!("number expected, got {}", type_name(value)),
        )
    })
}

/// Lua 5.1's string-to-number coercion: decimal or `0x` hexadecimal, surrounding spaces allowed.
pub(super) fn lua_str_to_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        let n = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if negative { -n } else { n });
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Lua's name for the type of an argument, `no value` when it is absent.
pub(super) fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Number(_)) | Some(Value::Integer(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        _ => "userdata",
    }
}

fn fold(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, args: MultiValue| {
        let mut acc = arg(lua, &args, 0)?;
        for index in 1..args.len() {
            acc = op(acc, arg(lua, &args, index)?);
        }
        Ok(signed(acc))
    })
}

fn shift(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, args: MultiValue| {
        let x = arg(lua, &args, 0)?;
        let n = arg(lua, &args, 1)? & 31;
        Ok(signed(op(x, n)))
    })
}

fn tohex(lua: &Lua, args: MultiValue) -> mlua::Result<String> {
    let x = arg(lua, &args, 0)?;
    let n = match args.get(1) {
        None | Some(Value::Nil) => 8,
        Some(_) => arg(lua, &args, 1)? as i32,
    };
    let (upper, n) = if n < 0 { (true, -n) } else { (false, n) };
    let n = n.min(8) as usize;
    let full = if upper {
        format!("{x:08X}")
    } else {
        format!("{x:08x}")
    };
    Ok(full[8 - n..].to_string())
}
