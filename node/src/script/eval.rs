//! The EVAL engine: one Lua state and the script cache keyed by SHA1, with Redis 7.2's EVAL,
//! EVALSHA and SCRIPT LOAD / EXISTS / FLUSH semantics. A body is compiled once, when it is first
//! seen, and kept as its compiled function (Redis's `f_<sha>`).
//!
//! Scripts that only EVAL added are capped at [`EVAL_SCRIPTS_CAP`], the oldest evicted first
//! (as Redis 7.4 does, so a client generating scripts cannot grow memory without bound);
//! scripts from SCRIPT LOAD stay until SCRIPT FLUSH.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use mlua::Function;
use redoubt_protocol::Reply;

use super::control::ScriptControl;
use super::flags::{parse_eval_source, ScriptFlags};
use super::vm::{CallStyle, Vm};

/// Most scripts kept that were added by EVAL alone (Redis 7.4's `LRU_LIST_LENGTH`).
pub(crate) const EVAL_SCRIPTS_CAP: usize = 500;

struct Script {
    function: Function,
    /// Its SHA1 in lowercase hex, the name error texts and `FUNCTION STATS` give it.
    name: Arc<str>,
    flags: ScriptFlags,
    /// Added by SCRIPT LOAD: never evicted.
    loaded: bool,
    /// Its body.
    body: Bytes,
}

/// The EVAL scripting engine of a node.
pub(crate) struct ScriptEngine {
    vm: Vm,
    /// By binary SHA1, so a lookup by a client's hex text needs no allocation.
    scripts: HashMap<Digest, Script>,
    /// SHA1s of scripts added by EVAL only, oldest first.
    eval_order: VecDeque<Digest>,
    /// Bytes of the cached bodies and their names.
    body_bytes: usize,
}

/// A script's SHA1, binary.
type Digest = [u8; 20];

/// Length of a SHA1 in hex.
const HEX_LEN: usize = 40;

