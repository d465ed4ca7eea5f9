//! One client connection: [`session`] reads requests (whole ones straight off the input by
//! [`frame`], with their raw bytes), resolves each command once and
//! dispatches it as [`commands`] says: answered by the proxy ([`local`]), spread over groups
//! ([`split`], merged back by [`merge`]), refused with the reason, or routed whole to one
//! node, or served on held connections ([`blocking`]; [`transaction`]s on [`pinned`] ones); [`pubsub`]
//! keeps its subscriptions; the replies wait in [`pending`] and leave in request order. [`conn`] is the
//! connection's own state.

pub(crate) mod blocking;
pub(crate) mod client_cmd;
pub(crate) mod cluster;
pub(crate) mod commands;
pub(crate) mod conn;
pub(crate) mod frame;
pub(crate) mod info;
pub(crate) mod local;
pub(crate) mod merge;
pub(crate) mod moves;
pub(crate) mod multikey;
pub(crate) mod pending;
pub(crate) mod pinned;
pub(crate) mod pubsub;
pub(crate) mod session;
pub(crate) mod split;
pub(crate) mod transaction;
