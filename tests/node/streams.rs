//! Stream commands: XADD (IDs, NOMKSTREAM, trimming), XRANGE/XREVRANGE, XLEN, XDEL, XTRIM,
//! XSETID, XINFO, XGROUP, XREAD/XREADGROUP on several streams (RESP2 and RESP3 shapes), XACK,
//! XPENDING, XCLAIM, XAUTOCLAIM, blocking reads, and streams under the key commands (TYPE,
//! SCAN TYPE, OBJECT ENCODING, RENAME, COPY, DEL, expiry).

use std::time::{Duration, Instant};

use crate::common::{encode, info_field, split_args, Raw, Server};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

/// The server's `major.minor`, from INFO.
async fn version(c: &mut Raw) -> (u32, u32) {
    let info = c.q("INFO server").await.text();
    let v = info_field(&info, "redis_version").unwrap();
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

/// The extended XPENDING reply without the idle times (they depend on the clock):
/// `[id, consumer, deliveries]` per entry.
async fn pel(c: &mut Raw, line: &str) -> String {
    let reply = c.q(line).await;
    let rows: Vec<String> = reply
        .array()
        .iter()
        .map(|row| {
            let row = row.array();
            format!("[{}, {}, {}]", row[0], row[1], row[3])
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// Sends `line` without waiting for its reply.
async fn send(c: &mut Raw, line: &str) {
    c.send(&encode(&split_args(line))).await;
}

/// INFO `blocked_clients`.
async fn blocked_clients(s: &Server) -> i64 {
    let mut c = s.raw().await;
    let info = c.q("INFO clients").await.text();
    info_field(&info, "blocked_clients")
        .unwrap()
        .parse()
        .unwrap()
}

/// Waits until exactly `n` clients are blocked.
async fn wait_blocked(s: &Server, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = blocked_clients(s).await;
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "blocked_clients stayed {now}, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads a reply, failing if none comes within a few seconds.
async fn reply_of(c: &mut Raw) -> String {
    tokio::time::timeout(Duration::from_secs(5), c.read_reply())
        .await
        .expect("the blocked client was not served")
        .to_string()
}

/// True when no reply arrives within `ms` milliseconds.
async fn still_blocked(c: &mut Raw, ms: u64) -> bool {
    tokio::time::timeout(Duration::from_millis(ms), c.read_reply())
        .await
        .is_err()
}

#[tokio::test]
async fn xadd_ids_and_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("XADD s 1-1 a 1", "\"1-1\""),
        ("XADD s 1-* b 2", "\"1-2\""),
        ("XADD s 2-* c 3", "\"2-0\""),
        ("XADD s 5 d 4", "\"5-0\""),
        (
            "XADD s 5-0 e 5",
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ),
        (
            "XADD s 4-9 e 5",
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ),
        (
            "XADD s 0-0 e 5",
            "-ERR The ID specified in XADD must be greater than 0-0",
        ),
        (
            "XADD t 0-0 e 5",
            "-ERR The ID specified in XADD must be greater than 0-0",
        ),
        ("EXISTS t", ":0"),
        (
            "XADD s abc e 5",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        (
            "XADD s 1-x e 5",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        (
            "XADD s 6-0 a",
            "-ERR wrong number of arguments for 'xadd' command",
        ),
        (
            "XADD s 6-0 a 1 b",
            "-ERR wrong number of arguments for 'xadd' command",
        ),
        ("XADD s NOMKSTREAM 6-0 a 1", "\"6-0\""),
        ("XADD missing NOMKSTREAM * a 1", "nil"),
        ("EXISTS missing", ":0"),
        (
            "XADD s MAXLEN -1 * a 1",
            "-ERR The MAXLEN argument must be >= 0.",
        ),
        (
            "XADD s MAXLEN 1 MINID 1 * a 1",
            "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            "XADD s MAXLEN 1 LIMIT 10 * a 1",
            "-ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (
            "XADD s LIMIT 10 * a 1",
            "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (
            "XADD s MAXLEN abc * a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("XLEN s", ":5"),
        ("SET str x", "+OK"),
        ("XADD str * a 1", WRONGTYPE),
        ("XLEN str", WRONGTYPE),
        ("XLEN nothing", ":0"),
        (
            "XADD big 18446744073709551615-18446744073709551615 a 1",
            "\"18446744073709551615-18446744073709551615\"",
        ),
        (
            "XADD big * a 1",
            "-ERR The stream has exhausted the last possible ID, unable to add more items",
        ),
    ])
    .await;
    // `*` takes the clock in milliseconds.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let id = c.q("XADD clock * f v").await.text();
    let ms: u64 = id.split('-').next().unwrap().parse().unwrap();
    assert!(
        ms + 5000 >= before && ms <= before + 5000,
        "{id} vs {before}"
    );
}

#[tokio::test]
async fn ranges() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for i in 1..=5 {
        c.q(&format!("XADD s {i}-0 n {i}")).await;
    }
    c.q("XADD s 5-1 a x b y").await;
    c.table(&[
        ("XRANGE s - +", "[[\"1-0\", [\"n\", \"1\"]], [\"2-0\", [\"n\", \"2\"]], [\"3-0\", [\"n\", \"3\"]], [\"4-0\", [\"n\", \"4\"]], [\"5-0\", [\"n\", \"5\"]], [\"5-1\", [\"a\", \"x\", \"b\", \"y\"]]]"),
        ("XRANGE s 2 3", "[[\"2-0\", [\"n\", \"2\"]], [\"3-0\", [\"n\", \"3\"]]]"),
        ("XRANGE s (2-0 (5-0", "[[\"3-0\", [\"n\", \"3\"]], [\"4-0\", [\"n\", \"4\"]]]"),
        ("XRANGE s 5 + COUNT 1", "[[\"5-0\", [\"n\", \"5\"]]]"),
        ("XRANGE s - + COUNT 0", "nil"),
        ("XRANGE s - + COUNT -1", "nil"),
        ("XREVRANGE s + - COUNT 2", "[[\"5-1\", [\"a\", \"x\", \"b\", \"y\"]], [\"5-0\", [\"n\", \"5\"]]]"),
        ("XREVRANGE s 3 2", "[[\"3-0\", [\"n\", \"3\"]], [\"2-0\", [\"n\", \"2\"]]]"),
        ("XRANGE s 3 2", "[]"),
        ("XRANGE s - + COUNT", "-ERR syntax error"),
        ("XRANGE s - + FOO 1", "-ERR syntax error"),
        ("XRANGE s x +", "-ERR Invalid stream ID specified as stream command argument"),
        ("XRANGE s (18446744073709551615-18446744073709551615 +", "-ERR invalid start ID for the interval"),
        ("XRANGE s - (0-0", "-ERR invalid end ID for the interval"),
        ("XRANGE nothing - +", "[]"),
        ("XREVRANGE nothing + -", "[]"),
    ])
    .await;
}

#[tokio::test]
async fn xdel_xtrim_xsetid() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for i in 1..=10 {
        c.q(&format!("XADD s {i}-0 n {i}")).await;
    }
    c.table(&[
        ("XDEL s 1-0 3-0 99-0", ":2"),
        ("XDEL s 2-0 x", "-ERR Invalid stream ID specified as stream command argument"),
        ("XLEN s", ":8"),
        ("XDEL nothing 1-0", ":0"),
        ("XTRIM s MAXLEN 6", ":2"),
        ("XRANGE s - + COUNT 1", "[[\"5-0\", [\"n\", \"5\"]]]"),
        ("XTRIM s MINID 8", ":3"),
        ("XTRIM s MINID = 8", ":0"),
        ("XTRIM s MAXLEN ~ 1", ":0"),
        ("XTRIM s MAXLEN 1 LIMIT 1", "-ERR syntax error, LIMIT cannot be used without the special ~ option"),
        ("XTRIM s", "-ERR wrong number of arguments for 'xtrim' command"),
        ("XTRIM s FOO 1", "-ERR syntax error"),
        ("XTRIM nothing FOO 1", "-ERR syntax error"),
        ("XTRIM s LIMIT 1", "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"),
        ("XLEN s", ":3"),
        ("XTRIM nothing MAXLEN 1", ":0"),
        ("XSETID s 5-0", "-ERR The ID specified in XSETID is smaller than the target stream top item"),
        ("XSETID s 20-0 ENTRIESADDED 1", "-ERR The entries_added specified in XSETID is smaller than the target stream length"),
        ("XSETID s 20-0 ENTRIESADDED 30 MAXDELETEDID 25-0", "-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"),
        ("XSETID s 20-0 ENTRIESADDED -1", "-ERR entries_added must be positive"),
        ("XSETID s 20-0 ENTRIESADDED 30 MAXDELETEDID 15-0", "+OK"),
        ("XSETID s 15-0", "+OK"),
        ("XSETID nothing 1-0", "-ERR no such key"),
        ("XSETID s 20-0 FOO", "-ERR syntax error"),
        ("XADD s 14-0 a 1", "-ERR The ID specified in XADD is equal or smaller than the target stream top item"),
        ("XADD s 21-* a 1", "\"21-0\""),
        ("XINFO STREAM s", "[\"length\", :4, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"21-0\", \"max-deleted-entry-id\", \"15-0\", \"entries-added\", :31, \"recorded-first-entry-id\", \"8-0\", \"groups\", :0, \"first-entry\", [\"8-0\", [\"n\", \"8\"]], \"last-entry\", [\"21-0\", [\"a\", \"1\"]]]"),
    ])
    .await;
    // Redis 7.2 refuses a last ID below the largest deleted one; 7.0 accepted it.
    let want = if version(&mut c).await >= (7, 2) {
        "-ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"
    } else {
        "+OK"
    };
    c.table(&[
        ("XADD v 5-0 a 1", "\"5-0\""),
        ("XDEL v 5-0", ":1"),
        ("XSETID v 4-0", want),
    ])
    .await;
}

#[tokio::test]
async fn approximate_trimming_removes_whole_blocks() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for i in 1..=250 {
        c.q(&format!("XADD s {i}-0 n {i}")).await;
    }
    // 100 entries a block: `~` keeps at least 120 but drops only whole blocks.
    c.table(&[
        ("XTRIM s MAXLEN ~ 120", ":100"),
        ("XLEN s", ":150"),
        ("XTRIM s MAXLEN ~ 120 LIMIT 10", ":0"),
        ("XADD s MAXLEN ~ 10 251-0 n 251", "\"251-0\""),
        ("XLEN s", ":51"),
        ("XTRIM s MINID ~ 240", ":0"),
        ("XTRIM s MINID 240", ":39"),
        ("XRANGE s - + COUNT 1", "[[\"240-0\", [\"n\", \"240\"]]]"),
    ])
    .await;
}

#[tokio::test]
async fn consumer_groups() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("XGROUP CREATE s g $", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."),
        ("XGROUP CREATE s g $ MKSTREAM", "+OK"),
        ("XGROUP CREATE s g $ MKSTREAM", "-BUSYGROUP Consumer Group name already exists"),
        ("XGROUP CREATE s g2 0 ENTRIESREAD -2", "-ERR value for ENTRIESREAD must be positive or -1"),
        ("XGROUP CREATE s g2 0 FOO", "-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."),
        ("XGROUP CREATE s g2 x", "-ERR Invalid stream ID specified as stream command argument"),
        ("XGROUP SETID s nog 0", "-NOGROUP No such consumer group 'nog' for key name 's'"),
        ("XGROUP CREATECONSUMER s g alice", ":1"),
        ("XGROUP CREATECONSUMER s g alice", ":0"),
        ("XGROUP CREATECONSUMER s nog alice", "-NOGROUP No such consumer group 'nog' for key name 's'"),
        ("XGROUP DELCONSUMER s g bob", ":0"),
        ("XGROUP DELCONSUMER nothing g bob", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."),
        ("XGROUP FOO s g", "-ERR unknown subcommand 'FOO'. Try XGROUP HELP."),
        ("XGROUP", "-ERR wrong number of arguments for 'xgroup' command"),
        ("XGROUP HELP extra", "-ERR wrong number of arguments for 'xgroup|help' command"),
        ("XADD s 1-0 a 1", "\"1-0\""),
        ("XADD s 2-0 b 2", "\"2-0\""),
        ("XADD s 3-0 c 3", "\"3-0\""),
        ("XGROUP CREATE s g2 0", "+OK"),
        ("XREADGROUP GROUP g2 alice COUNT 2 STREAMS s >", "[[\"s\", [[\"1-0\", [\"a\", \"1\"]], [\"2-0\", [\"b\", \"2\"]]]]]"),
        ("XREADGROUP GROUP g2 bob STREAMS s >", "[[\"s\", [[\"3-0\", [\"c\", \"3\"]]]]]"),
        ("XREADGROUP GROUP g2 bob STREAMS s >", "nil"),
        ("XREADGROUP GROUP g2 alice STREAMS s 0", "[[\"s\", [[\"1-0\", [\"a\", \"1\"]], [\"2-0\", [\"b\", \"2\"]]]]]"),
        ("XREADGROUP GROUP g2 alice COUNT 1 STREAMS s 1-0", "[[\"s\", [[\"2-0\", [\"b\", \"2\"]]]]]"),
        ("XREADGROUP GROUP nog alice STREAMS s >", "-NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"),
        ("XREADGROUP GROUP g2 alice STREAMS nothing >", "-NOGROUP No such key 'nothing' or consumer group 'g2' in XREADGROUP with GROUP option"),
        ("XREADGROUP GROUP g2 alice STREAMS s $", "-ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."),
        ("XREADGROUP GROUP g2 alice STREAMS s", "-ERR wrong number of arguments for 'xreadgroup' command"),
        ("XREADGROUP STREAMS s >", "-ERR wrong number of arguments for 'xreadgroup' command"),
        ("XPENDING s g2", "[:3, \"1-0\", \"3-0\", [[\"alice\", \"2\"], [\"bob\", \"1\"]]]"),
    ])
    .await;
    assert_eq!(
        pel(&mut c, "XPENDING s g2 - + 10 alice").await,
        "[[\"1-0\", \"alice\", :2], [\"2-0\", \"alice\", :3]]"
    );
    c.table(&[
        (
            "XPENDING s nog",
            "-NOGROUP No such key 's' or consumer group 'nog'",
        ),
        (
            "XPENDING s g2 - + x",
            "-ERR value is not an integer or out of range",
        ),
        ("XPENDING s g2 IDLE 1 - +", "-ERR syntax error"),
        ("XACK s g2 1-0 9-0", ":1"),
        ("XACK s g2 1-0", ":0"),
        (
            "XACK s g2 x",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        ("XACK s nog 1-0", ":0"),
        ("XACK nothing g2 1-0", ":0"),
    ])
    .await;
    assert_eq!(
        pel(&mut c, "XPENDING s g2 - + 10").await,
        "[[\"2-0\", \"alice\", :3], [\"3-0\", \"bob\", :1]]"
    );
    c.table(&[
        ("XDEL s 2-0", ":1"),
        ("XREADGROUP GROUP g2 alice STREAMS s 0", "[[\"s\", [[\"2-0\", nil]]]]"),
        ("XGROUP DELCONSUMER s g2 alice", ":1"),
        ("XGROUP SETID s g2 $", "+OK"),
        ("XGROUP SETID s g2 1-0 ENTRIESREAD 1", "+OK"),
        ("XGROUP SETID s g2 1-0 ENTRIESREAD x", "-ERR value is not an integer or out of range"),
        ("XGROUP DESTROY s g2", ":1"),
        ("XGROUP DESTROY s g2", ":0"),
        ("XREADGROUP GROUP g alice NOACK STREAMS s >", "[[\"s\", [[\"1-0\", [\"a\", \"1\"]], [\"3-0\", [\"c\", \"3\"]]]]]"),
        ("XPENDING s g", "[:0, nil, nil, nil]"),
        ("XREAD GROUP g a STREAMS s 0", "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."),
        ("XREAD NOACK STREAMS s 0", "-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."),
        ("XREAD STREAMS s >", "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."),
    ])
    .await;
}

#[tokio::test]
async fn xread_several_streams() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("XADD a 1-0 x 1", "\"1-0\""),
        ("XADD a 2-0 x 2", "\"2-0\""),
        ("XADD b 1-0 y 1", "\"1-0\""),
        ("XREAD STREAMS a b 0 0", "[[\"a\", [[\"1-0\", [\"x\", \"1\"]], [\"2-0\", [\"x\", \"2\"]]]], [\"b\", [[\"1-0\", [\"y\", \"1\"]]]]]"),
        ("XREAD COUNT 1 STREAMS a b 1 0", "[[\"a\", [[\"2-0\", [\"x\", \"2\"]]]], [\"b\", [[\"1-0\", [\"y\", \"1\"]]]]]"),
        ("XREAD STREAMS a b $ $", "nil"),
        ("XREAD STREAMS a b 2 1", "nil"),
        ("XREAD STREAMS a nothing 0 0", "[[\"a\", [[\"1-0\", [\"x\", \"1\"]], [\"2-0\", [\"x\", \"2\"]]]]]"),
        ("XREAD COUNT x STREAMS a 0", "-ERR value is not an integer or out of range"),
        ("XREAD BLOCK x STREAMS a 0", "-ERR timeout is not an integer or out of range"),
        ("XREAD BLOCK -1 STREAMS a 0", "-ERR timeout is negative"),
        ("XREAD STREAMS a x", "-ERR Invalid stream ID specified as stream command argument"),
        ("XREAD FOO STREAMS a 0", "-ERR syntax error"),
        ("SET str v", "+OK"),
        ("XREAD STREAMS a str 0 0", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn unbalanced_stream_lists() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    // Redis 7.2 quotes the command's name and its own symbol; 7.0 always wrote `XREAD` and `$`.
    let (xread, xreadgroup, symbol) = if version(&mut c).await >= (7, 2) {
        ("'xread'", "'xreadgroup'", '>')
    } else {
        ("XREAD", "XREAD", '$')
    };
    c.table(&[
        ("XREAD STREAMS a b 0", &format!("-ERR Unbalanced {xread} list of streams: for each stream key an ID or '$' must be specified.")),
        ("XREADGROUP GROUP g c STREAMS a b >", &format!("-ERR Unbalanced {xreadgroup} list of streams: for each stream key an ID or '{symbol}' must be specified.")),
    ])
    .await;
}

#[tokio::test]
async fn xread_replies_a_map_in_resp3() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("HELLO 3").await;
    c.table(&[
        ("XADD a 1-0 x 1", "\"1-0\""),
        ("XADD b 1-0 y 1", "\"1-0\""),
        ("XREAD STREAMS a b 0 0", "{\"a\": [[\"1-0\", [\"x\", \"1\"]]], \"b\": [[\"1-0\", [\"y\", \"1\"]]]}"),
        ("XREAD STREAMS a b $ $", "_"),
        ("XGROUP CREATE a g 0", "+OK"),
        ("XREADGROUP GROUP g c STREAMS a >", "{\"a\": [[\"1-0\", [\"x\", \"1\"]]]}"),
        ("XINFO GROUPS a", "[{\"name\": \"g\", \"consumers\": :1, \"pending\": :1, \"last-delivered-id\": \"1-0\", \"entries-read\": :1, \"lag\": :0}]"),
    ])
    .await;
}

#[tokio::test]
async fn xinfo() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let (major, minor) = version(&mut c).await;
    c.table(&[
        ("XINFO STREAM nothing", "-ERR no such key"),
        ("SET str v", "+OK"),
        ("XINFO STREAM str", WRONGTYPE),
        ("XADD s 1-0 a 1", "\"1-0\""),
        ("XADD s 2-0 b 2 c 3", "\"2-0\""),
        ("XADD s 3-0 a 4", "\"3-0\""),
        ("XDEL s 2-0", ":1"),
        ("XGROUP CREATE s g 0", "+OK"),
        ("XGROUP CREATE s h $ ENTRIESREAD 3", "+OK"),
        ("XINFO STREAM s", "[\"length\", :2, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-0\", \"max-deleted-entry-id\", \"2-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-0\", \"groups\", :2, \"first-entry\", [\"1-0\", [\"a\", \"1\"]], \"last-entry\", [\"3-0\", [\"a\", \"4\"]]]"),
        ("XINFO STREAM s FULL COUNT", "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."),
        ("XINFO STREAM s FULL COUNT x", "-ERR value is not an integer or out of range"),
        ("XINFO STREAM s FOO", "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."),
        ("XINFO GROUPS s", "[[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", nil, \"lag\", nil], [\"name\", \"h\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-0\", \"entries-read\", :3, \"lag\", :0]]"),
        ("XINFO CONSUMERS s nog", "-NOGROUP No such consumer group 'nog' for key name 's'"),
        ("XINFO CONSUMERS s g", "[]"),
        ("XINFO FOO s", "-ERR unknown subcommand 'FOO'. Try XINFO HELP."),
    ])
    .await;
    c.q("XREADGROUP GROUP g alice COUNT 1 STREAMS s >").await;
    let full = c.q("XINFO STREAM s FULL").await.to_string();
    // Times vary: check the shape without them.
    assert!(
        full.contains("\"entries\", [[\"1-0\", [\"a\", \"1\"]], [\"3-0\", [\"a\", \"4\"]]]"),
        "{full}"
    );
    assert!(
        full.contains("\"last-delivered-id\", \"1-0\", \"entries-read\", nil, \"lag\", nil"),
        "{full}"
    );
    assert!(full.contains("\"pel-count\", :1"), "{full}");
    let consumers = c.q("XINFO CONSUMERS s g").await.to_string();
    assert!(
        consumers.starts_with("[[\"name\", \"alice\", \"pending\", :1, \"idle\", :"),
        "{consumers}"
    );
    if (major, minor) >= (7, 2) {
        assert!(consumers.contains("\"inactive\""), "{consumers}");
    }
    let help = c.q("XINFO HELP").await;
    assert!(
        help.to_string().starts_with("[+XINFO <subcommand>"),
        "{help}"
    );
    let help = c.q("XGROUP HELP").await;
    assert!(
        help.to_string().starts_with("[+XGROUP <subcommand>"),
        "{help}"
    );
}

