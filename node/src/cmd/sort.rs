//! `SORT` and `SORT_RO`: the elements of a list, set or sorted set, sorted numerically or
//! alphabetically by themselves or by keys built from a pattern (`BY weight_*`,
//! `BY h_*->field`), windowed by `LIMIT`, projected through `GET` patterns (`#` is the element
//! itself), replied or stored as a list (`STORE`). Source: Redis 7.2 `sort.c`
//! (`sortCommandGeneric`, `lookupKeyByPattern`, `sortCompare`).

use std::cmp::Ordering;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx, SYNTAX, WRONGTYPE};
use crate::value::{ListValue, Value};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[
    ("sort", |ctx, args| sort(ctx, args, false)),
    ("sort_ro", |ctx, args| sort(ctx, args, true)),
];

/// Redis's error when a sort weight is not a number.
const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// A parsed request.
struct Request<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<&'a Bytes>,
    by: Option<&'a [u8]>,
    /// `BY` a pattern without `*`: keep the stored order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse(args: &[Bytes], read_only: bool) -> Result<Request<'_>, Reply> {
    let mut request = Request {
        desc: false,
        alpha: false,
        limit: None,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let arg = &args[j];
        if is(arg, "asc") {
            request.desc = false;
        } else if is(arg, "desc") {
            request.desc = true;
        } else if is(arg, "alpha") {
            request.alpha = true;
        } else if is(arg, "limit") && left >= 2 {
            request.limit = Some((parse_i64(&args[j + 1])?, parse_i64(&args[j + 2])?));
            j += 2;
        } else if !read_only && is(arg, "store") && left >= 1 {
            request.store = Some(&args[j + 1]);
            j += 1;
        } else if is(arg, "by") && left >= 1 {
            request.by = Some(&args[j + 1]);
            request.dont_sort = !args[j + 1].contains(&b'*');
            j += 1;
        } else if is(arg, "get") && left >= 1 {
            request.gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(Reply::error(SYNTAX));
        }
        j += 1;
    }
    Ok(request)
}

/// The value a pattern names for `element`: `#` is the element; otherwise the first `*` is
/// replaced by the element, and a `->field` after it reads that hash field; the key must hold
/// a string (or a hash with `->`). `None` for anything else.
fn lookup(ctx: &mut Ctx, pattern: &[u8], element: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(element.clone());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after.len());
    let (suffix, field) = match arrow {
        Some(at) => (&after[..at], Some(&after[at + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    let now = ctx.now_ms;
    match (&ctx.db().get(&key, now)?.value, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(field)) => h.get(field).map(Bytes::copy_from_slice),
        _ => None,
    }
}

/// Reads a weight as C's `strtod` does for `SORT`: leading spaces allowed, the whole text a
/// number, not NaN, not out of range; the empty string is 0.
fn weight(text: &[u8]) -> Option<f64> {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = std::str::from_utf8(&text[start..]).ok()?;
    if text.is_empty() {
        return Some(0.0);
    }
    let value: f64 = text.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    let literal_inf = lower.contains("inf");
    let mantissa = lower.split('e').next().unwrap_or("");
    let underflow = value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    (!value.is_nan() && (value.is_finite() || literal_inf) && !underflow).then_some(value)
}

/// One element being sorted, with what it sorts by.
struct Item {
    element: Bytes,
    score: f64,
    /// With `ALPHA` and `BY`: the looked-up value (`None` sorts first).
    key: Option<Bytes>,
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]` → the sorted elements (or per element one value per `GET`, nil for
/// a missing one), or with `STORE` the number of values stored as a list at `destination`
/// (deleted when there are none). `SORT_RO` has no `STORE`.
///
/// # Errors
/// `ERR syntax error`, `ERR value is not an integer or out of range` (LIMIT), `WRONGTYPE`
/// for a key that is not a list, set or sorted set, `ERR One or more scores can't be
/// converted into double`.
fn sort(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult {
    let mut request = parse(args, read_only)?;
    let now = ctx.now_ms;
    let db = ctx.session.db;
    let found = ctx.store.dbs[db].get(&args[1], now).is_some();
    if found {
        ctx.store.keyspace_hits += 1;
    } else {
        ctx.store.keyspace_misses += 1;
    }
    let (elements, is_set, ordered): (Vec<Bytes>, bool, bool) =
        match ctx.store.dbs[db].get(&args[1], now).map(|e| &e.value) {
            None => (Vec::new(), false, true),
            Some(Value::List(l)) => (l.iter().map(Bytes::copy_from_slice).collect(), false, true),
            Some(Value::Set(s)) => (s.iter().map(|m| m.to_bytes()).collect(), true, false),
            Some(Value::ZSet(z)) => (
                z.iter().map(|(m, _)| Bytes::copy_from_slice(m)).collect(),
                false,
                true,
            ),
            Some(_) => return Err(Reply::error(WRONGTYPE)),
        };
    // A set has no order of its own: stored results are sorted so a standby gets the same.
    if request.dont_sort && is_set && request.store.is_some() {
        request.dont_sort = false;
        request.alpha = true;
        request.by = None;
    }
    let len = elements.len() as i64;
    let (limit_start, limit_count) = request.limit.unwrap_or((0, -1));
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(limit_count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|element| Item {
            element,
            score: 0.0,
            key: None,
        })
        .collect();
    if request.dont_sort {
        if ordered && request.desc {
            items.reverse();
        }
    } else {
        let mut not_double = false;
        for item in &mut items {
            let by = match request.by {
                Some(pattern) => match lookup(ctx, pattern, &item.element) {
                    Some(value) => value,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if request.alpha {
                if request.by.is_some() {
                    item.key = Some(by);
                }
            } else {
                match weight(&by) {
                    Some(score) => item.score = score,
                    None => not_double = true,
                }
            }
        }
        let by_pattern = request.by.is_some();
        let (alpha, desc) = (request.alpha, request.desc);
        items.sort_by(|a, b| {
            let order = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            } else if by_pattern {
                a.key.cmp(&b.key)
            } else {
                a.element.cmp(&b.element)
            };
            if desc {
                order.reverse()
            } else {
                order
            }
        });
        if not_double {
            return Err(Reply::error(NOT_DOUBLE));
        }
    }
    let window = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for item in window {
        if request.gets.is_empty() {
            out.push(Some(item.element.clone()));
        }
        for pattern in &request.gets {
            out.push(lookup(ctx, pattern, &item.element));
        }
    }
    let Some(dest) = request.store else {
        return Ok(Reply::Array(out.into_iter().map(Reply::from).collect()));
    };
    let count = out.len();
    if out.is_empty() {
        if ctx.db().remove(dest, now).is_some() {
            ctx.store.changed(1);
        }
    } else {
        let list: ListValue = out.into_iter().map(Option::unwrap_or_default).collect();
        ctx.db().set(dest, Value::List(Box::new(list)), None);
        ctx.store.changed(count as u64);
        ctx.signal_key_ready(dest);
    }
    Ok(Reply::Int(count as i64))
}

#[cfg(test)]
mod tests {
    use super::weight;

    #[test]
    fn weights_read_as_strtod_does() {
        assert_eq!(weight(b"1.5"), Some(1.5));
        assert_eq!(weight(b"  -3"), Some(-3.0));
        assert_eq!(weight(b""), Some(0.0));
        assert_eq!(weight(b"inf"), Some(f64::INFINITY));
        assert_eq!(weight(b"1e400"), None);
        assert_eq!(weight(b"1e-400"), None);
        assert_eq!(weight(b"nan"), None);
        assert_eq!(weight(b"3 "), None);
        assert_eq!(weight(b"abc"), None);
    }
}
