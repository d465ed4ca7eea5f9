//! Streams on standbys: entries, consumer groups, pending entries and last delivered IDs end
//! equal on the primary and its standbys (live stream and full resync), a promoted standby
//! carries the groups on without delivering an entry twice, and XREAD blocked on a standby
//! wakes on replicated entries.

use std::time::Duration;

use crate::common::{encode, split_args, Raw, Server};
use crate::support::{caught_up, primary, standby_of};

/// XINFO STREAM FULL without the consumers' seen/active times (a standby sets those when it
/// applies the stream; delivery times travel with the effects and must match). Without
/// `layout`, the storage block counts are left out too.
async fn full_info(c: &mut Raw, key: &str, layout: bool) -> String {
    let mut text = c
        .q(&format!("XINFO STREAM {key} FULL COUNT 0"))
        .await
        .to_string();
    if !layout {
        let start = text.find("\"radix-tree-keys\"").expect("radix-tree-keys");
        let end = text
            .find("\"last-generated-id\"")
            .expect("last-generated-id");
        text.replace_range(start..end, "");
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("-time\", :") {
        let end = at + "-time\", :".len();
        out.push_str(&rest[..end]);
        rest = &rest[end..];
        let digits = rest
            .find(|ch: char| !ch.is_ascii_digit() && ch != '-')
            .unwrap_or(rest.len());
        let field_start = out
            .rfind('"')
            .map_or(0, |q| out[..q].rfind('"').unwrap_or(0));
        if out[field_start..].contains("seen-time") || out[field_start..].contains("active-time") {
            out.push('T');
        } else {
            out.push_str(&rest[..digits]);
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// XPENDING summary and the full list without idle times.
async fn pending(c: &mut Raw, key: &str, group: &str) -> String {
    let summary = c.q(&format!("XPENDING {key} {group}")).await.to_string();
    let list = c.q(&format!("XPENDING {key} {group} - + 1000")).await;
    let rows: Vec<String> = list
        .array()
        .iter()
        .map(|row| {
            let row = row.array();
            format!("[{}, {}, {}]", row[0], row[1], row[3])
        })
        .collect();
    format!("{summary} {}", rows.join(", "))
}

async fn run(c: &mut Raw, lines: &[&str]) {
    for line in lines {
        let reply = c.q(line).await;
        assert!(
            !matches!(reply, crate::common::Reply::Error(_)),
            "{line}: {reply}"
        );
    }
}

#[tokio::test]
async fn standbys_end_with_equal_streams_groups_and_pending_entries() {
    let p = primary(&[]);
    let live = standby_of(&p, &[]);
    caught_up(&p, &[&live]).await;
    let mut c = p.raw().await;
    for i in 0..300 {
        c.q(&format!("XADD s * n {i}")).await;
        c.q(&format!("XADD capped MAXLEN ~ 50 * n {i}")).await;
    }
    run(
        &mut c,
        &[
            "XGROUP CREATE s g 0",
            "XGROUP CREATE s h $ ",
            "XGROUP CREATE s n 0",
            "XREADGROUP GROUP g alice COUNT 20 STREAMS s >",
            "XREADGROUP GROUP g bob COUNT 15 STREAMS s >",
            "XREADGROUP GROUP n carol NOACK COUNT 7 STREAMS s >",
            "XGROUP CREATECONSUMER s g dave",
            "XGROUP CREATECONSUMER s g erin",
            "XGROUP DELCONSUMER s g erin",
            "XAUTOCLAIM s g dave 0 0 COUNT 5",
            "XTRIM s MINID ~ 0",
            "XTRIM capped MAXLEN ~ 10",
            "XADD s MAXLEN 290 * last 1",
            "XGROUP CREATE other g $ MKSTREAM",
            "XSETID other 5-5 ENTRIESADDED 3 MAXDELETEDID 2-2",
        ],
    )
    .await;
    let ids = c.q("XRANGE s - + COUNT 30").await;
    let id = |i: usize| ids.array()[i].array()[0].text();
    run(
        &mut c,
        &[
            &format!("XACK s g {} {}", id(0), id(25)),
            &format!("XCLAIM s g dave 0 {} {}", id(1), id(2)),
            &format!("XCLAIM s g frank 0 {} RETRYCOUNT 9 JUSTID", id(3)),
            &format!("XCLAIM s g frank 0 {} FORCE", id(28)),
            &format!("XDEL s {} {}", id(4), id(29)),
            &format!("XGROUP SETID s h {} ENTRIESREAD 12", id(12)),
            "XREADGROUP GROUP h gina COUNT 3 STREAMS s >",
        ],
    )
    .await;
    caught_up(&p, &[&live]).await;
    // A standby started now loads it all through a full resync.
    let late = standby_of(&p, &[]);
    caught_up(&p, &[&live, &late]).await;
    for key in ["s", "capped", "other"] {
        for (standby, layout) in [(&live, true), (&late, true)] {
            let want = full_info(&mut c, key, layout).await;
            let mut r = standby.raw().await;
            assert_eq!(
                full_info(&mut r, key, layout).await,
                want,
                "XINFO STREAM {key} FULL (live stream: {layout})"
            );
            assert_eq!(
                r.q(&format!("XRANGE {key} - +")).await,
                c.q(&format!("XRANGE {key} - +")).await
            );
        }
    }
    for group in ["g", "h", "n"] {
        let want = pending(&mut c, "s", group).await;
        for standby in [&live, &late] {
            let mut r = standby.raw().await;
            assert_eq!(
                pending(&mut r, "s", group).await,
                want,
                "XPENDING s {group}"
            );
        }
    }
}

#[tokio::test]
async fn a_promoted_standby_carries_on_the_groups() {
    let p = primary(&[]);
    let standby = standby_of(&p, &[]);
    caught_up(&p, &[&standby]).await;
    let mut c = p.raw().await;
    for i in 0..10 {
        c.q(&format!("XADD s * n {i}")).await;
    }
    c.q("XGROUP CREATE s g 0").await;
    let first = c.q("XREADGROUP GROUP g alice COUNT 4 STREAMS s >").await;
    c.q("XREADGROUP GROUP g bob NOACK COUNT 2 STREAMS s >")
        .await;
    caught_up(&p, &[&standby]).await;
    drop(p);
    let mut s = standby.raw().await;
    assert_eq!(s.q("REPLICAOF NO ONE").await.to_string(), "+OK");
    // Only entries never delivered go to `>` readers.
    let rest = s.q("XREADGROUP GROUP g carol STREAMS s >").await;
    let delivered: Vec<String> = first.array()[0].array()[1]
        .array()
        .iter()
        .map(|e| e.array()[0].text())
        .collect();
    let served: Vec<String> = rest.array()[0].array()[1]
        .array()
        .iter()
        .map(|e| e.array()[0].text())
        .collect();
    assert_eq!(delivered.len(), 4);
    assert_eq!(served.len(), 4, "{rest}");
    let all = s.q("XRANGE s - +").await;
    let ids: Vec<String> = all.array().iter().map(|e| e.array()[0].text()).collect();
    assert_eq!(served, ids[6..].to_vec());
    assert_eq!(delivered, ids[..4].to_vec());
    assert_eq!(
        s.q("XREADGROUP GROUP g carol STREAMS s >")
            .await
            .to_string(),
        "nil"
    );
    // Alice's pending entries survived, and she can acknowledge them.
    assert_eq!(
        s.q("XPENDING s g").await.to_string(),
        format!(
            "[:8, \"{}\", \"{}\", [[\"alice\", \"4\"], [\"carol\", \"4\"]]]",
            ids[0], ids[9]
        )
    );
    assert_eq!(
        s.q(&format!("XACK s g {} {}", ids[0], ids[1]))
            .await
            .to_string(),
        ":2"
    );
    s.q("XADD s * n new").await;
    let next = s.q("XREADGROUP GROUP g alice STREAMS s >").await;
    assert_eq!(next.array()[0].array()[1].array().len(), 1, "{next}");
}

/// Entry IDs of an XREADGROUP reply on one stream (none for a nil reply).
fn read_ids(reply: &crate::common::Reply) -> Vec<String> {
    if reply.is_null() {
        return Vec::new();
    }
    reply.array()[0].array()[1]
        .array()
        .iter()
        .map(|e| e.array()[0].text())
        .collect()
}

#[tokio::test]
async fn after_a_sigkill_failover_the_promoted_standby_has_the_same_groups() {
    let mut p = primary(&[]);
    let mut c = p.raw().await;
    for i in 0..20 {
        c.q(&format!("XADD s * n {i}")).await;
    }
    c.q("XGROUP CREATE s g 0").await;
    let mut delivered = read_ids(&c.q("XREADGROUP GROUP g alice COUNT 5 STREAMS s >").await);
    delivered.extend(read_ids(
        &c.q("XREADGROUP GROUP g bob COUNT 3 STREAMS s >").await,
    ));
    c.q(&format!("XACK s g {}", delivered[0])).await;
    // The standby gets the group through a full resync (the RDB), then the live stream.
    let standby = standby_of(&p, &[]);
    caught_up(&p, &[&standby]).await;
    delivered.extend(read_ids(
        &c.q("XREADGROUP GROUP g bob COUNT 2 STREAMS s >").await,
    ));
    c.q(&format!("XCLAIM s g carol 0 {}", delivered[1])).await;
    caught_up(&p, &[&standby]).await;
    let want_pending = pending(&mut c, "s", "g").await;
    let want_groups = c.q("XINFO GROUPS s").await.to_string();
    p.kill();
    let mut s = standby.raw().await;
    assert_eq!(s.q("REPLICAOF NO ONE").await.to_string(), "+OK");
    assert_eq!(pending(&mut s, "s", "g").await, want_pending);
    assert_eq!(s.q("XINFO GROUPS s").await.to_string(), want_groups);
    // `>` readers get only what was never delivered, each entry once.
    let mut served = read_ids(&s.q("XREADGROUP GROUP g dave COUNT 4 STREAMS s >").await);
    served.extend(read_ids(&s.q("XREADGROUP GROUP g erin STREAMS s >").await));
    assert!(read_ids(&s.q("XREADGROUP GROUP g dave STREAMS s >").await).is_empty());
    let all: Vec<String> = s
        .q("XRANGE s - +")
        .await
        .array()
        .iter()
        .map(|e| e.array()[0].text())
        .collect();
    assert_eq!(delivered, all[..10].to_vec());
    assert_eq!(served, all[10..].to_vec());
}

#[tokio::test]
async fn xread_blocked_on_a_standby_wakes_on_replicated_entries() {
    let p = primary(&[]);
    let standby: Server = standby_of(&p, &[]);
    caught_up(&p, &[&standby]).await;
    let mut reader = standby.raw().await;
    reader
        .send(&encode(&split_args("XREAD BLOCK 0 STREAMS s $")))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = p.raw().await;
    c.q("XADD s 1-0 f v").await;
    let reply = tokio::time::timeout(Duration::from_secs(5), reader.read_reply())
        .await
        .expect("the standby's reader was not woken");
    assert_eq!(reply.to_string(), "[[\"s\", [[\"1-0\", [\"f\", \"v\"]]]]]");
    // XREADGROUP writes, so a standby refuses it.
    let mut r = standby.raw().await;
    let err = r.q("XREADGROUP GROUP g c STREAMS s >").await.to_string();
    assert!(err.starts_with("-READONLY"), "{err}");
}
