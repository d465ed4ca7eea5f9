//! Set values, in the three encodings Redis 7.2 gives a set (`t_set.c`), visible through
//! `OBJECT ENCODING` and in reply order:
//! - `intset` ([`IntSet`]): while every member is a canonical integer and there are at most
//!   `set-max-intset-entries`; sorted.
//! - `listpack` ([`Pack`]): small sets (`set-max-listpack-entries`, members up to
//!   `set-max-listpack-value` bytes) in insertion order; deleting shifts the rest.
//! - `hashtable` ([`Table`]): an insertion-ordered hash set, so a random member is an O(1)
//!   index (`SPOP`, `SRANDMEMBER`) and `SSCAN` can walk it by index. Each member is a
//!   [`CompactBytes`] in a 24-byte slot: up to 22 bytes inline, no allocation of its own.
//!
//! Encodings only grow, as in Redis. A large set is scanned as [`crate::keyspace::db::Db::scan`]
//! scans keys: indexes walk down from the end and removal swaps the last member into the hole,
//! so a member present for the whole scan is returned at least once.

mod intset;

use bytes::Bytes;
use rand::seq::index;
use rand::Rng;

use self::intset::IntSet;
use super::pack::Pack;
use super::parse_canonical_i64;
use super::table::{self, Table};
use super::CompactBytes;

/// When a set leaves its compact encodings (Redis's `set-max-*` parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SetLimits {
    /// Most members an `intset` holds (`set-max-intset-entries`, default 512; at most 2^30).
    pub(crate) intset_entries: usize,
    /// Most members a `listpack` holds (`set-max-listpack-entries`, default 128).
    pub(crate) listpack_entries: usize,
    /// Longest member a `listpack` holds, in bytes (`set-max-listpack-value`, default 64).
    pub(crate) listpack_value: usize,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            intset_entries: 512,
            listpack_entries: 128,
            listpack_value: 64,
        }
    }
}

impl SetLimits {
    fn intset_max(&self) -> usize {
        self.intset_entries.min(1 << 30)
    }
}

/// A set.
#[derive(Clone, Debug)]
pub(crate) struct SetValue {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    IntSet(IntSet),
    /// Members in insertion order; `len` counts them.
    Listpack {
        pack: Pack,
        len: u32,
    },
    /// Each member a key mapped to nothing; inline when it has at most 22 bytes.
    Table(Box<Table<()>>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            repr: Repr::IntSet(IntSet::default()),
        }
    }
}

impl PartialEq for SetValue {
    /// Same members, whatever the encodings.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

/// A member as iteration yields it: borrowed text, or an `intset` integer printed on the
/// stack. Dereferences to the member's bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Member<'a> {
    /// A `listpack` or `hashtable` member.
    Text(&'a [u8]),
    /// An `intset` member: its decimal text in `buf[..len]`.
    Int { buf: [u8; 20], len: u8 },
}

impl<'a> Member<'a> {
    fn int(n: i64) -> Member<'a> {
        let mut itoa = itoa::Buffer::new();
        let text = itoa.format(n).as_bytes();
        let mut buf = [0; 20];
        buf[..text.len()].copy_from_slice(text);
        Member::Int {
            buf,
            len: text.len() as u8,
        }
    }

    /// The member as an owned [`Bytes`] (copied).
    pub(crate) fn to_bytes(self) -> Bytes {
        Bytes::copy_from_slice(&self)
    }
}

impl std::ops::Deref for Member<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Member::Text(text) => text,
            Member::Int { buf, len } => &buf[..usize::from(*len)],
        }
    }
}

fn find_in(pack: &Pack, member: &[u8]) -> Option<std::ops::Range<usize>> {
    pack.spans()
        .find(|(_, m)| *m == member)
        .map(|(span, _)| span)
}

