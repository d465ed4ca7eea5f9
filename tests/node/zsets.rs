//! Sorted-set commands: ZADD and its options, the ZRANGE family (ranks, scores, lex, REV,
//! LIMIT, WITHSCORES), counts, ranks, removals, pops, set algebra, ZRANDMEMBER, ZSCAN, and
//! the RESP3 reply shapes (doubles, `[member, score]` pairs).

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{info_field, Raw, Reply, Server};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

/// The server's `major.minor`, from INFO.
async fn version(c: &mut Raw) -> (u32, u32) {
    let info = c.q("INFO server").await.text();
    let v = info_field(&info, "redis_version").unwrap();
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

#[tokio::test]
async fn zadd_options() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 1 a 2 b 3 c", ":3"),
        ("ZADD z 1 a 5 b 4 d", ":1"),
        ("ZADD z CH 1 a 6 b 4 d 7 e", ":2"),
        (
            "ZRANGE z 0 -1 WITHSCORES",
            "[\"a\", \"1\", \"c\", \"3\", \"d\", \"4\", \"b\", \"6\", \"e\", \"7\"]",
        ),
        ("ZADD z NX 10 a 8 f", ":1"),
        ("ZSCORE z a", "\"1\""),
        ("ZADD z XX 10 a 9 g", ":0"),
        ("ZSCORE z a", "\"10\""),
        ("ZSCORE z g", "nil"),
        ("ZADD z XX CH 11 a 9 g", ":1"),
        // GT/LT only update in one direction and never block additions.
        ("ZADD z GT CH 5 a 12 b 1 h", ":2"),
        ("ZMSCORE z a b h", "[\"11\", \"12\", \"1\"]"),
        ("ZADD z LT CH 20 a 2 b", ":1"),
        ("ZMSCORE z a b", "[\"11\", \"2\"]"),
        ("ZADD z INCR 5 a", "\"16\""),
        ("ZADD z INCR -16 a", "\"0\""),
        ("ZADD z NX INCR 1 a", "nil"),
        ("ZADD z XX INCR 1 missing", "nil"),
        ("ZADD z GT INCR -1 a", "nil"),
        ("ZADD z LT INCR 0 a", "nil"),
        ("ZADD z INCR 0 a", "\"0\""),
        ("ZADD z INCR 1 new", "\"1\""),
        // Same score, same member: nothing changes, CH counts nothing.
        ("ZADD z CH 1 new", ":0"),
        ("ZADD z inf top -inf bottom", ":2"),
        ("ZSCORE z top", "\"inf\""),
        ("ZSCORE z bottom", "\"-inf\""),
        (
            "ZADD z INCR -inf top",
            "-ERR resulting score is not a number (NaN)",
        ),
        (
            "ZINCRBY z -inf top",
            "-ERR resulting score is not a number (NaN)",
        ),
        ("ZSCORE z top", "\"inf\""),
        ("ZADD z nan a", "-ERR value is not a valid float"),
        ("ZADD z abc a", "-ERR value is not a valid float"),
        ("ZADD z 1 a 2", "-ERR syntax error"),
        ("ZADD z NX 1", "-ERR syntax error"),
        (
            "ZADD z NX",
            "-ERR wrong number of arguments for 'zadd' command",
        ),
        (
            "ZADD z NX XX 1 a",
            "-ERR XX and NX options at the same time are not compatible",
        ),
        (
            "ZADD z NX GT 1 a",
            "-ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            "ZADD z GT LT 1 a",
            "-ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            "ZADD z INCR 1 a 2 b",
            "-ERR INCR option supports a single increment-element pair",
        ),
        (
            "ZADD z",
            "-ERR wrong number of arguments for 'zadd' command",
        ),
        (
            "ZADD z 1",
            "-ERR wrong number of arguments for 'zadd' command",
        ),
        // XX on a missing key creates nothing.
        ("ZADD fresh XX 1 a", ":0"),
        ("ZADD fresh XX INCR 1 a", "nil"),
        ("EXISTS fresh", ":0"),
        ("ZINCRBY fresh 2.5 a", "\"2.5\""),
        ("ZINCRBY fresh 1 a", "\"3.5\""),
        ("ZINCRBY fresh x a", "-ERR value is not a valid float"),
        ("TYPE fresh", "+zset"),
        ("SET str x", "+OK"),
        ("ZADD str 1 a", WRONGTYPE),
        ("ZINCRBY str 1 a", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn ranks_scores_counts() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 1 a 2 b 2 c 3 d", ":4"),
        ("ZCARD z", ":4"),
        ("ZCARD missing", ":0"),
        ("ZRANK z a", ":0"),
        ("ZRANK z c", ":2"),
        ("ZREVRANK z a", ":3"),
        ("ZREVRANK z d", ":0"),
        ("ZRANK z x", "nil"),
        ("ZRANK missing a", "nil"),
        ("ZSCORE z b", "\"2\""),
        ("ZSCORE z x", "nil"),
        ("ZSCORE missing x", "nil"),
        ("ZMSCORE z a x d", "[\"1\", nil, \"3\"]"),
        ("ZMSCORE missing a b", "[nil, nil]"),
        ("ZCOUNT z -inf +inf", ":4"),
        ("ZCOUNT z 2 2", ":2"),
        ("ZCOUNT z (1 3", ":3"),
        ("ZCOUNT z (1 (3", ":2"),
        ("ZCOUNT z 3 1", ":0"),
        ("ZCOUNT z (2 2", ":0"),
        ("ZCOUNT missing 0 1", ":0"),
        ("ZCOUNT z a 1", "-ERR min or max is not a float"),
        ("ZCOUNT z 1 ((", "-ERR min or max is not a float"),
        // A bare `(` reads as an exclusive 0, as C's strtod makes it in Redis.
        ("ZCOUNT z -inf (", ":0"),
        ("ZADD lex 0 a 0 b 0 c 0 d 0 e", ":5"),
        ("ZLEXCOUNT lex - +", ":5"),
        ("ZLEXCOUNT lex [b [d", ":3"),
        ("ZLEXCOUNT lex (b (d", ":1"),
        ("ZLEXCOUNT lex (b +", ":3"),
        ("ZLEXCOUNT lex + -", ":0"),
        ("ZLEXCOUNT lex [e [a", ":0"),
        (
            "ZLEXCOUNT lex b d",
            "-ERR min or max not valid string range item",
        ),
        (
            "ZLEXCOUNT lex -a +",
            "-ERR min or max not valid string range item",
        ),
        ("SET str x", "+OK"),
        ("ZCARD str", WRONGTYPE),
        ("ZRANK str a", WRONGTYPE),
        ("ZSCORE str a", WRONGTYPE),
        ("ZMSCORE str a", WRONGTYPE),
        ("ZCOUNT str 0 1", WRONGTYPE),
        ("ZLEXCOUNT str - +", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn zrank_withscore() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    if version(&mut c).await < (7, 2) {
        println!("NOTE: ZRANK WITHSCORE not checked: the server predates Redis 7.2");
        return;
    }
    c.table(&[
        ("ZADD z 1 a 2.5 b", ":2"),
        ("ZRANK z b WITHSCORE", "[:1, \"2.5\"]"),
        ("ZREVRANK z b withscore", "[:0, \"2.5\"]"),
        ("ZRANK z x WITHSCORE", "nil"),
        ("ZRANK z a WITHSCORES", "-ERR syntax error"),
    ])
    .await;
    c.q("HELLO 3").await;
    c.table(&[
        ("ZRANK z a WITHSCORE", "[:0, ,1]"),
        ("ZRANK z x WITHSCORE", "_"),
        ("ZRANK z x", "_"),
    ])
    .await;
}

#[tokio::test]
async fn zrange_by_rank() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5"),
        ("ZRANGE z 0 -1", "[\"a\", \"b\", \"c\", \"d\", \"e\"]"),
        ("ZRANGE z 1 2", "[\"b\", \"c\"]"),
        ("ZRANGE z -2 -1", "[\"d\", \"e\"]"),
        ("ZRANGE z -100 1", "[\"a\", \"b\"]"),
        ("ZRANGE z 3 100", "[\"d\", \"e\"]"),
        ("ZRANGE z 3 1", "[]"),
        ("ZRANGE z 5 10", "[]"),
        ("ZRANGE z -1 -2", "[]"),
        ("ZRANGE z 0 0 WITHSCORES", "[\"a\", \"1\"]"),
        ("ZRANGE z 0 1 REV", "[\"e\", \"d\"]"),
        ("ZRANGE z -1 -1 REV", "[\"a\"]"),
        ("ZREVRANGE z 0 -1", "[\"e\", \"d\", \"c\", \"b\", \"a\"]"),
        ("ZREVRANGE z 1 2 WITHSCORES", "[\"d\", \"4\", \"c\", \"3\"]"),
        ("ZRANGE missing 0 -1", "[]"),
        ("ZRANGE z a 1", "-ERR value is not an integer or out of range"),
        ("ZRANGE z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        ("ZREVRANGE z 0 1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        ("ZRANGE z 0 1 FOO", "-ERR syntax error"),
        ("ZRANGE z 0 1 REV REV", "-ERR syntax error"),
        ("ZRANGE z 0 1 BYSCORE BYLEX", "-ERR syntax error"),
        ("ZRANGE z 0 1 LIMIT 0", "-ERR syntax error"),
        ("ZREVRANGE z 0 1 REV", "-ERR syntax error"),
        ("SET str x", "+OK"),
        ("ZRANGE str 0 -1", WRONGTYPE),
        ("ZREVRANGE str 0 -1", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn zrange_by_score() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z -inf n 1 a 2 b 2 c 3 d 4.5 e inf p", ":7"),
        (
            "ZRANGE z -inf +inf BYSCORE",
            "[\"n\", \"a\", \"b\", \"c\", \"d\", \"e\", \"p\"]",
        ),
        (
            "ZRANGE z (-inf (inf BYSCORE",
            "[\"a\", \"b\", \"c\", \"d\", \"e\"]",
        ),
        (
            "ZRANGE z 2 3 BYSCORE WITHSCORES",
            "[\"b\", \"2\", \"c\", \"2\", \"d\", \"3\"]",
        ),
        ("ZRANGE z (2 4.5 BYSCORE", "[\"d\", \"e\"]"),
        ("ZRANGE z 2 (3 BYSCORE", "[\"b\", \"c\"]"),
        ("ZRANGE z (2 (3 BYSCORE", "[]"),
        ("ZRANGE z 3 2 BYSCORE", "[]"),
        ("ZRANGE z 3 2 BYSCORE REV", "[\"d\", \"c\", \"b\"]"),
        ("ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2", "[\"e\", \"d\"]"),
        (
            "ZRANGE z -inf +inf BYSCORE LIMIT 2 3",
            "[\"b\", \"c\", \"d\"]",
        ),
        ("ZRANGE z -inf +inf BYSCORE LIMIT 5 -1", "[\"e\", \"p\"]"),
        ("ZRANGE z -inf +inf BYSCORE LIMIT 0 0", "[]"),
        ("ZRANGE z -inf +inf BYSCORE LIMIT 10 5", "[]"),
        ("ZRANGE z -inf +inf BYSCORE LIMIT -1 2", "[]"),
        ("ZRANGEBYSCORE z 1 2", "[\"a\", \"b\", \"c\"]"),
        ("ZRANGEBYSCORE z 1 2 WITHSCORES LIMIT 1 1", "[\"b\", \"2\"]"),
        (
            "ZRANGEBYSCORE z 1 2 LIMIT 1 5 WITHSCORES",
            "[\"b\", \"2\", \"c\", \"2\"]",
        ),
        ("ZREVRANGEBYSCORE z 2 1", "[\"c\", \"b\", \"a\"]"),
        (
            "ZREVRANGEBYSCORE z (3 -inf LIMIT 1 2 WITHSCORES",
            "[\"b\", \"2\", \"a\", \"1\"]",
        ),
        ("ZREVRANGEBYSCORE z 1 2", "[]"),
        ("ZRANGEBYSCORE z inf inf WITHSCORES", "[\"p\", \"inf\"]"),
        ("ZRANGEBYSCORE missing 0 1", "[]"),
        ("ZRANGE z a 1 BYSCORE", "-ERR min or max is not a float"),
        ("ZRANGEBYSCORE z 1 x", "-ERR min or max is not a float"),
        ("ZRANGEBYSCORE z 1 nan", "-ERR min or max is not a float"),
        (
            "ZRANGEBYSCORE z 1 2 LIMIT a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("ZRANGEBYSCORE z 1 2 REV", "-ERR syntax error"),
        ("ZRANGEBYSCORE z 1 2 BYSCORE", "-ERR syntax error"),
        ("SET str x", "+OK"),
        ("ZRANGEBYSCORE str 0 1", WRONGTYPE),
        ("ZREVRANGEBYSCORE str 1 0", WRONGTYPE),
        // Argument errors come before the type check.
        ("ZRANGEBYSCORE str x 1", "-ERR min or max is not a float"),
    ])
    .await;
}

#[tokio::test]
async fn zrange_by_lex() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 0 a 0 b 0 c 0 d 0 e 0 f", ":6"),
        (
            "ZRANGE z - + BYLEX",
            "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]",
        ),
        ("ZRANGE z [b (e BYLEX", "[\"b\", \"c\", \"d\"]"),
        ("ZRANGE z (b [e BYLEX", "[\"c\", \"d\", \"e\"]"),
        ("ZRANGE z [bb + BYLEX", "[\"c\", \"d\", \"e\", \"f\"]"),
        ("ZRANGE z + - BYLEX", "[]"),
        (
            "ZRANGE z + - BYLEX REV",
            "[\"f\", \"e\", \"d\", \"c\", \"b\", \"a\"]",
        ),
        ("ZRANGE z + - BYLEX REV LIMIT 1 2", "[\"e\", \"d\"]"),
        ("ZRANGE z - + BYLEX LIMIT 4 10", "[\"e\", \"f\"]"),
        ("ZRANGEBYLEX z - [c", "[\"a\", \"b\", \"c\"]"),
        ("ZRANGEBYLEX z - [c LIMIT 1 1", "[\"b\"]"),
        ("ZREVRANGEBYLEX z [c -", "[\"c\", \"b\", \"a\"]"),
        ("ZREVRANGEBYLEX z (c - LIMIT 0 1", "[\"b\"]"),
        ("ZRANGEBYLEX z [a [a", "[\"a\"]"),
        ("ZRANGEBYLEX z (a (a", "[]"),
        ("ZRANGEBYLEX missing - +", "[]"),
        (
            "ZRANGE z - + BYLEX WITHSCORES",
            "-ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            "ZRANGEBYLEX z - + WITHSCORES",
            "-ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (
            "ZRANGEBYLEX z a +",
            "-ERR min or max not valid string range item",
        ),
        (
            "ZRANGEBYLEX z - ++",
            "-ERR min or max not valid string range item",
        ),
        ("SET str x", "+OK"),
        ("ZRANGEBYLEX str - +", WRONGTYPE),
        ("ZREVRANGEBYLEX str + -", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn zrangestore() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD src 1 a 2 b 3 c 4 d", ":4"),
        ("ZRANGESTORE dst src 1 2", ":2"),
        ("ZRANGE dst 0 -1 WITHSCORES", "[\"b\", \"2\", \"c\", \"3\"]"),
        ("ZRANGESTORE dst src +inf (1 BYSCORE REV LIMIT 0 2", ":2"),
        ("ZRANGE dst 0 -1", "[\"c\", \"d\"]"),
        ("ZRANGESTORE dst src [a [b BYLEX", ":2"),
        ("ZRANGE dst 0 -1", "[\"a\", \"b\"]"),
        ("SET other x EX 100", "+OK"),
        ("ZRANGESTORE other src 0 0", ":1"),
        ("TYPE other", "+zset"),
        ("TTL other", ":-1"),
        // An empty result deletes the destination.
        ("ZRANGESTORE dst src 10 20", ":0"),
        ("EXISTS dst", ":0"),
        ("ZRANGESTORE other missing 0 -1", ":0"),
        ("EXISTS other", ":0"),
        ("ZRANGESTORE dst src 0 -1 WITHSCORES", "-ERR syntax error"),
        ("ZRANGESTORE dst src 0 -1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        ("SET str x", "+OK"),
        ("ZRANGESTORE dst str 0 -1", WRONGTYPE),
        // The source may be the destination.
        ("ZRANGESTORE src src 0 1", ":2"),
        ("ZRANGE src 0 -1", "[\"a\", \"b\"]"),
    ])
    .await;
}

#[tokio::test]
async fn removals_and_pops() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 1 a 2 b 3 c", ":3"),
        ("ZREM z a x a", ":1"),
        ("ZREM missing a", ":0"),
        ("ZREM z b c", ":2"),
        ("EXISTS z", ":0"),
        ("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", ":6"),
        ("ZREMRANGEBYRANK z 0 1", ":2"),
        ("ZREMRANGEBYRANK z -1 -1", ":1"),
        ("ZREMRANGEBYRANK z 5 10", ":0"),
        ("ZRANGE z 0 -1", "[\"c\", \"d\", \"e\"]"),
        ("ZREMRANGEBYSCORE z (3 4", ":1"),
        ("ZREMRANGEBYSCORE z -inf +inf", ":2"),
        ("EXISTS z", ":0"),
        ("ZADD z 0 a 0 b 0 c 0 d", ":4"),
        ("ZREMRANGEBYLEX z (a [c", ":2"),
        ("ZRANGE z 0 -1", "[\"a\", \"d\"]"),
        ("ZREMRANGEBYLEX z - +", ":2"),
        ("EXISTS z", ":0"),
        ("ZREMRANGEBYRANK z 0 -1", ":0"),
        ("ZREMRANGEBYSCORE z x 1", "-ERR min or max is not a float"),
        (
            "ZREMRANGEBYLEX z x +",
            "-ERR min or max not valid string range item",
        ),
        (
            "ZREMRANGEBYRANK z x 1",
            "-ERR value is not an integer or out of range",
        ),
        ("ZADD z 1 a 2 b 3 c 4 d", ":4"),
        ("ZPOPMIN z", "[\"a\", \"1\"]"),
        ("ZPOPMAX z", "[\"d\", \"4\"]"),
        ("ZPOPMIN z 0", "[]"),
        ("ZPOPMAX z 5", "[\"c\", \"3\", \"b\", \"2\"]"),
        ("EXISTS z", ":0"),
        ("ZPOPMIN z", "[]"),
        ("ZPOPMIN z 2", "[]"),
        (
            "ZPOPMIN z -1",
            "-ERR value is out of range, must be positive",
        ),
        (
            "ZPOPMIN z x",
            "-ERR value is out of range, must be positive",
        ),
        ("ZPOPMIN z 1 2", "-ERR syntax error"),
        ("ZADD a 1 x 2 y", ":2"),
        ("ZADD b 5 p 6 q 7 r", ":3"),
        ("ZMPOP 2 missing a MIN", "[\"a\", [[\"x\", \"1\"]]]"),
        ("ZMPOP 2 a b MAX COUNT 5", "[\"a\", [[\"y\", \"2\"]]]"),
        ("EXISTS a", ":0"),
        (
            "ZMPOP 2 a b max count 2",
            "[\"b\", [[\"r\", \"7\"], [\"q\", \"6\"]]]",
        ),
        ("ZMPOP 1 missing MIN", "nil"),
        ("ZMPOP 0 b MIN", "-ERR numkeys should be greater than 0"),
        ("ZMPOP 3 b MIN", "-ERR syntax error"),
        (
            "ZMPOP 1 b",
            "-ERR wrong number of arguments for 'zmpop' command",
        ),
        ("ZMPOP 2 b MIN", "-ERR syntax error"),
        ("ZMPOP 1 b MIDDLE", "-ERR syntax error"),
        (
            "ZMPOP 1 b MIN COUNT 0",
            "-ERR count should be greater than 0",
        ),
        ("ZMPOP 1 b MIN COUNT", "-ERR syntax error"),
        ("ZMPOP 1 b MIN COUNT 1 COUNT 1", "-ERR syntax error"),
        ("SET str x", "+OK"),
        ("ZREM str a", WRONGTYPE),
        ("ZREMRANGEBYRANK str 0 1", WRONGTYPE),
        ("ZPOPMIN str", WRONGTYPE),
        ("ZMPOP 2 missing str MIN", WRONGTYPE),
        ("ZMPOP 2 b str MIN", "[\"b\", [[\"p\", \"5\"]]]"),
    ])
    .await;
}

