//! Scripts and functions through the proxy over two groups: `EVAL`, `EVALSHA` and `FCALL`
//! run on the group of their keys (`-CROSSSLOT` over two, keyless on one), the script and
//! function caches are loaded, flushed and listed on every group, so a client's
//! `EVALSHA` → `NOSCRIPT` → `SCRIPT LOAD` → `EVALSHA` works whichever group its keys are in.

use crate::cluster::{keys_by_group, Cluster};
use crate::common::{Raw, Reply};

const INCR: &str = "return redis.call('INCR', KEYS[1])";

fn crossslot() -> Reply {
    Reply::Error("CROSSSLOT Keys in request don't hash to the same slot".into())
}

/// `SCRIPT EXISTS sha` on each group's primary.
async fn exists_per_group(cluster: &Cluster, sha: &str) -> Vec<Reply> {
    let mut found = Vec::new();
    for group in &cluster.groups {
        let mut node = group.nodes[0].raw().await;
        found.push(node.cmd(&["SCRIPT", "EXISTS", sha]).await);
    }
    found
}

async fn get(raw: &mut Raw, key: &str) -> Reply {
    raw.cmd(&["GET", key]).await
}

#[tokio::test]
async fn scripts_run_on_their_keys_group_and_the_noscript_dance_works_everywhere() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "lua", 1).await;
    let (k0, k1) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut client = cluster.proxy.raw().await;

    assert_eq!(client.cmd(&["EVAL", INCR, "1", k0]).await, Reply::Int(1));
    assert_eq!(client.cmd(&["EVAL", INCR, "1", k1]).await, Reply::Int(1));
    let mut node1 = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(get(&mut node1, k1).await, Reply::bulk("1"));
    assert_eq!(node1.cmd(&["EXISTS", k0]).await, Reply::Int(0));
    assert_eq!(
        client.cmd(&["EVAL", "return 1", "2", k0, k1]).await,
        crossslot()
    );
    assert_eq!(
        client.cmd(&["EVAL", "return 'keyless'", "0"]).await,
        Reply::bulk("keyless")
    );
    assert_eq!(
        client
            .cmd(&["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", k1])
            .await,
        Reply::bulk("1")
    );

    // The dance a client library does, after the caches were flushed everywhere.
    assert_eq!(client.cmd(&["SCRIPT", "FLUSH"]).await, Reply::ok());
    let sha = match client.cmd(&["SCRIPT", "LOAD", INCR]).await {
        Reply::Bulk(sha) => String::from_utf8(sha).unwrap(),
        other => panic!("SCRIPT LOAD answered {other}"),
    };
    assert_eq!(
        exists_per_group(&cluster, &sha).await,
        vec![Reply::Array(vec![Reply::Int(1)]); 2]
    );
    assert_eq!(client.cmd(&["SCRIPT", "FLUSH"]).await, Reply::ok());
    assert_eq!(
        exists_per_group(&cluster, &sha).await,
        vec![Reply::Array(vec![Reply::Int(0)]); 2]
    );
    for key in [k0, k1] {
        match client.cmd(&["EVALSHA", &sha, "1", key]).await {
            Reply::Error(text) => assert!(text.starts_with("NOSCRIPT"), "{text}"),
            other => panic!("EVALSHA of a flushed script answered {other}"),
        }
    }
    assert_eq!(
        client.cmd(&["SCRIPT", "LOAD", INCR]).await,
        Reply::bulk(&sha)
    );
    assert_eq!(client.cmd(&["EVALSHA", &sha, "1", k0]).await, Reply::Int(2));
    assert_eq!(client.cmd(&["EVALSHA", &sha, "1", k1]).await, Reply::Int(2));

    // SCRIPT EXISTS answers 1 only for a script every group holds.
    let mut node0 = cluster.groups[0].nodes[0].raw().await;
    let partial = match node0.cmd(&["SCRIPT", "LOAD", "return 'only here'"]).await {
        Reply::Bulk(sha) => String::from_utf8(sha).unwrap(),
        other => panic!("SCRIPT LOAD answered {other}"),
    };
    assert_eq!(
        client
            .cmd(&["SCRIPT", "EXISTS", &sha, &partial, "0000"])
            .await,
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(0)])
    );

    // Inside a transaction a script is a command like any other, on the group of its keys
    // (the transaction's part there).
    client.table(&[("MULTI", "+OK"), ("PING", "+QUEUED")]).await;
    for key in [k1, k0] {
        assert_eq!(
            client.cmd(&["EVALSHA", &sha, "1", key]).await,
            Reply::Simple("QUEUED".into())
        );
    }
    assert_eq!(
        client.cmd(&["EXEC"]).await,
        Reply::Array(vec![
            Reply::Simple("PONG".into()),
            Reply::Int(3),
            Reply::Int(3)
        ])
    );
    assert_eq!(get(&mut client, k1).await, Reply::bulk("3"));
    // One script over two groups' keys is refused at queue time and aborts EXEC.
    client.table(&[("MULTI", "+OK")]).await;
    assert_eq!(
        client.cmd(&["EVALSHA", &sha, "2", k0, k1]).await,
        crossslot()
    );
    assert_eq!(
        client.cmd(&["EXEC"]).await,
        Reply::Error("EXECABORT Transaction discarded because of previous errors.".into())
    );
    assert_eq!(get(&mut client, k1).await, Reply::bulk("3"));
}

