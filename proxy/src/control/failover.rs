//! Automatic failover: the decision [`core`] (no IO: events in, actions out, `now` passed in)
//! and the [`controller`] that feeds it probe results and carries out its actions.

pub(crate) mod controller;
pub(crate) mod core;
pub(crate) mod count;