#[tokio::test]
async fn union_inter_diff() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z1 1 a 2 b 3 c", ":3"),
        ("ZADD z2 10 b 20 c 30 d", ":3"),
        (
            "ZUNION 2 z1 z2 WITHSCORES",
            "[\"a\", \"1\", \"b\", \"12\", \"c\", \"23\", \"d\", \"30\"]",
        ),
        (
            "ZUNION 2 z1 z2 WEIGHTS 2 0.5 WITHSCORES",
            "[\"a\", \"2\", \"b\", \"9\", \"d\", \"15\", \"c\", \"16\"]",
        ),
        (
            "ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES",
            "[\"a\", \"1\", \"b\", \"2\", \"c\", \"3\", \"d\", \"30\"]",
        ),
        (
            "ZUNION 2 z1 z2 AGGREGATE max WITHSCORES",
            "[\"a\", \"1\", \"b\", \"10\", \"c\", \"20\", \"d\", \"30\"]",
        ),
        (
            "ZINTER 2 z1 z2 WITHSCORES",
            "[\"b\", \"12\", \"c\", \"23\"]",
        ),
        ("ZINTER 2 z1 missing", "[]"),
        ("ZDIFF 2 z1 z2 WITHSCORES", "[\"a\", \"1\"]"),
        ("ZDIFF 1 z1", "[\"a\", \"b\", \"c\"]"),
        ("ZDIFF 2 missing z1", "[]"),
        ("ZUNIONSTORE out 2 z1 z2 WEIGHTS 1 -1", ":4"),
        (
            "ZRANGE out 0 -1 WITHSCORES",
            "[\"d\", \"-30\", \"c\", \"-17\", \"b\", \"-8\", \"a\", \"1\"]",
        ),
        ("ZDIFFSTORE out 2 z1 z2", ":1"),
        ("ZRANGE out 0 -1 WITHSCORES", "[\"a\", \"1\"]"),
        ("ZINTERSTORE out 2 z1 missing", ":0"),
        ("EXISTS out", ":0"),
        // The destination may be an input.
        ("ZUNIONSTORE z1 2 z1 z1", ":3"),
        (
            "ZRANGE z1 0 -1 WITHSCORES",
            "[\"a\", \"2\", \"b\", \"4\", \"c\", \"6\"]",
        ),
        ("ZINTERCARD 2 z1 z2", ":2"),
        ("ZINTERCARD 2 z1 z2 LIMIT 1", ":1"),
        ("ZINTERCARD 2 z1 z2 LIMIT 0", ":2"),
        ("ZINTERCARD 2 z1 missing", ":0"),
        (
            "ZINTERCARD 0 z1",
            "-ERR at least 1 input key is needed for 'zintercard' command",
        ),
        ("ZINTERCARD 2 z1", "-ERR syntax error"),
        ("ZINTERCARD 1 z1 LIMIT -1", "-ERR LIMIT can't be negative"),
        ("ZINTERCARD 1 z1 FOO 1", "-ERR syntax error"),
        (
            "ZUNION 0 z1",
            "-ERR at least 1 input key is needed for 'zunion' command",
        ),
        (
            "ZINTERSTORE out 0 z1",
            "-ERR at least 1 input key is needed for 'zinterstore' command",
        ),
        (
            "ZDIFF 0 z1",
            "-ERR at least 1 input key is needed for 'zdiff' command",
        ),
        ("ZUNION 3 z1 z2", "-ERR syntax error"),
        (
            "ZUNION x z1",
            "-ERR value is not an integer or out of range",
        ),
        ("ZUNION 2 z1 z2 WEIGHTS 1", "-ERR syntax error"),
        (
            "ZUNION 2 z1 z2 WEIGHTS 1 x",
            "-ERR weight value is not a float",
        ),
        ("ZUNION 2 z1 z2 AGGREGATE AVG", "-ERR syntax error"),
        ("ZDIFF 2 z1 z2 WEIGHTS 1 2", "-ERR syntax error"),
        ("ZUNIONSTORE out 2 z1 z2 WITHSCORES", "-ERR syntax error"),
        ("SET str x", "+OK"),
        ("ZUNION 2 z1 str", WRONGTYPE),
        ("ZINTER 2 missing str", WRONGTYPE),
        ("ZDIFFSTORE out 2 z1 str", WRONGTYPE),
        ("ZINTERCARD 2 z1 str", WRONGTYPE),
    ])
    .await;
}

