//! Conversions between Redis replies and Lua values, both ways, as Redis 7.2's
//! `script_lua.c` does them.
//!
//! Reply → Lua (what `redis.call` returns), RESP2 forms: integer → number, bulk → string,
//! null bulk / null array → `false`, array → table, status → `{ok=...}`, error → `{err=...}`.
//! After `redis.setresp(3)` the RESP3 types keep their shape: map → `{map={k=v}}`,
//! set → `{set={member=true}}`, double → `{double=n}`, null → `nil`, boolean → `true`/`false`,
//! verbatim → `{verbatim_string={format=..., string=...}}`. Under RESP2 those types arrive in the
//! form a RESP2 client would see them (a map as a flat array, a double as a bulk string, ...).
//!
//! Lua → Reply (what a script returns): number → integer (truncated toward zero), string → bulk,
//! `true` → 1 and `false` → null (RESP2 scripts) or booleans (RESP3 scripts), a table with a
//! string `err` / `ok` field → error / status, `double`/`map`/`set`/`verbatim_string` tables →
//! their RESP3 replies, any other table → array of its integer keys 1, 2, ... up to the first
//! nil; anything else (nil, functions, userdata) → null.

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use redoubt_protocol::reply::format_double;
use redoubt_protocol::Reply;

/// Deepest nesting of a Lua table converted into a reply; deeper (a table holding itself) ends in
/// Redis's `reached lua stack limit` error, before the native stack runs out.
const MAX_DEPTH: usize = 256;

/// Converts a command's reply into the Lua value `redis.call` / `redis.pcall` hand the script.
pub(crate) fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(data) => Value::String(lua.create_string(data)?),
        Reply::Simple(text) => single_field(
            lua,
            "ok",
            Value::String(lua.create_string(text.as_bytes())?),
        )?,
        Reply::Error(text) => Value::Table(error_table(lua, &format!("-{text}"))?),
        Reply::Null | Reply::NullArray if resp3 => Value::Nil,
        Reply::Null | Reply::NullArray => Value::Boolean(false),
        // A push frame never answers a command; as an array if one ever reaches a script.
        Reply::Array(items) | Reply::Push(items) => array(lua, items, resp3)?,
        Reply::Set(items) if resp3 => {
            let members = lua.create_table_with_capacity(0, items.len())?;
            for item in items {
                members.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            single_field(lua, "set", Value::Table(members))?
        }
        Reply::Set(items) => array(lua, items, resp3)?,
        Reply::Map(pairs) if resp3 => {
            let map = lua.create_table_with_capacity(0, pairs.len())?;
            for (key, value) in pairs {
                map.raw_set(
                    reply_to_lua(lua, key, resp3)?,
                    reply_to_lua(lua, value, resp3)?,
                )?;
            }
            single_field(lua, "map", Value::Table(map))?
        }
        Reply::Map(pairs) => {
            let table = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
            for (i, (key, value)) in pairs.iter().enumerate() {
                table.raw_set(2 * i + 1, reply_to_lua(lua, key, resp3)?)?;
                table.raw_set(2 * i + 2, reply_to_lua(lua, value, resp3)?)?;
            }
            Value::Table(table)
        }
        Reply::Double(d) if resp3 => single_field(lua, "double", Value::Number(*d))?,
        Reply::Double(d) => Value::String(lua.create_string(format_double(*d))?),
        Reply::Bool(b) if resp3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Number(if *b { 1.0 } else { 0.0 }),
        Reply::Verbatim(format, data) if resp3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", *format)?;
            inner.raw_set("string", lua.create_string(data)?)?;
            single_field(lua, "verbatim_string", Value::Table(inner))?
        }
        Reply::Verbatim(_, data) => Value::String(lua.create_string(data)?),
    })
}

fn array(lua: &Lua, items: &[Reply], resp3: bool) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        table.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(table))
}

fn single_field(lua: &Lua, field: &str, value: Value) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(0, 1)?;
    table.raw_set(field, value)?;
    Ok(Value::Table(table))
}

