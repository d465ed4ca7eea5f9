//! The one client for talking to a node: connect within a deadline, greet (`HELLO 3` with
//! `AUTH` for RESP3, `AUTH` for RESP2, then `EPOCH n` when the group has one), and exchange
//! requests and replies, each within a deadline. The pooled connections take the greeted
//! stream over ([`NodeClient::into_parts`]); the health probes keep one client per node; the
//! failover controller opens one per admin exchange.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use redoubt_protocol::reply_decoder::ReplyDecoder;
use redoubt_protocol::request::encode_request_into;
use redoubt_protocol::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How to reach and greet a node.
#[derive(Clone, Debug)]
pub(crate) struct ConnectOptions {
    /// The node.
    pub(crate) addr: SocketAddr,
    /// Protocol to negotiate (`HELLO 3` for RESP3).
    pub(crate) protocol: Protocol,
    /// Password to authenticate with (user `default`).
    pub(crate) password: Option<String>,
    /// Deadline of connecting and greeting together.
    pub(crate) connect_timeout: Duration,
    /// The group's configuration epoch, presented to the node (`EPOCH n`) on connecting (and,
    /// by the pooled connections, again whenever it rises) so the node can fence stale writers.
    pub(crate) epoch: Option<Arc<AtomicU64>>,
    /// The database the connection runs in (`SELECT db` after the greeting when not 0).
    pub(crate) db: usize,
}

impl ConnectOptions {
    /// RESP2, no epoch: what probes and admin exchanges use.
    pub(crate) fn plain(addr: SocketAddr, password: Option<String>, timeout: Duration) -> Self {
        ConnectOptions {
            addr,
            protocol: Protocol::Resp2,
            password,
            connect_timeout: timeout,
            epoch: None,
            db: 0,
        }
    }
}

/// Why an exchange with a node failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NodeError {
    /// Connecting, reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No answer within the deadline.
    #[error("node did not answer in time")]
    Timeout,
    /// The node closed the connection.
    #[error("node closed the connection")]
    Closed,
    /// The node sent bytes that are not RESP.
    #[error("malformed reply")]
    Malformed,
    /// The node answered with an error reply (its text, on one line).
    #[error("{0}")]
    Refused(String),
}

/// A connected, greeted connection to one node.
#[derive(Debug)]
pub(crate) struct NodeClient {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ReplyDecoder,
    /// The epoch presented in the greeting (0: none).
    epoch: u64,
}

impl NodeClient {
    /// Connects to `options.addr` and greets it, all within `options.connect_timeout`.
    ///
    /// # Errors
    /// [`NodeError`] when the node cannot be reached in time or refuses the greeting (wrong
    /// password, an epoch older than its own).
    pub(crate) async fn connect(options: &ConnectOptions) -> Result<NodeClient, NodeError> {
        tokio::time::timeout(options.connect_timeout, Self::connect_and_greet(options))
            .await
            .map_err(|_| NodeError::Timeout)?
    }

    async fn connect_and_greet(options: &ConnectOptions) -> Result<NodeClient, NodeError> {
        let stream = TcpStream::connect(options.addr).await?;
        stream.set_nodelay(true)?;
        let epoch = options
            .epoch
            .as_ref()
            .map_or(0, |cell| cell.load(Ordering::SeqCst));
        let mut client = NodeClient {
            stream,
            buf: BytesMut::with_capacity(4096),
            decoder: ReplyDecoder::new(),
            epoch,
        };
        let epoch_text = epoch.to_string();
        let db_text = options.db.to_string();
        let mut greeting: Vec<Vec<&[u8]>> = Vec::new();
        match (options.protocol, &options.password) {
            (Protocol::Resp3, Some(pw)) => {
                greeting.push(vec![b"HELLO", b"3", b"AUTH", b"default", pw.as_bytes()])
            }
            (Protocol::Resp3, None) => greeting.push(vec![b"HELLO", b"3"]),
            (Protocol::Resp2, Some(pw)) => greeting.push(vec![b"AUTH", pw.as_bytes()]),
            (Protocol::Resp2, None) => {}
        }
        if epoch > 0 {
            greeting.push(vec![b"EPOCH", epoch_text.as_bytes()]);
        }
        if options.db != 0 {
            greeting.push(vec![b"SELECT", db_text.as_bytes()]);
        }
        let requests: Vec<&[&[u8]]> = greeting.iter().map(Vec::as_slice).collect();
        client.exchange(&requests).await?;
        Ok(client)
    }