#[tokio::test]
async fn union_with_infinities() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD a inf x 1 y", ":2"),
        ("ZADD b -inf x 2 y", ":2"),
        // inf + -inf counts as 0, as does inf * 0.
        ("ZUNION 2 a b WITHSCORES", "[\"x\", \"0\", \"y\", \"3\"]"),
        (
            "ZUNION 1 a WEIGHTS 0 WITHSCORES",
            "[\"x\", \"0\", \"y\", \"0\"]",
        ),
        (
            "ZINTER 2 a b AGGREGATE MIN WITHSCORES",
            "[\"x\", \"-inf\", \"y\", \"1\"]",
        ),
    ])
    .await;
}

#[tokio::test]
async fn resp3_shapes() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.q("HELLO 3").await;
    c.table(&[
        ("ZADD z 1 a 2.5 b 3 c", ":3"),
        ("ZSCORE z b", ",2.5"),
        ("ZSCORE z x", "_"),
        ("ZMSCORE z a x", "[,1, _]"),
        ("ZINCRBY z 1 a", ",2"),
        ("ZADD z INCR 1 a", ",3"),
        ("ZADD z NX INCR 1 a", "_"),
        ("ZRANGE z 0 -1", "[\"b\", \"a\", \"c\"]"),
        (
            "ZRANGE z 0 -1 WITHSCORES",
            "[[\"b\", ,2.5], [\"a\", ,3], [\"c\", ,3]]",
        ),
        (
            "ZRANGEBYSCORE z 3 3 WITHSCORES",
            "[[\"a\", ,3], [\"c\", ,3]]",
        ),
        ("ZREVRANGE z 0 0 WITHSCORES", "[[\"c\", ,3]]"),
        (
            "ZUNION 1 z WITHSCORES",
            "[[\"b\", ,2.5], [\"a\", ,3], [\"c\", ,3]]",
        ),
        (
            "ZSCAN z 0",
            "[\"0\", [\"b\", \"2.5\", \"a\", \"3\", \"c\", \"3\"]]",
        ),
        // Without a count ZPOPMIN is one flat pair; with one, pairs.
        ("ZPOPMIN z", "[\"b\", ,2.5]"),
        ("ZPOPMAX z 1", "[[\"c\", ,3]]"),
        ("ZPOPMIN missing", "[]"),
        ("ZMPOP 1 z MIN", "[\"z\", [[\"a\", ,3]]]"),
        ("ZMPOP 1 z MIN", "_"),
        ("ZRANDMEMBER z", "_"),
        ("ZRANK z a", "_"),
    ])
    .await;
    c.q("ZADD r 1 a").await;
    assert_eq!(
        c.q("ZRANDMEMBER r 1 WITHSCORES").await.to_string(),
        "[[\"a\", ,1]]"
    );
    assert_eq!(
        c.q("ZRANDMEMBER r -2 WITHSCORES").await.to_string(),
        "[[\"a\", ,1], [\"a\", ,1]]"
    );
}

