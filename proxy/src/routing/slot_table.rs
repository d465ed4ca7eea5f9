//! Slot ownership: which group serves each of the 16384 hash slots.
//!
//! Derivation: every group id is placed on a consistent-hash ring (`hashring`) as
//! [`VIRTUAL_NODES`] virtual nodes, `(group id, 0..VIRTUAL_NODES)`. Slot `s` belongs to the group
//! owning the first virtual node at or after the hash of `s` on the ring. The table is computed
//! once per topology, off the request path; requests then index it directly. Because only the
//! arcs next to a new group's virtual nodes change owner, adding a group to N groups moves about
//! 1/(N+1) of the slots and removing one moves only that group's slots, as consistent hashing
//! promises (Karger et al., 1997).

use std::hash::{Hash, Hasher};

use hashring::HashRing;
use redoubt_protocol::slot::SLOT_COUNT;

/// Virtual nodes per group on the ring; more gives a more even share of slots.
pub(crate) const VIRTUAL_NODES: u32 = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
struct VirtualNode {
    group: usize,
    id: String,
    replica: u32,
}

impl Hash for VirtualNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Position on the ring depends on the group's id, not on its index in the file.
        self.id.hash(state);
        self.replica.hash(state);
    }
}

/// Group index for every slot.
#[derive(Clone, Debug)]
pub(crate) struct SlotTable {
    owners: Vec<u16>,
}

impl SlotTable {
    /// Derives the table for groups with these ids (index in the slice = group index).
    ///
    /// # Panics
    /// If `group_ids` is empty.
    pub(crate) fn derive(group_ids: &[&str]) -> SlotTable {
        assert!(
            !group_ids.is_empty(),
            "a slot table needs at least one group"
        );
        let mut ring = HashRing::new();
        let nodes = group_ids.iter().enumerate().flat_map(|(group, id)| {
            (0..VIRTUAL_NODES).map(move |replica| VirtualNode {
                group,
                id: id.to_string(),
                replica,
            })
        });
        ring.batch_add(nodes.collect());
        let owners = (0..SLOT_COUNT)
            .map(|slot| ring.get(&slot).map_or(0, |node| node.group as u16))
            .collect();
        SlotTable { owners }
    }

    /// The group index serving `slot`.
    pub(crate) fn group_of_slot(&self, slot: u16) -> usize {
        usize::from(self.owners[usize::from(slot)])
    }

    /// The group index serving `key` (hash tags honoured).
    pub(crate) fn group_of_key(&self, key: &[u8]) -> usize {
        self.group_of_slot(redoubt_protocol::slot::key_slot(key))
    }

    /// Number of slots each group owns, by group index.
    pub(crate) fn shares(&self, groups: usize) -> Vec<usize> {
        let mut counts = vec![0; groups];
        for owner in &self.owners {
            counts[usize::from(*owner)] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_gets_a_fair_share() {
        let table = SlotTable::derive(&["a", "b", "c", "d"]);
        for share in table.shares(4) {
            // 4096 each on average; virtual nodes keep every share within 25%.
            assert!((3072..=5120).contains(&share), "{share}");
        }
    }

    #[test]
    fn adding_a_group_moves_about_one_nth_of_the_slots() {
        let before = SlotTable::derive(&["a", "b", "c"]);
        let after = SlotTable::derive(&["a", "b", "c", "d"]);
        let mut moved = 0;
        for slot in 0..SLOT_COUNT {
            let (old, new) = (before.group_of_slot(slot), after.group_of_slot(slot));
            if old != new {
                moved += 1;
                assert_eq!(new, 3, "slot {slot} moved between old groups");
            }
        }
        // Ideal: 16384 / 4 = 4096.
        assert!((3000..=5200).contains(&moved), "{moved}");
    }

    #[test]
    fn placement_depends_on_ids_not_order() {
        let one = SlotTable::derive(&["a", "b"]);
        let two = SlotTable::derive(&["b", "a"]);
        for slot in 0..SLOT_COUNT {
            assert_eq!(one.group_of_slot(slot), 1 - two.group_of_slot(slot));
        }
    }
}
