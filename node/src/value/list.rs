//! List values.

use std::collections::VecDeque;

use bytes::Bytes;

/// A list: O(1) push and pop at both ends, O(1) index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: VecDeque<Bytes>,
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the list is empty (the key must then be removed).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `listpack` while small (Redis 7.2's default `list-max-listpack-size -2`, about 8 KB),
    /// else `quicklist`.
    pub fn encoding(&self) -> &'static str {
        let bytes: usize = self.items.iter().map(|i| i.len() + 2).sum();
        if bytes <= 8 * 1024 && self.items.len() <= 128 {
            "listpack"
        } else {
            "quicklist"
        }
    }
}
