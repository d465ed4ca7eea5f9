//! Redis Cluster hash slots: `CRC16-XMODEM(key) mod 16384`, where a key containing a non-empty
//! `{hash tag}` is hashed by the tag alone so related keys share a slot.
//!
//! Source: Redis Cluster specification, "Keys distribution model" and "Hash tags".

/// Number of hash slots in the keyspace, as in Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// The hash slot (0..16384) of `key`, honouring `{hash tags}`.
///
/// Only the first `{` and the first `}` after it count; an empty tag (`{}`) hashes the whole key.
pub fn key_slot(key: &[u8]) -> u16 {
    redis_protocol::redis_keyslot(key) % SLOT_COUNT
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_redis_cluster_keyslot() {
        // Values from `CLUSTER KEYSLOT` on Redis.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"123456789"), 12739);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    proptest! {
        #[test]
        fn slot_in_range_and_tag_decides(tag in "[a-z0-9]{1,12}", a in "[a-z]{0,8}", b in ".{0,8}") {
            let key = format!("{a}{{{tag}}}{b}");
            prop_assert!(key_slot(key.as_bytes()) < SLOT_COUNT);
            prop_assert_eq!(key_slot(key.as_bytes()), key_slot(tag.as_bytes()));
        }
    }
}