#[tokio::test]
async fn zrandmember() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZRANDMEMBER missing", "nil"),
        ("ZRANDMEMBER missing 3", "[]"),
        ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5"),
        ("ZRANDMEMBER z 0", "[]"),
        // A count reaching the size gives the whole (small) set, highest score first.
        ("ZRANDMEMBER z 10", "[\"e\", \"d\", \"c\", \"b\", \"a\"]"),
        ("ZRANDMEMBER z 1 x", "-ERR syntax error"),
        ("ZRANDMEMBER z x", "-ERR value is not an integer or out of range"),
        ("ZRANDMEMBER z -9223372036854775808", "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        ("SET str x", "+OK"),
        ("ZRANDMEMBER str", WRONGTYPE),
        ("ZRANDMEMBER str 1", WRONGTYPE),
    ])
    .await;
    let all: BTreeSet<Vec<u8>> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();
    let one = c.q("ZRANDMEMBER z").await.bytes();
    assert!(all.contains(&one));
    // A positive count gives distinct members.
    for _ in 0..20 {
        let picked: Vec<Vec<u8>> = c
            .q("ZRANDMEMBER z 3")
            .await
            .array()
            .iter()
            .map(Reply::bytes)
            .collect();
        let distinct: BTreeSet<_> = picked.iter().cloned().collect();
        assert_eq!(picked.len(), 3);
        assert_eq!(distinct.len(), 3, "{picked:?}");
        assert!(distinct.is_subset(&all));
    }
    // A negative count repeats members; with scores each member carries its own score.
    let picked = c.q("ZRANDMEMBER z -50 WITHSCORES").await;
    let flat = picked.array();
    assert_eq!(flat.len(), 100);
    let scores: BTreeMap<&str, &str> =
        [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")].into();
    for pair in flat.chunks(2) {
        assert_eq!(scores[pair[0].text().as_str()], pair[1].text());
    }
    let distinct: BTreeSet<String> = flat.chunks(2).map(|p| p[0].text()).collect();
    assert!(distinct.len() > 1, "50 picks all equal: {distinct:?}");
}

