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
use redoubt_protocol::Reply;

/// Deepest nesting of a Lua table converted into a reply; deeper (a table holding itself) ends in
/// Redis's `reached lua stack limit` error, before the native stack runs out.
const MAX_DEPTH: usize = 256;

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
