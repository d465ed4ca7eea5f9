//! Client-side caching: CLIENT TRACKING and its options' errors, invalidations as RESP3 pushes
//! and through REDIRECT on `__redis__:invalidate`, BCAST prefixes, OPTIN / OPTOUT with CLIENT
//! CACHING, NOLOOP, flushes, expiry, transactions, the table limit and the INFO fields; and the
//! keyspace events of the bitmap commands.
//!
//! A tracking client's next frame is read after a `PING`: a push queued before the `PING` ran
//! comes first, so "no invalidation" is checked without waiting on a clock.

use std::time::Duration;

use crate::common::{encode, split_args, Raw, Server};

async fn next(c: &mut Raw) -> String {
    tokio::time::timeout(Duration::from_secs(5), c.read_reply())
        .await
        .expect("a frame")
        .to_string()
}

/// A RESP3 connection with tracking turned on with `options`.
async fn tracker(s: &Server, options: &str) -> Raw {
    let mut c = s.raw_authed().await;
    c.q("HELLO 3").await;
    let on = format!("CLIENT TRACKING on {options}");
    assert_eq!(c.q(on.trim()).await.to_string(), "+OK");
    c
}

/// Asserts that `c` has nothing queued before the reply to a `PING`.
async fn nothing_pending(c: &mut Raw) {
    assert_eq!(c.q("PING").await.to_string(), "+PONG");
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

#[tokio::test]
async fn tracking_options_get_redis_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw_authed().await;
    c.table(&[
        ("CLIENT GETREDIR", ":-1"),
        ("CLIENT TRACKINGINFO", "[\"flags\", [\"off\"], \"redirect\", :-1, \"prefixes\", []]"),
        ("CLIENT CACHING yes", "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"),
        ("CLIENT TRACKING maybe", "-ERR syntax error"),
        ("CLIENT TRACKING on NOPE", "-ERR syntax error"),
        ("CLIENT TRACKING on PREFIX", "-ERR syntax error"),
        ("CLIENT TRACKING on PREFIX a", "-ERR PREFIX option requires BCAST mode to be enabled"),
        ("CLIENT TRACKING on OPTIN OPTOUT", "-ERR You can't specify both OPTIN mode and OPTOUT mode"),
        ("CLIENT TRACKING on BCAST OPTOUT", "-ERR OPTIN and OPTOUT are not compatible with BCAST"),
        ("CLIENT TRACKING on REDIRECT x", "-ERR value is not an integer or out of range"),
        ("CLIENT TRACKING on REDIRECT 987654", "-ERR The client ID you want redirect to does not exist"),
        ("CLIENT TRACKING on BCAST PREFIX a PREFIX ab", "-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap."),
        ("CLIENT TRACKING on BCAST PREFIX a PREFIX b", "+OK"),
        ("CLIENT TRACKING on BCAST PREFIX bc", "-ERR Prefix 'bc' overlaps with an existing prefix 'b'. Prefixes for a single client must not overlap."),
        ("CLIENT TRACKING on BCAST PREFIX c", "+OK"),
        ("CLIENT TRACKINGINFO", "[\"flags\", [\"on\", \"bcast\"], \"redirect\", :0, \"prefixes\", [\"a\", \"b\", \"c\"]]"),
        ("CLIENT TRACKING on", "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."),
        ("CLIENT CACHING yes", "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
        ("CLIENT TRACKING off", "+OK"),
        ("CLIENT TRACKING on OPTIN NOLOOP", "+OK"),
        ("CLIENT TRACKING on OPTOUT", "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."),
        ("CLIENT CACHING no", "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
        ("CLIENT CACHING maybe", "-ERR syntax error"),
        ("CLIENT CACHING yes", "+OK"),
        ("CLIENT TRACKINGINFO", "[\"flags\", [\"on\", \"optin\", \"caching-yes\", \"noloop\"], \"redirect\", :0, \"prefixes\", []]"),
        // The choice lasts for the next command other than CLIENT.
        ("CLIENT GETREDIR", ":0"),
        ("CLIENT TRACKINGINFO", "[\"flags\", [\"on\", \"optin\", \"caching-yes\", \"noloop\"], \"redirect\", :0, \"prefixes\", []]"),
        ("PING", "+PONG"),
        ("CLIENT TRACKINGINFO", "[\"flags\", [\"on\", \"optin\", \"noloop\"], \"redirect\", :0, \"prefixes\", []]"),
        ("RESET", "+RESET"),
        ("CLIENT GETREDIR", ":-1"),
    ])
    .await;
}

#[tokio::test]
async fn a_read_key_is_invalidated_once_when_another_client_writes_it() {
    let s = Server::start(&[]);
    let mut t = tracker(&s, "").await;
    let mut w = s.raw_authed().await;
    assert_eq!(t.q("GET k").await.to_string(), "_");
    assert_eq!(t.q("MGET k2 k3").await.to_string(), "[_, _]");
    w.q("SET k 1").await;
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"k\"]]");
    // The key was forgotten: a second write says nothing until it is read again.
    w.q("SET k 2").await;
    nothing_pending(&mut t).await;
    w.q("DEL k3").await;
    nothing_pending(&mut t).await;
    w.q("SET k3 x").await;
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"k3\"]]");
    let info = w.q("INFO").await.text();
    assert_eq!(info_field(&info, "tracking_clients"), "1");
    assert_eq!(info_field(&info, "tracking_total_keys"), "1");
    assert_eq!(info_field(&info, "tracking_total_items"), "1");
    assert_eq!(info_field(&info, "tracking_total_prefixes"), "0");
    // A flush says "everything" with a null.
    w.q("FLUSHALL").await;
    assert_eq!(next(&mut t).await, ">[\"invalidate\", _]");
    assert_eq!(
        info_field(&w.q("INFO").await.text(), "tracking_total_keys"),
        "0"
    );
}

