//! One sandboxed Lua 5.1 state and the running of scripts in it.
//!
//! [`Vm::new`] loads the libraries Redis ships (base, table, string, math, `bit`, `cjson`,
//! `cmsgpack`, `struct`), builds the `redis` table and runs `sandbox.lua`, which makes the
//! globals and library tables read-only and returns the runner (an `xpcall` with Redis's error
//! handler). [`Vm::run`] runs one compiled script or function: it sets `KEYS`/`ARGV`, makes the
//! caller's command closure the one `redis.call` and `redis.pcall` run for the length of the
//! run, and turns the result or the error into a [`Reply`] with Redis 7.2's texts
//! (`<message> script: <name>, on @user_script:<line>.`). The busy-script hook watches every run.
//!
//! A run does little work of its own: the compiled function, the runners, the `redis` table and
//! the hook live as long as the state; per run there are the `KEYS`/`ARGV` tables. `redis.call`
//! and `redis.pcall` are two C functions made once ([`raw::install_calls`]): they read
//! the command's words straight off Lua's stack and push its reply onto it, and find the run's
//! closure through a pointer this thread keeps for the length of the run (`raw.rs`).
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{
    ChunkMode, Debug, Either, Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value,
    Variadic, VmState,
};
use redoubt_protocol::Reply;

use super::control::ScriptControl;
use super::convert::{error_table, lua_to_reply};
use super::error::{normalize, plain_text, table_error};
use super::raw::{self, ActiveRun, RunCalls};
use super::redis_api::{self, RunState};
use super::register::{self, LoadContext, Registration};
use super::{bit, cjson, cmsgpack, random, structlib};

/// Lua instructions between two checks for a kill request (Redis's `luaMaskCountHook` period).
pub(crate) const HOOK_INSTRUCTIONS: u32 = 100_000;

/// How long a library's top-level code may run during `FUNCTION LOAD` (Redis's 500 ms).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// The chunk name of the engine's own Lua code; its frames are skipped when an error's
/// position is reported.
const INTERNAL_SOURCE: &str = "=redoubt";

/// Redis's text for a killed script (`luaMaskCountHook`).
pub(crate) const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Lua's `setpause`: a collection cycle starts when memory reaches this percentage of what the
/// previous cycle left.
const GC_PAUSE: i32 = 400;

/// Most keys and arguments an EVAL run passes to the runner as Lua arguments (far below Lua's
/// limit on a C function's stack); more go in tables built from Rust.
const INLINE_WORDS: usize = 32;

/// What a run hands the runner besides the function and its `redis.call` / `redis.pcall`.
enum Params<'a> {
    /// EVAL: the number of keys, then keys and arguments, made into KEYS and ARGV by the runner.
    /// A UTF-8 word goes onto Lua's stack as it is; only others become a string handle first.
    Words(usize, Variadic<Either<&'a str, mlua::String>>),
    /// EVAL: KEYS and ARGV are already set.
    Globals,
    /// FCALL: the function's two parameters.
    Tables(Table, Table),
}

/// How a script receives its keys and arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallStyle {
    /// EVAL: the `KEYS` and `ARGV` globals.
    Eval,
    /// FCALL: the function's two parameters.
    Function,
}

/// A sandboxed Lua state.
pub(crate) struct Vm {
    lua: Lua,
    /// The command words buffer, lent to each run's [`RunCalls`].
    words: Vec<Bytes>,
    /// The run hook ([`run_hook`]) is installed. It stays between runs (it does nothing then);
    /// a library load and a killed run replace it.
    hook_armed: bool,
    globals: Table,
    env: Table,
    library_env: Table,
    runner: Function,
    script_runner: Function,
    set_loading: Function,
    control: Arc<ScriptControl>,
}

