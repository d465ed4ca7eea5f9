//! Where a request goes: the [`slot_table`] maps a key's slot to a group, and a [`group`]
//! picks the member that serves it (the primary for writes, the [`read_policy`]'s choice for reads).

pub(crate) mod group;
pub(crate) mod read_policy;
pub(crate) mod slot_table;