/// The `{err="CODE message"}` table Redis uses for errors (`luaPushErrorBuff`): a leading `-` is
/// dropped, a message without a code (no space) gets `ERR`, trailing CR/LF are trimmed.
pub(crate) fn error_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(0, 1)?;
    table.raw_set("err", error_text(text))?;
    Ok(table)
}

/// Normalizes an error message the way `luaPushErrorBuff` does (see [`error_table`]).
pub(crate) fn error_text(text: &str) -> String {
    let (code, message) = match text.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, message)) => (code, message),
            None => ("ERR", rest),
        },
        None => ("ERR", text),
    };
    format!(
        "{code} {}",
        message.trim_matches(|c| c == '\r' || c == '\n')
    )
}

/// Converts a script's return value into its reply. `resp3` is the protocol the script chose
/// with `redis.setresp` (booleans differ).
pub(crate) fn lua_to_reply(value: &Value, resp3: bool) -> Reply {
    lua_to_reply_at(value, resp3, 0)
}

fn lua_to_reply_at(value: &Value, resp3: bool, depth: usize) -> Reply {
    if depth > MAX_DEPTH {
        return Reply::error("ERR reached lua stack limit");
    }
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(true) if !resp3 => Reply::Int(1),
        Value::Boolean(false) if !resp3 => Reply::Null,
        Value::Boolean(b) => Reply::Bool(*b),
        Value::Number(n) => Reply::Int(lua_number_to_i64(*n)),
        Value::Integer(n) => Reply::Int(*n),
        Value::Table(table) => table_to_reply(table, resp3, depth),
        _ => Reply::Null,
    }
}

/// C's `(long long)` cast of a Lua number: truncation toward zero, saturating where C would be
/// undefined.
pub(crate) fn lua_number_to_i64(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_reply(table: &Table, resp3: bool, depth: usize) -> Reply {
    if let Ok(Value::String(err)) = table.raw_get::<Value>("err") {
        let text = err.to_string_lossy();
        return Reply::error_owned(text.to_string());
    }
    if let Ok(Value::String(ok)) = table.raw_get::<Value>("ok") {
        let text = ok.to_string_lossy().replace(['\r', '\n'], " ");
        return Reply::Simple(text.into());
    }
    if let Ok(Value::Number(d)) = table.raw_get::<Value>("double") {
        return Reply::Double(d);
    }
    if let Ok(Value::String(big)) = table.raw_get::<Value>("big_number") {
        // The reply type has no big number; RESP2 clients see it as a bulk string too.
        return Reply::bulk(big.to_string_lossy().replace(['\r', '\n'], " "));
    }
    if let Ok(Value::Table(verbatim)) = table.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(format)), Ok(Value::String(text))) = (
            verbatim.raw_get::<Value>("format"),
            verbatim.raw_get::<Value>("string"),
        ) {
            let format = match &*format.as_bytes() {
                b"txt" => "txt",
                b"mkd" => "mkd",
                _ => "txt",
            };
            return Reply::Verbatim(format, Bytes::copy_from_slice(&text.as_bytes()));
        }
    }
    if let Ok(Value::Table(map)) = table.raw_get::<Value>("map") {
        let pairs = map
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| {
                (
                    lua_to_reply_at(&k, resp3, depth + 1),
                    lua_to_reply_at(&v, resp3, depth + 1),
                )
            })
            .collect();
        return Reply::Map(pairs);
    }
    if let Ok(Value::Table(set)) = table.raw_get::<Value>("set") {
        let members = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| lua_to_reply_at(&k, resp3, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    let mut items = Vec::new();
    for i in 1.. {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(item) => items.push(lua_to_reply_at(&item, resp3, depth + 1)),
        }
    }
    Reply::Array(items)
}

/// A Lua number as Redis passes it to a command: C's `%.17g`.
pub(crate) fn format_g17(n: f64) -> String {
    format_g(n, 17)
}

