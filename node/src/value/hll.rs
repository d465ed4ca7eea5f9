//! The cores of Redis's HyperLogLog commands (`PFADD`, `PFCOUNT`, `PFMERGE`, `PFDEBUG`,
//! `PFSELFTEST`) on string values holding Redis's own representation, byte for byte, so a
//! value moves between Redoubt and Redis (`DUMP`/`RESTORE`, replication, `GET`/`SET`) intact.
//!
//! Layout (Redis `hyperloglog.c`): a 16-byte header — `HYLL`, the encoding (0 dense, 1
//! sparse), three zero bytes, the cached cardinality as 8 bytes little endian whose top bit
//! set means "stale" — then either 16384 six-bit registers packed in 12288 bytes
//! ([`dense`]) or a run-length code ([`sparse`]). New values start sparse and turn dense
//! when a register exceeds 32 or the code outgrows `hll-sparse-max-bytes`.
//!
//! As with the bitmap cores, key lookup and type checks (`WRONGTYPE` for a non-string) stay
//! with the caller; these functions take the string value and return the reply and whether
//! the value changed (to be replicated: a `PFCOUNT` that refreshes the cache changes it).

pub(crate) mod dense;
pub(crate) mod sparse;

use std::borrow::Cow;

use bytes::Bytes;
use rand::Rng;
use redoubt_protocol::Reply;

use dense::{DENSE_BYTES, REGISTERS};

/// Header bytes before the registers.
pub(crate) const HEADER: usize = 16;
/// Length of a dense value.
pub(crate) const DENSE_LEN: usize = HEADER + DENSE_BYTES;
/// Redis's default `hll-sparse-max-bytes`.
#[cfg(test)]
pub(crate) const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;

/// Redis's error for a string that is not a HyperLogLog.
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// Redis's error for a sparse code that does not cover exactly 16384 registers.
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// A sparse value whose code is malformed (`INVALIDOBJ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corrupt;

impl From<Corrupt> for Reply {
    fn from(_: Corrupt) -> Reply {
        Reply::error(CORRUPT)
    }
}

/// The two encodings, as stored in header byte 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// 16384 packed six-bit registers.
    Dense = 0,
    /// Run-length code.
    Sparse = 1,
}

fn set_encoding(value: &mut [u8], encoding: Encoding) {
    value[4] = encoding as u8;
}

fn encoding(value: &[u8]) -> Encoding {
    if value[4] == Encoding::Dense as u8 {
        Encoding::Dense
    } else {
        Encoding::Sparse
    }
}

/// Marks the cached cardinality stale (`HLL_INVALIDATE_CACHE`).
fn invalidate_cache(value: &mut [u8]) {
    value[15] |= 0x80;
}

/// The cached cardinality, if fresh.
fn cached(value: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(value[8..16].try_into().expect("8 bytes"));
    (card >> 63 == 0).then_some(card)
}

/// An empty HyperLogLog as Redis creates it: sparse, one XZERO run over every register,
/// cached cardinality 0 (`createHLLObject`).
pub(crate) fn new_hll() -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER + 2);
    value.extend_from_slice(b"HYLL");
    value.extend_from_slice(&[Encoding::Sparse as u8, 0, 0, 0]);
    value.extend_from_slice(&[0; 8]);
    value.extend_from_slice(&sparse::empty_code());
    value
}

/// Checks that a string value is a HyperLogLog: at least a header, the magic, a known
/// encoding, and exactly the dense length when dense (`isHLLObjectOrReply`). The sparse code
/// itself is checked when walked.
///
/// # Errors
/// `WRONGTYPE Key is not a valid HyperLogLog string value.`
pub(crate) fn validate(value: &[u8]) -> Result<(), Reply> {
    let valid = value.len() >= HEADER
        && value.starts_with(b"HYLL")
        && value[4] <= Encoding::Sparse as u8
        && (value[4] != Encoding::Dense as u8 || value.len() == DENSE_LEN);
    if valid {
        Ok(())
    } else {
        Err(Reply::error(NOT_HLL))
    }
}

/// Raises the register `element` hashes to; true if it changed (`hllAdd`).
fn add(value: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = dense::pattern(element);
    match encoding(value) {
        Encoding::Dense => Ok(dense::raise(&mut value[HEADER..], index, count)),
        Encoding::Sparse => sparse::raise(value, index, count, sparse_max_bytes),
    }
}

/// The register histogram of a validated value.
fn histogram(value: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut histo = [0u32; 64];
    match encoding(value) {
        Encoding::Dense => dense::histogram(&value[HEADER..], &mut histo),
        Encoding::Sparse => sparse::histogram(&value[HEADER..], &mut histo)?,
    }
    Ok(histo)
}

