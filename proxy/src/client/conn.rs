//! What the proxy knows of one client connection: its id, protocol, authentication, name and
//! database.
//! The session owns it; proxy-local commands change it.

use bytes::Bytes;
use redoubt_protocol::Protocol;

/// One client connection's state.
#[derive(Debug)]
pub(crate) struct ClientConn {
    /// Client id, unique across workers; also the connection affinity to the nodes.
    pub(crate) id: u64,
    /// The protocol the client negotiated with `HELLO` (RESP2 until then).
    pub(crate) protocol: Protocol,
    /// True once authenticated, or from the start when no password is required.
    pub(crate) authenticated: bool,
    /// The name set with `CLIENT SETNAME` or `HELLO ... SETNAME`.
    pub(crate) name: Option<Bytes>,
    /// Set by `QUIT`: close once this reply is written.
    pub(crate) closing: bool,
    /// The proxy's address this client connected to (`INFO`'s `tcp_port`, `CLIENT LIST`'s
    /// `laddr`).
    pub(crate) local: Option<std::net::SocketAddr>,
    /// The database chosen with `SELECT` (0 until then): every routed request runs in it.
    pub(crate) db: usize,
}

impl ClientConn {
    /// A new client `id`, authenticated from the start unless a password is required.
    pub(crate) fn new(id: u64, requires_password: bool) -> ClientConn {
        ClientConn {
            id,
            protocol: Protocol::Resp2,
            authenticated: !requires_password,
            name: None,
            closing: false,
            db: 0,
            local: None,
        }
    }
}
