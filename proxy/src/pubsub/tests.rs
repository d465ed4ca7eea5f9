use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redoubt_protocol::Protocol;

use super::*;

fn hub(groups: usize, limit: OutputLimit) -> Hub {
    let ids: Vec<String> = (0..groups).map(|g| format!("g{g}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    Hub::new(
        groups,
        Arc::new(SlotTable::derive(&ids)),
        limit,
        Duration::from_millis(10),
    )
}

fn frame(channel: &str, payload: &str) -> Bytes {
    Bytes::from(format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    ))
}

fn names(list: &[&str]) -> Vec<Bytes> {
    list.iter()
        .map(|n| Bytes::copy_from_slice(n.as_bytes()))
        .collect()
}

#[test]
fn the_first_listener_subscribes_every_group_and_the_last_one_unsubscribes() {
    let hub = hub(2, OutputLimit::default());
    let mut ends = std::mem::take(&mut *hub.ends.lock());
    let a = Mailbox::new();
    let b = Mailbox::new();
    let barrier = hub.subscribe(Kind::Channel, &names(&["news"]), 1, &a);
    assert!(!barrier.is_passed());
    hub.subscribe(Kind::Channel, &names(&["news"]), 2, &b);
    for end in &mut ends {
        let change = end.changes.try_recv().unwrap();
        assert!(change.subscribe);
        assert_eq!((change.seq, change.names), (1, names(&["news"])));
        assert!(
            end.changes.try_recv().is_err(),
            "the second listener costs nothing"
        );
        end.applied.send_replace(1);
    }
    assert!(barrier.is_passed());
    hub.unsubscribe(Kind::Channel, &names(&["news"]), 1);
    assert!(ends[0].changes.try_recv().is_err());
    hub.unsubscribe(Kind::Channel, &names(&["news"]), 2);
    for end in &mut ends {
        let change = end.changes.try_recv().unwrap();
        assert!(!change.subscribe);
        assert_eq!(change.seq, 2);
    }
    assert_eq!(hub.snapshot(0), (2, [vec![], vec![], vec![]]));
}

#[test]
fn shard_channels_are_subscribed_on_their_owning_group_only() {
    let hub = hub(2, OutputLimit::default());
    let a = Mailbox::new();
    let list = names(&["s1", "s2", "s3", "s4", "s5", "s6"]);
    hub.subscribe(Kind::Shard, &list, 1, &a);
    let (_, zero) = hub.snapshot(0);
    let (_, one) = hub.snapshot(1);
    assert_eq!(zero[2].len() + one[2].len(), list.len());
    for name in &zero[2] {
        assert_eq!(hub.slots.group_of_key(name), 0);
    }
    for name in &one[2] {
        assert_eq!(hub.slots.group_of_key(name), 1);
    }
}

#[test]
fn messages_reach_each_listener_once_in_its_protocol() {
    let hub = hub(1, OutputLimit::default());
    let a = Mailbox::new();
    let b = Mailbox::new();
    hub.subscribe(Kind::Channel, &names(&["ch"]), 1, &a);
    hub.subscribe(Kind::Channel, &names(&["ch"]), 2, &b);
    hub.deliver(Kind::Channel, b"ch", vec![frame("ch", "hi")]);
    hub.deliver(Kind::Channel, b"other", vec![frame("other", "no")]);
    hub.deliver(
        Kind::Channel,
        b"ch",
        vec![frame("ch", "again"), frame("ch", "and again")],
    );
    for mailbox in [&a, &b] {
        let mut taken = std::collections::VecDeque::new();
        mailbox.take_all(&mut taken);
        assert_eq!(taken.len(), 2, "both runs of ch, in order");
        let messages: Vec<&Message> = taken.iter().flat_map(|run| run.messages()).collect();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0].encoded(Protocol::Resp2), &frame("ch", "hi"));
        assert_eq!(messages[1].encoded(Protocol::Resp2), &frame("ch", "again"));
        assert_eq!(
            messages[2].encoded(Protocol::Resp2),
            &frame("ch", "and again")
        );
        assert!(messages[0]
            .encoded(Protocol::Resp3)
            .starts_with(b">3\r\n$7\r\nmessage"));
        mailbox.take_all(&mut taken);
        assert_eq!(taken.len(), 2, "nothing more queued");
    }
}

#[test]
fn a_mailbox_past_its_hard_limit_or_long_past_its_soft_limit_is_cut_off() {
    let message = Run::new(
        Kind::Channel,
        names(&["c"])[0].clone(),
        Box::new([Message::from_frame(frame("c", "0123456789"))]),
    );
    let cost = message.messages()[0].cost() as u64;
    let hard = OutputLimit {
        hard: cost * 3,
        soft: 0,
        soft_for: Duration::ZERO,
    };
    let mailbox = Mailbox::new();
    let now = Instant::now();
    assert!(mailbox.push(&message, &hard, &at(now)));
    assert!(mailbox.push(&message, &hard, &at(now)));
    mailbox.taken(cost as usize);
    assert!(mailbox.push(&message, &hard, &at(now)));
    assert!(mailbox.push(&message, &hard, &at(now)), "at the limit");
    assert!(!mailbox.push(&message, &hard, &at(now)), "past it");
    assert!(mailbox.is_cut());

    let soft = OutputLimit {
        hard: 0,
        soft: cost,
        soft_for: Duration::from_secs(60),
    };
    let mailbox = Mailbox::new();
    assert!(mailbox.push(&message, &soft, &at(now)));
    assert!(
        mailbox.push(&message, &soft, &at(now)),
        "over the soft limit: the clock starts"
    );
    assert!(mailbox.push(&message, &soft, &at(now + Duration::from_secs(59))));
    assert!(!mailbox.push(&message, &soft, &at(now + Duration::from_secs(60))));

    // Back under the soft limit the clock stops; over it again, it starts afresh.
    let mailbox = Mailbox::new();
    assert!(mailbox.push(&message, &soft, &at(now)));
    assert!(mailbox.push(&message, &soft, &at(now)));
    mailbox.taken(cost as usize);
    mailbox.taken(cost as usize);
    assert!(mailbox.push(&message, &soft, &at(now + Duration::from_secs(59))));
    assert!(
        mailbox.push(&message, &soft, &at(now + Duration::from_secs(60))),
        "over again: a new start"
    );
    assert!(!mailbox.push(&message, &soft, &at(now + Duration::from_secs(120))));
}

/// A clock reading as [`Mailbox::push`] takes it.
fn at(now: Instant) -> std::cell::OnceCell<Instant> {
    std::cell::OnceCell::from(now)
}
