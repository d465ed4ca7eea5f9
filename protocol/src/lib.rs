//! What Redoubt's node and proxy share.
//!
//! Client requests enter through [`request::RequestParser`] (RESP multibulk and inline commands,
//! with Redis's size limits), replies leave through [`reply::Reply::encode`] (RESP2 or RESP3, as
//! the connection negotiated with `HELLO`). The [`command_table`] describes every command as data
//! (arity, flags, key positions, docs) so that the node can validate and the proxy can route from
//! the same facts, and [`slot`] maps keys to Redis Cluster hash slots.

pub mod command_table;
pub mod errors;
pub mod reply;
pub mod reply_decoder;
pub mod request;
pub mod slot;

pub use command_table::{CommandFlags, CommandSpec};
pub use reply::{Protocol, Reply};
pub use request::{ParseError, RequestLimits, RequestParser};
