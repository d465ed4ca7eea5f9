//! The `struct` library Redis ships (Roberto Ierusalimschy's `struct` 0.2): `pack(fmt, ...)`,
//! `unpack(fmt, data [, pos])` (values, then the position after them) and `size(fmt)`.
//!
//! Format options: `>` big endian, `<` and `=` little endian (the native order here), `!n`
//! align to n (8 without n), `x` a zero byte, `b`/`B` 1, `h`/`H` 2, `l`/`L` and `T` 8, `i`/`I`
//! with an optional size (4 by default, at most 32) signed/unsigned integers, `f` float, `d`
//! double, `cn` n characters (`c0`: the whole string when packing, the length given by the
//! previous value when unpacking), `s` a zero-terminated string; spaces are ignored.

use mlua::{Lua, MultiValue, Table, Value};

use super::bit::{lua_str_to_number, type_name};
use super::error::arg_error;

/// struct's `MAXINTSIZE`.
const MAX_INT_SIZE: usize = 32;
/// struct's `MAXALIGN` (alignment of a double).
const MAX_ALIGN: usize = 8;

/// Builds the `struct` table.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("pack", lua.create_function(pack)?)?;
    table.raw_set("unpack", lua.create_function(unpack)?)?;
    table.raw_set("size", lua.create_function(size)?)?;
    Ok(table)
}

#[derive(Clone, Copy)]
enum Item {
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    Chars(usize),
    Zstring,
}

/// A format string, read one option at a time; endianness and alignment are state.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
    little: bool,
    align: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8]) -> Format<'a> {
        Format {
            fmt,
            pos: 0,
            little: true,
            align: 1,
        }
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.pos < self.fmt.len() && self.fmt[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        std::str::from_utf8(&self.fmt[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
    }

    /// The next data item, or `None` at the end; `Err` holds the error message.
    fn next(&mut self) -> Result<Option<(u8, Item)>, String> {
        while self.pos < self.fmt.len() {
            let opt = self.fmt[self.pos];
            self.pos += 1;
            let item = match opt {
                b' ' => continue,
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'<' | b'=' => {
                    self.little = true;
                    continue;
                }
                b'!' => {
                    let align = self.number().unwrap_or(MAX_ALIGN);
                    if !align.is_power_of_two() {
                        return Err("alignment must be power of 2".to_string());
                    }
                    self.align = align;
                    continue;
                }
                b'x' => Item::Pad,
                b'b' | b'B' => Item::Int {
                    size: 1,
                    signed: opt == b'b',
                },
                b'h' | b'H' => Item::Int {
                    size: 2,
                    signed: opt == b'h',
                },
                b'l' | b'L' => Item::Int {
                    size: 8,
                    signed: opt == b'l',
                },
                b'T' => Item::Int {
                    size: 8,
                    signed: false,
                },
                b'i' | b'I' => {
                    let size = self.number().unwrap_or(4);
                    if size > MAX_INT_SIZE {
                        return Err(format!(
                            "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                        ));
                    }
                    Item::Int {
                        size,
                        signed: opt == b'i',
                    }
                }
                b'f' => Item::Float,
                b'd' => Item::Double,
                b'c' => Item::Chars(self.number().unwrap_or(1)),
                b's' => Item::Zstring,
                other => {
                    return Err(format!("invalid format option '{}'", other as char));
                }
            };
            return Ok(Some((opt, item)));
        }
        Ok(None)
    }

    /// Padding needed before an item of `size` bytes at offset `len`.
    fn padding(&self, len: usize, item: Item) -> usize {
        let size = match item {
            Item::Int { size, .. } => size,
            Item::Float => 4,
            Item::Double => 8,
            _ => return 0,
        };
        let size = size.min(self.align);
        if size <= 1 || !size.is_power_of_two() {
            return 0;
        }
        (size - (len & (size - 1))) & (size - 1)
    }
}

fn format_arg(lua: &Lua, args: &MultiValue) -> mlua::Result<Vec<u8>> {
    match args.front() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(n)) => Ok(super::convert::format_lua_number(*n).into_bytes()),
        other => Err(arg_error(
            lua,
            1,
            format!("string expected, got {}", type_name(other)),
        )),
    }
}

/// `luaL_checknumber` as struct calls it: a missing argument reads as `nil`.
fn number_arg(lua: &Lua, args: &MultiValue, index: usize) -> mlua::Result<f64> {
    let value = args.get(index);
    let number = match value {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::String(s)) => s.to_str().ok().and_then(|s| lua_str_to_number(&s)),
        _ => None,
    };
    number.ok_or_else(|| {
        let got = type_name(Some(value.unwrap_or(&Value::Nil)));
        arg_error(lua, index + 1, format!("number expected, got {got}"))
    })
}

fn string_arg(lua: &Lua, args: &MultiValue, index: usize) -> mlua::Result<Vec<u8>> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(n)) => Ok(super::convert::format_lua_number(*n).into_bytes()),
        other => {
            let got = type_name(Some(other.unwrap_or(&Value::Nil)));
            Err(arg_error(
                lua,
                index + 1,
                format!("string expected, got {got}"),
            ))
        }
    }
}

