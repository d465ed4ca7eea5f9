//! Replies of redis-server 7.0.15 to FUNCTION LOAD, FCALL, FUNCTION LIST and FUNCTION STATS, as
//! raw RESP bytes, captured once from the real server (loads and calls in this order on an
//! empty server).

pub(super) const OBSERVED_LOADS: &[(&str, &str)] = &[
    ("return 1", "-ERR Missing library metadata\r\n"),
    ("#!lua\nreturn 1", "-ERR Library name was not given\r\n"),
    ("#!lua name=a-b\nreturn 1", "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"),
    ("#!lua name=lib1 foo=bar\nreturn 1", "-ERR Invalid metadata value given: foo=bar\r\n"),
    ("#!lua name=lib1\nreturn 1", "-ERR No functions registered\r\n"),
    ("#!lux name=lib1\nreturn 1", "-ERR Engine 'lux' not found\r\n"),
    ("#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys, args, #keys} end)\nredis.register_function{function_name='f2', callback=function() return redis.call('ping') end, flags={'no-writes'}, description='desc two'}\nredis.register_function('f3', function(keys, args) return redis.call('get', keys[1]) end)\nredis.register_function('f4', function() return y end)\nredis.register_function('f5', function() return redis.call('nosuch') end)", "$4\r\nlib1\r\n"),
    ("#!lua name=lib1\nredis.register_function('f9', function() return 1 end)", "-ERR Library 'lib1' already exists\r\n"),
    ("#!lua name=lib2\nredis.register_function('f1', function() return 1 end)", "-ERR Function f1 already exists\r\n"),
    ("#!lua name=lib3\nredis.register_function('g', function() return 1 end)\nredis.register_function('g', function() return 1 end)", "-ERR Error registering functions: ERR Function already exists in the library\r\n"),
    ("#!lua name=lib4\nredis.register_function{function_name='h', callback=function() end, flags={'bogus'}}", "-ERR Error registering functions: ERR unknown flag given\r\n"),
    ("#!lua name=lib4\nredis.register_function{function_name='h', callback=function() end, foo=1}", "-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n"),
    ("#!lua name=lib4\nredis.register_function{callback=function() end}", "-ERR Error registering functions: ERR redis.register_function must get a function name argument\r\n"),
    ("#!lua name=lib4\nredis.register_function{function_name='h'}", "-ERR Error registering functions: ERR redis.register_function must get a callback argument\r\n"),
    ("#!lua name=lib4\nredis.register_function('h')", "-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n"),
    ("#!lua name=lib4\nredis.register_function('h', 1)", "-ERR Error registering functions: ERR second argument to redis.register_function must be a function\r\n"),
    ("#!lua name=lib4\nredis.register_function(1, 2, 3)", "-ERR Error registering functions: ERR wrong number of arguments to redis.register_function\r\n"),
    ("#!lua name=lib4\nreturn redis.call('ping')", "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"),
    ("#!lua name=lib4\nx = 1", "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n"),
    ("#!lua name=lib4\nreturn +", "-ERR Error compiling function: user_function:2: unexpected symbol near '+'\r\n"),
    ("#!lua name=lib4\nerror('boom')", "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'\r\n"),
    ("#!lua name=lib4\nlocal s = string", "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'\r\n"),
    ("#!lua name=lib4\nlocal v = redis.REDIS_VERSION\nredis.log(redis.LOG_NOTICE, 'loading')\nredis.register_function('h', function() return string.upper('x') end)", "$4\r\nlib4\r\n"),
];
pub(super) const OBSERVED_CALLS: &[(&[&str], &str)] = &[
    (&["f1", "2", "a", "b", "c", "d"], "*3\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$1\r\nc\r\n$1\r\nd\r\n:2\r\n"),
    (&["f2", "0"], "+PONG\r\n"),
    (&["f3", "1", "k"], "$-1\r\n"),
    (&["f4", "0"], "-ERR user_function:5: Script attempted to access nonexistent global variable 'y' script: f4, on @user_function:5.\r\n"),
    (&["f5", "0"], "-ERR Unknown Redis command called from script script: f5, on @user_function:6.\r\n"),
    (&["h", "0"], "$1\r\nX\r\n"),
    (&["nosuch", "0"], "-ERR Function not found\r\n"),
];
pub(super) const LIST_LIBRARY: &str = "#!lua name=mylib\nredis.register_function{function_name='ro', callback=function(keys, args) return args[1] end, flags={'no-writes', 'allow-oom'}, description='reads'}";
pub(super) const OBSERVED_LIST: &str = "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n";
pub(super) const OBSERVED_LIST_WITHCODE: &str = "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n$12\r\nlibrary_code\r\n$165\r\n#!lua name=mylib\nredis.register_function{function_name='ro', callback=function(keys, args) return args[1] end, flags={'no-writes', 'allow-oom'}, description='reads'}\r\n";
pub(super) const OBSERVED_LIST_NO_MATCH: &str = "*0\r\n";
pub(super) const OBSERVED_STATS: &str = "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n";
pub(super) const OBSERVED_LIST_RESP3: &str = "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n%3\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-oom\r\n";
pub(super) const OBSERVED_STATS_RESP3: &str = "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n";
