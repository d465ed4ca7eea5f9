//! Loading the append-only file at start: the manifest, the base (an RDB file through the
//! RDB reader, or RESP commands), then every incremental file, each command applied through
//! the node's dispatch as a standby applies its primary's stream.
//!
//! A last incremental file that ends in the middle of a command (or of a `MULTI` block) is
//! truncated at its last complete command when `aof-load-truncated` is yes, and refused
//! otherwise; any other damage is refused. Messages from Redis `aof.c`
//! (`loadSingleAppendOnlyFile`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use redoubt_protocol::{RequestLimits, RequestParser};
use tracing::{info, warn};

use super::manifest::{AofFile, Manifest};
use super::writer::Files;
use crate::keyspace::Store;
use crate::state::{unix_ms, NodeState};

/// Replays commands through the node's dispatch, as a standby applies its primary's stream
/// (`standby::applier::PrimaryApplier`); given by the caller, so loading does not depend on the
/// dispatch layer, which depends on this module.
pub(crate) trait Replay {
    /// Selects database `db` for the commands that follow.
    fn set_db(&mut self, db: usize);
    /// Runs one command against `store`, its reply discarded.
    fn apply(&mut self, store: &mut Store, args: &[bytes::Bytes]);
}

/// What loading found.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Commands applied from RESP files.
    pub(crate) commands: u64,
    /// Keys loaded from an RDB base.
    pub(crate) keys: u64,
}

/// Moves an append-only file of Redis before 7.0 (a single `dir`/`<appendfilename>`) into the
/// directory as the base of a new manifest, as Redis 7's `aofUpgradePrepare` does: the
/// directory is created, the manifest naming `<appendfilename>` as base (sequence 1) is
/// written, then the file is renamed into the directory. Runs when such a file exists and the
/// directory holds no manifest, or holds only that base while the file was not moved yet (a
/// stop between the two steps). Returns true when it moved a file.
///
/// # Errors
/// A sentence for the log when a step fails; the node must not start.
pub(crate) fn upgrade_old_style(store: &Store) -> Result<bool, String> {
    let mut files = Files::default();
    super::rewrite::locate(store, &mut files);
    let old = store.config.dir.join(&files.prefix);
    if !old.is_file() {
        return Ok(false);
    }
    let moved = files.dir.join(&files.prefix);
    let manifest = match std::fs::read(files.manifest_path()) {
        Ok(text) => Manifest::parse(&text).ok(),
        Err(_) => None,
    };
    let interrupted = manifest.as_ref().is_some_and(|m| {
        m.incrs.is_empty()
            && m.base.as_ref().is_some_and(|b| b.name == files.prefix)
            && !moved.exists()
    });
    if manifest.is_some() && !interrupted {
        return Ok(false);
    }
    let fail = |what: &str, e: std::io::Error| format!("Error {what} during the AOF upgrade: {e}");
    std::fs::create_dir_all(&files.dir).map_err(|e| fail("creating the AOF directory", e))?;
    files.manifest = Manifest {
        base: Some(AofFile {
            name: files.prefix.clone(),
            seq: 1,
        }),
        base_seq: 1,
        ..Manifest::default()
    };
    files
        .persist_manifest()
        .map_err(|e| fail("writing the AOF manifest", e))?;
    std::fs::rename(&old, &moved).map_err(|e| fail("moving the old AOF file", e))?;
    super::writer::sync_dir(&files.dir).map_err(|e| fail("syncing the AOF directory", e))?;
    super::writer::sync_dir(&store.config.dir).map_err(|e| fail("syncing the directory", e))?;
    info!("Successfully migrated an old-style AOF into the AOF directory");
    Ok(true)
}

