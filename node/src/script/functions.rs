//! Redis 7 functions: libraries loaded with `FUNCTION LOAD "#!lua name=<lib>\n..."`, whose
//! top-level code registers functions with `redis.register_function`, called with FCALL.
//! Libraries live in a Lua state of their own, as in Redis. Texts from Redis 7.2's
//! `function.c` and `function_lua.c`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::control::ScriptControl;
use super::flags::ScriptFlags;
use super::register::{valid_name, Registration};
use super::vm::{CallStyle, Vm};

/// One loaded library.
struct Library {
    code: Bytes,
    /// Its functions by name.
    functions: BTreeMap<String, Registration>,
}

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestorePolicy {
    /// `APPEND` (the default): fail on any name clash.
    Append,
    /// `REPLACE`: a restored library replaces one of the same name.
    Replace,
    /// `FLUSH`: drop every library first.
    Flush,
}

/// The function libraries of a node.
pub(crate) struct FunctionLibraries {
    vm: Vm,
    /// Libraries by name, listed in name order.
    libraries: BTreeMap<String, Library>,
    /// Function name → library name.
    owners: BTreeMap<String, String>,
}

/// A parsed `#!lua name=<lib>` first line.
fn library_name(code: &[u8]) -> Result<String, Reply> {
    if !code.starts_with(b"#!") {
        return Err(Reply::error("ERR Missing library metadata"));
    }
    let line_end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let mut parts = code[2..line_end]
        .split(|&b| b == b' ')
        .filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or_default();
    let mut name = None;
    for part in parts {
        match part.strip_prefix(b"name=") {
            Some(value) => name = Some(value),
            None => {
                return Err(Reply::error_owned(format!(
                    "ERR Invalid metadata value given: {}",
                    String::from_utf8_lossy(part)
                )))
            }
        }
    }
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(Reply::error_owned(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(engine)
        )));
    }
    let name = name.ok_or_else(|| Reply::error("ERR Library name was not given"))?;
    if !valid_name(name) {
        return Err(Reply::error("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// RESTORE names a clashing library without the quotes LOAD puts around it (Redis's
/// `libraryJoin`: `Library %s already exists`).
fn restore_error(reply: Reply) -> Reply {
    if let Reply::Error(text) = &reply {
        if let Some(name) = text
            .strip_prefix("ERR Library '")
            .and_then(|rest| rest.strip_suffix("' already exists"))
        {
            return Reply::error_owned(format!("ERR Library {name} already exists"));
        }
    }
    reply
}

impl FunctionLibraries {
    /// No libraries.
    ///
    /// # Errors
    /// Only when Lua cannot allocate its state.
    pub(crate) fn new() -> mlua::Result<FunctionLibraries> {
        Ok(FunctionLibraries {
            vm: Vm::new(Arc::new(ScriptControl::default()))?,
            libraries: BTreeMap::new(),
            owners: BTreeMap::new(),
        })
    }

    /// The handle another connection uses to see a running function and kill it
    /// (`FUNCTION KILL`).
    pub(crate) fn control(&self) -> Arc<ScriptControl> {
        self.vm.control().clone()
    }

    /// FUNCTION LOAD [REPLACE]: loads a library and returns its name.
    ///
    /// # Errors
    /// Redis's texts: `ERR Missing library metadata`, `ERR Library name was not given`,
    /// `ERR Invalid metadata value given: <part>`, `ERR Engine '<e>' not found`,
    /// `ERR Library names can only contain letters, ...`, `ERR Library '<lib>' already exists`,
    /// `ERR Error compiling function: <Lua message>`, `ERR Error registering functions:
    /// <error>`, `ERR No functions registered`, `ERR Function <f> already exists`.
    pub(crate) fn load(&mut self, code: &[u8], replace: bool) -> Result<String, Reply> {
        let name = library_name(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(Reply::error_owned(format!(
                "ERR Library '{name}' already exists"
            )));
        }
        // The first line stays, as a comment, so error lines match the library's own.
        let mut source = Vec::with_capacity(code.len());
        source.extend_from_slice(b"--");
        source.extend_from_slice(&code[2..]);
        let body = self
            .vm
            .compile(&source, CallStyle::Function)
            .map_err(|m| Reply::error_owned(format!("ERR Error compiling function: {m}")))?;
        let registered = self.vm.load_library(&body).map_err(Reply::error_owned)?;
        if registered.is_empty() {
            return Err(Reply::error("ERR No functions registered"));
        }
        for function in &registered {
            if let Some(owner) = self.owners.get(&function.name) {
                if *owner != name {
                    return Err(Reply::error_owned(format!(
                        "ERR Function {} already exists",
                        function.name
                    )));
                }
            }
        }
        self.remove(&name);
        let functions = registered
            .into_iter()
            .map(|f| (f.name.clone(), f))
            .collect::<BTreeMap<_, _>>();
        for function in functions.keys() {
            self.owners.insert(function.clone(), name.clone());
        }
        self.libraries.insert(
            name.clone(),
            Library {
                code: Bytes::copy_from_slice(code),
                functions,
            },
        );
        Ok(name)
    }

    fn remove(&mut self, name: &str) -> bool {
        let Some(library) = self.libraries.remove(name) else {
            return false;
        };
        for function in library.functions.keys() {
            self.owners.remove(function);
        }
        true
    }

    /// FUNCTION DELETE.
    ///
    /// # Errors
    /// `ERR Library not found`.
    pub(crate) fn delete(&mut self, name: &[u8]) -> Result<(), Reply> {
        if self.remove(&String::from_utf8_lossy(name)) {
            Ok(())
        } else {
            Err(Reply::error("ERR Library not found"))
        }
    }

    /// FUNCTION FLUSH.
    pub(crate) fn flush(&mut self) {
        self.libraries.clear();
        self.owners.clear();
    }

    /// For FCALL / FCALL_RO: the flags of function `name`, which the caller checks (e.g.
    /// `ERR Can not execute a script with write flag using *_ro command.`) before
    /// [`FunctionLibraries::call`].
    ///
    /// # Errors
    /// `ERR Function not found`.
    pub(crate) fn flags(&self, name: &[u8]) -> Result<ScriptFlags, Reply> {
        self.function(name).map(|f| f.flags)
    }

    fn function(&self, name: &[u8]) -> Result<&Registration, Reply> {
        let name = String::from_utf8_lossy(name);
        self.owners
            .get(name.as_ref())
            .and_then(|lib| self.libraries.get(lib))
            .and_then(|lib| lib.functions.get(name.as_ref()))
            .ok_or_else(|| Reply::error("ERR Function not found"))
    }

    /// FCALL: runs function `name` with `keys` and `args` (its two parameters); `call` executes
    /// each `redis.call`/`redis.pcall`. Errors come back as the reply, in Redis's form
    /// (`... script: <function>, on @user_function:<line>.`).
    pub(crate) fn call(
        &mut self,
        name: &[u8],
        keys: &[Bytes],
        args: &[Bytes],
        call: &mut dyn FnMut(&[Bytes]) -> Reply,
    ) -> Reply {
        let (callback, name) = match self.function(name) {
            Ok(f) => (f.callback.clone(), f.name.clone()),
            Err(reply) => return reply,
        };
        self.vm
            .run(&callback, &name, keys, args, CallStyle::Function, call)
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: per library its name, engine, functions
    /// (name, description, flags) and, with `with_code`, its code.
    pub(crate) fn list(&self, pattern: Option<&[u8]>, with_code: bool) -> Reply {
        let libraries = self
            .libraries
            .iter()
            .filter(|(name, _)| {
                pattern.is_none_or(|p| crate::glob::glob_match(p, name.as_bytes(), false))
            })
            .map(|(name, library)| {
                let functions = library
                    .functions
                    .values()
                    .map(|f| {
                        Reply::Map(vec![
                            (Reply::bulk_static("name"), Reply::bulk(&f.name)),
                            (
                                Reply::bulk_static("description"),
                                f.description.as_ref().map_or(Reply::Null, Reply::bulk),
                            ),
                            (
                                Reply::bulk_static("flags"),
                                Reply::Set(
                                    f.flags.names().into_iter().map(Reply::simple).collect(),
                                ),
                            ),
                        ])
                    })
                    .collect();
                let mut fields = vec![
                    (Reply::bulk_static("library_name"), Reply::bulk(name)),
                    (Reply::bulk_static("engine"), Reply::bulk_static("LUA")),
                    (Reply::bulk_static("functions"), Reply::Array(functions)),
                ];
                if with_code {
                    fields.push((
                        Reply::bulk_static("library_code"),
                        Reply::Bulk(library.code.clone()),
                    ));
                }
                Reply::Map(fields)
            })
            .collect();
        Reply::Array(libraries)
    }

    /// FUNCTION DUMP, in text form for now: the code of every library, in name order.
    pub(crate) fn dump(&self) -> Vec<Bytes> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// FUNCTION RESTORE of what [`FunctionLibraries::dump`] returned. All or nothing: on an
    /// error the libraries are as before.
    ///
    /// # Errors
    /// The first library's load error (`ERR Library 'x' already exists` under `Append`).
    pub(crate) fn restore(&mut self, codes: &[Bytes], policy: RestorePolicy) -> Result<(), Reply> {
        let saved_libraries = std::mem::take(&mut self.libraries);
        let saved_owners = std::mem::take(&mut self.owners);
        if policy != RestorePolicy::Flush {
            self.libraries = saved_libraries
                .iter()
                .map(|(name, lib)| {
                    (
                        name.clone(),
                        Library {
                            code: lib.code.clone(),
                            functions: lib.functions.clone(),
                        },
                    )
                })
                .collect();
            self.owners = saved_owners.clone();
        }
        for code in codes {
            if let Err(reply) = self
                .load(code, policy == RestorePolicy::Replace)
                .map_err(restore_error)
            {
                self.libraries = saved_libraries;
                self.owners = saved_owners;
                return Err(reply);
            }
        }
        Ok(())
    }

    /// FUNCTION STATS: `running_script` (what the caller passes: null, or the map of name,
    /// command and duration_ms) and per engine the library and function counts.
    pub(crate) fn stats(&self, running_script: Reply) -> Reply {
        Reply::Map(vec![
            (Reply::bulk_static("running_script"), running_script),
            (
                Reply::bulk_static("engines"),
                Reply::Map(vec![(
                    Reply::bulk_static("LUA"),
                    Reply::Map(vec![
                        (
                            Reply::bulk_static("libraries_count"),
                            Reply::Int(self.libraries.len() as i64),
                        ),
                        (
                            Reply::bulk_static("functions_count"),
                            Reply::Int(self.owners.len() as i64),
                        ),
                    ]),
                )]),
            ),
        ])
    }

    /// Number of loaded libraries (INFO `number_of_libraries`).
    pub(crate) fn library_count(&self) -> usize {
        self.libraries.len()
    }

    /// Number of registered functions (INFO `number_of_functions`).
    pub(crate) fn function_count(&self) -> usize {
        self.owners.len()
    }

    /// Bytes of the libraries' code (INFO `used_memory_functions`).
    pub(crate) fn code_bytes(&self) -> usize {
        self.libraries.values().map(|l| l.code.len()).sum()
    }

    /// Bytes used by the functions' Lua state (`INFO used_memory_vm_functions`).
    pub(crate) fn used_memory(&self) -> usize {
        self.vm.used_memory()
    }
}

#[cfg(test)]
mod observed;
#[cfg(test)]
mod tests;
