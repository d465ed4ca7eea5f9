//! `Blocks<T>`: the dense, indexable sequence a [`super::Table`] keeps its entries in, stored in
//! blocks of a fixed number of slots (a power of two, about 3-4 KB) rather than one `Vec`.
//!
//! A single `Vec` grows by reallocating: every element is copied again at each growth (a
//! million-key table copies tens of MB inside one command), and each growth frees the old
//! buffer, which the allocator keeps as dirty pages for a while (loading a thousand
//! 1,000-field hashes left 10-20 MB of them in RSS). Here only the first block grows (one
//! allocator size class at a time, up to the block size); after that a full block stays
//! where it is and a new one is allocated, so a slot never moves on growth and at most one
//! block is partly empty. The `i`-th element is in block `i / PER_BLOCK` at `i % PER_BLOCK`
//! (a shift and a mask), one more pointer load than a `Vec`.

use std::ops::{Index, IndexMut};

use super::grown_capacity;

/// Bytes a block holds at most: a page, the largest small size class jemalloc packs in slabs.
const BLOCK_BYTES: usize = 4096;

/// Elements of type `T` in insertion order (but for `swap_remove`), in blocks: every block but
/// the last holds exactly `PER_BLOCK` elements, the last at least one (an empty first block may
/// stay, keeping its room).
#[derive(Clone, Debug)]
pub(crate) struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    /// Slots per block: the largest power of two whose slots fit in `BLOCK_BYTES` (64 slots of
    /// 48 or 56 bytes, 128 of 24), so the block is an exact jemalloc size class.
    pub(crate) const PER_BLOCK: usize = {
        let fit = BLOCK_BYTES
            / if size_of::<T>() == 0 {
                1
            } else {
                size_of::<T>()
            };
        if fit <= 1 {
            1
        } else {
            1 << (usize::BITS - 1 - fit.leading_zeros())
        }
    };

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots allocated (elements plus room).
    pub(crate) fn capacity(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum()
    }

    /// The element at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.blocks
            .get(index / Self::PER_BLOCK)?
            .get(index % Self::PER_BLOCK)
    }

    /// The element at `index`, for modification.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.blocks
            .get_mut(index / Self::PER_BLOCK)?
            .get_mut(index % Self::PER_BLOCK)
    }

    /// Makes room for `additional` more elements: in the first block while they fit in one
    /// (exactly, as a `Vec` would reserve), else in the list of blocks, whose blocks come as
    /// they fill.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if self.blocks.is_empty() && (1..=Self::PER_BLOCK).contains(&needed) {
            self.blocks.push(Vec::with_capacity(needed));
        } else {
            let blocks = needed.div_ceil(Self::PER_BLOCK);
            self.blocks
                .reserve(blocks.saturating_sub(self.blocks.len()));
        }
    }

    /// Appends `value` at index `len`.
    pub(crate) fn push(&mut self, value: T) {
        let per_block = Self::PER_BLOCK;
        let sole = self.blocks.len() == 1;
        match self.blocks.last_mut() {
            Some(last) if last.len() < per_block => {
                if last.len() == last.capacity() {
                    // Only the first block grows step by step; a later one is made whole.
                    let target = if sole {
                        grown_capacity::<T>(last.capacity()).min(per_block)
                    } else {
                        per_block
                    };
                    last.reserve_exact(target - last.len());
                }
                last.push(value);
            }
            _ => {
                let capacity = if self.blocks.is_empty() {
                    grown_capacity::<T>(0).min(per_block)
                } else {
                    per_block
                };
                let mut block = Vec::with_capacity(capacity);
                block.push(value);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    /// Removes the last element; a block it leaves empty is freed (the first one excepted).
    pub(crate) fn pop(&mut self) -> Option<T> {
        let last = self.blocks.last_mut()?;
        let value = last.pop()?;
        if last.is_empty() && self.blocks.len() > 1 {
            self.blocks.pop();
            // The list of blocks gives back room too once a table has shrunk a lot.
            if self.blocks.capacity() > 16 && self.blocks.len() * 4 < self.blocks.capacity() {
                self.blocks.shrink_to(self.blocks.len() * 2);
            }
        }
        self.len -= 1;
        Some(value)
    }

    /// Removes the element at `index`, moving the last element into its place; `None` when
    /// `index` is out of range.
    pub(crate) fn swap_remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        let last = self.pop()?;
        match self.get_mut(index) {
            Some(hole) => Some(std::mem::replace(hole, last)),
            // `index` was the last element.
            None => Some(last),
        }
    }

    /// The elements in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }

    /// The elements in index order, for modification.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.blocks.iter_mut().flatten()
    }

    /// Bytes allocated: the blocks and the list of them.
    pub(crate) fn allocation_size(&self) -> usize {
        self.capacity() * size_of::<T>() + self.blocks.capacity() * size_of::<Vec<T>>()
    }
}