#[tokio::test]
async fn xclaim_and_xautoclaim() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    for i in 1..=5 {
        c.q(&format!("XADD s {i}-0 n {i}")).await;
    }
    c.q("XGROUP CREATE s g 0").await;
    c.q("XREADGROUP GROUP g alice STREAMS s >").await;
    c.q("XDEL s 4-0").await;
    c.table(&[
        ("XCLAIM s g bob 0 1-0 2-0 JUSTID", "[\"1-0\", \"2-0\"]"),
        ("XCLAIM s g bob 0 3-0", "[[\"3-0\", [\"n\", \"3\"]]]"),
        ("XCLAIM s g bob 3600000 5-0", "[]"),
        (
            "XCLAIM s nog bob 0 1-0",
            "-NOGROUP No such key 's' or consumer group 'nog'",
        ),
        (
            "XCLAIM nothing g bob 0 1-0",
            "-NOGROUP No such key 'nothing' or consumer group 'g'",
        ),
        (
            "XCLAIM s g bob x 1-0",
            "-ERR Invalid min-idle-time argument for XCLAIM",
        ),
        ("XCLAIM s g bob 0 x", "-ERR Unrecognized XCLAIM option 'x'"),
        (
            "XCLAIM s g bob 0 1-0 FOO",
            "-ERR Unrecognized XCLAIM option 'FOO'",
        ),
        (
            "XCLAIM s g bob 0 1-0 RETRYCOUNT x",
            "-ERR Invalid RETRYCOUNT option argument for XCLAIM",
        ),
        ("XCLAIM s g bob 0 9-0", "[]"),
        ("XCLAIM s g bob 0 9-0 FORCE", "[]"),
        ("XCLAIM s g carol 0 1-0 RETRYCOUNT 7 JUSTID", "[\"1-0\"]"),
    ])
    .await;
    assert_eq!(pel(&mut c, "XPENDING s g - + 10").await, "[[\"1-0\", \"carol\", :7], [\"2-0\", \"bob\", :1], [\"3-0\", \"bob\", :2], [\"4-0\", \"alice\", :1], [\"5-0\", \"alice\", :1]]");
    c.table(&[
        ("XCLAIM s g carol 0 4-0", "[]"),
        (
            "XPENDING s g",
            "[:4, \"1-0\", \"5-0\", [[\"alice\", \"1\"], [\"bob\", \"2\"], [\"carol\", \"1\"]]]",
        ),
        (
            "XAUTOCLAIM s g dave 0 0 COUNT 2",
            "[\"3-0\", [[\"1-0\", [\"n\", \"1\"]], [\"2-0\", [\"n\", \"2\"]]], []]",
        ),
        (
            "XAUTOCLAIM s g dave 0 0 JUSTID",
            "[\"0-0\", [\"1-0\", \"2-0\", \"3-0\", \"5-0\"], []]",
        ),
        ("XAUTOCLAIM s g dave 0 0 COUNT 0", "-ERR COUNT must be > 0"),
        (
            "XAUTOCLAIM s g dave x 0",
            "-ERR Invalid min-idle-time argument for XAUTOCLAIM",
        ),
        (
            "XAUTOCLAIM s g dave 0 x",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        (
            "XAUTOCLAIM s nog dave 0 0",
            "-NOGROUP No such key 's' or consumer group 'nog'",
        ),
        ("XAUTOCLAIM s g dave 0 0 FOO", "-ERR syntax error"),
        (
            "XAUTOCLAIM str g dave 0 0",
            "-NOGROUP No such key 'str' or consumer group 'g'",
        ),
    ])
    .await;
    assert_eq!(pel(&mut c, "XPENDING s g - + 10 dave").await, "[[\"1-0\", \"dave\", :8], [\"2-0\", \"dave\", :2], [\"3-0\", \"dave\", :2], [\"5-0\", \"dave\", :1]]");
    c.table(&[]).await;
}