impl SetValue {
    /// An empty set about to receive `size_hint` members, the first being `first`: it starts
    /// with the encoding Redis's `setTypeCreate` would pick.
    pub(crate) fn with_hint(first: &[u8], size_hint: usize, limits: &SetLimits) -> SetValue {
        let repr = if parse_canonical_i64(first).is_some() && size_hint <= limits.intset_entries {
            Repr::IntSet(IntSet::default())
        } else if size_hint <= limits.listpack_entries {
            Repr::Listpack {
                pack: Pack::default(),
                len: 0,
            }
        } else {
            Repr::Table(Box::new(Table::with_capacity(size_hint)))
        };
        SetValue { repr }
    }

    /// A set of `members` (duplicates collapse), encoded as Redis encodes a computed set: an
    /// `intset` to begin with, converted as members arrive.
    pub(crate) fn from_members<M: AsRef<[u8]>>(
        members: impl IntoIterator<Item = M>,
        limits: &SetLimits,
    ) -> SetValue {
        let mut set = SetValue::default();
        for member in members {
            set.insert(member.as_ref(), limits);
        }
        set
    }

    /// Prepares for `size_hint` more members: a compact set that could not hold that many
    /// becomes a hash table at once (Redis's `setTypeMaybeConvert`).
    pub(crate) fn reserve_hint(&mut self, size_hint: usize, limits: &SetLimits) {
        let limit = match self.repr {
            Repr::IntSet(_) => limits.intset_entries,
            Repr::Listpack { .. } => limits.listpack_entries,
            Repr::Table(_) => return,
        };
        if size_hint > limit {
            self.convert_to_table(size_hint.max(self.len()));
        }
    }