#[tokio::test]
async fn zscan() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZSCAN missing 0", "[\"0\", []]"),
        ("ZADD small 1 a 2 b 3 c", ":3"),
        // Small sets come back whole, whatever COUNT says.
        (
            "ZSCAN small 0 COUNT 1",
            "[\"0\", [\"a\", \"1\", \"b\", \"2\", \"c\", \"3\"]]",
        ),
        ("ZSCAN small 0 MATCH b*", "[\"0\", [\"b\", \"2\"]]"),
        ("ZSCAN small x", "-ERR invalid cursor"),
        ("ZSCAN small 0 COUNT 0", "-ERR syntax error"),
        ("ZSCAN small 0 FOO bar", "-ERR syntax error"),
        ("SET str x", "+OK"),
        ("ZSCAN str 0", WRONGTYPE),
    ])
    .await;
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..1000 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    assert_eq!(c.cmd(&args).await.int(), 1000);
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let reply = c.cmd(&["ZSCAN", "big", &cursor, "COUNT", "50"]).await;
        let parts = reply.array();
        cursor = parts[0].text();
        for pair in parts[1].array().chunks(2) {
            seen.insert(pair[0].text(), pair[1].text());
        }
        rounds += 1;
        if cursor == "0" {
            break;
        }
        // Members removed during the scan must not hide the ones that stay.
        if rounds == 3 {
            c.q("ZREMRANGEBYSCORE big 900 999").await;
        }
        assert!(rounds < 1000);
    }
    assert!(rounds > 1, "a 1000-member set came back in one page");
    for i in 0..900 {
        assert_eq!(
            seen.get(&format!("m{i}")),
            Some(&i.to_string()),
            "m{i} missed"
        );
    }
}

