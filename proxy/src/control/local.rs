//! The single-proxy control plane: the topology lives in this process; a commit publishes it
//! to every worker at once.

use std::sync::Arc;

use super::{CommitFuture, ControlError, ControlPlane};
use crate::control::topology::{SharedTopology, Topology};

/// A control plane of one member.
#[derive(Debug)]
pub(crate) struct LocalControlPlane {
    shared: Arc<SharedTopology>,
}

impl LocalControlPlane {
    /// Commits into `shared`.
    pub(crate) fn new(shared: Arc<SharedTopology>) -> LocalControlPlane {
        LocalControlPlane { shared }
    }
}

impl ControlPlane for LocalControlPlane {
    fn current(&self) -> Arc<Topology> {
        self.shared.get()
    }

    fn commit(&self, next: Topology) -> CommitFuture<'_> {
        let current = self.shared.get();
        for (old, new) in current.groups.iter().zip(&next.groups) {
            if new.epoch < old.epoch {
                let current = old.epoch;
                return Box::pin(async move { Err(ControlError::Conflict { current }) });
            }
        }
        self.shared.publish(next);
        Box::pin(async { Ok(()) })
    }
}
