//! The node client against a scripted node: the greeting it sends, replies, refusals and
//! deadlines.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A node that, for each step, reads until it has seen the step's requests (encoded) and then
/// answers with the step's reply; it keeps the connection open afterwards.
async fn scripted(steps: Vec<(Vec<u8>, &'static [u8])>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        for (expect, reply) in steps {
            let mut seen = Vec::new();
            while seen.len() < expect.len() {
                let mut chunk = [0u8; 1024];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                }
            }
            assert_eq!(
                String::from_utf8_lossy(&seen),
                String::from_utf8_lossy(&expect)
            );
            socket.write_all(reply).await.expect("write");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    addr
}

fn encoded(requests: &[&[&[u8]]]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for request in requests {
        encode_request_into(&mut out, request);
    }
    out.to_vec()
}

fn options(addr: SocketAddr, password: Option<&str>, epoch: u64) -> ConnectOptions {
    ConnectOptions {
        epoch: (epoch > 0).then(|| Arc::new(AtomicU64::new(epoch))),
        ..ConnectOptions::plain(addr, password.map(str::to_string), Duration::from_secs(2))
    }
}

#[tokio::test]
async fn greets_with_auth_and_epoch_then_exchanges_requests() {
    let greeting = encoded(&[&[b"AUTH", b"pw"], &[b"EPOCH", b"3"]]);
    let info = encoded(&[&[b"INFO", b"replication"]]);
    let addr = scripted(vec![
        (greeting, b"+OK\r\n+OK\r\n"),
        (info, b"$11\r\nrole:master\r\n"),
    ])
    .await;
    let mut client = NodeClient::connect(&options(addr, Some("pw"), 3))
        .await
        .expect("greeted");
    assert_eq!(client.epoch(), 3);
    let replies = client
        .request(&[&[b"INFO", b"replication"]], Duration::from_secs(2))
        .await
        .expect("a reply");
    assert_eq!(replies, vec![Bytes::from_static(b"$11\r\nrole:master\r\n")]);
}

#[tokio::test]
async fn resp3_greets_with_hello_and_keeps_bytes_read_past_it() {
    let expect = encoded(&[&[b"HELLO", b"3", b"AUTH", b"default", b"pw"]]);
    let addr = scripted(vec![(expect, b"%1\r\n+proto\r\n:3\r\n+early\r\n")]).await;
    let options = ConnectOptions {
        protocol: Protocol::Resp3,
        ..options(addr, Some("pw"), 0)
    };
    let client = NodeClient::connect(&options).await.expect("greeted");
    let (_, leftover) = client.into_parts();
    assert_eq!(&leftover[..], b"+early\r\n");
}

#[tokio::test]
async fn a_refused_greeting_is_an_error_with_the_nodes_text() {
    let expect = encoded(&[&[b"AUTH", b"bad"]]);
    let addr = scripted(vec![(
        expect,
        b"-WRONGPASS invalid username-password pair\r\n",
    )])
    .await;
    match NodeClient::connect(&options(addr, Some("bad"), 0)).await {
        Err(NodeError::Refused(text)) => {
            assert_eq!(text, "-WRONGPASS invalid username-password pair")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_silent_node_times_out() {
    let expect = encoded(&[&[b"AUTH", b"pw"]]);
    // Reads the greeting and never answers it.
    let addr = scripted(vec![(expect, b"")]).await;
    let options = ConnectOptions {
        connect_timeout: Duration::from_millis(100),
        ..options(addr, Some("pw"), 0)
    };
    let started = std::time::Instant::now();
    assert!(matches!(
        NodeClient::connect(&options).await,
        Err(NodeError::Timeout)
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}