/// Raises `max` to the registers of a validated value (`hllMerge`).
fn merge_into(max: &mut [u8; REGISTERS], value: &[u8]) -> Result<(), Corrupt> {
    match encoding(value) {
        Encoding::Dense => {
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense::get(&value[HEADER..], i));
            }
            Ok(())
        }
        Encoding::Sparse => sparse::for_each_val(&value[HEADER..], |first, v, len| {
            for m in &mut max[first..first + len] {
                *m = (*m).max(v);
            }
        }),
    }
}

/// `PFADD key [element ...]`: adds elements to the HyperLogLog in `value`. With `created`,
/// `value` is a new key (the caller passes an empty vector) and becomes an empty HyperLogLog
/// first. Replies `:1` if a register changed or the key was created, else `:0`; the flag says
/// whether the value changed. `sparse_max_bytes` is `hll-sparse-max-bytes`.
///
/// # Errors
/// `WRONGTYPE Key is not a valid HyperLogLog string value.` for another string;
/// `INVALIDOBJ Corrupted HLL object detected` for a malformed sparse code (registers raised
/// by earlier elements stay raised, as in Redis, and the flag reports them).
pub(crate) fn pfadd(
    value: &mut Vec<u8>,
    created: bool,
    elements: &[Bytes],
    sparse_max_bytes: usize,
) -> (Reply, bool) {
    let mut updated = false;
    if created {
        *value = new_hll();
        updated = true;
    } else if let Err(e) = validate(value) {
        return (e, false);
    }
    for element in elements {
        match add(value, element, sparse_max_bytes) {
            Ok(changed) => updated |= changed,
            Err(e) => return (e.into(), updated),
        }
    }
    if updated {
        invalidate_cache(value);
    }
    (Reply::Int(i64::from(updated)), updated)
}

/// `PFCOUNT key` with one key: the cached cardinality when fresh, else the estimate, which is
/// then cached in the value (a change to replicate, as Redis propagates it). `None` (a missing
/// key) counts 0.
///
/// # Errors
/// `WRONGTYPE Key is not a valid HyperLogLog string value.`, `INVALIDOBJ Corrupted HLL object
/// detected`.
pub(crate) fn pfcount_one(value: Option<&mut Vec<u8>>) -> (Reply, bool) {
    let Some(value) = value else {
        return (Reply::Int(0), false);
    };
    if let Err(e) = validate(value) {
        return (e, false);
    }
    if let Some(card) = cached(value) {
        return (Reply::Int(card as i64), false);
    }
    match histogram(value) {
        Ok(histo) => {
            let card = dense::estimate(&histo);
            value[8..16].copy_from_slice(&card.to_le_bytes());
            (Reply::Int(card as i64), true)
        }
        Err(e) => (e.into(), false),
    }
}

/// `PFCOUNT key key [key ...]`: the estimated cardinality of the union, merged into a
/// temporary set of registers; no value changes. `None` entries are missing keys.
///
/// # Errors
/// The first invalid value's error, in key order.
pub(crate) fn pfcount_many(values: &[Option<&[u8]>]) -> Reply {
    let mut max = [0u8; REGISTERS];
    for value in values.iter().flatten() {
        if let Err(e) = validate(value) {
            return e;
        }
        if let Err(e) = merge_into(&mut max, value) {
            return e.into();
        }
    }
    Reply::Int(dense::estimate_raw(&max) as i64)
}

