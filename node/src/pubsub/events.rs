//! Keyspace notifications: the event classes of `notify-keyspace-events` and the messages an
//! event publishes on `__keyspace@<db>__:<key>` (payload: the event) and
//! `__keyevent@<db>__:<event>` (payload: the key). Source: Redis's `notify.c` and its
//! documentation page "Redis keyspace notifications".

use bytes::Bytes;

use super::{Kind, OutputLimit, PubSub};

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub(crate) const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub(crate) const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (`DEL`, `EXPIRE`, `RENAME`...).
pub(crate) const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub(crate) const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub(crate) const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub(crate) const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub(crate) const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub(crate) const ZSET: u32 = 1 << 7;
/// `x`: expired events.
pub(crate) const EXPIRED: u32 = 1 << 8;
/// `e`: evicted events.
pub(crate) const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub(crate) const STREAM: u32 = 1 << 10;
/// `m`: key misses (excluded from `A`).
pub(crate) const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub(crate) const MODULE: u32 = 1 << 12;
/// `n`: new keys (excluded from `A`).
pub(crate) const NEW: u32 = 1 << 13;
/// `A`: alias for `g$lshzxetd`.
pub(crate) const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

const CLASSES: [(char, u32); 10] = [
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
];

/// Parses a `notify-keyspace-events` value; `None` on an unknown class character.
pub(crate) fn parse_flags(text: &str) -> Option<u32> {
    let mut flags = 0;
    for c in text.chars() {
        flags |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            'n' => NEW,
            _ => CLASSES.iter().find(|(ch, _)| *ch == c)?.1,
        };
    }
    Some(flags)
}

/// Publishes event `event` of class `class` on key `key` of database `db`, if `flags` (the
/// configured `notify-keyspace-events`) ask for it.
pub(crate) fn notify(
    pubsub: &PubSub,
    flags: u32,
    limit: OutputLimit,
    (class, event): (u32, &str),
    db: usize,
    key: &[u8],
) {
    if flags & class == 0 || pubsub.is_empty() {
        return;
    }
    if flags & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        let payload = Bytes::copy_from_slice(event.as_bytes());
        pubsub.publish(Kind::Channel, &Bytes::from(channel), &payload, limit);
    }
    if flags & KEYEVENT != 0 {
        let channel = Bytes::from(format!("__keyevent@{db}__:{event}"));
        pubsub.publish(Kind::Channel, &channel, &Bytes::copy_from_slice(key), limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_as_redis_reads_them() {
        assert_eq!(parse_flags("KEA"), Some(KEYSPACE | KEYEVENT | ALL));
        assert_eq!(
            parse_flags("Elg$"),
            Some(KEYEVENT | LIST | GENERIC | STRING)
        );
        assert_eq!(parse_flags(""), Some(0));
        assert_eq!(parse_flags("Q"), None);
    }
}