#[tokio::test]
async fn type_encoding_expiry_rename() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("ZADD z 1 a", ":1"),
        ("TYPE z", "+zset"),
        ("OBJECT ENCODING z", "\"listpack\""),
        (
            "ZADD long 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ":1",
        ),
        ("OBJECT ENCODING long", "\"skiplist\""),
        ("RENAME z z2", "+OK"),
        ("ZSCORE z2 a", "\"1\""),
        ("COPY z2 z3", ":1"),
        ("ZADD z3 2 b", ":1"),
        ("ZCARD z2", ":1"),
        ("ZCARD z3", ":2"),
        ("PEXPIRE z3 1", ":1"),
    ])
    .await;
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..129 {
        args.push(i.to_string());
        args.push(i.to_string());
    }
    c.cmd(&args).await;
    assert_eq!(c.q("OBJECT ENCODING big").await.text(), "skiplist");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(c.int("EXISTS z3").await, 0);
    assert_eq!(c.q("ZRANGE z3 0 -1").await.to_string(), "[]");
}

#[tokio::test]
async fn plain_sets_score_one() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let sadd = c.q("SADD s c d e").await;
    if let Reply::Error(e) = &sadd {
        if e.starts_with("ERR unknown command") {
            println!("NOTE: plain-set inputs not checked: this build has no SADD yet");
            return;
        }
    }
    assert_eq!(sadd.to_string(), ":3");
    c.table(&[
        ("ZADD z1 1 a 2 b 3 c", ":3"),
        ("ZADD z2 10 b 20 c 30 d", ":3"),
        (
            "ZUNION 3 z1 z2 s WITHSCORES",
            "[\"a\", \"1\", \"e\", \"1\", \"b\", \"12\", \"c\", \"24\", \"d\", \"31\"]",
        ),
        ("ZINTER 3 z1 z2 s WITHSCORES", "[\"c\", \"24\"]"),
        ("ZDIFF 2 z2 s", "[\"b\"]"),
        ("ZINTERSTORE out 2 z1 s AGGREGATE MAX", ":1"),
        ("ZRANGE out 0 -1 WITHSCORES", "[\"c\", \"3\"]"),
        ("ZINTERCARD 3 z1 z2 s", ":1"),
        (
            "ZINTER 2 s z1 WEIGHTS 5 1 AGGREGATE MIN WITHSCORES",
            "[\"c\", \"3\"]",
        ),
    ])
    .await;
}

