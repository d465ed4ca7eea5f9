//! Bitmap commands on string values: `SETBIT`, `GETBIT`, `BITCOUNT`, `BITPOS`, `BITOP`,
//! `BITFIELD`, `BITFIELD_RO`. The cores (parsing, bit arithmetic, Redis's error texts) are in
//! [`crate::value::bits`]; this module looks keys up in Redis's order, creates, replaces and
//! deletes them, and counts the changes that replicate. Source: Redis 7.2 `bitops.c`.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{CmdResult, Ctx};
use crate::value::bits::bitfield::BitField;
use crate::value::bits::{BitCount, BitOp, BitPos, GetBit, SetBit};
use crate::value::{RString, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", |ctx, args| bitfield(ctx, args, false)),
    ("bitfield_ro", |ctx, args| bitfield(ctx, args, true)),
];

/// Runs `apply` on the string under `key` as a growable buffer, creating it empty when absent
/// (Redis's `lookupStringForBitCommand`); counts a change when `apply` reports one.
fn modify(
    ctx: &mut Ctx,
    key: &[u8],
    apply: impl FnOnce(&mut Vec<u8>) -> (Reply, bool),
) -> CmdResult {
    let value = ctx.write_or_create::<RString>(key)?;
    let (reply, changed) = apply(value.make_growable());
    if changed {
        ctx.store.changed(1);
    }
    Ok(reply)
}

/// `SETBIT key offset value` → the bit's previous value. The arguments are checked before the
/// key (`ERR bit offset...` wins over `WRONGTYPE`).
fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = SetBit::parse(&args[2..], ctx.store.config.proto_max_bulk_len)?;
    modify(ctx, &args[1], |value| request.apply(value))
}

/// `GETBIT key offset` → `:0` or `:1`.
fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = GetBit::parse(&args[2..], ctx.store.config.proto_max_bulk_len)?;
    let value = ctx.read::<RString>(&args[1])?;
    Ok(request.apply(value.map(RString::as_bytes)))
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: the key first, then the arguments (Redis 7.2).
fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let value = ctx.read::<RString>(&args[1])?;
    Ok(BitCount::reply(value.map(RString::as_bytes), &args[2..]))
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`: the bit argument, then the key, then the range.
fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    BitPos::parse_bit(&args[2..])?;
    let value = ctx.read::<RString>(&args[1])?;
    Ok(BitPos::reply(value.map(RString::as_bytes), &args[2..]))
}

/// `BITOP op destkey key [key ...]` → the length of the result, stored at `destkey` (without
/// a time to live), or `destkey` deleted when the result is empty.
fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let op = BitOp::parse(&args[1], args.len() - 3)?;
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(ctx.read::<RString>(key)?.map(RString::to_bytes));
    }
    let views: Vec<Option<&[u8]>> = sources.iter().map(|s| s.as_deref()).collect();
    let result = op.apply(&views);
    let len = result.len();
    let dest = &args[2];
    let now = ctx.now_ms;
    if result.is_empty() {
        if ctx.db().remove(dest, now).is_some() {
            ctx.store.changed(1);
        }
    } else {
        ctx.db()
            .set(dest, Value::Str(RString::growable(result)), None);
        ctx.store.changed(1);
    }
    Ok(Reply::Int(len as i64))
}

/// `BITFIELD key [GET|SET|INCRBY|OVERFLOW ...]` and `BITFIELD_RO key [GET ...]`: the whole
/// request is parsed first; a request of `GET`s only reads the key and never creates it.
fn bitfield(ctx: &mut Ctx, args: &[Bytes], read_only_command: bool) -> CmdResult {
    let max_bytes = ctx.store.config.proto_max_bulk_len;
    let request = BitField::parse(&args[2..], read_only_command, max_bytes)?;
    if request.is_read_only() {
        let value = ctx.read::<RString>(&args[1])?;
        return Ok(request.read(value.map(RString::as_bytes)));
    }
    modify(ctx, &args[1], |value| request.apply(value))
}
