//! Failovers carried out, by group and reason: counted by the controller, exported by the
//! metrics registry as `redoubt_proxy_failovers_total`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// Labels of `redoubt_proxy_failovers_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FailoverLabels {
    /// Group id.
    pub(crate) group: String,
    /// `automatic` (the primary was found down) or `planned` (`redoubt ctl failover`).
    pub(crate) reason: &'static str,
}

/// Counts failovers by group and reason (handed to the failover controller).
#[derive(Clone, Debug, Default)]
pub(crate) struct Failovers {
    family: Family<FailoverLabels, Counter>,
}

impl Failovers {
    /// Counts a promotion the controller decided after the primary went down.
    pub(crate) fn automatic(&self, group: &str) {
        self.count(group, "automatic");
    }

    /// Counts a planned switchover.
    pub(crate) fn planned(&self, group: &str) {
        self.count(group, "planned");
    }

    /// The counters, for the metrics registry.
    pub(crate) fn family(&self) -> Family<FailoverLabels, Counter> {
        self.family.clone()
    }

    /// Creates the series of `group` and `reason` at zero, so rates have data from the start.
    pub(crate) fn touch(&self, group: &str, reason: &'static str) {
        let _ = self.family.get_or_create(&FailoverLabels {
            group: group.to_string(),
            reason,
        });
    }

    fn count(&self, group: &str, reason: &'static str) {
        self.family
            .get_or_create(&FailoverLabels {
                group: group.to_string(),
                reason,
            })
            .inc();
    }
}
