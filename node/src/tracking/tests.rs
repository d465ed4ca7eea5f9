use super::*;

fn client(id: u64, resp: i64) -> Arc<ClientHandle> {
    let addr = "127.0.0.1:1".parse().unwrap();
    let handle = Arc::new(ClientHandle::new(id, addr, addr));
    handle.view.lock().resp = resp;
    handle
}

const LIMIT: OutputLimit = OutputLimit {
    hard: 0,
    soft: 0,
    soft_for: std::time::Duration::ZERO,
};

fn frames(handle: &ClientHandle) -> Vec<String> {
    handle
        .outbox
        .take()
        .into_iter()
        .map(|m| format!("{:?}", m.frame()))
        .collect()
}

#[test]
fn a_reader_is_told_once_and_the_counts_follow() {
    let mut t = Tracking::default();
    assert!(t.is_idle());
    let a = client(1, 3);
    let quiet = client(2, 2);
    t.enable(&a, Mode::default(), None, &[]);
    t.enable(&quiet, Mode::default(), None, &[]);
    let k = Bytes::from_static(b"k");
    t.remember(1, [&k]);
    t.remember(2, [&k]);
    t.remember(1, [&k]);
    assert_eq!((t.key_count(), t.item_count()), (1, 2));
    t.invalidate(b"k", LIMIT);
    assert_eq!(frames(&a).len(), 1);
    // RESP2 without a redirection cannot take pushes.
    assert!(frames(&quiet).is_empty());
    assert_eq!((t.key_count(), t.item_count()), (0, 0));
    t.invalidate(b"k", LIMIT);
    assert!(frames(&a).is_empty());
    t.remember(2, [&k]);
    t.disable(1);
    assert!(!t.is_idle());
    t.disconnected(2);
    assert!(t.is_idle());
}

#[test]
fn own_changes_wait_for_the_end_of_the_command_and_noloop_skips_them() {
    let mut t = Tracking::default();
    let a = client(1, 3);
    let n = client(2, 3);
    let noloop = Mode {
        noloop: true,
        ..Mode::default()
    };
    t.enable(&a, Mode::default(), None, &[]);
    t.enable(&n, noloop, None, &[]);
    let k = Bytes::from_static(b"k");
    t.remember(1, [&k]);
    t.begin_command(1, Protocol::Resp3);
    t.invalidate(b"k", LIMIT);
    assert!(frames(&a).is_empty());
    t.end_command(false, 0, LIMIT);
    assert_eq!(frames(&a).len(), 1);
    t.remember(2, [&k]);
    t.begin_command(2, Protocol::Resp3);
    t.invalidate(b"k", LIMIT);
    t.end_command(false, 0, LIMIT);
    assert!(frames(&n).is_empty());
}

#[test]
fn bcast_collects_keys_per_prefix_and_a_full_table_sheds_keys() {
    let mut t = Tracking::default();
    let b = client(1, 3);
    let bcast = Mode {
        bcast: true,
        ..Mode::default()
    };
    t.enable(&b, bcast, None, &[Bytes::from_static(b"u:")]);
    assert_eq!(t.prefix_count(), 1);
    t.begin_command(9, Protocol::Resp2);
    t.invalidate(b"u:1", LIMIT);
    t.invalidate(b"v:1", LIMIT);
    t.invalidate(b"u:2", LIMIT);
    assert!(frames(&b).is_empty());
    t.end_command(false, 0, LIMIT);
    let sent = frames(&b);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("u:1") && sent[0].contains("u:2") && !sent[0].contains("v:1"));
    t.disable(1);
    assert_eq!(t.prefix_count(), 0);

    let a = client(2, 3);
    t.enable(&a, Mode::default(), None, &[]);
    let keys: Vec<Bytes> = (0..10).map(|i| Bytes::from(format!("k{i}"))).collect();
    t.begin_command(2, Protocol::Resp3);
    t.remember(2, &keys);
    t.end_command(false, 4, LIMIT);
    assert_eq!(t.key_count(), 4);
    assert_eq!(frames(&a).len(), 6);
}

#[test]
fn a_gone_redirect_target_breaks_the_redirection() {
    let mut t = Tracking::default();
    let a = client(1, 3);
    let target = client(2, 3);
    t.enable(&a, Mode::default(), Some(target.clone()), &[]);
    let k = Bytes::from_static(b"k");
    t.remember(1, [&k]);
    t.invalidate(b"k", LIMIT);
    assert_eq!(frames(&target).len(), 1);
    t.disconnected(2);
    t.remember(1, [&k]);
    t.invalidate(b"k", LIMIT);
    let sent = frames(&a);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("tracking-redir-broken"));
    assert!(t.info(1).is_some_and(|i| i.broken && i.redirect == 2));
}
