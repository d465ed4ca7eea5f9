//! The core of `BITFIELD` and `BITFIELD_RO`: integers of 1 to 64 bits at any bit offset of a
//! string, read, written and incremented with a chosen overflow policy.
//!
//! A field is stored big-endian from its first bit, in the same bit order as `SETBIT` (Redis
//! `bitops.c`, `getUnsignedBitfield`/`setUnsignedBitfield`). All arguments are parsed before
//! anything runs; a request with only `GET`s is a read that never creates the key, anything
//! else first grows the string with zero bytes up to the farthest bit written.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{bit_offset, int_arg, NOT_INTEGER, SYNTAX};

/// Redis's error for a type other than `i1`..`i64`, `u1`..`u63`.
const TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// Redis's error for an `OVERFLOW` policy other than WRAP, SAT or FAIL.
const OVERFLOW_ERR: &str = "ERR Invalid OVERFLOW type specified";
/// Redis's error for a write subcommand in `BITFIELD_RO`.
const READ_ONLY_ERR: &str = "ERR BITFIELD_RO only supports the GET subcommand";

/// What happens when `SET` or `INCRBY` goes out of the type's range (`OVERFLOW`, default WRAP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Wrap around modulo 2^bits (signed: two's complement).
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Leave the field unchanged and reply nil for that operation.
    Fail,
}

/// A field type: `i<bits>` (1..=64) or `u<bits>` (1..=63).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    /// Parses `i16`, `u8`... Source: Redis `getBitfieldTypeFromArgument`.
    fn parse(arg: &[u8]) -> Result<FieldType, Reply> {
        let err = || Reply::error(TYPE_ERR);
        let signed = match arg.first() {
            Some(b'i') => true,
            Some(b'u') => false,
            _ => return Err(err()),
        };
        let bits = super::super::parse_canonical_i64(&arg[1..]).ok_or_else(err)?;
        let max = if signed { 64 } else { 63 };
        if !(1..=max).contains(&bits) {
            return Err(err());
        }
        Ok(FieldType {
            signed,
            bits: bits as u32,
        })
    }

    /// Mask of the field's low `bits` bits.
    fn mask(self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }
}

/// One subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One parsed subcommand with the overflow policy in force at its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldOp {
    ty: FieldType,
    offset: u64,
    action: Action,
    overflow: Overflow,
}

/// A parsed `BITFIELD` / `BITFIELD_RO` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BitField {
    ops: Vec<FieldOp>,
    /// The farthest bit a `SET`/`INCRBY` touches; `None` for a read-only request.
    highest_write: Option<u64>,
}