/// Reads `dir`/`appenddirname`/`<appendfilename>.manifest` into `files` (located first).
/// `Ok(false)` when there is none.
///
/// # Errors
/// The manifest cannot be read or parsed.
pub(crate) fn read_manifest(store: &Store, files: &mut Files) -> Result<bool, String> {
    super::rewrite::locate(store, files);
    let path = files.manifest_path();
    match std::fs::read(&path) {
        Ok(text) => {
            files.manifest = Manifest::parse(&text)
                .map_err(|why| format!("refusing {}: {why}", path.display()))?;
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// Loads the files the manifest in `files` names into the node's store.
///
/// # Errors
/// A sentence naming the file, the offset and the reason (Redis's texts); the node must not
/// start then.
pub(crate) fn load(
    node: &Arc<NodeState>,
    files: &Files,
    applier: &mut dyn Replay,
) -> Result<Loaded, String> {
    let started = Instant::now();
    let mut loaded = Loaded::default();
    let mut store = node.store.lock();
    let truncated_ok = store
        .config
        .params
        .get_bool("aof-load-truncated")
        .unwrap_or(true);
    if let Some(base) = &files.manifest.base {
        let path = files.path(base);
        let data = std::fs::read(&path)
            .map_err(|e| format!("Fatal error: can't open the AOF file {}: {e}", base.name))?;
        if data.starts_with(b"REDIS") {
            let parsed =
                crate::persist::parse(&data, store.dbs.len(), false, unix_ms(), |keys, percent| {
                    info!(keys, percent, file = %base.name, "loading the AOF base");
                })
                .map_err(|why| format!("refusing the AOF base {}: {why}", base.name))?;
            crate::persist::install_scripting(&mut node.scripting.lock(), &parsed.functions, None)
                .map_err(|why| format!("refusing the AOF base {}: {why}", base.name))?;
            crate::persist::install(&mut store, parsed.dbs);
            loaded.keys = parsed.loaded.keys;
            info!(file = %base.name, keys = loaded.keys, "loaded the RDB preamble of the AOF base");
            // A base written before Redis 7 (an old-style file moved into the directory) may
            // go on with commands after its preamble.
            if parsed.end < data.len() {
                let tail = &data[parsed.end..];
                apply_file(&mut store, applier, base, tail, false, files, &mut loaded)?;
            }
        } else {
            apply_file(&mut store, applier, base, &data, false, files, &mut loaded)?;
        }
    }
    let last = files.manifest.incrs.len().saturating_sub(1);
    for (i, incr) in files.manifest.incrs.iter().enumerate() {
        let path = files.path(incr);
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            // Redis tolerates a missing last incremental file (created but never written).
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && i == last => continue,
            Err(e) => {
                return Err(format!(
                    "Fatal error: can't open the AOF file {}: {e}",
                    incr.name
                ))
            }
        };
        let truncatable = i == last && truncated_ok;
        apply_file(
            &mut store,
            applier,
            incr,
            &data,
            truncatable,
            files,
            &mut loaded,
        )?;
    }
    info!(
        keys = store.dbs.iter().map(|d| d.len()).sum::<usize>(),
        commands = loaded.commands,
        ms = started.elapsed().as_millis() as u64,
        "DB loaded from append only file"
    );
    Ok(loaded)
}

/// Applies one RESP file. A truncated end is cut off when `truncatable` (the last
/// incremental file with `aof-load-truncated yes`), else refused.
fn apply_file(
    store: &mut Store,
    applier: &mut dyn Replay,
    file: &AofFile,
    data: &[u8],
    truncatable: bool,
    files: &Files,
    loaded: &mut Loaded,
) -> Result<(), String> {
    let mut parser = RequestParser::new(RequestLimits {
        max_bulk_len: usize::MAX / 4,
        max_query_buffer: usize::MAX / 4,
    });
    let mut input = BytesMut::from(data);
    let total = data.len();
    // Offset after the last complete command, and where an open MULTI block began.
    let mut valid = 0;
    let mut multi_at = None;
    let mut report = Instant::now();
    applier.set_db(0);
    while !input.is_empty() {
        if input[0] != b'*' {
            return Err(bad_format(file, valid));
        }
        match parser.parse(&mut input) {
            Ok(Some(args)) => {
                let at = valid;
                valid = total - input.len();
                if args[0].eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(at);
                } else if args[0].eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                applier.apply(store, &args);
                loaded.commands += 1;
                if report.elapsed() >= Duration::from_secs(1) {
                    report = Instant::now();
                    info!(file = %file.name, percent = valid * 100 / total.max(1), "loading the AOF");
                }
            }
            Ok(None) => break,
            Err(_) => return Err(bad_format(file, valid)),
        }
    }
    let end = match multi_at {
        Some(at) => {
            warn!(file = %file.name, "revert incomplete MULTI/EXEC transaction in AOF file");
            applier.apply(store, &[bytes::Bytes::from_static(b"DISCARD")]);
            at
        }
        // The parser may hold a partial command's arguments: what counts is the offset.
        None if valid < total => valid,
        None => return Ok(()),
    };
    if !truncatable {
        return Err(format!(
            "Unexpected end of file reading the append only file {} at byte {end} of {total}. You can: \
             1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. \
             2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
            file.name
        ));
    }
    warn!(file = %file.name, offset = end, bytes = total, "!!! Warning: short read while loading the AOF file !!!");
    let path = files.path(file);
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| {
            f.set_len(end as u64)?;
            f.sync_all()
        });
    match cut {
        Ok(()) => {
            warn!(file = %file.name, offset = end, "AOF loaded anyway because aof-load-truncated is enabled; successfully truncated")
        }
        Err(err) => {
            return Err(format!(
                "Error truncating the AOF file {}: {err}",
                file.name
            ))
        }
    }
    Ok(())
}

fn bad_format(file: &AofFile, offset: usize) -> String {
    format!(
        "Bad file format reading the append only file {} at byte {offset}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
        file.name
    )
}
