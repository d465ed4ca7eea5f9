//! Redis's sparse HyperLogLog encoding: a run-length code over the 16384 registers, kept
//! byte-identical to what Redis writes (`hyperloglog.c`, `hllSparseSet`).
//!
//! Opcodes: `00xxxxxx` ZERO, a run of 1..=64 zero registers; `01xxxxxx yyyyyyyy` XZERO, a
//! run of 1..=16384 zero registers (14-bit length - 1, big endian); `1vvvvvxx` VAL, a run of
//! 1..=4 registers holding the value 1..=32. A register above 32, or a code longer than
//! `hll-sparse-max-bytes` (header included), turns the value dense.

use super::dense::{self, REGISTERS};
use super::{invalidate_cache, set_encoding, Corrupt, Encoding, HEADER};

/// Longest run of a ZERO opcode.
const ZERO_MAX_LEN: usize = 64;
/// Longest run of an XZERO opcode.
const XZERO_MAX_LEN: usize = 16384;
/// Largest value a VAL opcode holds.
const VAL_MAX_VALUE: u8 = 32;
/// Longest run of a VAL opcode.
const VAL_MAX_LEN: usize = 4;

/// One decoded opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// A run of zero registers (ZERO or XZERO).
    Zero { len: usize, extended: bool },
    /// A run of registers holding `value`.
    Val { value: u8, len: usize },
}

impl Op {
    /// Decodes the opcode at `code[p]`; an XZERO cut short by the end reads a zero second
    /// byte, as Redis reads the string's terminator.
    pub(crate) fn at(code: &[u8], p: usize) -> Op {
        let b = code[p];
        if b & 0xc0 == 0 {
            Op::Zero {
                len: usize::from(b & 0x3f) + 1,
                extended: false,
            }
        } else if b & 0x80 == 0 {
            let low = code.get(p + 1).copied().unwrap_or(0);
            Op::Zero {
                len: ((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1,
                extended: true,
            }
        } else {
            Op::Val {
                value: ((b >> 2) & 0x1f) + 1,
                len: usize::from(b & 3) + 1,
            }
        }
    }

    /// Bytes the opcode takes.
    pub(crate) fn size(self) -> usize {
        match self {
            Op::Zero { extended: true, .. } => 2,
            _ => 1,
        }
    }

    /// Registers the opcode covers.
    pub(crate) fn span(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

/// Appends the shortest zero run opcode for `len` registers (ZERO up to 64, else XZERO).
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        out.push(0x40 | ((len - 1) >> 8) as u8);
        out.push(((len - 1) & 0xff) as u8);
    } else {
        out.push((len - 1) as u8);
    }
}

/// The sparse code of an empty HyperLogLog: XZERO opcodes covering every register.
pub(crate) fn empty_code() -> Vec<u8> {
    let mut code = Vec::with_capacity(2);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        code.push(0x40 | ((run - 1) >> 8) as u8);
        code.push(((run - 1) & 0xff) as u8);
        left -= run;
    }
    code
}

/// Calls `f(first_register, value, len)` for every VAL run of the code (after the header);
/// fails unless the runs cover exactly 16384 registers. A VAL run crossing the end stops the
/// walk, as in Redis's `hllMerge`/`hllSparseToDense`.
pub(crate) fn for_each_val(
    code: &[u8],
    mut f: impl FnMut(usize, u8, usize),
) -> Result<(), Corrupt> {
    let mut index = 0;
    let mut p = 0;
    while p < code.len() {
        let op = Op::at(code, p);
        if let Op::Val { value, len } = op {
            if index + len > REGISTERS {
                break;
            }
            f(index, value, len);
        }
        index += op.span();
        p += op.size();
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Adds the register histogram of the code to `histo`; fails unless the code covers exactly
/// 16384 registers (`hllSparseRegHisto`).
pub(crate) fn histogram(code: &[u8], histo: &mut [u32; 64]) -> Result<(), Corrupt> {
    let mut index = 0;
    let mut p = 0;
    while p < code.len() {
        let op = Op::at(code, p);
        match op {
            Op::Zero { len, .. } => histo[0] += len as u32,
            Op::Val { value, len } => histo[usize::from(value)] += len as u32,
        }
        index += op.span();
        p += op.size();
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Turns a sparse value (header included) dense in place, keeping the header's other bytes
/// (`hllSparseToDense`). A dense value is left alone.
pub(crate) fn to_dense(value: &mut Vec<u8>) -> Result<(), Corrupt> {
    if value[4] == Encoding::Dense as u8 {
        return Ok(());
    }
    let mut out = vec![0u8; HEADER + dense::DENSE_BYTES];
    out[..HEADER].copy_from_slice(&value[..HEADER]);
    let regs = &mut out[HEADER..];
    for_each_val(&value[HEADER..], |first, v, len| {
        for index in first..first + len {
            dense::set(regs, index, v);
        }
    })?;
    set_encoding(&mut out, Encoding::Dense);
    *value = out;
    Ok(())
}

/// Raises register `index` to `count` in a sparse value, splitting and merging opcodes exactly
/// as Redis does, or turning the value dense when `count` exceeds 32 or the code would grow
/// past `max_bytes`. True if the register changed (`hllSparseSet`).
pub(crate) fn raise(
    value: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(value, index, count);
    }
    // Step 1: find the opcode covering the register.
    let end = value.len();
    let mut p = HEADER;
    let mut first = 0;
    let mut prev = None;
    let mut op = None;
    while p < end {
        let this = Op::at(value, p);
        if index < first + this.span() {
            op = Some(this);
            break;
        }
        prev = Some(p);
        p += this.size();
        first += this.span();
    }
    let Some(op) = op else {
        return Err(Corrupt);
    };
    if p + op.size() > end {
        return Err(Corrupt);
    }
    // Step 2: the trivial updates.
    match op {
        Op::Val { value: old, .. } if old >= count => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zero {
            len: 1,
            extended: false,
        } => {
            value[p] = val_byte(count, 1);
            merge_around(value, prev);
            return Ok(true);
        }
        _ => {}
    }
    // Step 3: split the opcode into up to three.
    let last = first + op.span() - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Zero { .. } => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Op::Val { value: current, .. } => {
            if index != first {
                seq.push(val_byte(current, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(current, last - index));
            }
        }
    }
    if seq.len() > op.size() && value.len() + seq.len() - op.size() > max_bytes {
        return promote(value, index, count);
    }
    value.splice(p..p + op.size(), seq);
    merge_around(value, prev);
    Ok(true)
}

/// Step 4 of `hllSparseSet`: merges adjacent VAL opcodes of equal value, scanning at most five
/// opcodes from the one before the change; then invalidates the cached cardinality.
fn merge_around(value: &mut Vec<u8>, prev: Option<usize>) {
    let mut p = prev.unwrap_or(HEADER);
    let mut scan = 5;
    while p < value.len() && scan > 0 {
        scan -= 1;
        let op = Op::at(value, p);
        let Op::Val { value: v1, len: l1 } = op else {
            p += op.size();
            continue;
        };
        if p + 1 < value.len() {
            if let Op::Val { value: v2, len: l2 } = Op::at(value, p + 1) {
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    value[p + 1] = val_byte(v1, l1 + l2);
                    value.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(value);
}

/// Turns the value dense and raises the register there; the register always changes, since
/// only a value the sparse code cannot hold or room it lacks brings us here.
fn promote(value: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(value)?;
    Ok(dense::raise(&mut value[HEADER..], index, count))
}