    fn convert_to_table(&mut self, capacity: usize) {
        let mut table = Table::with_capacity(capacity);
        for member in self.iter() {
            table.insert(&*member, ());
        }
        self.repr = Repr::Table(Box::new(table));
    }

    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::IntSet(ints) => ints.len(),
            Repr::Listpack { len, .. } => *len as usize,
            Repr::Table(table) => table.len(),
        }
    }

    /// True when the set is empty (the key must then be removed).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `member` is in the set.
    pub(crate) fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::IntSet(ints) => parse_canonical_i64(member).is_some_and(|n| ints.contains(n)),
            Repr::Listpack { pack, .. } => pack.iter().any(|m| m == member),
            Repr::Table(table) => table.contains_key(member),
        }
    }

    /// The members, in the order Redis's encoding would list them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Member<'_>> {
        let (ints, pack, table) = match &self.repr {
            Repr::IntSet(ints) => (Some(ints.iter()), None, None),
            Repr::Listpack { pack, .. } => (None, Some(pack.iter()), None),
            Repr::Table(table) => (None, None, Some(table.iter())),
        };
        let ints = ints.into_iter().flatten().map(Member::int);
        let pack = pack.into_iter().flatten().map(Member::Text);
        let table = table.into_iter().flatten().map(|(m, ())| Member::Text(m));
        ints.chain(pack).chain(table)
    }

    /// Adds `member`; true when it was not there yet. A compact set that would break
    /// `limits` converts first, as Redis's `setTypeAddAux` does.
    pub(crate) fn insert(&mut self, member: &[u8], limits: &SetLimits) -> bool {
        match &mut self.repr {
            Repr::IntSet(ints) => match parse_canonical_i64(member) {
                Some(n) => {
                    if !ints.insert(n) {
                        return false;
                    }
                    let len = ints.len();
                    if len > limits.intset_max() {
                        self.convert_to_table(len);
                    }
                    return true;
                }
                None => {
                    // The longest text among the integers is that of the smallest or largest.
                    let text_len = |i: usize| Member::int(ints.get(i)).len();
                    let longest = match ints.len() {
                        0 => 0,
                        n => text_len(0).max(text_len(n - 1)),
                    };
                    if ints.len() < limits.listpack_entries
                        && member.len() <= limits.listpack_value
                        && longest <= limits.listpack_value
                    {
                        let mut pack = Pack::default();
                        let texts: Vec<Member> = self.iter().collect();
                        let mut items: Vec<&[u8]> = texts.iter().map(|m| &m[..]).collect();
                        items.push(member);
                        pack.push(&items);
                        let len = items.len() as u32;
                        self.repr = Repr::Listpack { pack, len };
                        return true;
                    }
                    self.convert_to_table(self.len() + 1);
                }
            },
            Repr::Listpack { pack, len } => {
                if find_in(pack, member).is_some() {
                    return false;
                }
                if (*len as usize) < limits.listpack_entries
                    && member.len() <= limits.listpack_value
                {
                    pack.push(&[member]);
                    *len += 1;
                    return true;
                }
                self.convert_to_table(self.len() + 1);
            }
            Repr::Table(_) => {}
        }
        let Repr::Table(table) = &mut self.repr else {
            unreachable!("converted above");
        };
        table.insert(member, ()).is_none()
    }

    /// Removes `member`; true when it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            // Compact encodings keep their order, as deleting from an intset or listpack does.
            Repr::IntSet(ints) => parse_canonical_i64(member).is_some_and(|n| ints.remove(n)),
            Repr::Listpack { pack, len } => match find_in(pack, member) {
                Some(span) => {
                    pack.splice(span, &[]);
                    *len -= 1;
                    true
                }
                None => false,
            },
            // Swapping keeps `scan`'s guarantee (see the module comment).
            Repr::Table(table) => table.swap_remove(member).is_some(),
        }
    }

    /// The member at `index` in iteration order, copied.
    fn member_at(&self, index: usize) -> Bytes {
        match &self.repr {
            Repr::Table(table) => table
                .get_index(index)
                .expect("index below len")
                .0
                .to_bytes(),
            _ => self.iter().nth(index).expect("index below len").to_bytes(),
        }
    }

    /// The members at `indexes`, copied (a compact set is walked once).
    fn members_at(&self, indexes: Vec<usize>) -> Vec<Bytes> {
        match &self.repr {
            Repr::Table(_) => indexes.into_iter().map(|i| self.member_at(i)).collect(),
            _ => {
                let all: Vec<Bytes> = self.iter().map(|m| m.to_bytes()).collect();
                indexes.into_iter().map(|i| all[i].clone()).collect()
            }
        }
    }

    /// Removes and returns `count` distinct random members (all of them when `count` reaches
    /// the size): `SPOP`'s choice, returned so it can be replicated as its effect.
    pub(crate) fn pop_random(&mut self, count: usize) -> Vec<Bytes> {
        if count >= self.len() {
            let all = self.iter().map(|m| m.to_bytes()).collect();
            *self = SetValue::default();
            return all;
        }
        if let (1, Repr::Table(table)) = (count, &mut self.repr) {
            // One member of a table (plain `SPOP key`): taken out by position, no second lookup.
            let at = rand::thread_rng().gen_range(0..table.len());
            let (member, ()) = table.swap_remove_index(at).expect("index below len");
            return vec![member.to_bytes()];
        }
        let indexes = index::sample(&mut rand::thread_rng(), self.len(), count).into_vec();
        let picked = self.members_at(indexes);
        for member in &picked {
            self.remove(member);
        }
        picked
    }

    /// `SRANDMEMBER`'s choice: for `count >= 0`, up to `count` distinct members (the whole set
    /// when `count` reaches its size); for `count < 0`, `-count` members that may repeat.
    pub(crate) fn random_members(&self, count: i64) -> Vec<Bytes> {
        let mut rng = rand::thread_rng();
        self.members_at(random_indexes(&mut rng, self.len(), count))
    }

    /// One `SSCAN` step from `cursor`, visiting about `count` members. A compact set is
    /// returned whole with cursor 0, as Redis does.
    pub(crate) fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        let Repr::Table(_) = &self.repr else {
            return (0, self.iter().map(|m| m.to_bytes()).collect());
        };
        let (next, range) = scan_window(self.len(), cursor, count);
        (next, range.rev().map(|i| self.member_at(i)).collect())
    }

    /// Estimated bytes the contents take beyond the [`SetValue`] itself: exact for the compact
    /// encodings; for a table, its slots and buckets plus the heap buffers of members over 22
    /// bytes, averaged over the first few members. O(1).
    pub(crate) fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::IntSet(ints) => ints.heap_bytes(),
            Repr::Listpack { pack, .. } => pack.bytes(),
            Repr::Table(table) => {
                let outside = |m: &CompactBytes| if m.is_heap() { m.len() } else { 0 };
                let sampled = table.iter().take(5).map(|(m, ())| outside(m));
                std::mem::size_of::<Table<()>>()
                    + table.allocation_size()
                    + table::sampled_total(table.len(), sampled)
            }
        }
    }

    /// `intset`, `listpack` or `hashtable`, as `OBJECT ENCODING` prints it (Redis 7.2).
    pub(crate) fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::IntSet(_) => "intset",
            Repr::Listpack { .. } => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }
}