#[tokio::test]
async fn own_writes_are_invalidated_after_the_reply_unless_noloop() {
    let s = Server::start(&[]);
    let mut t = tracker(&s, "").await;
    t.q("GET a").await;
    t.q("GET b").await;
    assert_eq!(t.q("SET a 1").await.to_string(), "+OK");
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"a\"]]");
    // A transaction's invalidations follow its EXEC reply.
    t.q("MULTI").await;
    t.q("SET b 1").await;
    t.q("GET a").await;
    assert_eq!(t.q("EXEC").await.to_string(), "[+OK, \"1\"]");
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"b\"]]");
    nothing_pending(&mut t).await;
    // So do a script's.
    assert_eq!(
        t.q("EVAL \"redis.call('set', KEYS[1], '2') return redis.call('get', KEYS[2])\" 2 a b")
            .await
            .to_string(),
        "\"1\""
    );
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"a\"]]");
    nothing_pending(&mut t).await;

    let mut n = tracker(&s, "NOLOOP").await;
    n.q("GET c").await;
    n.q("SET c 1").await;
    nothing_pending(&mut n).await;
    let mut w = s.raw_authed().await;
    n.q("GET c").await;
    w.q("SET c 2").await;
    assert_eq!(next(&mut n).await, ">[\"invalidate\", [\"c\"]]");
}

#[tokio::test]
async fn optin_remembers_only_after_caching_yes_and_optout_skips_after_caching_no() {
    let s = Server::start(&[]);
    let mut w = s.raw_authed().await;
    let mut i = tracker(&s, "OPTIN").await;
    i.q("GET a").await;
    i.q("CLIENT CACHING yes").await;
    i.q("GET b").await;
    i.q("GET c").await;
    w.q("MSET a 1 b 1 c 1").await;
    assert_eq!(next(&mut i).await, ">[\"invalidate\", [\"b\"]]");
    nothing_pending(&mut i).await;

    let mut o = tracker(&s, "OPTOUT").await;
    o.q("GET d").await;
    o.q("CLIENT CACHING no").await;
    o.q("GET e").await;
    w.q("MSET d 1 e 1").await;
    assert_eq!(next(&mut o).await, ">[\"invalidate\", [\"d\"]]");
    nothing_pending(&mut o).await;
}

#[tokio::test]
async fn bcast_sends_changes_under_the_prefixes_once_per_command() {
    let s = Server::start(&[]);
    let mut b = tracker(&s, "BCAST PREFIX user: PREFIX job:").await;
    let mut w = s.raw_authed().await;
    w.q("MSET user:1 a other b").await;
    assert_eq!(next(&mut b).await, ">[\"invalidate\", [\"user:1\"]]");
    w.q("MULTI").await;
    w.q("SET user:2 x").await;
    w.q("SET job:9 x").await;
    w.q("SET other y").await;
    w.q("EXEC").await;
    // One message per prefix, prefixes in byte order.
    assert_eq!(next(&mut b).await, ">[\"invalidate\", [\"job:9\"]]");
    assert_eq!(next(&mut b).await, ">[\"invalidate\", [\"user:2\"]]");
    w.q("EVAL \"redis.call('set', KEYS[1], 'a') redis.call('set', KEYS[2], 'b')\" 2 user:3 user:4")
        .await;
    assert_eq!(
        next(&mut b).await,
        ">[\"invalidate\", [\"user:3\", \"user:4\"]]"
    );
    nothing_pending(&mut b).await;
    let info = w.q("INFO stats").await.text();
    assert_eq!(info_field(&info, "tracking_total_prefixes"), "2");
    assert_eq!(info_field(&info, "tracking_total_keys"), "0");
}

