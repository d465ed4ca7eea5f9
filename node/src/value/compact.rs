//! `CompactBytes`: an immutable byte string in 24 bytes that keeps short strings inline.
//!
//! Most keys and many string values are a few bytes long (`user:1000`, `42`). A `Bytes` costs
//! 32 bytes plus a heap allocation of its own; a `CompactBytes` holds up to
//! `INLINE_MAX` (22) bytes in place (a length byte and the data, no allocation) and
//! longer strings in an exact-size heap buffer (`Box<[u8]>`, no spare capacity). It hashes,
//! compares and orders exactly as the `[u8]` it holds, so maps keyed by it are searched with a
//! plain `&[u8]` (`Borrow<[u8]>`).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Longest string kept inline: 24 bytes less the variant tag and the length byte.
const INLINE_MAX: usize = 22;

/// An immutable byte string: inline up to 22 bytes, else an exact-size heap buffer. 24 bytes,
/// with spare values in its first byte, so an enum wrapping it can keep its tag there.
#[derive(Clone)]
pub(crate) struct CompactBytes(Repr);

#[derive(Clone)]
enum Repr {
    /// `data[..len]` is the string.
    Inline { len: u8, data: [u8; INLINE_MAX] },
    /// Longer than `INLINE_MAX` bytes.
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<CompactBytes>() == 24);
const _: () = assert!(std::mem::size_of::<Option<CompactBytes>>() == 24);

impl CompactBytes {
    /// The empty string.
    pub(crate) const fn new() -> CompactBytes {
        CompactBytes(Repr::Inline {
            len: 0,
            data: [0; INLINE_MAX],
        })
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// True when the bytes live on the heap (longer than `INLINE_MAX` (22)).
    pub(crate) fn is_heap(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }

    /// A shared copy of the bytes (one allocation and copy).
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_slice())
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        CompactBytes::new()
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_MAX {
            let mut data = [0; INLINE_MAX];
            data[..bytes.len()].copy_from_slice(bytes);
            CompactBytes(Repr::Inline {
                len: bytes.len() as u8,
                data,
            })
        } else {
            CompactBytes(Repr::Heap(bytes.into()))
        }
    }
}

impl From<Bytes> for CompactBytes {
    fn from(bytes: Bytes) -> Self {
        CompactBytes::from(&bytes[..])
    }
}

impl From<&Bytes> for CompactBytes {
    fn from(bytes: &Bytes) -> Self {
        CompactBytes::from(&bytes[..])
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE_MAX {
            CompactBytes::from(&bytes[..])
        } else {
            // `into_boxed_slice` gives the spare capacity back.
            CompactBytes(Repr::Heap(bytes.into_boxed_slice()))
        }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Exactly as `[u8]` hashes, which `Borrow<[u8]>` lookups require.
        self.as_slice().hash(state);
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl PartialEq<[u8]> for CompactBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CompactBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `Bytes` prints: a byte string literal.
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn short_strings_stay_inline_and_long_ones_go_to_the_heap() {
        for len in [0, 1, 21, 22, 23, 100, 10_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let compact = CompactBytes::from(&data[..]);
            assert_eq!(&compact[..], &data[..], "len {len}");
            assert_eq!(compact.len(), len);
            assert_eq!(compact.is_heap(), len > INLINE_MAX, "len {len}");
            assert_eq!(compact.to_bytes(), Bytes::from(data.clone()));
            assert_eq!(CompactBytes::from(data.clone()), compact);
            assert_eq!(CompactBytes::from(Bytes::from(data.clone())), compact);
            assert_eq!(compact.clone(), compact);
        }
    }

    #[test]
    fn hashes_and_compares_as_the_slice() {
        for text in [&b""[..], b"k", b"key:12345", &[b'x'; 40][..]] {
            let compact = CompactBytes::from(text);
            assert_eq!(hash_of(&compact), hash_of(text));
            assert_eq!(&*compact, text);
        }
        let mut sorted: Vec<CompactBytes> = [&b"b"[..], b"a", &[b'a'; 30][..], b"", b"ab"]
            .into_iter()
            .map(CompactBytes::from)
            .collect();
        sorted.sort();
        let as_slices: Vec<&[u8]> = sorted.iter().map(|c| &c[..]).collect();
        assert_eq!(as_slices, [&b""[..], b"a", &[b'a'; 30][..], b"ab", b"b"]);
    }

    #[test]
    fn maps_are_searched_by_slice() {
        let mut map = indexmap::IndexMap::<CompactBytes, u32>::new();
        map.insert(CompactBytes::from(&b"short"[..]), 1);
        map.insert(CompactBytes::from(&[b'l'; 50][..]), 2);
        assert_eq!(map.get(&b"short"[..]), Some(&1));
        assert_eq!(map.get(&[b'l'; 50][..]), Some(&2));
        assert_eq!(map.get(&b"other"[..]), None);
    }

    #[test]
    fn debug_prints_a_byte_string() {
        assert_eq!(
            format!("{:?}", CompactBytes::from(&b"a\"\n"[..])),
            "b\"a\\\"\\n\""
        );
    }
}