impl BitField {
    /// Parses the subcommands after the key: `GET type offset`, `SET type offset value`,
    /// `INCRBY type offset increment`, `OVERFLOW WRAP|SAT|FAIL`. Offsets are bit offsets or
    /// `#n` (n times the type's width), bounded by `max_bytes` (`proto-max-bulk-len`).
    /// `read_only_command` is true for `BITFIELD_RO`. Source: Redis `bitfieldGeneric`.
    ///
    /// # Errors
    /// In argument order: `ERR syntax error` (unknown subcommand or missing arguments),
    /// `ERR Invalid OVERFLOW type specified`, `ERR Invalid bitfield type...`,
    /// `ERR bit offset is not an integer or out of range`, `ERR value is not an integer or out
    /// of range`; then, for `BITFIELD_RO` with a write, `ERR BITFIELD_RO only supports the GET
    /// subcommand`.
    pub(crate) fn parse(
        args: &[Bytes],
        read_only_command: bool,
        max_bytes: u64,
    ) -> Result<BitField, Reply> {
        let mut ops = Vec::new();
        let mut overflow = Overflow::Wrap;
        let mut highest_write: Option<u64> = None;
        let mut i = 0;
        while i < args.len() {
            let sub = &args[i][..];
            let remaining = args.len() - i - 1;
            let get = sub.eq_ignore_ascii_case(b"get") && remaining >= 2;
            let set = sub.eq_ignore_ascii_case(b"set") && remaining >= 3;
            let incrby = sub.eq_ignore_ascii_case(b"incrby") && remaining >= 3;
            if sub.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
                let policy = &args[i + 1];
                overflow = if policy.eq_ignore_ascii_case(b"wrap") {
                    Overflow::Wrap
                } else if policy.eq_ignore_ascii_case(b"sat") {
                    Overflow::Sat
                } else if policy.eq_ignore_ascii_case(b"fail") {
                    Overflow::Fail
                } else {
                    return Err(Reply::error(OVERFLOW_ERR));
                };
                i += 2;
                continue;
            }
            if !(get || set || incrby) {
                return Err(Reply::error(SYNTAX));
            }
            let ty = FieldType::parse(&args[i + 1])?;
            let offset = bit_offset(&args[i + 2], Some(ty.bits), max_bytes)?;
            let action = if get {
                i += 3;
                Action::Get
            } else {
                let last = offset + u64::from(ty.bits) - 1;
                highest_write = Some(highest_write.map_or(last, |h| h.max(last)));
                let n = int_arg(&args[i + 3], NOT_INTEGER)?;
                i += 4;
                if set {
                    Action::Set(n)
                } else {
                    Action::IncrBy(n)
                }
            };
            ops.push(FieldOp {
                ty,
                offset,
                action,
                overflow,
            });
        }
        if read_only_command && highest_write.is_some() {
            return Err(Reply::error(READ_ONLY_ERR));
        }
        Ok(BitField { ops, highest_write })
    }

    /// True when every subcommand is a `GET`: run [`BitField::read`], which never creates the
    /// key; otherwise run [`BitField::apply`] on the (possibly new, empty) value.
    pub(crate) fn is_read_only(&self) -> bool {
        self.highest_write.is_none()
    }

    /// Runs a read-only request: an array with one integer per `GET` (0 past the end or for a
    /// missing key).
    pub(crate) fn read(&self, value: Option<&[u8]>) -> Reply {
        let data = value.unwrap_or_default();
        Reply::Array(
            self.ops
                .iter()
                .map(|op| Reply::Int(get_field(data, op.offset, op.ty)))
                .collect(),
        )
    }

    /// Runs the request on the value (an empty vector for a missing key), growing it with zero
    /// bytes up to the farthest bit written. Replies with an array: per `GET` the value, per
    /// `SET` the old value, per `INCRBY` the new value, nil for an operation refused by
    /// `OVERFLOW FAIL`. The flag is true when the bytes changed, growth included (Redis counts
    /// growth only alongside an operation that was not refused; here a grown string is always
    /// reported, so it is replicated rather than left behind on the primary alone).
    pub(crate) fn apply(&self, value: &mut Vec<u8>) -> (Reply, bool) {
        let mut changed = match self.highest_write {
            Some(bit) => super::grow_for_bit(value, bit),
            None => false,
        };
        let mut replies = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            let old = get_field(value, op.offset, op.ty);
            let (n, is_incr) = match op.action {
                Action::Get => {
                    replies.push(Reply::Int(old));
                    continue;
                }
                Action::Set(n) => (n, false),
                Action::IncrBy(n) => (n, true),
            };
            let outcome = if op.ty.signed {
                let (value, incr) = if is_incr { (old, n) } else { (n, 0) };
                signed_overflow(value, incr, op.ty.bits, op.overflow)
                    .map(|new| new.unwrap_or_else(|| value.wrapping_add(incr)))
            } else {
                let (value, incr) = if is_incr {
                    (old as u64, n)
                } else {
                    (n as u64, 0)
                };
                unsigned_overflow(value, incr, op.ty.bits, op.overflow)
                    .map(|new| new.unwrap_or_else(|| value.wrapping_add(incr as u64)) as i64)
            };
            match outcome {
                None => replies.push(Reply::Null),
                Some(new) => {
                    replies.push(Reply::Int(if is_incr { new } else { old }));
                    set_field(value, op.offset, op.ty, new as u64);
                    changed |= old != get_field(value, op.offset, op.ty);
                }
            }
        }
        (Reply::Array(replies), changed)
    }
}

