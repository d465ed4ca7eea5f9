//! Redis's error texts built from client input, in one place for node and proxy alike.
//!
//! Each quotes at most 128 characters of what the client sent, as Redis does
//! (`server.c`, `processCommand`). Line breaks in the input never reach the wire: every error
//! reply is kept on one line when it is encoded ([`crate::Reply::encode`]).

use bytes::Bytes;

/// Longest quoted piece of client input, in characters, as Redis's 128.
const QUOTE_LIMIT: usize = 128;

fn quote(arg: &[u8], limit: usize) -> String {
    String::from_utf8_lossy(arg).chars().take(limit).collect()
}

/// `ERR unknown command 'name', with args beginning with: 'a' 'b' `: Redis's reply to a command
/// it does not serve, whatever its arguments. `args[0]` is the name (an empty request gives an
/// empty name).
pub fn unknown_command(args: &[Bytes]) -> String {
    let mut quoted = String::new();
    for arg in args.iter().skip(1) {
        if quoted.len() >= QUOTE_LIMIT {
            break;
        }
        let room = QUOTE_LIMIT - quoted.len();
        quoted.push('\'');
        quoted.push_str(&quote(arg, room));
        quoted.push_str("' ");
    }
    let name = args
        .first()
        .map_or_else(String::new, |name| quote(name, QUOTE_LIMIT));
    format!("ERR unknown command '{name}', with args beginning with: {quoted}")
}

/// `ERR unknown subcommand 'sub'. Try CONTAINER HELP.`
pub fn unknown_subcommand(container: &str, sub: &[u8]) -> String {
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        quote(sub, QUOTE_LIMIT),
        container.to_ascii_uppercase()
    )
}

/// `ERR wrong number of arguments for 'name' command` (`name` as `get` or `config|get`).
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_redis() {
        let args: Vec<Bytes> = ["foo", "a", "b"]
            .iter()
            .map(|w| Bytes::from_static(w.as_bytes()))
            .collect();
        assert_eq!(
            unknown_command(&args),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            unknown_subcommand("config", b"nope"),
            "ERR unknown subcommand 'nope'. Try CONFIG HELP."
        );
        assert_eq!(
            wrong_arity("config|get"),
            "ERR wrong number of arguments for 'config|get' command"
        );
    }

    #[test]
    fn long_input_is_cut() {
        let long = Bytes::from(vec![b'x'; 1000]);
        let text = unknown_command(&[long.clone(), long]);
        assert!(text.len() < 400, "{}", text.len());
    }
}