#[tokio::test]
async fn streams_under_key_commands() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("XADD s 1-0 a 1", "\"1-0\""),
        ("XGROUP CREATE s g 0", "+OK"),
        ("TYPE s", "+stream"),
        ("OBJECT ENCODING s", "\"stream\""),
        ("SET str v", "+OK"),
        ("SCAN 0 TYPE stream", "[\"0\", [\"s\"]]"),
        ("XDEL s 1-0", ":1"),
        ("EXISTS s", ":1"),
        ("XLEN s", ":0"),
        ("XADD s 2-0 b 2", "\"2-0\""),
        ("COPY s t", ":1"),
        ("XRANGE t - +", "[[\"2-0\", [\"b\", \"2\"]]]"),
        ("XINFO GROUPS t", "[[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", nil, \"lag\", :1]]"),
        ("RENAME s u", "+OK"),
        ("XLEN u", ":1"),
        ("EXISTS s", ":0"),
        ("PEXPIRE u 50", ":1"),
        ("DEL t", ":1"),
        ("TYPE t", "+none"),
        ("LPUSH t x", ":1"),
        ("XADD t * a 1", WRONGTYPE),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.table(&[("EXISTS u", ":0"), ("XLEN u", ":0")]).await;
}

#[tokio::test]
async fn xread_blocks_until_an_entry_arrives() {
    let s = Server::start(&[]);
    let (mut a, mut b, mut w) = (s.raw().await, s.raw().await, s.raw().await);
    w.q("XADD s1 1-0 old 1").await;
    send(&mut a, "XREAD BLOCK 0 STREAMS s1 s2 $ $").await;
    send(&mut b, "XREAD COUNT 1 BLOCK 0 STREAMS s2 0").await;
    wait_blocked(&s, 2).await;
    // An entry at or below the ID waited after serves nobody.
    w.q("XADD s1 2-0 new 2").await;
    assert_eq!(
        reply_of(&mut a).await,
        "[[\"s1\", [[\"2-0\", [\"new\", \"2\"]]]]]"
    );
    assert!(still_blocked(&mut b, 100).await);
    w.q("XADD s2 1-0 x 1 y 2").await;
    assert_eq!(
        reply_of(&mut b).await,
        "[[\"s2\", [[\"1-0\", [\"x\", \"1\", \"y\", \"2\"]]]]]"
    );
    assert_eq!(blocked_clients(&s).await, 0);
    // Several readers of one stream all get the new entry.
    send(&mut a, "XREAD BLOCK 0 STREAMS s1 $").await;
    send(&mut b, "XREAD BLOCK 0 STREAMS s1 2-0").await;
    wait_blocked(&s, 2).await;
    w.q("XADD s1 3-0 n 3").await;
    let want = "[[\"s1\", [[\"3-0\", [\"n\", \"3\"]]]]]";
    assert_eq!(reply_of(&mut a).await, want);
    assert_eq!(reply_of(&mut b).await, want);
}