impl<T> Index<usize> for Blocks<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.blocks[index / Self::PER_BLOCK][index % Self::PER_BLOCK]
    }
}

impl<T> IndexMut<usize> for Blocks<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.blocks[index / Self::PER_BLOCK][index % Self::PER_BLOCK]
    }
}

impl<T> IntoIterator for Blocks<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    /// The elements in index order.
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_fill_in_order_and_free_as_they_empty() {
        assert_eq!(Blocks::<[u8; 24]>::PER_BLOCK, 128);
        assert_eq!(Blocks::<[u8; 48]>::PER_BLOCK, 64);
        assert_eq!(Blocks::<[u8; 56]>::PER_BLOCK, 64);
        assert_eq!(Blocks::<[u8; 5000]>::PER_BLOCK, 1);
        let per = Blocks::<u64>::PER_BLOCK;
        assert_eq!(per, 512);
        let mut blocks = Blocks::default();
        for i in 0..per as u64 * 3 + 5 {
            blocks.push(i);
            // Only the last block has room.
            assert!(blocks.capacity() < blocks.len() + per, "{i}");
        }
        assert_eq!(blocks.len(), per * 3 + 5);
        assert_eq!(blocks[per + 1], per as u64 + 1);
        assert_eq!(blocks.get(per * 3 + 4), Some(&(per as u64 * 3 + 4)));
        assert_eq!(blocks.get(per * 3 + 5), None);
        assert!(blocks.iter().copied().eq(0..per as u64 * 3 + 5));
        // The last element fills the hole.
        assert_eq!(blocks.swap_remove(1), Some(1));
        assert_eq!(blocks[1], per as u64 * 3 + 4);
        assert_eq!(blocks.swap_remove(blocks.len()), None);
        let last = blocks.len() - 1;
        assert_eq!(blocks.swap_remove(last), Some(last as u64));
        while blocks.len() > 3 {
            blocks.pop();
        }
        assert_eq!(blocks.blocks.len(), 1);
        *blocks.get_mut(0).unwrap() += 10;
        blocks[2] += 1;
        assert_eq!(
            blocks.into_iter().collect::<Vec<_>>(),
            [10, per as u64 * 3 + 4, 3]
        );
    }

    #[test]
    fn reserve_sizes_a_small_first_block_exactly() {
        let mut small = Blocks::<u64>::default();
        small.reserve(10);
        assert_eq!(small.capacity(), 10);
        for i in 0..10 {
            small.push(i);
        }
        assert_eq!(small.capacity(), 10);
        small.push(10);
        assert!(small.capacity() > 11);
        let mut large = Blocks::<u64>::default();
        large.reserve(5000);
        assert_eq!(large.capacity(), 0);
        large.push(1);
        assert_eq!(large.pop(), Some(1));
        assert_eq!(large.pop(), None);
        assert_eq!(large.len(), 0);
    }
}
