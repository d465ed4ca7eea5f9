//! The `cmsgpack` library Redis ships (lua-cmsgpack 0.4): `pack(...)`, `unpack(data)`,
//! `unpack_one(data [, offset])`, `unpack_limit(data, limit [, offset])`.
//!
//! Packing picks the smallest encoding: integral numbers as the smallest (negative) fixint or
//! int/uint of 8 to 64 bits, other numbers as float32 when exact else float64, strings as
//! fixstr/str8/str16/str32, tables as arrays when their keys are exactly 1..n (the empty table
//! too) else maps, tables nested deeper than 16 as nil, functions and other values as nil.
//! Unpacking reads those formats (not bin or ext, as the Redis copy does not); errors are
//! `Missing bytes in input.` and `Bad data format in input.`.

use mlua::{Lua, MultiValue, Table, Value};

use super::bit::check_number;
use super::error::{arg_error, string_error};

/// lua-cmsgpack's `LUACMSGPACK_MAX_NESTING`.
const MAX_NESTING: usize = 16;
/// Deepest nesting accepted when unpacking, so hostile input cannot exhaust the stack.
const MAX_UNPACK_DEPTH: usize = 512;

/// Builds the `cmsgpack` table.
pub(super) fn library(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    cmsgpack.raw_set("pack", lua.create_function(pack)?)?;
    cmsgpack.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, args, Mode::All))?,
    )?;
    cmsgpack.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| unpack(lua, args, Mode::One))?,
    )?;
    cmsgpack.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| unpack(lua, args, Mode::Limit))?,
    )?;
    Ok(cmsgpack)
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    if args.is_empty() {
        return Err(arg_error(lua, 0, "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for value in &args {
        encode(value, 0, &mut out)?;
    }
    lua.create_string(&out)
}

fn encode(value: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => encode_number(*n, out),
        Value::Integer(n) => encode_int(*n, out),
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Table(table) if level < MAX_NESTING => encode_table(table, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    // IS_INT64_EQUIVALENT: finite and equal to its 64-bit integer truncation.
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) && n.trunc() == n {
        encode_int(n as i64, out);
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let n = n as u64;
        if n <= 0x7f {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = bytes.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn encode_length(len: usize, fix: u8, wide: u8, out: &mut Vec<u8>) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_table(table: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    let (mut count, mut max, mut array) = (0usize, 0usize, true);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        count += 1;
        match key {
            Value::Number(n) if n >= 1.0 && n.trunc() == n => max = max.max(n as usize),
            Value::Integer(n) if n >= 1 => max = max.max(n as usize),
            _ => array = false,
        }
    }
    if array && max == count {
        encode_length(count, 0x90, 0xdc, out);
        for i in 1..=count {
            encode(&table.raw_get::<Value>(i)?, level + 1, out)?;
        }
    } else {
        encode_length(count, 0x80, 0xde, out);
        for pair in table.pairs::<Value, Value>() {
            let (key, value) = pair?;
            encode(&key, level + 1, out)?;
            encode(&value, level + 1, out)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    All,
    One,
    Limit,
}

fn unpack(lua: &Lua, args: MultiValue, mode: Mode) -> mlua::Result<MultiValue> {
    let data = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        other => {
            return Err(arg_error(
                lua,
                1,
                format!("string expected, got {}", super::bit::type_name(other)),
            ))
        }
    };
    let (limit, offset) = match mode {
        Mode::All => (0, 0),
        Mode::One => (1, optional_int(lua, &args, 1)?),
        Mode::Limit => (
            check_number(lua, &args, 1)? as i64,
            optional_int(lua, &args, 2)?,
        ),
    };
    if limit < 0 || offset < 0 {
        return Err(string_error(
            lua,
            format!("Invalid request to unpack with offset of {offset} and limit of {limit}."),
        ));
    }
    let offset = offset as usize;
    if offset > data.len() {
        return Err(string_error(
            lua,
            format!(
                "Start offset {offset} greater than input length {}.",
                data.len()
            ),
        ));
    }
    let mut reader = Reader {
        lua,
        data: &data,
        pos: offset,
    };
    let mut values = Vec::new();
    while reader.pos < data.len() && (limit == 0 || (values.len() as i64) < limit) {
        values.push(reader.value(0)?);
    }
    let mut out = MultiValue::new();
    if mode != Mode::All {
        let next = if reader.pos >= data.len() {
            -1
        } else {
            reader.pos as i64
        };
        out.push_back(Value::Number(next as f64));
    }
    out.extend(values);
    Ok(out)
}

fn optional_int(lua: &Lua, args: &MultiValue, index: usize) -> mlua::Result<i64> {
    match args.get(index) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => Ok(check_number(lua, args, index)? as i64),
    }
}

struct Reader<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> mlua::Result<&[u8]> {
        if self.data.len() - self.pos < n {
            return Err(string_error(self.lua, "Missing bytes in input."));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> mlua::Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        if depth > MAX_UNPACK_DEPTH {
            return Err(string_error(self.lua, "Bad data format in input."));
        }
        let tag = self.take(1)?[0];
        let number = |n: f64| Ok(Value::Number(n));
        match tag {
            0x00..=0x7f => number(f64::from(tag)),
            0xe0..=0xff => number(f64::from(tag as i8)),
            0x80..=0x8f => self.map(usize::from(tag & 0x0f), depth),
            0x90..=0x9f => self.array(usize::from(tag & 0x0f), depth),
            0xa0..=0xbf => self.string(usize::from(tag & 0x1f)),
            0xc0 => Ok(Value::Nil),
            0xc2 => Ok(Value::Boolean(false)),
            0xc3 => Ok(Value::Boolean(true)),
            0xca => number(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => number(f64::from_bits(self.uint(8)?)),
            0xcc => number(self.uint(1)? as f64),
            0xcd => number(self.uint(2)? as f64),
            0xce => number(self.uint(4)? as f64),
            0xcf => number(self.uint(8)? as f64),
            0xd0 => number(f64::from(self.uint(1)? as u8 as i8)),
            0xd1 => number(f64::from(self.uint(2)? as u16 as i16)),
            0xd2 => number(f64::from(self.uint(4)? as u32 as i32)),
            0xd3 => number(self.uint(8)? as i64 as f64),
            0xd9 => {
                let len = self.uint(1)? as usize;
                self.string(len)
            }
            0xda => {
                let len = self.uint(2)? as usize;
                self.string(len)
            }
            0xdb => {
                let len = self.uint(4)? as usize;
                self.string(len)
            }
            0xdc => {
                let len = self.uint(2)? as usize;
                self.array(len, depth)
            }
            0xdd => {
                let len = self.uint(4)? as usize;
                self.array(len, depth)
            }
            0xde => {
                let len = self.uint(2)? as usize;
                self.map(len, depth)
            }
            0xdf => {
                let len = self.uint(4)? as usize;
                self.map(len, depth)
            }
            _ => Err(string_error(self.lua, "Bad data format in input.")),
        }
    }

    fn string(&mut self, len: usize) -> mlua::Result<Value> {
        let lua = self.lua;
        let bytes = self.take(len)?;
        Ok(Value::String(lua.create_string(bytes)?))
    }

    /// Room for at most as many elements as bytes remain: a count in the input cannot make
    /// the table allocate more than the input could fill.
    fn capacity(&self, len: usize) -> usize {
        len.min(self.data.len() - self.pos)
    }

    fn array(&mut self, len: usize, depth: usize) -> mlua::Result<Value> {
        let table = self.lua.create_table_with_capacity(self.capacity(len), 0)?;
        for i in 1..=len {
            table.raw_set(i, self.value(depth + 1)?)?;
        }
        Ok(Value::Table(table))
    }

    fn map(&mut self, len: usize, depth: usize) -> mlua::Result<Value> {
        let table = self.lua.create_table_with_capacity(0, self.capacity(len))?;
        for _ in 0..len {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            match &key {
                Value::Nil => return Err(mlua::Error::RuntimeError("table index is nil".into())),
                Value::Number(n) if n.is_nan() => {
                    return Err(mlua::Error::RuntimeError("table index is NaN".into()))
                }
                _ => table.raw_set(key, value)?,
            }
        }
        Ok(Value::Table(table))
    }
}