/// `PFMERGE destkey [sourcekey ...]`: the new value of `destkey`, holding the union of
/// `dest` (its current value, `None` if missing) and the sources. As in Redis the result is
/// dense if any input was dense, else `dest`'s encoding (a new key starts sparse), with the
/// cache stale; the caller stores it in place of the old value, keeping its TTL. Replies `+OK`.
///
/// # Errors
/// `WRONGTYPE Key is not a valid HyperLogLog string value.` or `INVALIDOBJ Corrupted HLL object
/// detected` for the first bad input, `dest` first.
pub(crate) fn pfmerge(
    dest: Option<&[u8]>,
    sources: &[Option<&[u8]>],
    sparse_max_bytes: usize,
) -> Result<Vec<u8>, Reply> {
    let mut max = [0u8; REGISTERS];
    let mut any_dense = false;
    for value in std::iter::once(&dest).chain(sources).flatten() {
        validate(value)?;
        any_dense |= encoding(value) == Encoding::Dense;
        merge_into(&mut max, value)?;
    }
    let mut out = dest.map_or_else(new_hll, <[u8]>::to_vec);
    if any_dense {
        sparse::to_dense(&mut out)?;
    }
    for (index, &count) in max.iter().enumerate() {
        if count == 0 {
            continue;
        }
        match encoding(&out) {
            Encoding::Dense => {
                dense::raise(&mut out[HEADER..], index, count);
            }
            Encoding::Sparse => {
                // Every input was checked above, so the code is sound.
                let _ = sparse::raise(&mut out, index, count, sparse_max_bytes);
            }
        }
    }
    invalidate_cache(&mut out);
    Ok(out)
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key` on the key's value (`None` if missing).
/// GETREG (all 16384 registers) and TODENSE (`:1` if converted) turn a sparse value dense;
/// DECODE prints the sparse code (`Z:16384`, `z:3 v:2,1`...); ENCODING is `+sparse` or
/// `+dense`. The flag says whether the value changed.
///
/// # Errors
/// `ERR The specified key does not exist`, the validation errors, `ERR HLL encoding is not
/// sparse` (DECODE), `ERR Unknown PFDEBUG subcommand '<name>'` — in Redis's order (the key is
/// checked before the subcommand).
pub(crate) fn pfdebug(sub: &[u8], value: Option<&mut Vec<u8>>) -> (Reply, bool) {
    let Some(value) = value else {
        return (Reply::error("ERR The specified key does not exist"), false);
    };
    if let Err(e) = validate(value) {
        return (e, false);
    }
    let was_sparse = encoding(value) == Encoding::Sparse;
    if sub.eq_ignore_ascii_case(b"getreg") || sub.eq_ignore_ascii_case(b"todense") {
        if let Err(e) = sparse::to_dense(value) {
            return (e.into(), false);
        }
        if sub.eq_ignore_ascii_case(b"todense") {
            return (Reply::Int(i64::from(was_sparse)), was_sparse);
        }
        let regs = &value[HEADER..];
        let all = (0..REGISTERS).map(|i| Reply::Int(i64::from(dense::get(regs, i))));
        (Reply::Array(all.collect()), was_sparse)
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if !was_sparse {
            return (Reply::error("ERR HLL encoding is not sparse"), false);
        }
        (Reply::Bulk(decode(&value[HEADER..]).into()), false)
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        let name = if was_sparse { "sparse" } else { "dense" };
        (Reply::simple(name), false)
    } else {
        let name = String::from_utf8_lossy(sub);
        let text = format!("ERR Unknown PFDEBUG subcommand '{name}'");
        (Reply::Error(Cow::Owned(text)), false)
    }
}

/// The sparse code in PFDEBUG DECODE's text form.
fn decode(code: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = 0;
    while p < code.len() {
        let op = sparse::Op::at(code, p);
        out.push(match op {
            sparse::Op::Zero {
                len,
                extended: false,
            } => format!("z:{len}"),
            sparse::Op::Zero {
                len,
                extended: true,
            } => format!("Z:{len}"),
            sparse::Op::Val { value, len } => format!("v:{value},{len}"),
        });
        p += op.size();
    }
    out.join(" ")
}

/// `PFSELFTEST`: checks register packing on random values, then adds distinct elements to a
/// dense and a sparse HyperLogLog side by side up to 10 million, checking at 1, 10, 100...
/// that the sparse one stayed sparse while small, that both estimate alike, and that the error
/// is within six standard errors. `+OK`, or a `TESTFAILED ...` error. Source: Redis
/// `pfselftestCommand`.
pub(crate) fn pfselftest(sparse_max_bytes: usize) -> Reply {
    selftest(1000, 10_000_000, sparse_max_bytes)
}

fn selftest(cycles: usize, elements: u64, sparse_max_bytes: usize) -> Reply {
    let mut rng = rand::thread_rng();
    let mut regs = vec![0u8; DENSE_BYTES];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..cycles {
        for (i, e) in expected.iter_mut().enumerate() {
            *e = rng.gen_range(0..64);
            dense::set(&mut regs, i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = dense::get(&regs, i);
            if got != e {
                let text = format!("TESTFAILED Register {i} should be {e} but is {got}");
                return Reply::error_owned(text);
            }
        }
    }
    let mut dense_hll = new_hll();
    sparse::to_dense(&mut dense_hll).expect("a new value is sound");
    let mut sparse_hll = new_hll();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed: u64 = rng.gen();
    let mut checkpoint = 1;
    for j in 1..=elements {
        let element = (j ^ seed).to_ne_bytes();
        let _ = add(&mut dense_hll, &element, sparse_max_bytes);
        if add(&mut sparse_hll, &element, sparse_max_bytes).is_err() {
            return Reply::error("TESTFAILED sparse code corrupted");
        }
        if j != checkpoint {
            continue;
        }
        if j < sparse_max_bytes as u64 / 2 && encoding(&sparse_hll) != Encoding::Sparse {
            return Reply::error("TESTFAILED sparse encoding not used");
        }
        let card = dense::estimate(&histogram(&dense_hll).expect("dense"));
        if histogram(&sparse_hll).map(|h| dense::estimate(&h)) != Ok(card) {
            return Reply::error("TESTFAILED dense/sparse disagree");
        }
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * j as f64).ceil() as u64
        };
        let error = j.abs_diff(card);
        if error > max_error {
            let text = format!("TESTFAILED Too big error. card:{j} abserr:{error}");
            return Reply::error_owned(text);
        }
        checkpoint *= 10;
    }
    Reply::ok()
}

#[cfg(test)]
mod tests;
