//! Script flags: the `#!lua flags=...` shebang of an EVAL script (Redis 7) and the `flags`
//! list of a registered function. The engine only reports them; the caller enforces them
//! (refuse writes for `no-writes`, refuse under OOM unless `allow-oom`, ...), as Redis's
//! `scriptPrepareForRun` does. Texts from Redis 7.2's `eval.c` (`evalExtractShebangFlags`) and
//! `script.c` (`scripts_flags_def`).

/// The flags a script or function declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScriptFlags {
    /// An EVAL script without a shebang: Redis's compatibility mode, where the script may write
    /// and the caller decides per command (no declared flags).
    pub(crate) eval_compat: bool,
    /// `no-writes`: the script must not run write commands.
    pub(crate) no_writes: bool,
    /// `allow-oom`: the script may run while over `maxmemory`.
    pub(crate) allow_oom: bool,
    /// `allow-stale`: the script may run on a stale replica.
    pub(crate) allow_stale: bool,
    /// `no-cluster`: the script refuses to run in cluster mode.
    pub(crate) no_cluster: bool,
    /// `allow-cross-slot-keys`: the script may touch keys of several slots.
    pub(crate) allow_cross_slot_keys: bool,
}

/// The flag names Redis accepts, in its order.
pub(crate) const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

impl ScriptFlags {
    /// Sets the flag called `name`; false when Redis knows no such flag.
    pub(crate) fn set(&mut self, name: &[u8]) -> bool {
        let slot = match name {
            b"no-writes" => &mut self.no_writes,
            b"allow-oom" => &mut self.allow_oom,
            b"allow-stale" => &mut self.allow_stale,
            b"no-cluster" => &mut self.no_cluster,
            b"allow-cross-slot-keys" => &mut self.allow_cross_slot_keys,
            _ => return false,
        };
        *slot = true;
        true
    }

    /// The names of the flags that are set, as `FUNCTION LIST` shows them.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let set = [
            self.no_writes,
            self.allow_oom,
            self.allow_stale,
            self.no_cluster,
            self.allow_cross_slot_keys,
        ];
        FLAG_NAMES
            .iter()
            .zip(set)
            .filter_map(|(name, on)| on.then_some(*name))
            .collect()
    }
}

/// An EVAL body split into its flags and the Lua text to compile. The shebang line is kept as a
/// comment so line numbers in errors stay those of the body.
#[derive(Debug, PartialEq)]
pub(crate) struct EvalSource {
    /// The declared flags (`eval_compat` when there is no shebang).
    pub(crate) flags: ScriptFlags,
    /// The body to compile.
    pub(crate) code: Vec<u8>,
}

/// Parses an EVAL body's optional `#!lua [flags=a,b]` first line.
///
/// # Errors
/// Redis's texts: `ERR Unexpected engine in script shebang: <line>`, `ERR Unknown lua shebang
/// option: <option>`, `ERR Unexpected flag in script shebang: <flag>`.
pub(crate) fn parse_eval_source(body: &[u8]) -> Result<EvalSource, String> {
    if !body.starts_with(b"#!") {
        let flags = ScriptFlags {
            eval_compat: true,
            ..ScriptFlags::default()
        };
        return Ok(EvalSource {
            flags,
            code: body.to_vec(),
        });
    }
    let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = &body[..line_end];
    let mut parts = line[2..].split(|&b| b == b' ').filter(|p| !p.is_empty());
    if parts.next() != Some(b"lua".as_slice()) {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(line)
        ));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        for flag in list.split(|&b| b == b',').filter(|f| !f.is_empty()) {
            if !flags.set(flag) {
                return Err(format!(
                    "ERR Unexpected flag in script shebang: {}",
                    String::from_utf8_lossy(flag)
                ));
            }
        }
    }
    let mut code = Vec::with_capacity(body.len());
    code.extend_from_slice(b"--");
    code.extend_from_slice(&body[2..]);
    Ok(EvalSource { flags, code })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_shebang_is_compat_mode() {
        let source = parse_eval_source(b"return 1").unwrap();
        assert!(source.flags.eval_compat);
        assert_eq!(source.code, b"return 1");
    }

    #[test]
    fn flags_are_read_and_the_line_kept_as_a_comment() {
        let source =
            parse_eval_source(b"#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1")
                .unwrap();
        assert!(!source.flags.eval_compat);
        assert_eq!(source.flags.names(), FLAG_NAMES.to_vec());
        assert!(source.code.starts_with(b"--lua flags="));
        assert_eq!(
            parse_eval_source(b"#!lua\nreturn 1").unwrap().flags,
            ScriptFlags::default()
        );
    }

    #[test]
    fn bad_shebangs_get_redis_errors() {
        // Replies observed from redis-server 7.0.15.
        assert_eq!(
            parse_eval_source(b"#!lua flags=bogus\nreturn 1").unwrap_err(),
            "ERR Unexpected flag in script shebang: bogus"
        );
        assert_eq!(
            parse_eval_source(b"#!lua name=x\nreturn 1").unwrap_err(),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(
            parse_eval_source(b"#!luax\nreturn 1").unwrap_err(),
            "ERR Unexpected engine in script shebang: #!luax"
        );
    }
}
