//! Property tests of [`ZSetValue`] against a naive model: a vector sorted by (score, member).

use bytes::Bytes;
use proptest::prelude::*;

use super::{LexBound, ScoreBound, ZSetValue};

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, i8),
    Remove(u8),
    Pop(bool, u8),
    RemoveRanks(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), -8i8..8).prop_map(|(m, s)| Op::Insert(m % 64, s)),
        2 => any::<u8>().prop_map(|m| Op::Remove(m % 64)),
        1 => (any::<bool>(), 0u8..4).prop_map(|(max, n)| Op::Pop(max, n)),
        1 => (0u8..40, 0u8..6).prop_map(|(a, n)| Op::RemoveRanks(a, n)),
    ]
}

fn member(m: u8) -> Bytes {
    Bytes::from(format!("m{m:02}"))
}

/// The model: (score, member) sorted.
fn model_sorted(model: &[(f64, Bytes)]) -> Vec<(Bytes, f64)> {
    let mut v = model.to_vec();
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
    v.into_iter().map(|(s, m)| (m, s)).collect()
}

fn check(z: &ZSetValue, model: &[(f64, Bytes)]) {
    if let super::Repr::Big(b) = &z.repr {
        b.check();
    }
    let want = model_sorted(model);
    let got: Vec<(Bytes, f64)> = z
        .iter()
        .map(|(m, s)| (Bytes::copy_from_slice(m), s))
        .collect();
    assert_eq!(got, want);
    assert_eq!(z.len(), want.len());
    let back: Vec<(Bytes, f64)> = z
        .range(0..z.len(), true)
        .map(|(m, s)| (Bytes::copy_from_slice(m), s))
        .collect();
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(back, rev);
    for (rank, (m, s)) in want.iter().enumerate() {
        assert_eq!(z.rank(m), Some((rank, *s)));
        assert_eq!(
            z.get(rank).map(|(m, s)| (Bytes::copy_from_slice(m), s)),
            Some((m.clone(), *s))
        );
        assert_eq!(z.score(m), Some(*s));
    }
    assert_eq!(z.get(want.len()), None);
}

proptest! {
    #[test]
    fn matches_model(ops in proptest::collection::vec(op(), 0..300), big: bool) {
        let mut z = ZSetValue::default();
        let mut model: Vec<(f64, Bytes)> = Vec::new();
        if big {
            // A member over 64 bytes: the same walk over the skiplist encoding.
            let long = Bytes::from(vec![b'z'; 65]);
            z.insert(long.clone(), 3.0);
            model.push((3.0, long));
            prop_assert_eq!(z.encoding(), "skiplist");
        }
        for op in ops {
            match op {
                Op::Insert(m, s) => {
                    let m = member(m);
                    let new = !model.iter().any(|(_, x)| *x == m);
                    model.retain(|(_, x)| *x != m);
                    model.push((f64::from(s), m.clone()));
                    prop_assert_eq!(z.insert(m, f64::from(s)), new);
                }
                Op::Remove(m) => {
                    let m = member(m);
                    let old = model.iter().find(|(_, x)| *x == m).map(|(s, _)| *s);
                    model.retain(|(_, x)| *x != m);
                    prop_assert_eq!(z.remove(&m), old);
                }
                Op::Pop(max, n) => {
                    let mut sorted = model_sorted(&model);
                    if max {
                        sorted.reverse();
                    }
                    sorted.truncate(n as usize);
                    model.retain(|(_, m)| !sorted.iter().any(|(x, _)| x == m));
                    prop_assert_eq!(z.pop(max, n as usize), sorted);
                }
                Op::RemoveRanks(a, n) => {
                    let sorted = model_sorted(&model);
                    let start = (a as usize).min(sorted.len());
                    let end = (start + n as usize).min(sorted.len());
                    let gone = &sorted[start..end];
                    model.retain(|(_, m)| !gone.iter().any(|(x, _)| x == m));
                    prop_assert_eq!(z.remove_ranks(start..end), end - start);
                }
            }
            check(&z, &model);
        }
    }

    #[test]
    fn score_and_lex_ranges(
        entries in proptest::collection::vec((any::<u8>(), -4i8..4), 0..80),
        min in -5i8..5, max in -5i8..5, min_ex: bool, max_ex: bool,
        lo in 0u8..70, hi in 0u8..70, lo_kind in 0u8..4, hi_kind in 0u8..4,
    ) {
        let z: ZSetValue = entries.iter().map(|(m, s)| (member(m % 64), f64::from(*s))).collect();
        let all: Vec<(Bytes, f64)> = z.iter().map(|(m, s)| (Bytes::copy_from_slice(m), s)).collect();
        let (min_v, max_v) = (f64::from(min), f64::from(max));
        let want: Vec<&[u8]> = all
            .iter()
            .filter(|(_, s)| if min_ex { *s > min_v } else { *s >= min_v })
            .filter(|(_, s)| if max_ex { *s < max_v } else { *s <= max_v })
            .map(|(m, _)| &m[..])
            .collect();
        let ranks = z.score_ranks(
            ScoreBound { value: min_v, exclusive: min_ex },
            ScoreBound { value: max_v, exclusive: max_ex },
        );
        let got: Vec<&[u8]> = z.range(ranks.clone(), false).map(|(m, _)| m).collect();
        prop_assert_eq!(got, want.clone());
        prop_assert_eq!(ranks.len(), want.len());

        // Lex ranges over a set whose scores are all equal.
        let flat: ZSetValue = all.iter().map(|(m, _)| (m.clone(), 0.0)).collect();
        let bound = |kind: u8, at: u8| match kind {
            0 => LexBound::Min,
            1 => LexBound::Max,
            2 => LexBound::Inclusive(member(at)),
            _ => LexBound::Exclusive(member(at)),
        };
        let (min_b, max_b) = (bound(lo_kind, lo), bound(hi_kind, hi));
        let want: Vec<Bytes> = flat
            .iter()
            .map(|(m, _)| Bytes::copy_from_slice(m))
            .filter(|m| !min_b.below_min(m) && max_b.within_max(m))
            .collect();
        let got: Vec<Bytes> = flat
            .range(flat.lex_ranks(&min_b, &max_b), true)
            .map(|(m, _)| Bytes::copy_from_slice(m))
            .collect();
        let mut want_rev = want;
        want_rev.reverse();
        prop_assert_eq!(got, want_rev);
    }
}