#[tokio::test]
async fn functions_load_on_every_group_and_fcall_routes_by_key() {
    let cluster = Cluster::start(&[0, 0], "", "");
    let keys = keys_by_group(&cluster, "fn", 1).await;
    let (k0, k1) = (keys[0][0].as_str(), keys[1][0].as_str());
    let mut client = cluster.proxy.raw().await;
    let library = "#!lua name=counters\n\
        redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\n\
        redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

    assert_eq!(
        client.cmd(&["FUNCTION", "LOAD", library]).await,
        Reply::bulk("counters")
    );
    assert_eq!(
        client.cmd(&["FCALL", "bump", "1", k0, "5"]).await,
        Reply::Int(5)
    );
    assert_eq!(
        client.cmd(&["FCALL", "bump", "1", k1, "7"]).await,
        Reply::Int(7)
    );
    assert_eq!(
        client.cmd(&["FCALL_RO", "peek", "1", k1]).await,
        Reply::bulk("7")
    );
    assert_eq!(
        client.cmd(&["FCALL", "bump", "2", k0, k1, "1"]).await,
        crossslot()
    );
    let mut node1 = cluster.groups[1].nodes[0].raw().await;
    assert_eq!(node1.cmd(&["GET", k1]).await, Reply::bulk("7"));

    // Listed once, though every group holds it; the dump is the same everywhere.
    match client.cmd(&["FUNCTION", "LIST"]).await {
        Reply::Array(libraries) => assert_eq!(libraries.len(), 1, "{libraries:?}"),
        other => panic!("FUNCTION LIST answered {other}"),
    }
    match client.cmd(&["FUNCTION", "DUMP"]).await {
        Reply::Bulk(payload) => assert!(!payload.is_empty()),
        other => panic!("FUNCTION DUMP answered {other}"),
    }
    match client.cmd(&["FUNCTION", "STATS"]).await {
        Reply::Array(fields) => assert_eq!(fields[1], Reply::Nil, "no script is running"),
        other => panic!("FUNCTION STATS answered {other}"),
    }

    assert_eq!(
        client.cmd(&["FUNCTION", "DELETE", "counters"]).await,
        Reply::ok()
    );
    for key in [k0, k1] {
        match client.cmd(&["FCALL", "bump", "1", key, "1"]).await {
            Reply::Error(text) => assert!(text.contains("Function not found"), "{text}"),
            other => panic!("FCALL of a deleted function answered {other}"),
        }
    }
    assert_eq!(
        client.cmd(&["FUNCTION", "LIST"]).await,
        Reply::Array(vec![])
    );
}