/// `listpack` up to 128 members of at most 64 bytes, then `skiplist` for good; store results
/// are created in the encoding their size calls for (Redis 7.2 `zsetTypeCreate`).
#[tokio::test]
async fn encoding_transitions() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..128 {
        args.push(i.to_string());
        args.push(format!("m{i:03}"));
    }
    c.cmd(&args).await;
    assert_eq!(c.q("OBJECT ENCODING z").await.text(), "listpack");
    assert_eq!(c.int("ZADD z 1000 m128").await, 1);
    assert_eq!(c.q("OBJECT ENCODING z").await.text(), "skiplist");
    c.table(&[
        ("ZRANGESTORE small z 0 9", ":10"),
        ("OBJECT ENCODING small", "\"listpack\""),
        ("ZUNIONSTORE all 1 z", ":129"),
        ("OBJECT ENCODING all", "\"skiplist\""),
        ("ZINTERSTORE both 2 z small", ":10"),
        ("OBJECT ENCODING both", "\"listpack\""),
        ("ZREMRANGEBYRANK z 0 -2", ":128"),
        ("ZCARD z", ":1"),
        ("OBJECT ENCODING z", "\"skiplist\""),
        (
            "ZRANGE small 0 2 WITHSCORES",
            "[\"m000\", \"0\", \"m001\", \"1\", \"m002\", \"2\"]",
        ),
        // A listpack keeps -0 as 0.
        ("ZADD mixed 1.5 a -0 b 0.25 c inf d", ":4"),
        (
            "ZRANGE mixed 0 -1 WITHSCORES",
            "[\"b\", \"0\", \"c\", \"0.25\", \"a\", \"1.5\", \"d\", \"inf\"]",
        ),
        ("OBJECT ENCODING mixed", "\"listpack\""),
    ])
    .await;
}

