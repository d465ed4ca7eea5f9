//! Startup configuration: a `redis.conf` file, then `--name value ...` arguments, read as
//! redis-server reads them. Source: Redis 7.2 `config.c` (`loadServerConfig`,
//! `loadServerConfigFromString`) and `server.c` (`main`, the options string).
//!
//! Each line is split like `sdssplitargs` (quotes and escapes), the name is looked up
//! ignoring case, and its value is set at once, so a later line wins. `save` lines add
//! points (the first one replaces the defaults; `save ""` clears); `client-output-buffer-limit`
//! lines change only the class they name. `include` reads another file in place.
//! Redoubt refuses `rename-command`, `user`, `loadmodule`, `sentinel` and module parameters
//! (`name.with.dot`) with a fatal error naming the directive: ignoring them would silently
//! leave a renamed command callable or an ACL user missing.

use std::path::Path;

use redoubt_protocol::request::split_args;

use super::table::{Kind, MULTI_ARG};
use super::value::{parse, repr};
use super::ParamStore;

/// Directives Redis ignores for compatibility when given with one argument.
const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];
/// How deep `include` may nest, so a file including itself fails instead of recursing.
const INCLUDE_DEPTH_MAX: usize = 16;
/// `hz` is clamped into this range after loading (`CONFIG_MIN_HZ`, `CONFIG_MAX_HZ`).
const HZ_RANGE: (i64, i64) = (1, 500);

/// A configuration that cannot be used; Redis prints it and exits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("\n*** FATAL CONFIG FILE ERROR (Redis {version}) ***\n{location}{reason}", version = crate::REDIS_VERSION)]
pub(crate) struct ConfError {
    /// `Reading the configuration file, at line N\n>>> 'text'\n`, or empty for a problem
    /// found after reading (a sanity check).
    pub(crate) location: String,
    /// Redis's reason, such as `Bad directive or wrong number of arguments`.
    pub(crate) reason: String,
}

impl ConfError {
    fn at(line_number: usize, line: &str, reason: impl Into<String>) -> Self {
        ConfError {
            location: format!(
                "Reading the configuration file, at line {line_number}\n>>> '{line}'\n"
            ),
            reason: reason.into(),
        }
    }
}

/// Loads `file` (if any) and then `args` (redis-server's command line after the file name,
/// such as `["--port", "7000", "--save", ""]`) into `store`.
///
/// # Errors
/// A `ConfError` with Redis's text: an unreadable file, a bad line, or a failed sanity check.
pub(crate) fn load(
    store: &mut ParamStore,
    file: Option<&Path>,
    args: &[String],
) -> Result<(), ConfError> {
    let mut text = match file {
        Some(path) => read_file(path)?,
        None => Vec::new(),
    };
    text.push(b'\n');
    text.extend_from_slice(options_from_args(args).as_bytes());
    load_text(store, &text)
}

/// Loads configuration text (the contents of a `redis.conf`) into `store`, then runs
/// Redis's post-load checks.
///
/// # Errors
/// As `load`.
pub(crate) fn load_text(store: &mut ParamStore, text: &[u8]) -> Result<(), ConfError> {
    let mut save_seen = false;
    load_lines(store, text, 0, &mut save_seen)?;
    let hz = store.get_i64("hz").unwrap_or(10);
    let clamped = hz.clamp(HZ_RANGE.0, HZ_RANGE.1);
    if clamped != hz {
        if let Some((param, _)) = super::find(b"hz") {
            store.store(param, clamped.to_string().into_bytes());
        }
    }
    if store.get_bool("cluster-enabled") == Some(true) && store.replicaof().is_some() {
        return Err(ConfError {
            location: String::new(),
            reason: "replicaof directive not allowed in cluster mode".into(),
        });
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, ConfError> {
    std::fs::read(path).map_err(|e| ConfError {
        location: String::new(),
        reason: format!(
            "Fatal error, can't open config file '{}': {}",
            path.display(),
            os_text(&e)
        ),
    })
}

/// An I/O error as C's `strerror` words it, without Rust's `(os error N)` suffix.
fn os_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// redis-server's command line as configuration lines: `--name` starts a line, each other
/// argument is appended quoted; a `--save` with no value becomes `save ""`.
fn options_from_args(args: &[String]) -> String {
    let mut options = String::new();
    let mut value_given = true;
    for (j, arg) in args.iter().enumerate() {
        if value_given && arg.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&arg[2..]);
            options.push(' ');
            let words = split_args(arg.as_bytes()).map_or(0, |w| w.len());
            value_given = words != 1;
            if words == 1 && arg.eq_ignore_ascii_case("--save") {
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                if next_is_option || j + 1 == args.len() {
                    options.push_str("\"\"");
                    value_given = next_is_option;
                }
            }
        } else {
            options.push_str(&repr(arg.as_bytes()));
            options.push(' ');
            value_given = true;
        }
    }
    options
}

