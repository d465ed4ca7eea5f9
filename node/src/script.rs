//! Lua scripting (EVAL, SCRIPT, FUNCTION, FCALL), independent of how commands are dispatched.
//!
//! A script runs in a sandboxed Lua 5.1 state ([`vm`]) and executes Redis commands through a
//! closure the caller supplies, `&mut dyn FnMut(&[Bytes]) -> Reply`, so the caller decides
//! locking, atomicity and replication. [`eval::ScriptEngine`] keeps the EVAL script cache
//! (SCRIPT LOAD / EXISTS / FLUSH); [`functions::FunctionLibraries`] keeps Redis 7 function
//! libraries (FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP / STATS, FCALL) in a state of their
//! own, as Redis does. [`control::ScriptControl`] lets another connection see how long a script
//! has run and kill it. Replies and errors follow Redis 7.2 (`script_lua.c`, `eval.c`,
//! `function_lua.c`).

pub(crate) mod bit;
pub(crate) mod busy;
pub(crate) mod cjson;
pub(crate) mod cmsgpack;
pub(crate) mod control;
pub(crate) mod convert;
pub(crate) mod dump;
pub(crate) mod error;
pub(crate) mod eval;
pub(crate) mod flags;
pub(crate) mod functions;
pub(crate) mod random;
pub(crate) mod raw;
pub(crate) mod redis_api;
pub(crate) mod register;
pub(crate) mod structlib;
#[cfg(test)]
mod testing;
pub(crate) mod vm;

/// The node's two script engines, kept together behind one lock in `NodeState` (taken only
/// while the store lock is held, so the order is always store, then scripts).
pub(crate) struct Scripting {
    /// EVAL scripts.
    pub(crate) eval: eval::ScriptEngine,
    /// FUNCTION libraries.
    pub(crate) functions: functions::FunctionLibraries,
}

impl Scripting {
    /// Both engines, empty.
    ///
    /// # Panics
    /// When Lua cannot allocate its states at start-up (out of memory).
    pub(crate) fn new() -> Scripting {
        Scripting {
            eval: eval::ScriptEngine::new().expect("allocating the Lua state for EVAL"),
            functions: functions::FunctionLibraries::new()
                .expect("allocating the Lua state for functions"),
        }
    }
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("cached_scripts", &self.eval.len())
            .finish_non_exhaustive()
    }
}