#[tokio::test]
async fn blocked_xread_replies_a_map_in_resp3() {
    let s = Server::start(&[]);
    let (mut a, mut w) = (s.raw().await, s.raw().await);
    a.q("HELLO 3").await;
    send(&mut a, "XREAD BLOCK 0 STREAMS s $").await;
    wait_blocked(&s, 1).await;
    w.q("XADD s 1-0 f v").await;
    assert_eq!(
        reply_of(&mut a).await,
        "{\"s\": [[\"1-0\", [\"f\", \"v\"]]]}"
    );
    send(&mut a, "XREAD BLOCK 50 STREAMS s $").await;
    assert_eq!(reply_of(&mut a).await, "_");
}

#[tokio::test]
async fn xread_block_times_out_with_a_null_array() {
    let s = Server::start(&[]);
    let mut a = s.raw().await;
    let started = Instant::now();
    send(&mut a, "XREAD BLOCK 200 STREAMS s $").await;
    assert_eq!(reply_of(&mut a).await, "nil");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
    assert_eq!(blocked_clients(&s).await, 0);
    // Without BLOCK nothing waits; with data BLOCK answers at once.
    a.q("XADD s 1-0 f v").await;
    assert_eq!(a.q("XREAD STREAMS s 1-0").await.to_string(), "nil");
    assert_eq!(
        a.q("XREAD BLOCK 0 STREAMS s 0").await.to_string(),
        "[[\"s\", [[\"1-0\", [\"f\", \"v\"]]]]]"
    );
}