fn put_int(out: &mut Vec<u8>, n: f64, size: usize, little: bool) {
    let value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes: Vec<u8> = (0..size)
        .map(|i| if i < 8 { (value >> (8 * i)) as u8 } else { 0 })
        .collect();
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    let fmt = format_arg(lua, &args)?;
    let mut format = Format::new(&fmt);
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some((_, item)) = format.next().map_err(|m| arg_error(lua, 1, m))? {
        let padding = format.padding(out.len(), item);
        out.resize(out.len() + padding, 0);
        match item {
            Item::Pad => out.push(0),
            Item::Int { size, .. } => {
                let n = number_arg(lua, &args, arg)?;
                put_int(&mut out, n, size, format.little);
                arg += 1;
            }
            Item::Float | Item::Double => {
                let n = number_arg(lua, &args, arg)?;
                let mut bytes = if matches!(item, Item::Float) {
                    (n as f32).to_le_bytes().to_vec()
                } else {
                    n.to_le_bytes().to_vec()
                };
                if !format.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
                arg += 1;
            }
            Item::Chars(size) => {
                let s = string_arg(lua, &args, arg)?;
                let size = if size == 0 { s.len() } else { size };
                if s.len() < size {
                    return Err(arg_error(lua, arg + 1, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                arg += 1;
            }
            Item::Zstring => {
                let s = string_arg(lua, &args, arg)?;
                if s.contains(&0) {
                    return Err(arg_error(lua, arg + 1, "string contains zeros"));
                }
                out.extend_from_slice(&s);
                out.push(0);
                arg += 1;
            }
        }
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let fmt = format_arg(lua, &args)?;
    let data = string_arg(lua, &args, 1)?;
    let mut pos = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => number_arg(lua, &args, 2)?,
    } as i64;
    if pos <= 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let mut pos = pos as usize;
    let mut format = Format::new(&fmt);
    let mut values = MultiValue::new();
    let too_short = |lua: &Lua| arg_error(lua, 2, "data string too short");
    while let Some((_, item)) = format.next().map_err(|m| arg_error(lua, 1, m))? {
        pos += format.padding(pos, item);
        let fixed = match item {
            Item::Pad => 1,
            Item::Int { size, .. } => size,
            Item::Float => 4,
            Item::Double => 8,
            Item::Chars(_) | Item::Zstring => 0,
        };
        if pos.checked_add(fixed).is_none_or(|end| end > data.len()) {
            return Err(too_short(lua));
        }
        match item {
            Item::Pad => pos += 1,
            Item::Int { size, signed } => {
                let mut bytes = data[pos..pos + size].to_vec();
                if !format.little {
                    bytes.reverse();
                }
                let mut value: u64 = 0;
                for (i, b) in bytes.iter().enumerate().take(8) {
                    value |= u64::from(*b) << (8 * i);
                }
                let n = if signed && size < 8 {
                    let shift = 64 - 8 * size as u32;
                    (((value << shift) as i64) >> shift) as f64
                } else if signed {
                    value as i64 as f64
                } else {
                    value as f64
                };
                values.push_back(Value::Number(n));
                pos += size;
            }
            Item::Float | Item::Double => {
                let mut bytes = data[pos..pos + fixed].to_vec();
                if !format.little {
                    bytes.reverse();
                }
                let n = if fixed == 4 {
                    f64::from(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
                } else {
                    let mut eight = [0u8; 8];
                    eight.copy_from_slice(&bytes);
                    f64::from_le_bytes(eight)
                };
                values.push_back(Value::Number(n));
                pos += fixed;
            }
            Item::Chars(size) => {
                let size = if size == 0 {
                    match values.pop_back() {
                        Some(Value::Number(n)) if n >= 0.0 => n as usize,
                        _ => {
                            return Err(super::error::string_error(
                                lua,
                                "format 'c0' needs a previous size",
                            ))
                        }
                    }
                } else {
                    size
                };
                if pos.checked_add(size).is_none_or(|end| end > data.len()) {
                    return Err(too_short(lua));
                }
                values.push_back(Value::String(lua.create_string(&data[pos..pos + size])?));
                pos += size;
            }
            Item::Zstring => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(super::error::string_error(lua, "unfinished string in data"));
                };
                values.push_back(Value::String(lua.create_string(&data[pos..pos + len])?));
                pos += len + 1;
            }
        }
    }
    values.push_back(Value::Number((pos + 1) as f64));
    Ok(values)
}

fn size(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    let fmt = format_arg(lua, &args)?;
    let mut format = Format::new(&fmt);
    let mut total = 0usize;
    while let Some((opt, item)) = format.next().map_err(|m| arg_error(lua, 1, m))? {
        total += format.padding(total, item);
        total += match item {
            Item::Pad => 1,
            Item::Int { size, .. } => size,
            Item::Float => 4,
            Item::Double => 8,
            Item::Chars(size) if size > 0 => size,
            Item::Chars(_) | Item::Zstring => {
                return Err(arg_error(
                    lua,
                    1,
                    format!("option '{}' has no fixed size", opt as char),
                ))
            }
        };
    }
    Ok(total as f64)
}
