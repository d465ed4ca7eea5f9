//! Checks against a running redis-server.