/// Indexes for a random pick from a collection of `len` elements: distinct ones (all of them,
/// in order, when `count >= len`) for `count >= 0`, `-count` independent ones for `count < 0`.
/// Shared by `SRANDMEMBER` and `HRANDFIELD`.
pub(crate) fn random_indexes(rng: &mut impl Rng, len: usize, count: i64) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    if count < 0 {
        return (0..count.unsigned_abs())
            .map(|_| rng.gen_range(0..len))
            .collect();
    }
    let count = count as u64;
    if count >= len as u64 {
        return (0..len).collect();
    }
    index::sample(rng, len, count as usize).into_vec()
}

/// The indexes one scan step visits in a collection of `len` elements: walking down from the
/// end, `cursor` is one past the next index to visit (0 starts a scan). Returns the next cursor
/// (0 when done) and the visited range.
pub(crate) fn scan_window(len: usize, cursor: u64, count: usize) -> (u64, std::ops::Range<usize>) {
    let top = if cursor == 0 {
        len
    } else {
        cursor.min(len as u64) as usize
    };
    let bottom = top.saturating_sub(count.max(1));
    (bottom as u64, bottom..top)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits {
        intset_entries: 512,
        listpack_entries: 128,
        listpack_value: 64,
    };

    fn members(set: &SetValue) -> Vec<String> {
        set.iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .collect()
    }

    #[test]
    fn encodings_grow_and_intsets_stay_sorted() {
        // A small intset lives inside the boxed value: one 48-byte allocation.
        assert_eq!(std::mem::size_of::<SetValue>(), 48);
        let mut set = SetValue::with_hint(b"3", 3, &LIMITS);
        for m in ["3", "-1", "10", "3", "70000"] {
            set.insert(m.as_bytes(), &LIMITS);
        }
        assert_eq!(set.encoding(), "intset");
        assert_eq!(members(&set), ["-1", "3", "10", "70000"]);
        assert!(set.contains(b"70000") && !set.contains(b"070000") && !set.contains(b"x"));
        assert!(set.insert(b"x", &LIMITS));
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(members(&set), ["-1", "3", "10", "70000", "x"]);
        assert!(!set.insert(b"10", &LIMITS));
        assert!(set.remove(b"x"));
        assert!(set.remove(b"3"));
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(members(&set), ["-1", "10", "70000"]);
        set.insert("y".repeat(65).as_bytes(), &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), 4);
        assert!(set.contains(b"70000"));

        let mut big = SetValue::with_hint(b"0", 1, &LIMITS);
        for i in 0..512 {
            big.insert(i.to_string().as_bytes(), &LIMITS);
        }
        assert_eq!(big.encoding(), "intset");
        big.insert(b"512", &LIMITS);
        assert_eq!(big.encoding(), "hashtable");
        assert_eq!(big.len(), 513);
    }

    #[test]
    fn conversions_follow_redis_rules() {
        // An intset of 128 integers has no room left as a listpack: a string makes it a table.
        let mut full = SetValue::from_members((0..128).map(|i| i.to_string()), &LIMITS);
        assert_eq!(full.encoding(), "intset");
        full.insert(b"a", &LIMITS);
        assert_eq!(full.encoding(), "hashtable");
        let mut roomy = SetValue::from_members((0..127).map(|i| i.to_string()), &LIMITS);
        roomy.insert(b"a", &LIMITS);
        assert_eq!(roomy.encoding(), "listpack");
        // A listpack of 128 members takes no 129th.
        let mut pack = SetValue::from_members((0..128).map(|i| format!("m{i}")), &LIMITS);
        assert_eq!(pack.encoding(), "listpack");
        pack.insert(b"m128", &LIMITS);
        assert_eq!(pack.encoding(), "hashtable");
        assert_eq!(members(&pack)[..3], ["m0", "m1", "m2"]);
        // setTypeCreate and setTypeMaybeConvert look at the size hint.
        assert_eq!(
            SetValue::with_hint(b"1", 513, &LIMITS).encoding(),
            "hashtable"
        );
        assert_eq!(
            SetValue::with_hint(b"a", 128, &LIMITS).encoding(),
            "listpack"
        );
        assert_eq!(
            SetValue::with_hint(b"a", 129, &LIMITS).encoding(),
            "hashtable"
        );
        let mut hinted = SetValue::from_members(["1", "2"], &LIMITS);
        hinted.reserve_hint(512, &LIMITS);
        assert_eq!(hinted.encoding(), "intset");
        hinted.reserve_hint(513, &LIMITS);
        assert_eq!(hinted.encoding(), "hashtable");
        assert_eq!(members(&hinted), ["1", "2"]);
        // Tight limits, as CONFIG SET would give.
        let tight = SetLimits {
            intset_entries: 2,
            listpack_entries: 2,
            listpack_value: 3,
        };
        let mut ints = SetValue::from_members(["1", "2"], &tight);
        assert_eq!(ints.encoding(), "intset");
        ints.insert(b"3", &tight);
        assert_eq!(ints.encoding(), "hashtable");
        let long_ints = SetValue::from_members(["10000", "x"], &tight);
        assert_eq!(long_ints.encoding(), "hashtable");
        assert_eq!(
            SetValue::from_members(["abcd"], &tight).encoding(),
            "hashtable"
        );
        assert_eq!(
            SetValue::from_members(["abc"], &tight).encoding(),
            "listpack"
        );
    }

    #[test]
    fn random_picks() {
        for set in [
            SetValue::from_members((0..10).map(|i| format!("m{i}")), &LIMITS),
            SetValue::from_members((0..10).map(|i| i.to_string()), &LIMITS),
            SetValue::from_members((0..1000).map(|i| format!("m{i}")), &LIMITS),
        ] {
            let distinct = set.random_members(5);
            assert_eq!(distinct.len(), 5);
            assert!(distinct.iter().all(|m| set.contains(m)));
            assert_eq!(
                distinct
                    .iter()
                    .collect::<std::collections::HashSet<_>>()
                    .len(),
                5
            );
            assert_eq!(set.random_members(5000).len(), set.len());
            assert_eq!(set.random_members(-50).len(), 50);
            assert!(set.random_members(0).is_empty());

            let mut popped = set.clone();
            let taken = popped.pop_random(3);
            assert_eq!(popped.len(), set.len() - 3);
            assert!(taken.iter().all(|m| !popped.contains(m) && set.contains(m)));
            let rest = popped.pop_random(usize::MAX);
            assert_eq!(rest.len(), set.len() - 3);
            assert!(popped.is_empty());
        }
    }

    #[test]
    fn scan_returns_every_member_present_throughout_despite_deletions() {
        let mut set = SetValue::from_members((0..1000).map(|i| format!("m{i}")), &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut round) = (0, 0);
        loop {
            let (next, members) = set.scan(cursor, 10);
            seen.extend(members);
            for i in (round * 20..round * 20 + 20).filter(|i| i % 2 == 1) {
                set.remove(format!("m{i}").as_bytes());
            }
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }
}