fn load_lines(
    store: &mut ParamStore,
    text: &[u8],
    depth: usize,
    save_seen: &mut bool,
) -> Result<(), ConfError> {
    for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
        let line = raw.trim_ascii();
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let shown = String::from_utf8_lossy(line);
        let fail = |reason: &str| ConfError::at(i + 1, &shown, reason);
        let args =
            split_args(line).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
        let Some(first) = args.first() else { continue };
        let name = String::from_utf8_lossy(first).to_ascii_lowercase();
        let values: Vec<&[u8]> = args[1..].iter().map(Vec::as_slice).collect();
        if let Some((param, _)) = super::find(name.as_bytes()) {
            let multi = param.has(MULTI_ARG);
            if !multi && values.len() != 1 {
                return Err(fail("wrong number of arguments"));
            }
            // `--save "3600 1 300 100"` arrives as one argument: split it again.
            let split;
            let values = if multi && values.len() == 1 && !values[0].is_empty() {
                split = split_args(values[0]).unwrap_or_default();
                split.iter().map(Vec::as_slice).collect()
            } else {
                values
            };
            let current = store.value(param.name).unwrap_or_default().to_vec();
            let mut new = parse(param, &values, &current).map_err(|why| fail(&why))?;
            if matches!(param.kind, Kind::Save) {
                // The first `save` line replaces the defaults, later ones add points;
                // `save ""` clears what came before.
                let clears = values.is_empty() || values == [b"".as_slice()];
                if *save_seen && !clears && !current.is_empty() {
                    let mut joined = current;
                    joined.push(b' ');
                    joined.extend_from_slice(&new);
                    new = joined;
                }
                *save_seen = true;
            }
            store.store(param, new);
            continue;
        }
        if DEPRECATED.contains(&name.as_str()) && values.len() == 1 {
            continue;
        }
        match name.as_str() {
            "include" if values.len() == 1 => {
                if depth >= INCLUDE_DEPTH_MAX {
                    return Err(fail("include nesting is too deep"));
                }
                let path = String::from_utf8_lossy(values[0]).into_owned();
                for file in include_files(&path).map_err(|why| fail(&why))? {
                    let text = read_file(&file)?;
                    load_lines(store, &text, depth + 1, save_seen)?;
                }
            }
            "rename-command" | "user" | "loadmodule" | "sentinel" => {
                return Err(fail(&format!("'{name}' is not supported by Redoubt")));
            }
            _ if name.contains('.') => {
                return Err(fail("Module configuration is not supported by Redoubt"));
            }
            _ => return Err(fail("Bad directive or wrong number of arguments")),
        }
    }
    Ok(())
}

/// The files an `include` names: the path itself, or with `*`, `?` or `[` in its last part,
/// the matching files of that directory in name order (none is fine, as in Redis).
fn include_files(path: &str) -> Result<Vec<std::path::PathBuf>, String> {
    let path = Path::new(path);
    let pattern = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            crate::glob::glob_match(pattern.as_bytes(), e.file_name().as_encoded_bytes(), false)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}
