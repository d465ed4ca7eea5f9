//! Redis 7's append-only manifest: which files make up the append-only file, in Redis's exact
//! text format, one line per file:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! Type `b` is the base (an RDB file, or RESP commands without the preamble), `i` an
//! incremental file of RESP commands, `h` a file left from before a rewrite, to delete. Lines
//! starting with `#` are comments. Source: Redis `aof.c` (`aofLoadManifestFromFile`,
//! `getAofManifestAsString`, `getNewBaseFileNameAndMarkPreAsHistory`, `getNewIncrAofName`).

use std::fmt::Write as _;

/// Longest manifest line Redis accepts (`MANIFEST_MAX_LINE`).
const MAX_LINE: usize = 1024;

/// One file of the append-only file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AofFile {
    /// File name inside `appenddirname`.
    pub(crate) name: String,
    /// Sequence number.
    pub(crate) seq: u64,
}

/// The manifest: a base, incremental files in order, and files to delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// The base, if any.
    pub(crate) base: Option<AofFile>,
    /// Incremental files, oldest first.
    pub(crate) incrs: Vec<AofFile>,
    /// Files from before the last rewrite, waiting to be deleted.
    pub(crate) history: Vec<AofFile>,
    /// Highest base sequence number seen.
    pub(crate) base_seq: u64,
    /// Highest incremental sequence number seen.
    pub(crate) incr_seq: u64,
}

impl Manifest {
    /// Parses a manifest's text.
    ///
    /// # Errors
    /// Redis's reasons: `Invalid AOF manifest file format`, `The AOF manifest file contains
    /// too long line`, `Found duplicate base file information`, `Mismatched manifest key`.
    pub(crate) fn parse(text: &[u8]) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for line in text.split(|&b| b == b'\n') {
            if line.len() > MAX_LINE {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = String::from_utf8_lossy(line);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_args(line).ok_or("Invalid AOF manifest file format")?;
            if words.len() % 2 != 0 {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair[0].as_str() {
                    "file" => name = Some(pair[1].clone()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => kind = pair[1].chars().next(),
                    // Unknown keys are skipped, for forward compatibility as Redis does.
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err("File can't be a path, just a filename".into());
            }
            let file = AofFile { name, seq };
            match kind {
                'b' => {
                    if manifest.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    manifest.base_seq = seq;
                    manifest.base = Some(file);
                }
                'h' => manifest.history.push(file),
                'i' => {
                    if seq <= manifest.incr_seq {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    manifest.incr_seq = seq;
                    manifest.incrs.push(file);
                }
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        if manifest.base.is_none() && manifest.incrs.is_empty() && manifest.history.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(manifest)
    }

    /// The manifest's text, as Redis writes it: base, history, then incremental files.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |file: &AofFile, kind: char| {
            let _ = writeln!(
                out,
                "file {} seq {} type {kind}",
                quote(&file.name),
                file.seq
            );
        };
        if let Some(base) = &self.base {
            line(base, 'b');
        }
        for file in &self.history {
            line(file, 'h');
        }
        for file in &self.incrs {
            line(file, 'i');
        }
        out
    }

    /// Names the next base file (`<appendfilename>.<seq>.base.rdb`, or `.aof` without the
    /// RDB preamble) and takes its sequence number.
    pub(crate) fn next_base(&mut self, appendfilename: &str, rdb: bool) -> AofFile {
        self.base_seq += 1;
        let ext = if rdb { "rdb" } else { "aof" };
        AofFile {
            name: format!("{appendfilename}.{}.base.{ext}", self.base_seq),
            seq: self.base_seq,
        }
    }

    /// Names the next incremental file (`<appendfilename>.<seq>.incr.aof`) and takes its
    /// sequence number.
    pub(crate) fn next_incr(&mut self, appendfilename: &str) -> AofFile {
        self.incr_seq += 1;
        AofFile {
            name: format!("{appendfilename}.{}.incr.aof", self.incr_seq),
            seq: self.incr_seq,
        }
    }
}

/// A file name as Redis writes it: as is, or quoted when it holds spaces, quotes or
/// non-printable bytes (`sdscatrepr`).
fn quote(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// Splits a line into words as Redis's `sdssplitargs` does (double quotes with escapes,
/// single quotes); `None` for unbalanced quotes.
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    c if c == first => break,
                    '\\' if first == '"' => match chars.next()? {
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        'x' => {
                            let hex: String = [chars.next()?, chars.next()?].iter().collect();
                            word.push(u8::from_str_radix(&hex, 16).ok()? as char);
                        }
                        c => word.push(c),
                    },
                    c => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_7_manifests_parse_and_print_back_exactly() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type i\n";
        let manifest = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(
            manifest.base.as_ref().unwrap().name,
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(manifest.incrs.len(), 1);
        assert_eq!(manifest.to_text(), text);
        let mut next = manifest.clone();
        assert_eq!(
            next.next_base("appendonly.aof", true).name,
            "appendonly.aof.2.base.rdb"
        );
        assert_eq!(
            next.next_incr("appendonly.aof").name,
            "appendonly.aof.2.incr.aof"
        );
        assert_eq!(next.next_base("a b", false).name, "a b.3.base.aof");
    }

    #[test]
    fn history_comments_and_quoted_names() {
        let text = "# comment\nfile \"a b.1.base.aof\" seq 1 type b\n\
                    file x.1.incr.aof seq 1 type h\nfile x.2.incr.aof seq 2 type i\n";
        let manifest = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(manifest.base.as_ref().unwrap().name, "a b.1.base.aof");
        assert_eq!(manifest.history.len(), 1);
        assert_eq!(
            manifest.to_text(),
            "file \"a b.1.base.aof\" seq 1 type b\nfile x.1.incr.aof seq 1 type h\n\
             file x.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn bad_manifests_are_refused() {
        for bad in [
            "",
            "file a seq 1\n",
            "file a seq 1 type b\nfile b seq 2 type b\n",
            "file a seq 1 type z\n",
            "file \"a seq 1 type b\n",
            "file ../a seq 1 type b\n",
            "file a seq 2 type i\nfile b seq 1 type i\n",
        ] {
            assert!(Manifest::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
