//! End-to-end tests of persistence in Redis's formats: RDB files written by the node checked by
//! `redis-check-rdb` and loaded by `redis-server`, Redis's files loaded by the node, `DUMP`
//! and `RESTORE` across both, restarts that keep the data (and a standby's replication
//! position), refused corrupt files, `MISCONF` after a failed save, and the append-only file
//! (durability by `appendfsync`, rewrites, truncated tails, files both ways with redis-server).

mod common;

#[path = "replication/support.rs"]
#[allow(dead_code)]
mod repl;

#[path = "persistence/support.rs"]
mod support;

#[path = "persistence/aof.rs"]
mod aof;

#[path = "proxy/cluster.rs"]
mod cluster;

#[path = "persistence/dump_restore.rs"]
mod dump_restore;
#[path = "persistence/files.rs"]
mod files;
#[path = "persistence/import.rs"]
mod import;
#[path = "persistence/restart.rs"]
mod restart;
