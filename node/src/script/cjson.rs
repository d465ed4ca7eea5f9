//! The `cjson` library Redis ships (lua-cjson 2.1), with its default settings: `encode`,
//! `decode` and `null`.
//!
//! Encoding: a table whose keys are all positive integers is an array (holes become `null`;
//! an excessively sparse one, largest index over 10 and over twice the count, is an error), any
//! other table — the empty table too — an object whose number keys become strings; numbers
//! print as `%.14g`; `/` is escaped as `\/`; NaN, infinities, functions and nesting deeper
//! than [`MAX_DEPTH`] are errors with lua-cjson's texts. Decoding uses `serde_json`: objects and
//! arrays become tables, `null` becomes `cjson.null`.

use std::fmt::Write as _;

use mlua::{Lua, MultiValue, Table, Value};

use super::convert::format_lua_number;
use super::error::{arg_error, string_error};

/// Deepest nesting encoded or decoded. lua-cjson allows 1000 levels; a level of this recursive
/// encoder costs more native stack than lua-cjson's, so the limit is lower to stay well inside
/// a 2 MiB thread stack whatever the build.
const MAX_DEPTH: usize = 256;
/// lua-cjson's default sparse-array settings: ratio 2, safe 10.
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

/// Builds the `cjson` table.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    cjson.raw_set("encode", lua.create_function(encode)?)?;
    cjson.raw_set("decode", lua.create_function(decode)?)?;
    cjson.raw_set("null", Value::NULL)?;
    Ok(cjson)
}

fn encode(lua: &Lua, args: MultiValue) -> mlua::Result<String> {
    if args.len() != 1 {
        return Err(string_error(
            lua,
            "bad argument #1 to 'encode' (expected 1 argument)",
        ));
    }
    let mut out = String::new();
    encode_value(lua, &args[0], 0, &mut out)?;
    Ok(out)
}

fn encode_value(lua: &Lua, value: &Value, depth: usize, out: &mut String) -> mlua::Result<()> {
    match value {
        Value::Nil => out.push_str("null"),
        Value::LightUserData(ud) if ud.0.is_null() => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => encode_number(lua, *n, out)?,
        Value::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(table) => encode_table(lua, table, depth + 1, out)?,
        other => {
            return Err(string_error(
                lua,
                format!("Cannot serialise {}: type not supported", other.type_name()),
            ))
        }
    }
    Ok(())
}

/// One table, as an array or an object; kept out of `encode_value` so each nesting level
/// costs little native stack.
#[inline(never)]
fn encode_table(lua: &Lua, table: &Table, depth: usize, out: &mut String) -> mlua::Result<()> {
    if depth > MAX_DEPTH {
        return Err(string_error(
            lua,
            format!("Cannot serialise, excessive nesting ({depth})"),
        ));
    }
    match array_length(lua, table)? {
        Some(length) => {
            out.push('[');
            for i in 1..=length {
                if i > 1 {
                    out.push(',');
                }
                encode_value(lua, &table.raw_get::<Value>(i)?, depth, out)?;
            }
            out.push(']');
        }
        None => {
            out.push('{');
            let mut first = true;
            for pair in table.pairs::<Value, Value>() {
                let (key, item) = pair?;
                if !first {
                    out.push(',');
                }
                first = false;
                match &key {
                    Value::String(s) => encode_string(&s.as_bytes(), out),
                    Value::Number(n) => {
                        out.push('"');
                        out.push_str(&format_lua_number(*n));
                        out.push('"');
                    }
                    Value::Integer(n) => {
                        let _ = write!(out, "\"{n}\"");
                    }
                    _ => {
                        return Err(string_error(
                            lua,
                            "Cannot serialise table: table key must be a number or string",
                        ))
                    }
                }
                out.push(':');
                encode_value(lua, &item, depth, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn encode_number(lua: &Lua, n: f64, out: &mut String) -> mlua::Result<()> {
    if !n.is_finite() {
        return Err(string_error(
            lua,
            "Cannot serialise number: must not be NaN or Inf",
        ));
    }
    out.push_str(&format_lua_number(n));
    Ok(())
}

/// lua-cjson's `lua_array_length`: `Some(max index)` when every key is a positive integer.
fn array_length(lua: &Lua, table: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut count) = (0usize, 0usize);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            Value::Integer(n) if n >= 1 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    if max > SPARSE_SAFE && max > count * SPARSE_RATIO {
        return Err(string_error(
            lua,
            "Cannot serialise table: excessively sparse array",
        ));
    }
    Ok(Some(max))
}

fn encode_string(bytes: &[u8], out: &mut String) {
    out.push('"');
    let mut plain = Vec::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' => plain.extend_from_slice(b"\\\""),
            b'\\' => plain.extend_from_slice(b"\\\\"),
            b'/' => plain.extend_from_slice(b"\\/"),
            b'\n' => plain.extend_from_slice(b"\\n"),
            b'\r' => plain.extend_from_slice(b"\\r"),
            b'\t' => plain.extend_from_slice(b"\\t"),
            0x08 => plain.extend_from_slice(b"\\b"),
            0x0c => plain.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => plain.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => plain.push(b),
        }
    }
    // Lua strings are bytes; lua-cjson passes non-ASCII bytes through unchanged.
    out.push_str(&String::from_utf8_lossy(&plain));
    out.push('"');
}

fn decode(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    if args.len() != 1 {
        return Err(string_error(
            lua,
            "bad argument #1 to 'decode' (expected 1 argument)",
        ));
    }
    let text = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Number(n) => format_lua_number(*n).into_bytes(),
        other => {
            return Err(arg_error(
                lua,
                1,
                format!(
                    "string expected, got {}",
                    super::bit::type_name(Some(other))
                ),
            ))
        }
    };
    let json: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        let character = character_of(&text, e.line(), e.column());
        let found = if character > text.len() {
            "the end of JSON".to_string()
        } else {
            "invalid token".to_string()
        };
        string_error(
            lua,
            format!("Expected value but found {found} at character {character}"),
        )
    })?;
    to_lua(lua, &json, 0)
}

/// The 1-based byte offset of a serde_json line/column position.
fn character_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, chunk) in text.split(|&b| b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column.max(1);
        }
        offset += chunk.len() + 1;
    }
    offset.max(1)
}

fn to_lua(lua: &Lua, json: &serde_json::Value, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(string_error(
            lua,
            format!("Found too many nested data structures ({depth})"),
        ));
    }
    Ok(match json {
        serde_json::Value::Null => Value::NULL,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(table)
        }
        serde_json::Value::Object(map) => {
            let table = lua.create_table_with_capacity(0, map.len())?;
            for (key, item) in map {
                table.raw_set(key.as_str(), to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(table)
        }
    })
}