#[tokio::test]
async fn xreadgroup_waiters_are_served_in_arrival_order() {
    let s = Server::start(&[]);
    let (mut a, mut b, mut w) = (s.raw().await, s.raw().await, s.raw().await);
    w.q("XGROUP CREATE s g $ MKSTREAM").await;
    send(
        &mut a,
        "XREADGROUP GROUP g alice COUNT 1 BLOCK 0 STREAMS s >",
    )
    .await;
    wait_blocked(&s, 1).await;
    send(&mut b, "XREADGROUP GROUP g bob COUNT 1 BLOCK 0 STREAMS s >").await;
    wait_blocked(&s, 2).await;
    w.q("XADD s 1-0 n 1").await;
    assert_eq!(
        reply_of(&mut a).await,
        "[[\"s\", [[\"1-0\", [\"n\", \"1\"]]]]]"
    );
    assert!(still_blocked(&mut b, 100).await);
    w.q("XADD s 2-0 n 2").await;
    assert_eq!(
        reply_of(&mut b).await,
        "[[\"s\", [[\"2-0\", [\"n\", \"2\"]]]]]"
    );
    assert_eq!(
        pel(&mut w, "XPENDING s g - + 10").await,
        "[[\"1-0\", \"alice\", :1], [\"2-0\", \"bob\", :1]]"
    );
    // A pipeline of two adds serves both waiters, one entry each.
    send(
        &mut a,
        "XREADGROUP GROUP g alice COUNT 1 BLOCK 0 STREAMS s >",
    )
    .await;
    wait_blocked(&s, 1).await;
    send(&mut b, "XREADGROUP GROUP g bob COUNT 1 BLOCK 0 STREAMS s >").await;
    wait_blocked(&s, 2).await;
    w.send(&encode(&split_args("XADD s 3-0 n 3"))).await;
    w.send(&encode(&split_args("XADD s 4-0 n 4"))).await;
    assert_eq!(
        reply_of(&mut a).await,
        "[[\"s\", [[\"3-0\", [\"n\", \"3\"]]]]]"
    );
    assert_eq!(
        reply_of(&mut b).await,
        "[[\"s\", [[\"4-0\", [\"n\", \"4\"]]]]]"
    );
}

