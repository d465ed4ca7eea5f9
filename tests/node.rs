//! End-to-end tests of `redoubt node` (issue 2): every command's semantics, Redis's exact error
//! texts, expiry, atomicity and protocol abuse. One test binary keeps link times down; each test
//! starts its own server on an ephemeral port, so they run in parallel.
//!
//! Run against real Redis to check the expectations themselves:
//! `REDOUBT_TEST_SERVER=redis-server cargo test --test node` (see `tests/common/mod.rs`).

mod common;

mod node {
    mod atomicity;
    mod bitmaps;
    mod blocking;
    mod client_control;
    mod config;
    mod connection;
    mod dispatch;
    mod errors;
    mod eviction;
    mod expiry;
    mod geo;
    mod hashes;
    mod hll;
    mod introspection;
    mod keys;
    mod keyspace;
    mod lists;
    mod lookups;
    mod memory_accounting;
    mod protocol;
    mod pubsub;
    mod scripting;
    mod server;
    mod sets;
    mod streams;
    mod strings;
    mod tracking;
    mod transactions;
    mod zsets;
}