impl Vm {
    /// A fresh state with Redis's libraries and sandbox.
    ///
    /// # Errors
    /// Only when Lua cannot allocate.
    pub(crate) fn new(control: Arc<ScriptControl>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let globals = lua.globals();
        globals.raw_set("bit", bit::library(&lua)?)?;
        globals.raw_set("cjson", cjson::library(&lua)?)?;
        globals.raw_set("cmsgpack", cmsgpack::library(&lua)?)?;
        globals.raw_set("struct", structlib::library(&lua)?)?;
        random::install(&lua, &globals.raw_get::<Table>("math")?)?;
        lua.set_app_data(RunState {
            running: false,
            resp3: false,
            control: control.clone(),
        });
        let normalize = lua.create_function(normalize)?;
        let handler = lua.create_function(error_handler)?;
        let redis = redis_api::script_api(&lua)?;
        raw::install_calls(&lua, &redis)?;
        // Lua's incremental collector starts a cycle once memory reaches `pause` percent of
        // what the last cycle left (200 by default). Scripts leave little garbage each
        // (KEYS/ARGV, replies, one closure), so at 200 a full mark of the libraries came every
        // hundred runs or so; at 400 the state stays within four times its live size (tens
        // of KB for the libraries, plus the cached scripts) and marks a third as often.
        lua.gc_set_pause(GC_PAUSE);
        let load_redis =
            redis_api::load_api(&lua, lua.create_function(register::register_function)?)?;
        let (runner, script_runner, env, library_env, set_loading): (
            Function,
            Function,
            Table,
            Table,
            Function,
        ) = lua
            .load(include_str!("sandbox.lua"))
            .set_name(INTERNAL_SOURCE)
            .set_mode(ChunkMode::Text)
            .call((normalize, handler, redis, load_redis))?;
        Ok(Vm {
            lua,
            words: Vec::new(),
            hook_armed: false,
            globals,
            env,
            library_env,
            runner,
            script_runner,
            set_loading,
            control,
        })
    }