#[tokio::test]
async fn blocked_readers_leave_on_disconnect() {
    let s = Server::start(&[]);
    {
        let mut a = s.raw().await;
        send(&mut a, "XREAD BLOCK 0 STREAMS s $").await;
        let mut b = s.raw().await;
        b.q("XGROUP CREATE s g $ MKSTREAM").await;
        send(&mut b, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >").await;
        wait_blocked(&s, 2).await;
    }
    wait_blocked(&s, 0).await;
    let mut w = s.raw().await;
    w.q("XADD s 1-0 f v").await;
    // Nobody read the entry for the group.
    assert_eq!(w.q("XPENDING s g").await.to_string(), "[:0, nil, nil, nil]");
}

#[tokio::test]
async fn deleting_the_stream_or_group_unblocks_xreadgroup() {
    let s = Server::start(&[]);
    let (mut a, mut b, mut w) = (s.raw().await, s.raw().await, s.raw().await);
    w.q("XGROUP CREATE s g $ MKSTREAM").await;
    send(&mut a, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >").await;
    send(&mut b, "XREAD BLOCK 0 STREAMS s $").await;
    wait_blocked(&s, 2).await;
    w.q("DEL s").await;
    assert_eq!(
        reply_of(&mut a).await,
        "-UNBLOCKED the stream key no longer exists"
    );
    // A plain reader keeps waiting for the stream to come back.
    assert!(still_blocked(&mut b, 100).await);
    w.q("XADD s 1-0 f v").await;
    assert_eq!(
        reply_of(&mut b).await,
        "[[\"s\", [[\"1-0\", [\"f\", \"v\"]]]]]"
    );
    w.q("XGROUP CREATE s g $").await;
    send(&mut a, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >").await;
    wait_blocked(&s, 1).await;
    w.q("XGROUP DESTROY s g").await;
    let reply = reply_of(&mut a).await;
    assert!(reply.starts_with("-NOGROUP "), "{reply}");
}

#[tokio::test]
async fn flushing_or_expiring_the_stream_unblocks_xreadgroup() {
    let s = Server::start(&[]);
    let (mut a, mut w) = (s.raw().await, s.raw().await);
    for flush in ["FLUSHDB", "FLUSHALL"] {
        w.q("XGROUP CREATE s g $ MKSTREAM").await;
        send(&mut a, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >").await;
        wait_blocked(&s, 1).await;
        assert_eq!(w.q(flush).await.to_string(), "+OK");
        assert_eq!(
            reply_of(&mut a).await,
            "-UNBLOCKED the stream key no longer exists",
            "{flush}"
        );
    }
    // Expired by the active cycle (nobody touches the key).
    w.q("XGROUP CREATE s g $ MKSTREAM").await;
    send(&mut a, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >").await;
    wait_blocked(&s, 1).await;
    w.q("PEXPIRE s 50").await;
    assert_eq!(
        reply_of(&mut a).await,
        "-UNBLOCKED the stream key no longer exists"
    );
    // A blocked XREAD only waits for entries: a flush leaves it blocked.
    send(&mut a, "XREAD BLOCK 0 STREAMS s $").await;
    wait_blocked(&s, 1).await;
    w.q("FLUSHALL").await;
    assert!(still_blocked(&mut a, 100).await);
    w.q("XADD s 1-1 f v").await;
    assert_eq!(
        reply_of(&mut a).await,
        "[[\"s\", [[\"1-1\", [\"f\", \"v\"]]]]]"
    );
}

#[tokio::test]
async fn stream_commands_publish_redis_keyspace_events() {
    let s = Server::start(&[]);
    let (mut sub, mut c) = (s.raw_authed().await, s.raw_authed().await);
    c.q("CONFIG SET notify-keyspace-events Et").await;
    sub.q("PSUBSCRIBE __keyevent@0__:*").await;
    for line in [
        "XADD s 1-1 f v",
        "XADD s MAXLEN 1 2-1 f v",
        "XTRIM s MAXLEN 0",
        "XTRIM s MAXLEN 0",
        "XADD s 4-1 f v",
        "XDEL s 4-1",
        "XDEL s 4-1",
        "XGROUP CREATE s g 0",
        "XGROUP SETID s g 0",
        "XGROUP CREATECONSUMER s g c",
        "XGROUP CREATECONSUMER s g c",
        "XGROUP DELCONSUMER s g c",
        "XGROUP DELCONSUMER s g nobody",
        "XADD s 5-1 f v",
        "XREADGROUP GROUP g c2 STREAMS s >",
        "XREADGROUP GROUP g c2 STREAMS s >",
        "XCLAIM s g c3 0 5-1",
        "XAUTOCLAIM s g c4 0 0",
        "XSETID s 9-9",
        "XGROUP DESTROY s g",
        "XGROUP DESTROY s g",
        "XADD s NOMKSTREAM 10-1 f v",
        "XADD missing NOMKSTREAM 1-1 f v",
    ] {
        c.q(line).await;
    }
    let mut events = Vec::new();
    while events.len() < 17 {
        let message = tokio::time::timeout(Duration::from_secs(5), sub.read_reply())
            .await
            .expect("an event")
            .to_string();
        let channel = message.split(", ").nth(2).unwrap_or("").to_string();
        events.push(
            channel
                .trim_matches('"')
                .trim_start_matches("__keyevent@0__:")
                .to_string(),
        );
    }
    assert_eq!(
        events,
        [
            "xadd",
            "xadd",
            "xtrim",
            "xtrim",
            "xadd",
            "xdel",
            "xgroup-create",
            "xgroup-setid",
            "xgroup-createconsumer",
            "xgroup-delconsumer",
            "xadd",
            "xgroup-createconsumer",
            "xgroup-createconsumer",
            "xgroup-createconsumer",
            "xsetid",
            "xgroup-destroy",
            "xadd",
        ]
    );
    // Nothing more was published.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), sub.read_reply())
            .await
            .is_err()
    );
}
