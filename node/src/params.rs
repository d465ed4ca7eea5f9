//! Every configuration parameter of Redis 7.2 and its current value: the table (`table`),
//! reading and validating values (`value`), loading a `redis.conf` and `--name value`
//! arguments (`conf_file`), and `CONFIG REWRITE` (`rewrite`).
//!
//! A `ParamStore` keeps each parameter's value as its canonical text, the bytes `CONFIG GET`
//! prints; typed getters read from it. `CONFIG SET` goes through `ParamStore::set`, which
//! validates every pair before changing anything and returns the names whose value changed,
//! so the caller applies their side effects. Source: Redis 7.2 `config.c`.

// Typed getters for parameters whose mechanisms are not built yet (client memory limits,
// keyspace events, latency percentiles) are kept with the table.
#![allow(dead_code)]

mod conf_file;
mod rewrite;
mod table;
mod value;

#[cfg(test)]
pub(crate) use conf_file::ConfError;
pub(crate) use conf_file::{load, load_text};
pub(crate) use rewrite::rewrite;
pub(crate) use table::SENSITIVE;
#[cfg(test)]
pub(crate) use table::{Effect, REDOUBT_ONLY};
pub(crate) use table::{IntFormat, Kind, Param, PARAMS};

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::glob::glob_match;
use table::{DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, VOLATILE};

/// The reply to `CONFIG SET` of a `DENY_LOADING` parameter while a dataset loads.
const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// What `CONFIG SET` needs to know about its caller.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SetContext {
    /// The client is connected over a loopback address or a Unix socket, which
    /// `enable-protected-configs local` trusts.
    pub(crate) local_client: bool,
    /// A dataset is being loaded: `DENY_LOADING` parameters answer `-LOADING`.
    pub(crate) loading: bool,
}

/// `maxmemory-clients`: an absolute byte count or a percentage of `maxmemory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryLimit {
    /// A number of bytes; 0: no limit.
    Bytes(u64),
    /// A percentage of `maxmemory`, 1..=100.
    Percent(u64),
}

/// Lowercase name or alias → (row in `PARAMS`, is the alias).
static INDEX: LazyLock<HashMap<&'static str, (usize, bool)>> = LazyLock::new(|| {
    let mut index = HashMap::with_capacity(PARAMS.len() * 2);
    for (i, param) in PARAMS.iter().enumerate() {
        index.insert(param.name, (i, false));
        if let Some(alias) = param.alias {
            index.insert(alias, (i, true));
        }
    }
    index
});

/// The parameter called `name` (any case; an alias finds its parameter), with whether
/// `name` is the alias.
pub(crate) fn find(name: &[u8]) -> Option<(&'static Param, bool)> {
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    INDEX
        .get(lower.as_str())
        .map(|&(i, alias)| (&PARAMS[i], alias))
}

/// The current value of every parameter, as canonical text.
#[derive(Clone, Debug)]
pub(crate) struct ParamStore {
    /// Parallel to `PARAMS`.
    values: Vec<Vec<u8>>,
}

impl Default for ParamStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ParamStore {
    /// Every parameter at its default; `dir` is the process's working directory, absolute.
    pub(crate) fn new() -> Self {
        let values = PARAMS
            .iter()
            .map(|p| match p.kind {
                Kind::Dir => std::env::current_dir()
                    .map(|d| d.to_string_lossy().into_owned().into_bytes())
                    .unwrap_or_default(),
                _ => p.default.as_bytes().to_vec(),
            })
            .collect();
        ParamStore { values }
    }

    fn row(&self, name: &str) -> Option<usize> {
        find(name.as_bytes()).map(|(param, _)| self.position(param))
    }

    fn position(&self, param: &Param) -> usize {
        INDEX[param.name].0
    }

