//! The replication backlog: a ring buffer holding the latest bytes of the replication stream,
//! so a standby that reconnects can continue from its offset (partial resync) instead of
//! copying the whole dataset again.
//!
//! Offsets follow Redis: the stream's bytes are numbered from 1; `end_offset()` is the number
//! of bytes ever appended (INFO `master_repl_offset`), and the backlog holds the bytes numbered
//! `first_offset()..=end_offset()` (INFO `repl_backlog_first_byte_offset`, `_histlen`).

/// A fixed-capacity ring of the latest stream bytes.
#[derive(Debug)]
pub(crate) struct Backlog {
    ring: Vec<u8>,
    capacity: usize,
    /// Position in `ring` where the next byte goes.
    head: usize,
    /// Bytes held (at most `capacity`).
    len: usize,
    /// Offset of the last byte appended (0 before any).
    end: u64,
}

impl Backlog {
    /// An empty backlog of `capacity` bytes whose stream so far ends at `end_offset`.
    pub(crate) fn new(capacity: usize, end_offset: u64) -> Backlog {
        Backlog {
            ring: Vec::new(),
            capacity: capacity.max(1),
            head: 0,
            len: 0,
            end: end_offset,
        }
    }

    /// Capacity in bytes (`repl-backlog-size`).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Offset of the last byte of the stream.
    #[cfg(test)]
    pub(crate) fn end_offset(&self) -> u64 {
        self.end
    }

    /// Offset of the first byte held (`end_offset() + 1` when empty).
    pub(crate) fn first_offset(&self) -> u64 {
        self.end + 1 - self.len as u64
    }

    /// Bytes held (`repl_backlog_histlen`).
    pub(crate) fn histlen(&self) -> usize {
        self.len
    }

    /// Bytes the ring has allocated: it grows with the stream, by doubling, up to about
    /// `repl-backlog-size` (INFO `mem_replication_backlog`).
    pub(crate) fn allocated(&self) -> usize {
        self.ring.capacity()
    }

    /// Appends stream bytes, dropping the oldest beyond capacity.
    pub(crate) fn append(&mut self, mut data: &[u8]) {
        self.end += data.len() as u64;
        if data.len() >= self.capacity {
            data = &data[data.len() - self.capacity..];
            self.ring.clear();
            self.ring.extend_from_slice(data);
            self.head = 0;
            self.len = self.capacity;
            return;
        }
        // Grow lazily up to capacity, so an idle node does not hold 64 MB.
        if self.ring.len() < self.capacity && self.head == self.ring.len() {
            let room = self.capacity - self.ring.len();
            let direct = data.len().min(room);
            self.ring.extend_from_slice(&data[..direct]);
            self.head = self.ring.len() % self.capacity;
            self.len = (self.len + direct).min(self.capacity);
            data = &data[direct..];
        }
        while !data.is_empty() {
            let chunk = data.len().min(self.capacity - self.head);
            self.ring[self.head..self.head + chunk].copy_from_slice(&data[..chunk]);
            self.head = (self.head + chunk) % self.capacity;
            self.len = (self.len + chunk).min(self.capacity);
            data = &data[chunk..];
        }
    }

    /// Changes the capacity to `capacity` bytes (`CONFIG SET repl-backlog-size`), keeping the
    /// newest bytes held that fit; the offsets stay as they were.
    pub(crate) fn resize(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        if capacity == self.capacity {
            return;
        }
        let keep = self.len.min(capacity);
        let held = self
            .read_from(self.end + 1 - keep as u64, keep)
            .expect("the newest bytes are held");
        // Laid out from the start of the ring, as while it grows lazily.
        self.ring = held;
        self.capacity = capacity;
        self.len = keep;
        self.head = keep % capacity;
    }

    /// True when the bytes from `offset` (the first byte a standby needs) to the end are held.
    pub(crate) fn covers(&self, offset: u64) -> bool {
        offset >= self.first_offset() && offset <= self.end + 1
    }