/// A set well past the `listpack` limits (scores with ties, members of 3 to 40 bytes), changed
/// by adds, score updates, removals and pops, answers ranges, ranks and counts as a sorted
/// model says after every step.
#[tokio::test]
async fn big_set_matches_a_sorted_model() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    // The model: member -> score; the order is (score, member bytes).
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let mut seed = 12345u64;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let member = |i: u64| {
        let pad = if i % 9 == 0 {
            "x".repeat(30)
        } else {
            String::new()
        };
        format!("m{i}{pad}")
    };
    for step in 0..6 {
        // Adds and score changes, some for members already there.
        let mut args = vec!["ZADD".to_string(), "z".to_string()];
        let mut pairs = BTreeMap::new();
        for _ in 0..if step == 0 { 400 } else { 150 } {
            pairs.insert(member(next(700)), next(40) as i64 - 20);
        }
        let added = pairs.keys().filter(|m| !model.contains_key(*m)).count();
        for (m, score) in &pairs {
            args.push(score.to_string());
            args.push(m.clone());
            model.insert(m.clone(), *score);
        }
        assert_eq!(c.cmd(&args).await.int(), added as i64, "step {step}");
        // Removals, present or not.
        for _ in 0..30 {
            let m = member(next(700));
            let gone = model.remove(&m).is_some();
            assert_eq!(c.cmd(&["ZREM", "z", &m]).await.int(), gone as i64);
        }
        // Pops from both ends.
        let mut order: Vec<(i64, String)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
        order.sort();
        let low: Vec<String> = order[..3]
            .iter()
            .flat_map(|(s, m)| [m.clone(), s.to_string()])
            .collect();
        let high: Vec<String> = order[order.len() - 2..]
            .iter()
            .rev()
            .flat_map(|(s, m)| [m.clone(), s.to_string()])
            .collect();
        let texts = |r: Reply| r.array().iter().map(Reply::text).collect::<Vec<_>>();
        assert_eq!(texts(c.q("ZPOPMIN z 3").await), low);
        assert_eq!(texts(c.q("ZPOPMAX z 2").await), high);
        for (_, m) in order[..3].iter().chain(&order[order.len() - 2..]) {
            model.remove(m);
        }
        order = model.iter().map(|(m, s)| (*s, m.clone())).collect();
        order.sort();

        assert!(order.len() > 128, "the set stays past the listpack limit");
        assert_eq!(c.q("OBJECT ENCODING z").await.text(), "skiplist");
        assert_eq!(c.q("ZCARD z").await.int(), order.len() as i64);
        let all: Vec<String> = order
            .iter()
            .flat_map(|(s, m)| [m.clone(), s.to_string()])
            .collect();
        assert_eq!(texts(c.q("ZRANGE z 0 -1 WITHSCORES").await), all);
        let mut rev: Vec<String> = order.iter().rev().map(|(_, m)| m.clone()).collect();
        assert_eq!(texts(c.q("ZREVRANGE z 0 -1").await), rev);
        rev.truncate(7);
        assert_eq!(
            texts(c.q("ZRANGE z +inf -inf BYSCORE REV LIMIT 0 7").await),
            rev
        );
        for (rank, (score, m)) in order.iter().enumerate().step_by(17) {
            assert_eq!(c.cmd(&["ZRANK", "z", m]).await.int(), rank as i64);
            let back = (order.len() - 1 - rank) as i64;
            assert_eq!(c.cmd(&["ZREVRANK", "z", m]).await.int(), back);
            assert_eq!(c.cmd(&["ZSCORE", "z", m]).await.text(), score.to_string());
        }
        for (lo, hi) in [(-5, 5), (-20, -19), (3, 3), (30, 40)] {
            let within: Vec<String> = order
                .iter()
                .filter(|(s, _)| (lo..=hi).contains(s))
                .map(|(_, m)| m.clone())
                .collect();
            let open: Vec<String> = order
                .iter()
                .filter(|(s, _)| lo < *s && *s <= hi)
                .map(|(_, m)| m.clone())
                .collect();
            let skip: Vec<String> = within.iter().skip(2).take(4).cloned().collect();
            let (lo, hi) = (lo.to_string(), hi.to_string());
            let count = c.cmd(&["ZCOUNT", "z", &lo, &hi]).await.int();
            assert_eq!(count, within.len() as i64);
            let got = texts(c.cmd(&["ZRANGEBYSCORE", "z", &lo, &hi]).await);
            assert_eq!(got, within);
            let got = texts(c.cmd(&["ZRANGEBYSCORE", "z", &format!("({lo}"), &hi]).await);
            assert_eq!(got, open);
            let got = texts(
                c.cmd(&["ZRANGEBYSCORE", "z", &lo, &hi, "LIMIT", "2", "4"])
                    .await,
            );
            assert_eq!(got, skip);
        }
    }
    // Removal by rank and by score range, then the whole order once more.
    let mut order: Vec<(i64, String)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
    order.sort();
    assert_eq!(c.q("ZREMRANGEBYRANK z 10 29").await.int(), 20);
    order.drain(10..30);
    let in_range = order.iter().filter(|(s, _)| (-2..=2).contains(s)).count();
    assert_eq!(c.q("ZREMRANGEBYSCORE z -2 2").await.int(), in_range as i64);
    order.retain(|(s, _)| !(-2..=2).contains(s));
    let members: Vec<String> = order.iter().map(|(_, m)| m.clone()).collect();
    let got: Vec<String> = c
        .q("ZRANGE z 0 -1")
        .await
        .array()
        .iter()
        .map(Reply::text)
        .collect();
    assert_eq!(got, members);

    // Equal scores: lex ranges walk the members' bytes.
    let mut args = vec!["ZADD".to_string(), "lex".to_string()];
    let mut names: Vec<String> = (0..300).map(|i| format!("w{:03}", (i * 7) % 300)).collect();
    for n in &names {
        args.push("0".to_string());
        args.push(n.clone());
    }
    assert_eq!(c.cmd(&args).await.int(), 300);
    names.sort();
    let want: Vec<String> = names
        .iter()
        .filter(|n| n.as_str() >= "w100" && n.as_str() < "w150")
        .cloned()
        .collect();
    let got: Vec<String> = c
        .q("ZRANGEBYLEX lex [w100 (w150")
        .await
        .array()
        .iter()
        .map(Reply::text)
        .collect();
    assert_eq!(got, want);
    assert_eq!(c.q("ZLEXCOUNT lex (w100 +").await.int(), 199);
    let rev: Vec<String> = c
        .q("ZREVRANGEBYLEX lex + - LIMIT 0 3")
        .await
        .array()
        .iter()
        .map(Reply::text)
        .collect();
    assert_eq!(rev, ["w299", "w298", "w297"]);
}