    /// `CONFIG GET pattern [pattern ...]`: `(name, value)` pairs, each name once.
    ///
    /// A pattern without `*`, `?` or `[` is an exact name, printed as the caller spelled it;
    /// a glob matches, ignoring case, every name and alias except `HIDDEN` parameters, printed
    /// lowercase. Primary names and aliases are separate entries, as in Redis 7.
    pub(crate) fn get(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut out = Vec::new();
        for pattern in patterns {
            if !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                let Some((param, _)) = find(pattern) else {
                    continue;
                };
                if seen.insert(pattern.to_ascii_lowercase()) {
                    out.push((pattern.to_vec(), self.values[self.position(param)].clone()));
                }
                continue;
            }
            for (i, param) in PARAMS.iter().enumerate() {
                if param.has(HIDDEN) {
                    continue;
                }
                for name in std::iter::once(param.name).chain(param.alias) {
                    if glob_match(pattern, name.as_bytes(), true)
                        && seen.insert(name.as_bytes().to_vec())
                    {
                        out.push((name.as_bytes().to_vec(), self.values[i].clone()));
                    }
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value ...]`: all pairs or none.
    ///
    /// Every name is checked first (unknown, immutable, protected, loading, given twice),
    /// then every value is read; only when all succeed are the values stored. A
    /// `MULTI_ARG` value is split on single spaces, as Redis does. Returns the primary names
    /// whose canonical value changed, and the `VOLATILE` ones set at all, in call order.
    ///
    /// # Errors
    /// Redis's reply text, the first problem in argument order: `ERR Unknown option or number
    /// of arguments for CONFIG SET - 'x'`, `ERR CONFIG SET failed (possibly related to
    /// argument 'x') - <reason>` (reasons such as `can't set immutable config`,
    /// `duplicate parameter`, `argument must be 'yes' or 'no'`), or `LOADING ...`.
    pub(crate) fn set(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        context: SetContext,
    ) -> Result<Vec<&'static str>, String> {
        let failed = |name: &[u8], why: &str| {
            let name = String::from_utf8_lossy(name);
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
        };
        let protected_allowed = match self.get_enum("enable-protected-configs") {
            Some("yes") => true,
            Some("local") => context.local_client,
            _ => false,
        };
        // Redis keeps scanning after the first problem (to redact secrets), but reports the
        // first one; an unknown name is reported only if nothing failed before it.
        let mut first_error: Option<String> = None;
        let mut targets: Vec<(&'static Param, bool)> = Vec::with_capacity(pairs.len());
        for &(name, _) in pairs {
            let Some((param, alias)) = find(name) else {
                if first_error.is_none() {
                    let name = String::from_utf8_lossy(name);
                    first_error = Some(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    ));
                }
                continue;
            };
            if first_error.is_some() {
                continue;
            }
            if param.has(IMMUTABLE) {
                first_error = Some(failed(name, "can't set immutable config"));
            } else if param.has(PROTECTED) && !protected_allowed {
                first_error = Some(failed(name, "can't set protected config"));
            } else if context.loading && param.has(DENY_LOADING) {
                first_error = Some(LOADING_ERROR.to_string());
            } else if targets
                .iter()
                .any(|&(p, a)| std::ptr::eq(p, param) && a == alias)
            {
                // The same entry twice; a name and its alias are separate entries in Redis.
                first_error = Some(failed(name, "duplicate parameter"));
            }
            targets.push((param, alias));
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let mut staged: Vec<(usize, Vec<u8>)> = Vec::with_capacity(pairs.len());
        for (&(param, alias), &(_, value)) in targets.iter().zip(pairs) {
            let row = self.position(param);
            let args: Vec<&[u8]> = if param.has(MULTI_ARG) {
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&c| c == b' ').collect()
                }
            } else {
                vec![value]
            };
            let current = staged
                .iter()
                .rev()
                .find(|(r, _)| *r == row)
                .map_or(self.values[row].as_slice(), |(_, v)| v.as_slice());
            let shown = if alias {
                param.alias.unwrap_or(param.name)
            } else {
                param.name
            };
            let new = value::parse(param, &args, current)
                .map_err(|why| failed(shown.as_bytes(), &why))?;
            staged.push((row, new));
        }
        let mut changed = Vec::new();
        for (row, new) in staged {
            let param = &PARAMS[row];
            if (self.values[row] != new || param.has(VOLATILE)) && !changed.contains(&param.name) {
                changed.push(param.name);
            }
            self.values[row] = new;
        }
        Ok(changed)
    }

    /// Stores `value` without the runtime checks, for the config file loader: it already read
    /// the value with `value::parse`.
    fn store(&mut self, param: &Param, value: Vec<u8>) {
        let row = self.position(param);
        self.values[row] = value;
    }

    /// The canonical text of `name` (primary name or alias, any case).
    pub(crate) fn value(&self, name: &str) -> Option<&[u8]> {
        self.row(name).map(|i| self.values[i].as_slice())
    }

    /// A `yes`/`no` parameter as a bool.
    pub(crate) fn get_bool(&self, name: &str) -> Option<bool> {
        let i = self.row(name)?;
        matches!(PARAMS[i].kind, Kind::Bool).then(|| self.values[i] == b"yes")
    }