/// Reads the field at bit `offset` (bits past the end read as 0), sign-extended if signed.
fn get_field(data: &[u8], offset: u64, ty: FieldType) -> i64 {
    let byte = (offset >> 3) as usize;
    let mut window = [0u8; 16];
    if byte < data.len() {
        let n = (data.len() - byte).min(9);
        window[..n].copy_from_slice(&data[byte..byte + n]);
    }
    // The field lies in the first 72 bits of the big-endian 128-bit window.
    let shift = 128 - (offset & 7) as u32 - ty.bits;
    let raw = (u128::from_be_bytes(window) >> shift) as u64 & ty.mask();
    if ty.signed && ty.bits < 64 && raw >> (ty.bits - 1) & 1 == 1 {
        (raw | !ty.mask()) as i64
    } else {
        raw as i64
    }
}

/// Writes the low bits of `value` into the field at bit `offset`; the bytes exist (the value
/// was grown before).
fn set_field(data: &mut [u8], offset: u64, ty: FieldType, value: u64) {
    let byte = (offset >> 3) as usize;
    let n = (data.len() - byte).min(9);
    let mut window = [0u8; 16];
    window[..n].copy_from_slice(&data[byte..byte + n]);
    let shift = 128 - (offset & 7) as u32 - ty.bits;
    let mask = u128::from(ty.mask()) << shift;
    let bits = (u128::from(value & ty.mask()) << shift) & mask;
    let window = ((u128::from_be_bytes(window) & !mask) | bits).to_be_bytes();
    data[byte..byte + n].copy_from_slice(&window[..n]);
}

/// `value + incr` for an unsigned field of `bits` bits: `Some(None)` when it fits (the caller
/// adds), `Some(Some(v))` when the policy replaces an overflow with `v`, `None` when FAIL
/// refuses it. Source: Redis `checkUnsignedBitfieldOverflow`.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, policy: Overflow) -> Option<Option<u64>> {
    let max = u64::MAX >> (64 - bits);
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let over = value > max || (incr > 0 && incr > max_incr);
    let under = !over && incr < 0 && incr < min_incr;
    if !over && !under {
        return Some(None);
    }
    match policy {
        Overflow::Fail => None,
        Overflow::Sat => Some(Some(if over { max } else { 0 })),
        Overflow::Wrap => Some(Some(value.wrapping_add(incr as u64) & max)),
    }
}