/// The lowercase hex SHA1 of a script body, the name Redis gives it.
pub(crate) fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// The SHA1 a client named in hex (either case); `None` for anything else, which names no
/// script (Redis looks the lowercased text up and finds nothing).
fn parse_sha(hex: &[u8]) -> Option<Digest> {
    if hex.len() != HEX_LEN {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut digest = [0; 20];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(digest)
}

impl ScriptEngine {
    /// A new engine with an empty cache.
    ///
    /// # Errors
    /// Only when Lua cannot allocate its state.
    pub(crate) fn new() -> mlua::Result<ScriptEngine> {
        Ok(ScriptEngine {
            vm: Vm::new(Arc::new(ScriptControl::default()))?,
            scripts: HashMap::new(),
            eval_order: VecDeque::new(),
            body_bytes: 0,
        })
    }

    /// The handle another connection uses to see a running script and kill it.
    pub(crate) fn control(&self) -> Arc<ScriptControl> {
        self.vm.control().clone()
    }

    /// SCRIPT LOAD: compiles and caches `body`, returning its SHA1.
    ///
    /// # Errors
    /// The shebang errors of [`parse_eval_source`] and `ERR Error compiling script (new
    /// function): user_script:<line>: <Lua message>`.
    pub(crate) fn load(&mut self, body: &[u8]) -> Result<String, Reply> {
        let digest = self.add(body)?;
        let script = self.scripts.get_mut(&digest).ok_or_else(noscript)?;
        if !script.loaded {
            script.loaded = true;
            self.eval_order.retain(|s| s != &digest);
        }
        Ok(script.name.to_string())
    }

    /// For EVAL: compiles and caches `body` if new; returns its SHA1 and flags, which the caller
    /// checks (no-writes, allow-oom, ...) before [`ScriptEngine::run`].
    ///
    /// # Errors
    /// As [`ScriptEngine::load`].
    pub(crate) fn prepare(&mut self, body: &[u8]) -> Result<(Arc<str>, ScriptFlags), Reply> {
        let digest = self.add(body)?;
        let script = self.scripts.get(&digest).ok_or_else(noscript)?;
        Ok((script.name.clone(), script.flags))
    }

    /// For EVALSHA: the name (lowercase SHA1) and flags of a cached script (`sha` in any
    /// case).
    ///
    /// # Errors
    /// `NOSCRIPT No matching script. Please use EVAL.`
    pub(crate) fn find(&self, sha: &[u8]) -> Result<(Arc<str>, ScriptFlags), Reply> {
        self.script(sha).map(|s| (s.name.clone(), s.flags))
    }

    /// The flags of a cached script, as [`ScriptEngine::find`].
    #[cfg(test)]
    pub(crate) fn flags(&self, sha: &[u8]) -> Result<ScriptFlags, Reply> {
        self.script(sha).map(|s| s.flags)
    }

    fn script(&self, sha: &[u8]) -> Result<&Script, Reply> {
        parse_sha(sha)
            .and_then(|digest| self.scripts.get(&digest))
            .ok_or_else(noscript)
    }

    /// SCRIPT EXISTS: for each SHA1, whether it is cached.
    pub(crate) fn exists(&self, shas: &[Bytes]) -> Vec<bool> {
        shas.iter().map(|sha| self.script(sha).is_ok()).collect()
    }

    /// SCRIPT FLUSH: forgets every script. The Lua state is kept (its globals are read-only,
    /// so scripts leave nothing behind but garbage, which is collected).
    pub(crate) fn flush(&mut self) {
        self.scripts.clear();
        self.eval_order.clear();
        self.body_bytes = 0;
    }

    /// The bodies of the scripts SCRIPT LOAD added, for a standby's full resync.
    pub(crate) fn loaded_bodies(&self) -> Vec<Bytes> {
        self.scripts
            .values()
            .filter(|s| s.loaded)
            .map(|s| s.body.clone())
            .collect()
    }

    /// Bytes of the cached script bodies and their SHA1 names (INFO `used_memory_scripts_eval`).
    pub(crate) fn cached_bytes(&self) -> usize {
        self.body_bytes
    }

    /// Number of cached scripts (`INFO number_of_cached_scripts`).
    pub(crate) fn len(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes used by the Lua state (`INFO used_memory_lua`).
    pub(crate) fn used_memory(&self) -> usize {
        self.vm.used_memory()
    }

    /// Runs the cached script `sha` with `keys` and `args` (the `KEYS`/`ARGV` globals); `call`
    /// executes each `redis.call`/`redis.pcall`.
    ///
    /// # Errors
    /// Returned as the reply: `NOSCRIPT ...` for an unknown SHA1, and the script's errors in
    /// Redis's form, e.g. `ERR user_script:1: Script attempted to access nonexistent global
    /// variable 'x' script: <sha>, on @user_script:1.`
    pub(crate) fn run(
        &mut self,
        sha: &[u8],
        keys: &[Bytes],
        args: &[Bytes],
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> Reply {
        let script = match parse_sha(sha).and_then(|digest| self.scripts.get(&digest)) {
            Some(script) => script,
            None => return noscript(),
        };
        self.vm.run(
            &script.function,
            &script.name,
            keys,
            args,
            CallStyle::Eval,
            call,
        )
    }

    /// EVAL in one step: [`ScriptEngine::prepare`] then [`ScriptEngine::run`], for callers that
    /// check no flags.
    #[cfg(test)]
    pub(crate) fn eval(
        &mut self,
        body: &[u8],
        keys: &[Bytes],
        args: &[Bytes],
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> Reply {
        match self.prepare(body) {
            Ok((name, _)) => self.run(name.as_bytes(), keys, args, call),
            Err(reply) => reply,
        }
    }

    fn add(&mut self, body: &[u8]) -> Result<Digest, Reply> {
        let digest = sha1_smol::Sha1::from(body).digest().bytes();
        if self.scripts.contains_key(&digest) {
            return Ok(digest);
        }
        let source = parse_eval_source(body).map_err(Reply::error_owned)?;
        let function = self
            .vm
            .compile(&source.code, CallStyle::Eval)
            .map_err(|message| {
                Reply::error_owned(format!(
                    "ERR Error compiling script (new function): {message}"
                ))
            })?;
        self.scripts.insert(
            digest,
            Script {
                function,
                name: sha1_hex(body).into(),
                flags: source.flags,
                loaded: false,
                body: Bytes::copy_from_slice(body),
            },
        );
        self.body_bytes += body.len() + HEX_LEN;
        self.eval_order.push_back(digest);
        while self.eval_order.len() > EVAL_SCRIPTS_CAP {
            if let Some(oldest) = self.eval_order.pop_front() {
                if let Some(script) = self.scripts.remove(&oldest) {
                    self.body_bytes -= script.body.len() + HEX_LEN;
                }
            }
        }
        Ok(digest)
    }
}

fn noscript() -> Reply {
    Reply::error("NOSCRIPT No matching script. Please use EVAL.")
}

/// Splits `numkeys key... arg...` (EVAL, EVALSHA, FCALL) into keys and arguments.
///
/// # Errors
/// `ERR value is not an integer or out of range`, `ERR Number of keys can't be negative`,
/// `ERR Number of keys can't be greater than number of args`.
pub(crate) fn split_keys<'a>(
    numkeys: &[u8],
    rest: &'a [Bytes],
) -> Result<(&'a [Bytes], &'a [Bytes]), Reply> {
    let n: i64 = std::str::from_utf8(numkeys)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Reply::error("ERR value is not an integer or out of range"))?;
    if n < 0 {
        return Err(Reply::error("ERR Number of keys can't be negative"));
    }
    if n as u64 > rest.len() as u64 {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(n as usize))
}

#[cfg(test)]
mod observed;
#[cfg(test)]
mod observed_libraries;
#[cfg(test)]
mod tests;