    /// An integer parameter (plain, octal or memory) as a signed number; a memory value above
    /// `i64::MAX` saturates.
    pub(crate) fn get_i64(&self, name: &str) -> Option<i64> {
        let i = self.row(name)?;
        let text = std::str::from_utf8(&self.values[i]).ok()?;
        match PARAMS[i].kind {
            Kind::Int {
                format: IntFormat::Octal,
                ..
            } => i64::from_str_radix(text, 8).ok(),
            Kind::Int {
                format: IntFormat::Memory,
                ..
            } => text
                .parse::<u64>()
                .ok()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            Kind::Int { .. } => text.parse().ok(),
            _ => None,
        }
    }

    /// A memory parameter in bytes (`maxmemory`, `repl-backlog-size`, ...).
    pub(crate) fn get_memory(&self, name: &str) -> Option<u64> {
        let i = self.row(name)?;
        match PARAMS[i].kind {
            Kind::Int {
                format: IntFormat::Memory | IntFormat::MemoryPercent,
                ..
            } => std::str::from_utf8(&self.values[i]).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// A byte count or a percentage (`maxmemory-clients`).
    pub(crate) fn get_memory_limit(&self, name: &str) -> Option<MemoryLimit> {
        let text = std::str::from_utf8(self.value(name)?).ok()?;
        match text.strip_suffix('%') {
            Some(percent) => percent.parse().ok().map(MemoryLimit::Percent),
            None => text.parse().ok().map(MemoryLimit::Bytes),
        }
    }

    /// An enum parameter's word, lowercase (`maxmemory-policy` → `noeviction`); several words
    /// separated by spaces for `shutdown-on-sigint`/`-sigterm`.
    pub(crate) fn get_enum(&self, name: &str) -> Option<&str> {
        let i = self.row(name)?;
        match PARAMS[i].kind {
            Kind::Enum(_) => std::str::from_utf8(&self.values[i]).ok(),
            _ => None,
        }
    }

    /// A string parameter's bytes; empty when unset.
    pub(crate) fn get_str(&self, name: &str) -> Option<&[u8]> {
        self.value(name)
    }

    /// `save` as `(seconds, changes)` points; empty when snapshots are off.
    pub(crate) fn save_points(&self) -> Vec<(u64, u64)> {
        let numbers: Vec<u64> = self
            .value("save")
            .unwrap_or_default()
            .split(|&c| c == b' ')
            .filter_map(|w| std::str::from_utf8(w).ok()?.parse().ok())
            .collect();
        numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    }

    /// `client-output-buffer-limit` per class, in the order `normal`, `slave`, `pubsub`:
    /// `(class, hard bytes, soft bytes, soft seconds)`; 0 bytes means no limit.
    pub(crate) fn output_buffer_limits(&self) -> [(&'static str, u64, u64, i64); 3] {
        let limits = value::output_buffer_limits(
            self.value("client-output-buffer-limit").unwrap_or_default(),
        );
        let mut out = [("", 0, 0, 0); 3];
        for (i, (hard, soft, seconds)) in limits.into_iter().enumerate() {
            out[i] = (value::OUTPUT_BUFFER_CLASSES[i], hard, soft, seconds);
        }
        out
    }

    /// `bind` addresses; empty when the server listens on no TCP address.
    pub(crate) fn bind_addrs(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(self.value("bind").unwrap_or_default()).into_owned();
        text.split(' ')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `notify-keyspace-events` as class bits (`K` 1, `E` 2, `g` 4, `$` 8, `l` 16, `s` 32,
    /// `h` 64, `z` 128, `x` 256, `e` 512, `t` 1024, `m` 2048, `d` 8192, `n` 16384).
    pub(crate) fn notify_flags(&self) -> u32 {
        value::notify_flags(self.value("notify-keyspace-events").unwrap_or_default()).unwrap_or(0)
    }

    /// `replicaof` as `(host, port)`; `None` for a primary.
    pub(crate) fn replicaof(&self) -> Option<(String, u16)> {
        let text = String::from_utf8_lossy(self.value("replicaof")?).into_owned();
        let (host, port) = text.rsplit_once(' ')?;
        Some((host.to_string(), port.parse().ok()?))
    }

    /// `latency-tracking-info-percentiles` as numbers.
    pub(crate) fn latency_percentiles(&self) -> Vec<f64> {
        let text = String::from_utf8_lossy(
            self.value("latency-tracking-info-percentiles")
                .unwrap_or_default(),
        )
        .into_owned();
        text.split(' ').filter_map(|w| w.parse().ok()).collect()
    }
}

#[cfg(test)]
mod tests;