#[tokio::test]
async fn resp2_clients_get_invalidations_on_the_redirect_channel() {
    let s = Server::start(&[]);
    let mut r = s.raw_authed().await;
    let rid = r.int("CLIENT ID").await;
    r.send(&encode(&split_args("SUBSCRIBE __redis__:invalidate")))
        .await;
    assert_eq!(
        next(&mut r).await,
        "[\"subscribe\", \"__redis__:invalidate\", :1]"
    );
    let mut t = s.raw_authed().await;
    let on = format!("CLIENT TRACKING on REDIRECT {rid}");
    assert_eq!(t.q(&on).await.to_string(), "+OK");
    assert_eq!(t.int("CLIENT GETREDIR").await, rid);
    assert_eq!(t.q("GET k").await.to_string(), "nil");
    let mut w = s.raw_authed().await;
    w.q("SET k 1").await;
    assert_eq!(
        next(&mut r).await,
        "[\"message\", \"__redis__:invalidate\", [\"k\"]]"
    );
    w.q("FLUSHDB").await;
    assert_eq!(
        next(&mut r).await,
        "[\"message\", \"__redis__:invalidate\", nil]"
    );
    // Once the target has gone, the redirection is reported broken.
    drop(r);
    for _ in 0..200 {
        let list = w.q("CLIENT LIST").await.text();
        if !list.contains(&format!("id={rid} ")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let line = t.q("CLIENT INFO").await.text();
    assert!(
        line.contains(" flags=t ") && line.contains(&format!(" redir={rid} ")),
        "{line}"
    );
    t.q("GET k").await;
    w.q("SET k 2").await;
    let line = t.q("CLIENT INFO").await.text();
    assert!(line.contains(" flags=tR "), "{line}");
    assert_eq!(
        t.q("CLIENT TRACKINGINFO").await.to_string(),
        format!(
            "[\"flags\", [\"on\", \"broken_redirect\"], \"redirect\", :{rid}, \"prefixes\", []]"
        )
    );
}

#[tokio::test]
async fn expiry_invalidates_and_the_table_stays_under_its_limit() {
    let s = Server::start(&[]);
    let mut t = tracker(&s, "").await;
    let mut w = s.raw_authed().await;
    w.q("SET soon v PX 20").await;
    t.q("GET soon").await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    w.q("GET soon").await;
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"soon\"]]");

    w.q("CONFIG SET tracking-table-max-keys 2").await;
    t.q("MGET a b c").await;
    // The table drops a key at random and its reader is told before the next reply.
    let frame = t.q("PING").await.to_string();
    assert!(
        ["a", "b", "c"]
            .iter()
            .any(|k| frame == format!(">[\"invalidate\", [\"{k}\"]]")),
        "{frame}"
    );
    assert_eq!(next(&mut t).await, "+PONG");
    let info = w.q("INFO stats").await.text();
    assert_eq!(info_field(&info, "tracking_total_keys"), "2");
}

#[tokio::test]
async fn bitmap_commands_publish_their_keyspace_events() {
    let s = Server::start(&[]);
    let mut w = s.raw_authed().await;
    w.q("CONFIG SET notify-keyspace-events KEA").await;
    let mut sub = s.raw_authed().await;
    sub.send(&encode(&split_args("PSUBSCRIBE __keyevent@0__:* end")))
        .await;
    next(&mut sub).await;
    next(&mut sub).await;
    for line in [
        "SETBIT bm 7 1",
        "SETBIT bm 7 1",
        "BITOP AND d bm bm",
        "BITFIELD bf SET u8 0 1",
        "BITFIELD bf GET u8 0",
        "SET e \"\"",
        "BITOP AND e e",
        "BITOP AND e e",
        "PUBLISH end x",
    ] {
        w.q(line).await;
    }
    let mut events = Vec::new();
    for _ in 0..6 {
        events.push(next(&mut sub).await);
    }
    let want: Vec<String> = [
        ("setbit", "bm"),
        ("set", "d"),
        ("setbit", "bf"),
        ("set", "e"),
        ("del", "e"),
    ]
    .iter()
    .map(|(event, key)| {
        format!("[\"pmessage\", \"__keyevent@0__:*\", \"__keyevent@0__:{event}\", \"{key}\"]")
    })
    .collect();
    assert_eq!(events[..5], want[..]);
    // Nothing else came before the closing message.
    assert_eq!(events[5], "[\"pmessage\", \"end\", \"end\", \"x\"]");
}

#[tokio::test]
async fn a_standby_invalidates_keys_its_primary_writes() {
    // Diskless both ways: no server of the suite leaves a snapshot file behind.
    let primary = Server::start(&[
        "--repl-diskless-sync",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let standby = Server::start(&["--repl-diskless-load", "swapdb"]);
    let mut p = primary.raw_authed().await;
    let mut r = standby.raw_authed().await;
    let addr = primary.addr();
    let follow = format!("REPLICAOF {} {}", addr.ip(), addr.port());
    assert_eq!(r.q(&follow).await.to_string(), "+OK");
    p.q("SET k 0").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while r.q("GET k").await.to_string() != "\"0\"" {
        assert!(
            std::time::Instant::now() < deadline,
            "the standby never synced"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut t = tracker(&standby, "").await;
    assert_eq!(t.q("GET k").await.to_string(), "\"0\"");
    p.q("SET k 1").await;
    assert_eq!(next(&mut t).await, ">[\"invalidate\", [\"k\"]]");
}
