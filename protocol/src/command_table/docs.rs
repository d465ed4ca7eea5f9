//! `COMMAND DOCS`: the argument tree parsed from a command's syntax string, and the replies.
//!
//! The syntax is the one of the Redis docs: `[...]` optional, `<a | b>` a required choice
//! (`[a | b]` an optional one), `x [x ...]` a repeated argument, upper-case words tokens
//! (`NX`, `EX seconds`), `""` the empty-string token, lower-case words named arguments. A token
//! followed by one argument gives that argument its token (`EX seconds`: an integer `seconds`
//! with token `EX`); a group that starts with a token followed by several items becomes a block
//! with that token (`[LIMIT offset count]`). Argument types are not in the syntax: they follow
//! from the names (`key`, `count`, `timeout`...) with the exceptions Redis has.

use std::borrow::Cow;

use bytes::Bytes;

use super::resolve::{resolve_full_name, CommandSet};
use super::{CommandSpec, COMMANDS};
use crate::reply::Reply;

/// One argument of a command, as `COMMAND DOCS` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The argument's name (`key`, `seconds`; lower-cased token for a pure token).
    pub name: Cow<'static, str>,
    /// Its type, with the children of a choice or block.
    pub kind: ArgKind,
    /// The token that precedes it (`EX` for `EX seconds`), or the pure token itself.
    pub token: Option<&'static str>,
    /// Index in the command's key specifications, for keys.
    pub key_spec_index: Option<usize>,
    /// May be left out.
    pub optional: bool,
    /// May be repeated.
    pub multiple: bool,
    /// When repeated, the token is repeated too (`GET pattern [GET pattern ...]`).
    pub multiple_token: bool,
}

/// The type of an [`Arg`], as `COMMAND DOCS` names it.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgKind {
    /// `key`.
    Key,
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `double`.
    Double,
    /// `pattern`.
    Pattern,
    /// `unix-time`.
    UnixTime,
    /// `pure-token`: the token alone.
    PureToken,
    /// `oneof`: exactly one of the children.
    OneOf(Vec<Arg>),
    /// `block`: the children in order.
    Block(Vec<Arg>),
}

impl ArgKind {
    /// The type name `COMMAND DOCS` uses.
    pub fn type_name(&self) -> &'static str {
        match self {
            ArgKind::Key => "key",
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf(_) => "oneof",
            ArgKind::Block(_) => "block",
        }
    }
}

impl Arg {
    fn new(name: impl Into<Cow<'static, str>>, kind: ArgKind) -> Arg {
        Arg {
            name: name.into(),
            kind,
            token: None,
            key_spec_index: None,
            optional: false,
            multiple: false,
            multiple_token: false,
        }
    }

    /// The `COMMAND DOCS` map of this argument.
    fn reply(&self) -> Reply {
        let mut map = vec![
            (
                Reply::bulk_static("name"),
                Reply::bulk(self.name.as_bytes()),
            ),
            (
                Reply::bulk_static("type"),
                Reply::bulk_static(self.kind.type_name()),
            ),
        ];
        if let Some(index) = self.key_spec_index {
            map.push((
                Reply::bulk_static("key_spec_index"),
                Reply::Int(index as i64),
            ));
        }
        if let Some(token) = self.token {
            map.push((Reply::bulk_static("token"), Reply::bulk_static(token)));
        }
        let flags: Vec<Reply> = [
            (self.optional, "optional"),
            (self.multiple, "multiple"),
            (self.multiple_token, "multiple_token"),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| Reply::simple(name))
        .collect();
        if !flags.is_empty() {
            map.push((Reply::bulk_static("flags"), Reply::Set(flags)));
        }
        if let ArgKind::OneOf(children) | ArgKind::Block(children) = &self.kind {
            let children = children.iter().map(Arg::reply).collect();
            map.push((Reply::bulk_static("arguments"), Reply::Array(children)));
        }
        Reply::Map(map)
    }
}

/// The arguments of `spec` (after its name, or after the container and subcommand names),
/// parsed from its syntax string. Never panics, whatever the syntax.
pub fn parse_syntax(spec: &CommandSpec) -> Vec<Arg> {
    let tokens = tokenize(spec.syntax);
    let mut parser = Parser {
        tokens,
        position: 0,
    };
    let mut raw = Vec::new();
    while parser.position < parser.tokens.len() {
        let alternatives = parser.alternatives();
        if alternatives.len() > 1 {
            raw.push(Raw::Group {
                required: true,
                alternatives,
            });
        } else {
            raw.extend(alternatives.into_iter().flatten());
        }
        // Skip a stray closing bracket, if any, so that parsing always advances.
        parser.position += 1;
    }
    let context = Context { command: spec.name };
    let mut args = context.sequence(&merge_repeats(raw), false);
    let key_specs = spec.key_specs().count();
    let mut next_key = 0;
    for arg in &mut args {
        number_keys(arg, &mut next_key, key_specs);
    }
    args
}