/// A Lua number as Lua 5.1's `tostring` prints it: C's `%.14g`.
pub(crate) fn format_lua_number(n: f64) -> String {
    format_g(n, 14)
}

/// C's `%.<precision>g`.
fn format_g(n: f64, precision: i32) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // %g: the exponent of the scientific form with `precision` digits picks the style.
    let digits = (precision - 1) as usize;
    let sci = format!("{n:.digits$e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..precision).contains(&exp) {
        let decimals = (precision - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{n:.decimals$}")).to_string()
    } else {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c() {
        assert_eq!(format_g17(3.0), "3");
        assert_eq!(format_g17(3.7), "3.7000000000000002");
        assert_eq!(format_g17(-0.5), "-0.5");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(123456789.0), "123456789");
        assert_eq!(format_g17(0.0001), "0.0001");
        assert_eq!(format_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_g17(1e16), "10000000000000000");
        assert_eq!(format_lua_number(3.7), "3.7");
        assert_eq!(format_lua_number(1e15), "1e+15");
        assert_eq!(format_lua_number(0.1 + 0.2), "0.3");
    }

    #[test]
    fn error_texts_get_a_code() {
        assert_eq!(error_text("-WRONGTYPE bad\r\n"), "WRONGTYPE bad");
        assert_eq!(error_text("bad"), "ERR bad");
        assert_eq!(error_text("-bad"), "ERR bad");
        assert_eq!(error_text("E1 bad"), "ERR E1 bad");
    }

    #[test]
    fn replies_round_trip_through_lua() {
        let lua = Lua::new();
        let reply = Reply::Array(vec![
            Reply::Int(7),
            Reply::bulk("x"),
            Reply::Array(vec![Reply::Int(1)]),
        ]);
        let value = reply_to_lua(&lua, &reply, false).unwrap();
        assert_eq!(lua_to_reply(&value, false), reply);
        let value = reply_to_lua(&lua, &Reply::Null, false).unwrap();
        assert_eq!(value, Value::Boolean(false));
        assert_eq!(lua_to_reply(&value, false), Reply::Null);
        let value = reply_to_lua(&lua, &Reply::Null, true).unwrap();
        assert_eq!(value, Value::Nil);
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Int(1))]);
        let flat = reply_to_lua(&lua, &map, false).unwrap();
        assert_eq!(
            lua_to_reply(&flat, false),
            Reply::Array(vec![Reply::bulk("a"), Reply::Int(1)])
        );
        let resp3 = reply_to_lua(&lua, &map, true).unwrap();
        assert_eq!(lua_to_reply(&resp3, true), map);
        let double = reply_to_lua(&lua, &Reply::Double(1.5), true).unwrap();
        assert_eq!(lua_to_reply(&double, true), Reply::Double(1.5));
        let double = reply_to_lua(&lua, &Reply::Double(1.5), false).unwrap();
        assert_eq!(lua_to_reply(&double, false), Reply::bulk("1.5"));
        let status = reply_to_lua(&lua, &Reply::ok(), false).unwrap();
        assert_eq!(lua_to_reply(&status, false), Reply::ok());
        let error = reply_to_lua(&lua, &Reply::error("WRONGTYPE no"), false).unwrap();
        assert_eq!(lua_to_reply(&error, false), Reply::error("WRONGTYPE no"));
    }

    #[test]
    fn numbers_truncate_and_arrays_stop_at_nil() {
        let lua = Lua::new();
        let value: Value = lua
            .load("return {1, 2, 3.7, -3.99, 'a', nil, 4}")
            .eval()
            .unwrap();
        assert_eq!(
            lua_to_reply(&value, false),
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Int(2),
                Reply::Int(3),
                Reply::Int(-3),
                Reply::bulk("a")
            ])
        );
        assert_eq!(lua_to_reply(&Value::Boolean(true), true), Reply::Bool(true));
        assert_eq!(lua_to_reply(&Value::Nil, false), Reply::Null);
    }
}