    /// The bytes from `offset` to the end, at most `max` of them; `None` if no longer held.
    pub(crate) fn read_from(&self, offset: u64, max: usize) -> Option<Vec<u8>> {
        if !self.covers(offset) {
            return None;
        }
        let available = (self.end + 1 - offset) as usize;
        let want = available.min(max);
        let n = self.ring.len();
        if want == 0 {
            return Some(Vec::new());
        }
        // The held bytes end just before `head`; `offset` is `available` bytes back from it.
        let start = (self.head + n - available) % n;
        let mut out = Vec::with_capacity(want);
        let first = want.min(n - start);
        out.extend_from_slice(&self.ring[start..start + first]);
        out.extend_from_slice(&self.ring[..want - first]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn offsets_follow_redis() {
        let mut backlog = Backlog::new(8, 0);
        assert_eq!((backlog.first_offset(), backlog.end_offset()), (1, 0));
        backlog.append(b"abc");
        assert_eq!(
            (
                backlog.first_offset(),
                backlog.end_offset(),
                backlog.histlen()
            ),
            (1, 3, 3)
        );
        assert_eq!(backlog.read_from(2, 100).unwrap(), b"bc");
        assert_eq!(backlog.read_from(4, 100).unwrap(), b"");
        backlog.append(b"defghij");
        assert_eq!((backlog.first_offset(), backlog.end_offset()), (3, 10));
        assert_eq!(backlog.read_from(3, 100).unwrap(), b"cdefghij");
        assert!(backlog.read_from(2, 100).is_none());
        assert!(!backlog.covers(12));
    }

    #[test]
    fn resizing_keeps_the_newest_bytes() {
        let mut backlog = Backlog::new(8, 0);
        backlog.append(b"abcdefghij");
        backlog.resize(4);
        assert_eq!((backlog.first_offset(), backlog.end_offset()), (7, 10));
        assert_eq!(backlog.read_from(7, 100).unwrap(), b"ghij");
        backlog.resize(16);
        assert_eq!(backlog.capacity(), 16);
        backlog.append(b"klm");
        assert_eq!(backlog.read_from(7, 100).unwrap(), b"ghijklm");
    }

    proptest! {
        #[test]
        fn resizing_behaves_like_the_tail_of_the_stream(
            sizes in prop::collection::vec(1usize..64, 1..6),
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..30),
        ) {
            let mut backlog = Backlog::new(sizes[0], 0);
            let mut stream = Vec::new();
            let mut held = 0usize;
            for (i, chunk) in chunks.iter().enumerate() {
                if i % 5 == 4 {
                    let capacity = sizes[i / 5 % sizes.len()];
                    backlog.resize(capacity);
                    held = held.min(capacity);
                }
                backlog.append(chunk);
                stream.extend_from_slice(chunk);
                held = (held + chunk.len()).min(backlog.capacity());
                prop_assert_eq!(backlog.histlen(), held);
                let end = stream.len() as u64;
                for from in backlog.first_offset()..=end + 1 {
                    let got = backlog.read_from(from, usize::MAX).unwrap();
                    prop_assert_eq!(&got[..], &stream[(from - 1) as usize..]);
                }
            }
        }

        #[test]
        fn behaves_like_the_tail_of_the_stream(
            capacity in 1usize..64,
            start in 0u64..1000,
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..30),
        ) {
            let mut backlog = Backlog::new(capacity, start);
            let mut stream = Vec::new();
            for chunk in &chunks {
                backlog.append(chunk);
                stream.extend_from_slice(chunk);
                let end = start + stream.len() as u64;
                prop_assert_eq!(backlog.end_offset(), end);
                let held = stream.len().min(capacity);
                prop_assert_eq!(backlog.histlen(), held);
                for from in backlog.first_offset()..=end + 1 {
                    let skip = (from - start - 1) as usize;
                    let got = backlog.read_from(from, usize::MAX).unwrap();
                    prop_assert_eq!(&got[..], &stream[skip..]);
                }
            }
        }
    }
}
