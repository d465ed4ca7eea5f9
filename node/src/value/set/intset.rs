//! Sorted integers in the narrowest width that holds them all: Redis's `intset` (`intset.c`).
//! Every integer takes 2, 4 or 8 bytes (little-endian) in one exactly sized allocation; adding
//! an integer that does not fit the current width widens them all, and nothing narrows them
//! again, as in Redis. Up to [`INLINE`] bytes of integers live inside the value itself, so a
//! small intset costs no allocation of its own.

/// Bytes of integers kept inline: with the tag, width and length, an [`IntSet`] is 48 bytes.
const INLINE: usize = 45;

/// A sorted set of distinct integers; `width` is the bytes per integer: 2, 4 or 8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IntSet {
    /// The integers in `buf[..len]`.
    Inline {
        width: u8,
        len: u8,
        buf: [u8; INLINE],
    },
    /// The integers in an exactly sized allocation.
    Heap { width: u8, data: Box<[u8]> },
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::Inline {
            width: 2,
            len: 0,
            buf: [0; INLINE],
        }
    }
}

/// The narrowest width, in bytes, that holds `n`.
fn width_of(n: i64) -> u8 {
    if i64::from(n as i16) == n {
        2
    } else if i64::from(n as i32) == n {
        4
    } else {
        8
    }
}

fn put(out: &mut Vec<u8>, n: i64, width: u8) {
    out.extend_from_slice(&n.to_le_bytes()[..usize::from(width)]);
}

impl IntSet {
    /// The integers' bytes.
    fn data(&self) -> &[u8] {
        match self {
            IntSet::Inline { len, buf, .. } => &buf[..usize::from(*len)],
            IntSet::Heap { data, .. } => data,
        }
    }

    /// Replaces the integers with `bytes` of `width`-byte integers, inline when they fit.
    fn store(&mut self, width: u8, bytes: Vec<u8>) {
        *self = if bytes.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..bytes.len()].copy_from_slice(&bytes);
            IntSet::Inline {
                width,
                len: bytes.len() as u8,
                buf,
            }
        } else {
            IntSet::Heap {
                width,
                data: bytes.into_boxed_slice(),
            }
        };
    }

    /// Number of integers.
    pub(crate) fn len(&self) -> usize {
        self.data().len() / usize::from(self.width())
    }

    /// Bytes per integer (2, 4 or 8).
    pub(crate) fn width(&self) -> u8 {
        match self {
            IntSet::Inline { width, .. } | IntSet::Heap { width, .. } => *width,
        }
    }

    /// Bytes the integers take outside the value (0 while inline).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            IntSet::Inline { .. } => 0,
            IntSet::Heap { data, .. } => data.len(),
        }
    }

    /// The integer at `index` (in ascending order).
    pub(crate) fn get(&self, index: usize) -> i64 {
        let w = usize::from(self.width());
        let bytes = &self.data()[index * w..index * w + w];
        match self.width() {
            2 => i64::from(i16::from_le_bytes([bytes[0], bytes[1]])),
            4 => i64::from(i32::from_le_bytes(bytes.try_into().expect("4 bytes"))),
            _ => i64::from_le_bytes(bytes.try_into().expect("8 bytes")),
        }
    }

    /// The integers in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// `Ok(index)` of `n`, or `Err(index)` where it would go.
    fn search(&self, n: i64) -> Result<usize, usize> {
        if width_of(n) > self.width() {
            // Outside every stored value's range: below them all or above them all.
            return Err(if n < 0 { 0 } else { self.len() });
        }
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// True when `n` is in the set.
    pub(crate) fn contains(&self, n: i64) -> bool {
        self.search(n).is_ok()
    }

    /// Adds `n`; true when it was not there yet. Widens every integer when `n` needs it.
    pub(crate) fn insert(&mut self, n: i64) -> bool {
        let Err(at) = self.search(n) else {
            return false;
        };
        let width = self.width().max(width_of(n));
        let mut out = Vec::with_capacity((self.len() + 1) * usize::from(width));
        if width == self.width() {
            let split = at * usize::from(width);
            out.extend_from_slice(&self.data()[..split]);
            put(&mut out, n, width);
            out.extend_from_slice(&self.data()[split..]);
        } else {
            for value in self.iter().take(at) {
                put(&mut out, value, width);
            }
            put(&mut out, n, width);
            for value in self.iter().skip(at) {
                put(&mut out, value, width);
            }
        }
        self.store(width, out);
        true
    }

    /// Removes `n`; true when it was there.
    pub(crate) fn remove(&mut self, n: i64) -> bool {
        let Ok(at) = self.search(n) else {
            return false;
        };
        let (w, data) = (usize::from(self.width()), self.data());
        let mut out = Vec::with_capacity(data.len() - w);
        out.extend_from_slice(&data[..at * w]);
        out.extend_from_slice(&data[at * w + w..]);
        self.store(self.width(), out);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_sorted_and_widens_only_when_needed() {
        let mut set = IntSet::default();
        for n in [5, -3, 100, 5, 0] {
            set.insert(n);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), [-3, 0, 5, 100]);
        assert_eq!(set.width(), 2);
        assert!(set.insert(70_000));
        assert_eq!(set.width(), 4);
        assert!(set.insert(-40_000));
        assert!(set.insert(i64::MIN));
        assert_eq!(set.width(), 8);
        assert!(set.insert(i64::MAX));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [i64::MIN, -40_000, -3, 0, 5, 100, 70_000, i64::MAX]
        );
        assert!(set.contains(70_000) && set.contains(i64::MIN) && !set.contains(6));
        assert!(set.remove(i64::MAX) && !set.remove(i64::MAX));
        assert!(set.remove(-3));
        assert_eq!(set.width(), 8);
        assert_eq!(set.len(), 6);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [i64::MIN, -40_000, 0, 5, 100, 70_000]
        );

        assert_eq!(std::mem::size_of::<IntSet>(), 48);
        let mut many = IntSet::default();
        for n in 0..22 {
            many.insert(n);
        }
        assert_eq!(many.heap_bytes(), 0);
        many.insert(22);
        assert_eq!(many.heap_bytes(), 46);
        many.remove(0);
        assert_eq!(many.heap_bytes(), 0);
        assert_eq!(
            many.iter().collect::<Vec<_>>(),
            (1..=22).collect::<Vec<_>>()
        );

        let mut narrow = IntSet::default();
        narrow.insert(1);
        assert!(!narrow.contains(i64::from(i32::MAX)));
        assert!(!narrow.remove(1 << 40));
        assert_eq!(narrow.iter().collect::<Vec<_>>(), [1]);
    }
}
