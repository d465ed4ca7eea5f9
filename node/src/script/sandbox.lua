-- Redoubt's Lua sandbox, run once per Lua state with the real globals as its environment.
-- Arguments: normalize (turns a Rust-raised error into Redis's error value), the error handler
-- (adds the source and line of the error), the `redis` table for scripts, the `redis` table for
-- library loading.
-- Returns: the function runner, the script runner, the library environment and its loading
-- switch.
local normalize, handler, redis_api, load_api = ...
local G = getfenv(1)
local setfenv_, rawset_, rawget_, setmetatable_, getmetatable_ =
  setfenv, rawset, rawget, setmetatable, getmetatable
local type_, error_, tostring_, pcall_, xpcall_ = type, error, tostring, pcall, xpcall

-- What Redis 7 leaves out of the globals.
for _, name in ipairs({'debug', 'print', 'dofile', 'loadfile', 'require', 'module', 'setfenv',
    'getfenv', 'newproxy', 'package', 'io', 'os'}) do
  G[name] = nil
end

-- Read-only tables: an empty proxy that reads through to the real table and refuses writes.
local readonly = setmetatable_({}, {__mode = 'k'})
local function deny()
  error_('Attempt to modify a readonly table', 2)
end
local function protect(t)
  local proxy = setmetatable_({}, {__index = t, __newindex = deny, __metatable = false})
  readonly[proxy] = true
  return proxy
end

G.redis = redis_api
for _, name in ipairs({'string', 'math', 'table', 'coroutine', 'redis', 'bit', 'cjson',
    'cmsgpack', 'struct'}) do
  if G[name] ~= nil then
    G[name] = protect(G[name])
  end
end
local string_meta = getmetatable_('')
string_meta.__index = G.string
string_meta.__metatable = protect(string_meta)

G.rawset = function(t, k, v)
  if readonly[t] then error_('Attempt to modify a readonly table', 0) end
  return rawset_(t, k, v)
end
G.setmetatable = function(t, mt)
  if readonly[t] then error_('Attempt to modify a readonly table', 0) end
  return setmetatable_(t, mt)
end

-- Redis 7's pcall hands scripts the message of an error table, as older versions did.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = normalize((...))
  if type_(e) == 'table' then
    local message = rawget_(e, 'err')
    if type_(message) == 'string' or type_(message) == 'number' then e = message end
  end
  return false, e
end
G.pcall = function(f, ...)
  return pcall_result(pcall_(f, ...))
end
G.xpcall = function(f, h)
  return xpcall_(f, function(e) return h(normalize(e)) end)
end

local function missing(name)
  error_("Script attempted to access nonexistent global variable '" .. tostring_(name) .. "'", 3)
end

-- The globals scripts see: reads go to G (a missing name is an error), writes are refused.
local env = protect(G)
G._G = env
setmetatable_(G, {__index = function(_, name) missing(name) end, __metatable = false})
setfenv_(0, env)

-- Libraries see a `redis` with register_function while they load, the full globals after.
local loading = false
local load_redis = protect(load_api)
setmetatable_(load_api, {__index = function(_, name) missing(name) end})
local library_env = setmetatable_({}, {
  __index = function(_, name)
    if loading then
      -- While a library loads, its top level sees only `redis` (Redis 7's load globals).
      if name == 'redis' then return load_redis end
      missing(name)
    end
    local value = rawget_(G, name)
    if value == nil then missing(name) end
    return value
  end,
  __newindex = deny,
  __metatable = false,
})
readonly[library_env] = true
local function set_loading(on)
  loading = on
end

-- Runs a function (FCALL) with its keys and arguments.
local function run(f, keys, args)
  return xpcall_(function() return f(keys, args) end, handler)
end

-- Runs an EVAL script body (it reads KEYS and ARGV from the globals). With `nkeys`, the
-- arguments after it are the keys and then the script's arguments, set as KEYS and ARGV here.
local function run_script(f, nkeys, ...)
  if nkeys ~= nil then
    local keys, args = {...}, {}
    for i = nkeys + 1, select('#', ...) do
      args[i - nkeys] = keys[i]
      keys[i] = nil
    end
    rawset_(G, 'KEYS', keys)
    rawset_(G, 'ARGV', args)
  end
  return xpcall_(f, handler)
end

return run, run_script, env, library_env, set_loading
