//! Applying a primary's stream on a standby through the same dispatch as clients' requests.

use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::Reply;

use crate::client::Session;
use crate::cmd::Ctx;
use crate::keyspace::Store;
use crate::state::NodeState;

/// Applies a primary's stream (and snapshots) on a standby: each command runs as the primary
/// ran it, seeing keys the primary had not expired yet, with its reply discarded.
pub(crate) struct PrimaryApplier {
    node: Arc<NodeState>,
    session: Session,
}

impl PrimaryApplier {
    /// An applier with database 0 selected.
    pub(crate) fn new(node: &Arc<NodeState>) -> PrimaryApplier {
        let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        let handle = Arc::new(crate::client::ClientHandle::new(0, nowhere, nowhere));
        let mut session = Session::new(handle, true);
        session.primary_link = true;
        PrimaryApplier {
            node: node.clone(),
            session,
        }
    }

    /// The database the stream has selected.
    pub(crate) fn db(&self) -> usize {
        self.session.db
    }

    /// Selects database `db` (to resume a stream).
    pub(crate) fn set_db(&mut self, db: usize) {
        self.session.db = db;
    }

    /// Applies one command from the primary.
    pub(crate) fn apply(&mut self, store: &mut Store, args: &[Bytes]) {
        if args[0].eq_ignore_ascii_case(b"ping") || args[0].eq_ignore_ascii_case(b"replconf") {
            return;
        }
        store.set_expiry_mode(crate::keyspace::db::ExpiryMode::Ignore);
        let now_ms = crate::state::unix_ms();
        let mut ctx = Ctx {
            store,
            session: &mut self.session,
            node: &self.node,
            now_ms,
            command: None,
        };
        let (reply, _) = crate::exec::execute(&mut ctx, args);
        if let Reply::Error(err) = reply {
            tracing::warn!(%err, command = %String::from_utf8_lossy(&args[0]), "command from primary failed");
        }
    }
}

/// The append-only file replays its commands as a primary's stream.
impl crate::aof::load::Replay for PrimaryApplier {
    fn set_db(&mut self, db: usize) {
        PrimaryApplier::set_db(self, db);
    }

    fn apply(&mut self, store: &mut Store, args: &[Bytes]) {
        PrimaryApplier::apply(self, store, args);
    }
}
