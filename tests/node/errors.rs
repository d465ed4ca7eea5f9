//! Redis's exact error texts.

use crate::common::Server;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[tokio::test]
async fn wrongtype_on_a_list() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("RPUSH l a b", ":2"),
        ("TYPE l", "+list"),
        ("GET l", WRONGTYPE),
        ("SET l v GET", WRONGTYPE),
        ("GETSET l v", WRONGTYPE),
        ("GETDEL l", WRONGTYPE),
        ("GETEX l", WRONGTYPE),
        ("APPEND l x", WRONGTYPE),
        ("STRLEN l", WRONGTYPE),
        ("INCR l", WRONGTYPE),
        ("DECRBY l 2", WRONGTYPE),
        ("INCRBYFLOAT l 1.5", WRONGTYPE),
        ("GETRANGE l 0 -1", WRONGTYPE),
        ("SETRANGE l 0 x", WRONGTYPE),
        // Failed commands left the list alone; type-agnostic commands still work on it.
        ("TYPE l", "+list"),
        ("EXISTS l", ":1"),
        ("EXPIRE l 100", ":1"),
        ("TTL l", ":100"),
        ("COPY l l2", ":1"),
        ("TYPE l2", "+list"),
        ("RENAME l2 l3", "+OK"),
        ("TYPE l3", "+list"),
        // MGET answers nil for a key of another type; MSET overwrites any type.
        ("SET s str", "+OK"),
        ("MGET s l", "[\"str\", nil]"),
        ("MSET l2 now-a-string", "+OK"),
        ("GET l2", "\"now-a-string\""),
        // SET overwrites a value of any type.
        ("SET l v", "+OK"),
        ("TYPE l", "+string"),
        ("DEL l l2 l3", ":3"),
    ])
    .await;
}

#[tokio::test]
async fn unknown_command() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        (
            "FOOBAR",
            "-ERR unknown command 'FOOBAR', with args beginning with: ",
        ),
        (
            "foobar a \"b c\"",
            "-ERR unknown command 'foobar', with args beginning with: 'a' 'b c' ",
        ),
        ("PING", "+PONG"),
    ])
    .await;
}

#[tokio::test]
async fn wrong_number_of_arguments() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    // Fixed-arity commands given too many arguments, variadic ones too few.
    let cases = [
        ("GET", "get"),
        ("GET a b", "get"),
        ("SET a", "set"),
        ("SETNX a", "setnx"),
        ("SETEX a 1", "setex"),
        ("PSETEX a 1", "psetex"),
        ("MGET", "mget"),
        ("MSET a", "mset"),
        ("MSET a 1 b", "mset"),
        ("MSETNX a 1 b", "msetnx"),
        ("GETSET a", "getset"),
        ("GETDEL a b", "getdel"),
        ("APPEND a", "append"),
        ("STRLEN", "strlen"),
        ("INCR a b", "incr"),
        ("DECR", "decr"),
        ("INCRBY a", "incrby"),
        ("DECRBY a", "decrby"),
        ("INCRBYFLOAT a", "incrbyfloat"),
        ("GETRANGE a 0", "getrange"),
        ("SETRANGE a 0", "setrange"),
        ("DEL", "del"),
        ("EXPIRE a", "expire"),
        ("PEXPIRE a", "pexpire"),
        ("EXPIREAT a", "expireat"),
        ("PEXPIREAT a", "pexpireat"),
        ("EXPIRETIME", "expiretime"),
        ("PEXPIRETIME a b", "pexpiretime"),
        ("PTTL", "pttl"),
        ("PERSIST", "persist"),
        ("RENAMENX a", "renamenx"),
        ("RANDOMKEY a", "randomkey"),
        ("DBSIZE a", "dbsize"),
        ("TIME a", "time"),
        ("SELECT 1 2", "select"),
        ("ECHO", "echo"),
        ("OBJECT", "object"),
        ("CONFIG", "config"),
        ("CLIENT", "client"),
    ];
    for (line, name) in cases {
        assert_eq!(
            c.err(line).await,
            format!("ERR wrong number of arguments for '{name}' command"),
            "`{line}`"
        );
    }
    // Subcommands report `command|subcommand`.
    let cases = [
        ("CONFIG GET", "config|get"),
        ("CONFIG SET maxmemory", "config|set"),
        ("OBJECT ENCODING", "object|encoding"),
        ("CLIENT GETNAME x", "client|getname"),
        ("CLIENT ID x", "client|id"),
        ("COMMAND COUNT x", "command|count"),
    ];
    for (line, name) in cases {
        assert_eq!(
            c.err(line).await,
            format!("ERR wrong number of arguments for '{name}' command"),
            "`{line}`"
        );
    }
}

#[tokio::test]
async fn integer_float_and_syntax_errors() {
    let s = Server::start(&[]);
    let mut c = s.raw().await;
    c.table(&[
        ("SET s abc", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        (
            "INCRBY x 1x",
            "-ERR value is not an integer or out of range",
        ),
        (
            "INCRBY x \"\"",
            "-ERR value is not an integer or out of range",
        ),
        (
            "INCRBY x 99999999999999999999",
            "-ERR value is not an integer or out of range",
        ),
        (
            "EXPIRE s ten",
            "-ERR value is not an integer or out of range",
        ),
        (
            "GETRANGE s 0 x",
            "-ERR value is not an integer or out of range",
        ),
        ("INCRBYFLOAT s 1", "-ERR value is not a valid float"),
        ("INCRBYFLOAT x 1.2.3", "-ERR value is not a valid float"),
        ("INCRBYFLOAT x \"\"", "-ERR value is not a valid float"),
        ("INCRBYFLOAT x nan", "-ERR value is not a valid float"),
        ("SET a b c", "-ERR syntax error"),
        ("SET a b EX 1 NX XX", "-ERR syntax error"),
        ("GETEX s PERSIST EX 1", "-ERR syntax error"),
        ("SCAN 0 MATCH", "-ERR syntax error"),
        ("COPY s t REPLACE REPLACE x", "-ERR syntax error"),
        ("SET a b EX 0", "-ERR invalid expire time in 'set' command"),
        (
            "SET a b PX -10",
            "-ERR invalid expire time in 'set' command",
        ),
        ("SELECT 16", "-ERR DB index is out of range"),
        (
            "SELECT 100000000000000",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
        ),
        ("GET s", "\"abc\""),
        ("EXISTS a x", ":0"),
    ])
    .await;
}
