//! Property tests of [`ListValue`] against a `VecDeque` model, and its encoding changes.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::{entry_size, ListValue};

#[derive(Clone, Debug)]
enum Op {
    Push(bool, u16, u8),
    Pop(bool, u8),
    Set(u16, u16),
    Insert(u16, u16, u8),
    RemoveRange(u16, u16),
    Rem(u8, i8),
}

/// Elements of varied sizes (some over 127 bytes, whose lengths take two bytes).
fn item(n: u16, size: u8) -> Vec<u8> {
    let mut v = format!("e{n}:").into_bytes();
    v.resize(v.len() + size as usize * 3, b'x');
    v
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 0u16..20, any::<u8>()).prop_map(|(l, n, s)| Op::Push(l, n, s)),
        2 => (any::<bool>(), 0u8..40).prop_map(|(l, n)| Op::Pop(l, n)),
        1 => (any::<u16>(), 0u16..20).prop_map(|(a, n)| Op::Set(a, n)),
        1 => (any::<u16>(), 0u16..20, any::<u8>()).prop_map(|(a, n, s)| Op::Insert(a, n, s)),
        1 => (any::<u16>(), 0u16..30).prop_map(|(a, n)| Op::RemoveRange(a, n)),
        1 => (0u8..20, -3i8..3).prop_map(|(n, c)| Op::Rem(n, c)),
    ]
}

fn check(list: &ListValue, model: &VecDeque<Vec<u8>>) {
    assert_eq!(list.len(), model.len());
    let got: Vec<&[u8]> = list.iter().collect();
    let want: Vec<&[u8]> = model.iter().map(|v| &v[..]).collect();
    assert_eq!(got, want);
    let back: Vec<&[u8]> = list.iter().rev().collect();
    assert_eq!(back, want.iter().rev().copied().collect::<Vec<_>>());
    for (i, w) in want.iter().enumerate().step_by(7) {
        assert_eq!(list.get(i), Some(*w));
        let tail: Vec<&[u8]> = list.iter_from(i, 5).collect();
        assert_eq!(tail, want[i..(i + 5).min(want.len())]);
    }
    assert_eq!(list.get(want.len()), None);
    let bytes: usize = want.iter().map(|w| super::entry_size(w.len())).sum();
    if bytes + 7 > 8192 {
        assert_eq!(list.encoding(), "quicklist");
    }
}

proptest! {
    #[test]
    fn matches_a_deque(ops in proptest::collection::vec(op(), 1..300)) {
        let mut list = ListValue::default();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(left, n, s) => {
                    let it = item(n, s);
                    list.push(&it, left);
                    if left { model.push_front(it) } else { model.push_back(it) }
                }
                Op::Pop(left, n) => {
                    let got = list.pop(left, n as usize);
                    let want: Vec<Vec<u8>> = (0..n).map_while(|_| {
                        if left { model.pop_front() } else { model.pop_back() }
                    }).collect();
                    prop_assert_eq!(got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), want);
                }
                Op::Set(at, n) if !model.is_empty() => {
                    let at = at as usize % model.len();
                    list.set(at, &item(n, 1));
                    model[at] = item(n, 1);
                }
                Op::Insert(at, n, s) => {
                    let at = at as usize % (model.len() + 1);
                    list.insert(at, &item(n, s));
                    model.insert(at, item(n, s));
                }
                Op::RemoveRange(at, n) if !model.is_empty() => {
                    let from = at as usize % model.len();
                    let to = (from + n as usize).min(model.len());
                    list.remove_range(from, to);
                    model.drain(from..to);
                }
                Op::Rem(n, count) => {
                    let target = item(n as u16, 0);
                    let gone = list.remove_matching(&target, count as i64);
                    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                    let mut idx: Vec<usize> = model.iter().enumerate()
                        .filter(|(_, x)| **x == target).map(|(i, _)| i).collect();
                    if count < 0 { idx.reverse(); }
                    idx.truncate(limit);
                    idx.sort_unstable();
                    for i in idx.iter().rev() { model.remove(*i); }
                    prop_assert_eq!(gone, idx.len());
                }
                _ => {}
            }
            check(&list, &model);
        }
    }
}

#[test]
fn converts_both_ways_as_redis_7_2() {
    let mut list = ListValue::default();
    for i in 0..100 {
        list.push(format!("item:{i:04}"), false);
    }
    assert_eq!(list.encoding(), "listpack");
    for i in 100..1000 {
        list.push(format!("item:{i:04}"), false);
    }
    assert_eq!(list.encoding(), "quicklist");
    // Still over half the limit in one node: stays a quicklist.
    list.trim(0, 499);
    assert_eq!(list.encoding(), "quicklist");
    list.trim(0, 99);
    assert_eq!(list.encoding(), "listpack");
    assert_eq!(list.get(99), Some(&b"item:0099"[..]));
    // One big element makes a quicklist at once.
    list.push(vec![b'x'; 9000], true);
    assert_eq!(list.encoding(), "quicklist");
    assert_eq!(list.pop(true, 1)[0].len(), 9000);
    assert_eq!(list.encoding(), "listpack");
}

#[test]
fn chunks_take_their_size_class_not_a_doubling() {
    // 1,000 elements of 6-8 bytes pack into 9,890 bytes: Redis's quicklist holds them in an
    // 8 KB listpack (class 8,192) and one of about 1.7 KB (class 1,792).
    let mut list = ListValue::default();
    for i in 0..1000 {
        list.push(format!("item:{i}"), false);
    }
    assert_eq!(list.encoding(), "quicklist");
    let packed: usize = list.iter().map(|item| entry_size(item.len())).sum();
    assert_eq!(packed, 9890);
    // Two chunk classes and the deque of chunks (2 slots of 32 bytes).
    assert!(list.heap_bytes() <= 8192 + 1792 + 64, "{}", list.heap_bytes());
    // Pushing at the head does the same, except that the conversion to a quicklist left the
    // elements past its first 8 KB in a small chunk of their own at the tail (class 16), and
    // the third chunk grew the deque to 4 slots.
    let mut left = ListValue::default();
    for i in 0..1000 {
        left.push(format!("item:{i}"), true);
    }
    assert!(left.heap_bytes() <= 8192 + 1792 + 16 + 128, "{}", left.heap_bytes());
}