/// As [`unsigned_overflow`] for a signed field. Source: Redis `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, policy: Overflow) -> Option<Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let over = value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr);
    let under = !over
        && (value < min
            || (bits != 64 && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr));
    if !over && !under {
        return Some(None);
    }
    match policy {
        Overflow::Fail => None,
        Overflow::Sat => Some(Some(if over { max } else { min })),
        Overflow::Wrap => {
            let sum = (value as u64).wrapping_add(incr as u64);
            if bits == 64 {
                return Some(Some(sum as i64));
            }
            let high = u64::MAX << bits;
            let wrapped = if sum >> (bits - 1) & 1 == 1 {
                sum | high
            } else {
                sum & !high
            };
            Some(Some(wrapped as i64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    const MAX: u64 = 512 * 1024 * 1024;

    fn run(value: &mut Vec<u8>, words: &[&str]) -> Reply {
        BitField::parse(&args(words), false, MAX).map_or_else(|e| e, |req| req.apply(value).0)
    }

    fn ints(items: &[Option<i64>]) -> Reply {
        Reply::Array(
            items
                .iter()
                .map(|i| i.map_or(Reply::Null, Reply::Int))
                .collect(),
        )
    }

    #[test]
    fn field_layout_matches_setbit_order() {
        // Redis's own example: u5 = 23 at offset 7 into zeros is 00000001 01110000.
        let mut v = Vec::new();
        run(&mut v, &["set", "u5", "7", "23"]);
        assert_eq!(v, [0b0000_0001, 0b0111_0000]);
        assert_eq!(
            run(&mut v, &["get", "u5", "7", "get", "i5", "7"]),
            ints(&[Some(23), Some(-9)])
        );
    }

    #[test]
    fn wide_fields_at_odd_offsets_round_trip() {
        let mut v = Vec::new();
        for (ty, off, val) in [
            ("i64", "3", i64::MIN + 5),
            ("u63", "70", (1 << 62) + 7),
            ("i1", "200", -1),
        ] {
            run(&mut v, &["set", ty, off, &val.to_string()]);
            assert_eq!(
                run(&mut v, &["get", ty, off]),
                ints(&[Some(val)]),
                "{ty} {off}"
            );
        }
    }

    #[test]
    fn overflow_policies() {
        let mut v = Vec::new();
        let r = run(
            &mut v,
            &[
                "set", "u8", "0", "250", "incrby", "u8", "0", "10", "overflow", "sat", "incrby",
                "u8", "0", "300", "overflow", "fail", "incrby", "u8", "0", "1", "incrby", "i8",
                "#1", "-129",
            ],
        );
        assert_eq!(r, ints(&[Some(0), Some(4), Some(255), None, None]));
        let mut v = Vec::new();
        let r = run(
            &mut v,
            &[
                "incrby", "i8", "0", "200", "overflow", "sat", "set", "i4", "8", "-100", "get",
                "i4", "8",
            ],
        );
        assert_eq!(r, ints(&[Some(-56), Some(0), Some(-8)]));
        let mut v = Vec::new();
        let r = run(
            &mut v,
            &[
                "set",
                "i64",
                "0",
                "9223372036854775807",
                "incrby",
                "i64",
                "0",
                "1",
                "overflow",
                "sat",
                "incrby",
                "i64",
                "0",
                "-1",
                "incrby",
                "i64",
                "0",
                "2",
            ],
        );
        // Saturating MIN - 1 stays at MIN; MIN + 2 fits (the same replies as redis-server).
        assert_eq!(
            r,
            ints(&[Some(0), Some(i64::MIN), Some(i64::MIN), Some(i64::MIN + 2)])
        );
    }

    #[test]
    fn errors_in_redis_order() {
        let cases: &[(&[&str], &str)] = &[
            (&["get", "u64", "0"], TYPE_ERR),
            (&["get", "i65", "0"], TYPE_ERR),
            (&["get", "x8", "0"], TYPE_ERR),
            (&["get", "u8", "-1"], super::super::BIT_OFFSET_ERR),
            (&["get", "u8", "#x"], super::super::BIT_OFFSET_ERR),
            (&["get", "u8", "4294967296"], super::super::BIT_OFFSET_ERR),
            (&["set", "u8", "0", "x"], NOT_INTEGER),
            (&["set", "u8", "0"], SYNTAX),
            (&["bogus"], SYNTAX),
            (&["overflow", "up"], OVERFLOW_ERR),
        ];
        for (words, err) in cases {
            assert_eq!(
                BitField::parse(&args(words), false, MAX),
                Err(Reply::error(err)),
                "{words:?}"
            );
        }
        assert_eq!(
            BitField::parse(
                &args(&["get", "u8", "0", "incrby", "u8", "0", "1"]),
                true,
                MAX
            ),
            Err(Reply::error(READ_ONLY_ERR))
        );
        // A bad type is reported before BITFIELD_RO refuses a write.
        assert_eq!(
            BitField::parse(
                &args(&["set", "u8", "0", "1", "get", "u99", "0"]),
                true,
                MAX
            ),
            Err(Reply::error(TYPE_ERR))
        );
    }

    #[test]
    fn reads_never_create_and_writes_grow_to_the_last_bit() {
        let req = BitField::parse(&args(&["get", "u8", "#3"]), true, MAX).unwrap();
        assert!(req.is_read_only());
        assert_eq!(req.read(None), ints(&[Some(0)]));
        assert_eq!(req.read(Some(&[0, 0, 0, 0xab])), ints(&[Some(0xab)]));
        let mut v = Vec::new();
        let req = BitField::parse(
            &args(&["overflow", "fail", "set", "u8", "#2", "256"]),
            false,
            MAX,
        )
        .unwrap();
        assert_eq!(req.apply(&mut v), (ints(&[None]), true));
        assert_eq!(v, [0, 0, 0]);
        // Once grown, a refused write changes nothing.
        assert!(!req.apply(&mut v).1);
    }

    #[test]
    fn hash_offsets_are_bounded_after_multiplying() {
        assert!(BitField::parse(&args(&["get", "u8", "#1"]), false, 1).is_err());
        assert!(BitField::parse(&args(&["get", "u8", "#0"]), false, 1).is_ok());
        assert!(
            BitField::parse(&args(&["get", "i64", "#288230376151711744"]), false, MAX).is_err()
        );
    }
}