    /// The epoch presented when connecting (0 when there was none).
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Sends `requests` pipelined and reads their raw replies, in order, within `timeout`.
    ///
    /// # Errors
    /// [`NodeError::Refused`] with the first error reply (the later replies are still read),
    /// or why the exchange failed; after a failure other than `Refused` the client should be
    /// dropped.
    pub(crate) async fn request(
        &mut self,
        requests: &[&[&[u8]]],
        timeout: Duration,
    ) -> Result<Vec<Bytes>, NodeError> {
        tokio::time::timeout(timeout, self.exchange(requests))
            .await
            .map_err(|_| NodeError::Timeout)?
    }

    async fn exchange(&mut self, requests: &[&[&[u8]]]) -> Result<Vec<Bytes>, NodeError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = BytesMut::new();
        for request in requests {
            encode_request_into(&mut out, request);
        }
        self.stream.write_all(&out).await?;
        let mut replies = Vec::with_capacity(requests.len());
        let mut refused = None;
        while replies.len() < requests.len() {
            match self.decoder.next(&mut self.buf) {
                Ok(Some(reply)) => {
                    if refused.is_none() && matches!(reply.first(), Some(b'-' | b'!')) {
                        refused = Some(String::from_utf8_lossy(&reply).trim().to_string());
                    }
                    replies.push(reply);
                    continue;
                }
                Ok(None) => {}
                Err(_) => return Err(NodeError::Malformed),
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(NodeError::Closed);
            }
        }
        match refused {
            Some(text) => Err(NodeError::Refused(text)),
            None => Ok(replies),
        }
    }

    /// Writes one encoded request without waiting for its reply (see [`NodeClient::reply`]).
    ///
    /// # Errors
    /// [`NodeError::Io`] when the write fails.
    pub(crate) async fn send_raw(&mut self, request: &[u8]) -> Result<(), NodeError> {
        self.stream.write_all(request).await?;
        Ok(())
    }

    /// The next reply if it has already arrived whole, without reading the socket: `None`
    /// when more bytes are needed.
    ///
    /// # Errors
    /// [`NodeError::Malformed`]; the client should then be dropped.
    pub(crate) fn buffered_reply(&mut self) -> Result<Option<Bytes>, NodeError> {
        self.decoder
            .next(&mut self.buf)
            .map_err(|_| NodeError::Malformed)
    }

    /// Reads the next reply, raw, error replies included (they are the client's to see).
    /// Cancel-safe: bytes read so far stay buffered for the next call.
    ///
    /// # Errors
    /// [`NodeError::Closed`], [`NodeError::Io`] or [`NodeError::Malformed`]; the client
    /// should then be dropped.
    pub(crate) async fn reply(&mut self) -> Result<Bytes, NodeError> {
        loop {
            match self.decoder.next(&mut self.buf) {
                Ok(Some(reply)) => return Ok(reply),
                Ok(None) => {}
                Err(_) => return Err(NodeError::Malformed),
            }
            self.buf.reserve(4096);
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(NodeError::Closed);
            }
        }
    }

    /// The stream and any bytes already read past the last reply, for a connection that
    /// multiplexes requests on it from now on.
    pub(crate) fn into_parts(self) -> (TcpStream, BytesMut) {
        (self.stream, self.buf)
    }
}

#[cfg(test)]
mod tests;