/// Gives the keys their key-spec index, in order, up to the last key spec.
fn number_keys(arg: &mut Arg, next: &mut usize, key_specs: usize) {
    match &mut arg.kind {
        ArgKind::Key if key_specs > 0 => {
            arg.key_spec_index = Some((*next).min(key_specs - 1));
            *next += 1;
        }
        ArgKind::OneOf(children) | ArgKind::Block(children) => {
            for child in children {
                number_keys(child, next, key_specs);
            }
        }
        _ => {}
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    Open(bool),
    Close,
    Bar,
    Ellipsis,
    Word(&'static str),
}

fn tokenize(syntax: &'static str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = syntax;
    while let Some(c) = rest.chars().next() {
        let token = match c {
            '[' => Token::Open(false),
            '<' => Token::Open(true),
            ']' | '>' => Token::Close,
            '|' => Token::Bar,
            c if c.is_whitespace() => {
                rest = &rest[c.len_utf8()..];
                continue;
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || "[]<>|".contains(c))
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                rest = &rest[end..];
                tokens.push(if word == "..." {
                    Token::Ellipsis
                } else {
                    Token::Word(word)
                });
                continue;
            }
        };
        rest = &rest[1..];
        tokens.push(token);
    }
    tokens
}

/// The syntax before repetitions, tokens and types are worked out.
#[derive(Clone, Debug, PartialEq)]
enum Raw {
    Word(&'static str),
    Ellipsis,
    Group {
        required: bool,
        alternatives: Vec<Vec<Raw>>,
    },
    Repeat {
        items: Vec<Raw>,
        each_token: bool,
    },
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn alternatives(&mut self) -> Vec<Vec<Raw>> {
        let mut alternatives = vec![self.sequence()];
        while self.tokens.get(self.position) == Some(&Token::Bar) {
            self.position += 1;
            alternatives.push(self.sequence());
        }
        alternatives
    }

    fn sequence(&mut self) -> Vec<Raw> {
        let mut items = Vec::new();
        while let Some(&token) = self.tokens.get(self.position) {
            match token {
                Token::Close | Token::Bar => break,
                Token::Open(required) => {
                    self.position += 1;
                    let alternatives = self.alternatives();
                    if self.tokens.get(self.position) == Some(&Token::Close) {
                        self.position += 1;
                    }
                    items.push(Raw::Group {
                        required,
                        alternatives,
                    });
                }
                Token::Ellipsis => {
                    self.position += 1;
                    items.push(Raw::Ellipsis);
                }
                Token::Word(word) => {
                    self.position += 1;
                    items.push(Raw::Word(word));
                }
            }
        }
        merge_repeats(items)
    }
}

fn is_token(word: &str) -> bool {
    !word.bytes().any(|b| b.is_ascii_lowercase())
}

fn is_token_item(item: &Raw) -> bool {
    matches!(item, Raw::Word(word) if is_token(word))
}

/// Folds `x [x ...]` (and `TOKEN x [x ...]`) into repetitions.
fn merge_repeats(items: Vec<Raw>) -> Vec<Raw> {
    let mut out: Vec<Raw> = Vec::with_capacity(items.len());
    for item in items {
        if let Raw::Group {
            required: false,
            alternatives,
        } = &item
        {
            if let [alternative] = alternatives.as_slice() {
                if let [repeated @ .., Raw::Ellipsis] = alternative.as_slice() {
                    let n = repeated.len();
                    if n > 0 && out.len() >= n && out[out.len() - n..] == *repeated {
                        out.truncate(out.len() - n);
                        out.push(Raw::Repeat {
                            items: repeated.to_vec(),
                            each_token: is_token_item(&repeated[0]),
                        });
                        continue;
                    }
                    if n == 1
                        && out.len() >= 2
                        && out[out.len() - 1] == repeated[0]
                        && is_token_item(&out[out.len() - 2])
                    {
                        let token = out[out.len() - 2].clone();
                        out.truncate(out.len() - 2);
                        out.push(Raw::Repeat {
                            items: vec![token, repeated[0].clone()],
                            each_token: false,
                        });
                        continue;
                    }
                }
            }
        }
        out.push(item);
    }
    out
}

struct Context {
    command: &'static str,
}

impl Context {
    /// The arguments of a sequence of items; `whole` when the sequence is a group of its own
    /// (then `TOKEN a b...` is a block with that token).
    fn sequence(&self, items: &[Raw], whole: bool) -> Vec<Arg> {
        if whole && items.len() >= 3 {
            if let Raw::Word(token) = items[0] {
                if is_token(token) {
                    let mut block = Arg::new(
                        token.to_ascii_lowercase(),
                        ArgKind::Block(self.sequence(&items[1..], false)),
                    );
                    block.token = Some(unquote(token));
                    return vec![block];
                }
            }
        }
        let mut args = Vec::new();
        let mut i = 0;
        while i < items.len() {
            match &items[i] {
                Raw::Word(token) if is_token(token) => {
                    let next = items.get(i + 1).filter(|next| !is_token_item(next));
                    match next.and_then(|next| self.item(next)) {
                        Some(arg) => {
                            args.push(with_token(arg, unquote(token)));
                            i += 2;
                        }
                        None => {
                            args.push(pure_token(token));
                            i += 1;
                        }
                    }
                }
                item => {
                    args.extend(self.item(item));
                    i += 1;
                }
            }
        }
        args
    }

    fn item(&self, item: &Raw) -> Option<Arg> {
        match item {
            Raw::Ellipsis => None,
            Raw::Word(word) if is_token(word) => Some(pure_token(word)),
            Raw::Word(name) => Some(Arg::new(*name, arg_type(self.command, name))),
            Raw::Repeat { items, each_token } => {
                let mut arg = self.single(items)?;
                arg.multiple = true;
                arg.multiple_token = *each_token && arg.token.is_some();
                Some(arg)
            }
            Raw::Group {
                required,
                alternatives,
            } => {
                let mut arg = if alternatives.len() == 1 {
                    self.single(&alternatives[0])?
                } else {
                    let children: Vec<Arg> = alternatives
                        .iter()
                        .filter_map(|alternative| self.single(alternative))
                        .collect();
                    Arg::new(joined_name(&children), ArgKind::OneOf(children))
                };
                if !required {
                    arg.optional = true;
                }
                Some(arg)
            }
        }
    }

    /// A sequence as one argument: itself if it is one, otherwise a block.
    fn single(&self, items: &[Raw]) -> Option<Arg> {
        let mut args = self.sequence(items, true);
        match args.len() {
            0 => None,
            1 => args.pop(),
            _ => Some(Arg::new(joined_name(&args), ArgKind::Block(args))),
        }
    }
}

fn unquote(token: &'static str) -> &'static str {
    if token == "\"\"" {
        ""
    } else {
        token
    }
}

fn pure_token(word: &'static str) -> Arg {
    let token = unquote(word);
    let name = if token.is_empty() {
        Cow::Borrowed("empty_string")
    } else {
        Cow::Owned(token.to_ascii_lowercase())
    };
    let mut arg = Arg::new(name, ArgKind::PureToken);
    arg.token = Some(token);
    arg
}

/// `arg` preceded by `token`; a block around it when it already has a token.
fn with_token(mut arg: Arg, token: &'static str) -> Arg {
    if arg.token.is_none() && !matches!(arg.kind, ArgKind::PureToken) {
        arg.token = Some(token);
        return arg;
    }
    let mut block = Arg::new(token.to_ascii_lowercase(), ArgKind::Block(vec![arg]));
    block.token = Some(token);
    block
}

fn joined_name(children: &[Arg]) -> String {
    let names: Vec<&str> = children.iter().map(|child| child.name.as_ref()).collect();
    names.join("_")
}

/// The type of the argument `name` of `command` (the leaf name for a subcommand).
fn arg_type(command: &str, name: &str) -> ArgKind {
    use ArgKind::*;
    // Where Redis's type differs from the usual one for the name.
    match (command, name) {
        ("bitfield" | "setbit", "value") => return Integer,
        ("pause" | "migrate" | "wait", "timeout") => return Integer,
        ("keyslot", "key") => return String,
        ("hincrbyfloat" | "incrbyfloat", "increment") => return Double,
        ("xpending", "min-idle-time") => return Integer,
        ("xautoclaim" | "xpending" | "xrange" | "xrevrange" | "zrange", _)
            if matches!(name, "start" | "end" | "stop") =>
        {
            return String
        }
        ("zcount" | "zrangebyscore" | "zremrangebyscore" | "zrevrangebyscore", "min" | "max") => {
            return Double
        }
        _ => {}
    }
    match name {
        "key" | "key1" | "key2" | "destination" | "destkey" | "dst" | "newkey" | "source"
        | "sourcekey" | "src" => Key,
        "pattern" => Pattern,
        "unix-time-seconds" | "unix-time-milliseconds" => UnixTime,
        "height" | "width" | "latitude" | "longitude" | "radius" | "score" | "timeout" => Double,
        "bit" | "bits" | "client-id" | "cluster_bus_port" | "config-epoch" | "count" | "cursor"
        | "db" | "decrement" | "destination-db" | "end" | "end-slot" | "entries_added"
        | "entries_read" | "frequency" | "increment" | "index" | "index1" | "index2" | "len"
        | "limit" | "milliseconds" | "ms" | "num-matches" | "numkeys" | "numreplicas"
        | "offset" | "port" | "protover" | "rank" | "seconds" | "slot" | "start" | "start-slot"
        | "stop" | "ttl" | "version" | "weight" => Integer,
        _ => String,
    }
}

/// The `COMMAND DOCS` value for one command: a map of `summary`, `since`, `group`,
/// `complexity`, `doc_flags`, `deprecated_since`, `replaced_by` (those that are set),
/// `arguments` and `subcommands` (when there are any), as Redis 7.0 gives it. The per-version
/// `history` of Redis is not kept. Only the subcommands in `served` are listed.
pub fn command_docs_reply(spec: &'static CommandSpec, served: &CommandSet) -> Reply {
    docs_map(spec, spec.name, served)
}

fn docs_map(spec: &'static CommandSpec, full_name: &str, served: &CommandSet) -> Reply {
    let mut map = Vec::new();
    for (field, value) in [
        ("summary", spec.summary),
        ("since", spec.since),
        ("group", spec.group),
        ("complexity", spec.complexity),
    ] {
        if !value.is_empty() {
            map.push((Reply::bulk_static(field), Reply::bulk_static(value)));
        }
    }
    if !spec.doc_flags.is_empty() {
        let flags = spec
            .doc_flags
            .split_whitespace()
            .map(Reply::simple)
            .collect();
        map.push((Reply::bulk_static("doc_flags"), Reply::Set(flags)));
    }
    for (field, value) in [
        ("deprecated_since", spec.deprecated_since),
        ("replaced_by", spec.replaced_by),
    ] {
        if !value.is_empty() {
            map.push((Reply::bulk_static(field), Reply::bulk_static(value)));
        }
    }
    let args = parse_syntax(spec);
    if !args.is_empty() {
        let args = args.iter().map(Arg::reply).collect();
        map.push((Reply::bulk_static("arguments"), Reply::Array(args)));
    }
    if !spec.subcommands.is_empty() {
        let subcommands = spec
            .subcommands
            .iter()
            .filter(|sub| served.contains_spec(Some(spec), sub))
            .map(|sub| {
                let name = format!("{full_name}|{}", sub.name);
                let docs = docs_map(sub, &name, served);
                (Reply::bulk(name), docs)
            })
            .collect();
        map.push((Reply::bulk_static("subcommands"), Reply::Map(subcommands)));
    }
    Reply::Map(map)
}

/// The reply to `COMMAND DOCS [name ...]`: a map from each named command in `served` to its
/// docs (every command in `served` when `names` is empty; other names are left out, as Redis
/// does for unknown ones). `container|sub` names a subcommand.
pub fn command_docs(names: &[Bytes], served: &CommandSet) -> Reply {
    if names.is_empty() {
        let all = COMMANDS
            .iter()
            .filter(|spec| served.contains_spec(None, spec))
            .map(|spec| {
                (
                    Reply::bulk_static(spec.name),
                    command_docs_reply(spec, served),
                )
            })
            .collect();
        return Reply::Map(all);
    }
    let found = names
        .iter()
        .filter_map(|name| resolve_full_name(name))
        .filter(|found| served.contains(found.index))
        .map(|found| {
            let full_name = found.to_string();
            let docs = docs_map(found.spec(), &full_name, served);
            (Reply::bulk(full_name), docs)
        })
        .collect();
    Reply::Map(found)
}