    /// Compiles a script body as `@user_script` (EVAL) or a library as `@user_function`.
    ///
    /// # Errors
    /// Lua's syntax error text, e.g. `user_script:1: unexpected symbol near '+'`.
    pub(crate) fn compile(&self, code: &[u8], style: CallStyle) -> Result<Function, String> {
        let (name, env) = match style {
            CallStyle::Eval => ("@user_script", &self.env),
            CallStyle::Function => ("@user_function", &self.library_env),
        };
        self.lua
            .load(code)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| plain_text(&e))
    }

    /// Runs a library's top-level code and returns the functions it registered.
    ///
    /// # Errors
    /// Redis's texts: `ERR Error registering functions: <error>` for a failing top level,
    /// (including `ERR FUNCTION LOAD timeout` after [`LOAD_TIMEOUT`]).
    pub(crate) fn load_library(&mut self, body: &Function) -> Result<Vec<Registration>, String> {
        self.lua.set_app_data(LoadContext::default());
        self.hook_armed = false;
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let hook = self.lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
            move |_, _| {
                if Instant::now() > deadline {
                    return Err(table_error("FUNCTION LOAD timeout"));
                }
                Ok(VmState::Continue)
            },
        );
        let outcome = hook.and_then(|()| {
            self.set_loading.call::<()>(true)?;
            let result = self
                .runner
                .call::<(bool, Value)>((body, Value::Nil, Value::Nil));
            self.set_loading.call::<()>(false)?;
            result
        });
        self.lua.remove_global_hook();
        self.lua.remove_hook();
        let registered = self
            .lua
            .remove_app_data::<LoadContext>()
            .unwrap_or_default();
        match outcome {
            Ok((true, _)) => Ok(registered.functions),
            Ok((false, error)) => Err(format!(
                "ERR Error registering functions: {}",
                error_message(&error)
            )),
            Err(e) => Err(format!(
                "ERR Error registering functions: {}",
                plain_text(&e)
            )),
        }
    }

    /// The handle to watch and kill the scripts of this state.
    pub(crate) fn control(&self) -> &Arc<ScriptControl> {
        &self.control
    }

    /// Bytes of memory the Lua state uses (`used_memory_lua`).
    pub(crate) fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs `function` (named `name` in error texts: the SHA1 for EVAL, the function name for
    /// FCALL) with `keys` and `args`; `call` executes the commands of `redis.call`/`pcall`.
    pub(crate) fn run(
        &mut self,
        function: &Function,
        name: &str,
        keys: &[Bytes],
        args: &[Bytes],
        style: CallStyle,
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> Reply {
        // Garbage is left to Lua's incremental collector, which runs as the state allocates
        // (it starts a cycle once memory has doubled since the last one), so the state stays
        // within about twice its live size. Redis adds a step every 50 runs; here that step
        // cost more than its runs' own Lua work and bought no lower bound.
        match self.try_run(function, name, keys, args, style, call) {
            Ok(reply) => reply,
            Err(e) => Reply::error_owned(format!(
                "ERR Error running script {name}, {}",
                plain_text(&e)
            )),
        }
    }

    fn try_run(
        &mut self,
        function: &Function,
        name: &str,
        keys: &[Bytes],
        args: &[Bytes],
        style: CallStyle,
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> mlua::Result<Reply> {
        let params = match style {
            // Few words go to the runner as arguments, which builds KEYS and ARGV in Lua (one
            // call instead of a protected call per table and element).
            CallStyle::Eval if keys.len() + args.len() <= INLINE_WORDS => {
                let words = keys
                    .iter()
                    .chain(args)
                    .map(|word| match std::str::from_utf8(word) {
                        Ok(text) => Ok(Either::Left(text)),
                        Err(_) => self.lua.create_string(word).map(Either::Right),
                    })
                    .collect::<mlua::Result<Variadic<_>>>()?;
                Params::Words(keys.len(), words)
            }
            CallStyle::Eval => {
                self.globals.raw_set("KEYS", self.string_array(keys)?)?;
                self.globals.raw_set("ARGV", self.string_array(args)?)?;
                Params::Globals
            }
            CallStyle::Function => {
                Params::Tables(self.string_array(keys)?, self.string_array(args)?)
            }
        };
        self.set_running(true, false);
        self.control.begin();
        if !self.hook_armed {
            let control = self.control.clone();
            self.lua.set_global_hook(
                HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
                move |lua, _| run_hook(lua, &control),
            )?;
            self.hook_armed = true;
        }
        let mut calls = RunCalls {
            call,
            words: std::mem::take(&mut self.words),
            busy: false,
        };
        let outcome = {
            let _active = ActiveRun::enter(&mut calls);
            match params {
                Params::Words(count, words) => self
                    .script_runner
                    .call::<(bool, Value)>((function, count, words)),
                Params::Globals => self.script_runner.call::<(bool, Value)>(function),
                Params::Tables(keys, args) => {
                    self.runner.call::<(bool, Value)>((function, keys, args))
                }
            }
        };
        self.words = std::mem::take(&mut calls.words);
        let killed = self.control.kill_requested();
        if killed {
            // A kill replaced the run hook with one that fires on every instruction.
            self.lua.remove_global_hook();
            self.lua.remove_hook();
            self.hook_armed = false;
        }
        self.control.end();
        let resp3 = self.end_running();
        let (ok, value) = outcome?;
        if ok {
            return Ok(lua_to_reply(&value, resp3));
        }
        Ok(error_reply(&value, name, killed))
    }

    /// Marks the run over; returns whether the script chose RESP3 (`redis.setresp(3)`).
    fn end_running(&self) -> bool {
        self.lua
            .app_data_mut::<RunState>()
            .is_some_and(|mut state| {
                state.running = false;
                std::mem::take(&mut state.resp3)
            })
    }

    fn set_running(&self, running: bool, resp3: bool) {
        if let Some(mut state) = self.lua.app_data_mut::<RunState>() {
            state.running = running;
            state.resp3 = resp3;
        }
    }

    fn string_array(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let table = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            table.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(table)
    }
}

/// The count hook of a run: ends the script once a kill was asked, and from then on fires on
/// every instruction outside the engine's own code, so `pcall` cannot swallow the kill (as
/// Redis switches its hook to every line). A global hook, so coroutines the script creates are
/// watched too.
/// How long a script runs on its connection's runtime worker before the worker's other tasks
/// are handed to another thread ([`hand_off_worker`]). Most scripts end well before: they pay
/// nothing for the hand-off.
const HAND_OFF_AFTER: Duration = Duration::from_millis(10);

/// Moves the runtime worker this thread was running (its queue of connections, its timers) to
/// another thread and keeps this one for the script, so a long script blocks no other
/// connection (they answer `-BUSY` past `busy-reply-threshold`). `block_in_place` starts the
/// new thread; the short pause inside it lets that thread take the worker before this one
/// would take it back. On a current-thread runtime, or off the runtime, nothing happens.
fn hand_off_worker() {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
    }
}

/// The count hook of the runs: hands the runtime worker off once a run is long
/// ([`HAND_OFF_AFTER`]; again at twice, four times... that, in case the thread meant to take
/// it had not started in time), and ends a run whose kill was asked ([`busy_hook`]). Between runs it
/// finds neither and lets Lua continue.
fn run_hook(lua: &Lua, control: &ScriptControl) -> mlua::Result<VmState> {
    if control.hand_off_due(HAND_OFF_AFTER) {
        hand_off_worker();
    }
    busy_hook(lua, control)
}

fn busy_hook(lua: &Lua, control: &ScriptControl) -> mlua::Result<VmState> {
    if control.kill_requested() {
        tracing::warn!("lua script killed by user with SCRIPT KILL");
        lua.set_global_hook(HookTriggers::new().every_nth_instruction(1), killed_hook)?;
        return Err(table_error(KILLED));
    }
    Ok(VmState::Continue)
}

fn killed_hook(_: &Lua, debug: &Debug) -> mlua::Result<VmState> {
    if debug.source().source.as_deref() == Some(INTERNAL_SOURCE) {
        return Ok(VmState::Continue);
    }
    Err(table_error(KILLED))
}

/// Redis's error handler: the error as a table with the source and line where it was raised
/// (the first frame that is neither a C function nor the engine's own code).
fn error_handler(lua: &Lua, error: Value) -> mlua::Result<Value> {
    let error = normalize(lua, error)?;
    let table = match error {
        Value::Table(table) => table,
        other => {
            let text = match &other {
                Value::String(s) => s.to_string_lossy(),
                Value::Number(n) => super::convert::format_lua_number(*n),
                Value::Nil => "nil".to_string(),
                Value::Boolean(b) => b.to_string(),
                _ => format!("{}: {:p}", other.type_name(), other.to_pointer()),
            };
            error_table(lua, &format!("-ERR {text}"))?
        }
    };
    let mut level = 1;
    loop {
        let frame = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            (
                source.what,
                source.source.map(|s| s.into_owned()),
                debug.current_line(),
            )
        });
        match frame {
            None => break,
            Some(("C", _, _)) => level += 1,
            Some((_, Some(source), _)) if source == INTERNAL_SOURCE => level += 1,
            Some((_, source, line)) => {
                if let Some(source) = source {
                    table.raw_set("source", source)?;
                }
                table.raw_set("line", line.map_or(-1, |l| l as i64))?;
                break;
            }
        }
    }
    Ok(Value::Table(table))
}

fn error_message(error: &Value) -> String {
    match error {
        Value::Table(table) => match table.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "(null)".to_string(),
        },
        Value::String(s) => s.to_string_lossy(),
        other => format!("{other:?}"),
    }
}

/// The reply for a failed run, as `luaCallFunction` builds it.
fn error_reply(error: &Value, name: &str, killed: bool) -> Reply {
    let mut text = if killed {
        KILLED.to_string()
    } else {
        error_message(error)
    };
    if let Value::Table(table) = error {
        let source = table
            .raw_get::<Option<mlua::String>>("source")
            .ok()
            .flatten();
        let line = table.raw_get::<Value>("line").ok();
        let line = match line {
            Some(Value::Number(n)) => Some((n as i64).to_string()),
            Some(Value::Integer(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.to_string_lossy()),
            _ => None,
        };
        if let (Some(source), Some(line)) = (source, line) {
            text.push_str(&format!(
                " script: {name}, on {}:{line}.",
                source.to_string_lossy()
            ));
        }
    }
    Reply::error_owned(text)
}