#[test]
fn encoding_switches_once() {
    let mut z = ZSetValue::default();
    for i in 0..128 {
        z.insert(Bytes::from(i.to_string()), 1.0);
    }
    assert_eq!(z.encoding(), "listpack");
    z.insert(Bytes::from_static(b"x"), 1.0);
    assert_eq!(z.encoding(), "skiplist");
    z.remove(b"x");
    assert_eq!(z.encoding(), "skiplist");
}

#[test]
fn packed_scores_round_trip() {
    let scores = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        31.0,
        -32.0,
        1.5,
        0.1,
        1e300,
        -1e-300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        (1u64 << 53) as f64,
        -((1u64 << 53) as f64) + 1.0,
        123456789.0,
    ];
    let mut z = ZSetValue::default();
    for (i, s) in scores.iter().enumerate() {
        z.insert(Bytes::from(format!("m{i}")), *s);
    }
    assert_eq!(z.encoding(), "listpack");
    for (i, s) in scores.iter().enumerate() {
        let got = z.score(format!("m{i}").as_bytes()).unwrap();
        // A listpack keeps -0 as 0, as Redis does.
        assert_eq!(got.to_bits(), (s + 0.0).to_bits(), "score {s}");
    }
    // Changing a score moves the member: now beside m10, the other infinite score.
    z.insert(Bytes::from_static(b"m0"), f64::INFINITY);
    assert_eq!(z.rank(b"m0"), Some((z.len() - 2, f64::INFINITY)));
}

#[test]
fn long_member_converts() {
    let mut z = ZSetValue::default();
    z.insert(Bytes::from(vec![b'a'; 64]), 1.0);
    assert_eq!(z.encoding(), "listpack");
    z.insert(Bytes::from(vec![b'b'; 65]), 2.0);
    assert_eq!(z.encoding(), "skiplist");
    assert_eq!(z.len(), 2);
    assert_eq!(z.rank(&[b'b'; 65]), Some((1, 2.0)));
    // A store result or a loaded snapshot that fits is created as a listpack again.
    let small: ZSetValue = z
        .iter()
        .take(1)
        .map(|(m, s)| (Bytes::copy_from_slice(m), s))
        .collect();
    assert_eq!(small.encoding(), "listpack");
}
