//! List values.

use std::collections::VecDeque;

use bytes::Bytes;

/// A list: O(1) push and pop at both ends, O(1) index.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ListValue {
    /// The elements, head first.
    pub(crate) items: VecDeque<Bytes>,
}

impl ListValue {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the list is empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `listpack` while small (Redis 7.2's default `list-max-listpack-size -2`, about 8 KB),
    /// else `quicklist`.
    pub(crate) fn encoding(&self) -> &'static str {
        let bytes: usize = self.items.iter().map(|i| i.len() + 2).sum();
        if bytes <= 8 * 1024 && self.items.len() <= 128 {
            "listpack"
        } else {
            "quicklist"
        }
    }

    /// Adds `item` at the head (`left`) or the tail.
    pub(crate) fn push(&mut self, item: Bytes, left: bool) {
        if left {
            self.items.push_front(item);
        } else {
            self.items.push_back(item);
        }
    }

    /// Removes and returns up to `count` elements from the head (`left`) or the tail, in pop
    /// order.
    pub(crate) fn pop(&mut self, left: bool, count: usize) -> Vec<Bytes> {
        let count = count.min(self.items.len());
        if left {
            self.items.drain(..count).collect()
        } else {
            let from = self.items.len() - count;
            self.items.drain(from..).rev().collect()
        }
    }

    /// The position of Redis index `index` (negative counts from the tail), if in range.
    pub(crate) fn position(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let at = if index < 0 { len + index } else { index };
        (0..len).contains(&at).then_some(at as usize)
    }

    /// The inclusive positions a Redis `start..=stop` range (negative indexes count from the
    /// tail) covers, clamped to the list; `None` when the range is empty.
    pub(crate) fn range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        let len = self.items.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let stop = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        (start <= stop && start < len).then_some((start as usize, stop as usize))
    }
}
