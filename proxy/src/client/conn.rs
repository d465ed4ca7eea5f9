//! What the proxy knows of one client connection: its id, protocol, authentication, name and
//! database.
//! The session owns it; proxy-local commands change it.

use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::Protocol;

use crate::state::clients::ClientHandle;

/// `CLIENT REPLY` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyMode {
    /// Replies are sent.
    On,
    /// No reply is sent.
    Off,
}

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
    /// This client in the proxy's registry (`CLIENT LIST`, `KILL`, `UNBLOCK`).
    pub(crate) handle: Option<Arc<ClientHandle>>,
    /// `CLIENT REPLY` mode.
    pub(crate) reply_mode: ReplyMode,
    /// Replies still to drop after `CLIENT REPLY SKIP` (its own and the next request's).
    pub(crate) skip: u8,
    /// The group of the client's last write: `Some(None)` after a write to several groups,
    /// `None` before any (where `WAIT` goes).
    pub(crate) last_write: Option<Option<usize>>,
    /// The database chosen with `SELECT` (0 until then): every routed request runs in it.
    pub(crate) db: usize,
}

impl ClientConn {
    /// Whether the reply of the request just dispatched is dropped (`CLIENT REPLY OFF|SKIP`).
    pub(crate) fn take_silence(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return true;
        }
        self.reply_mode == ReplyMode::Off
    }

    /// `RESET`: back to a new connection's state (database 0, RESP2, no name, replies on,
    /// authenticated only when no password is required).
    pub(crate) fn reset(&mut self, requires_password: bool) {
        self.protocol = Protocol::Resp2;
        self.authenticated = !requires_password;
        self.name = None;
        self.db = 0;
        self.reply_mode = ReplyMode::On;
        self.skip = 0;
        if let Some(handle) = &self.handle {
            let mut view = handle.view.lock();
            view.name.clear();
            view.db = 0;
            view.resp = 2;
        }
    }

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
            handle: None,
            reply_mode: ReplyMode::On,
            skip: 0,
            last_write: None,
        }
    }
}
