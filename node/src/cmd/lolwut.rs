//! `LOLWUT [VERSION v] [arg ...]`: a piece of computer art and the server's version, as Redis
//! 7.2 answers it. Facts from Redis's `lolwut.c`: without `VERSION` (or for a version other
//! than 5 and 6) the reply is just `Redis ver. <version>\n`; version 5 draws squares that
//! tumble more the lower they are, after Georg Nees's "Schotter", and version 6 a skyline; each
//! ends with its caption and the version line. The drawings here are the node's own, in plain
//! ASCII.

use bytes::Bytes;
use redoubt_protocol::Reply;

use super::{is, parse_i64, CmdResult, Ctx};

/// Registrations of this family's handlers.
pub(crate) const COMMANDS: &[(&str, super::Handler)] = &[("lolwut", lolwut)];

/// `LOLWUT [VERSION v] [arg ...]` → verbatim text ending with `Redis ver. <version>\n`.
/// Version 5 takes `[columns [squares-per-row [squares-per-column]]]`, version 6
/// `[columns [rows]]`. Errors: a `VERSION` or size that is not an integer →
/// `-ERR value is not an integer or out of range`.
fn lolwut(_: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut rest = &args[1..];
    let mut major = None;
    if rest.len() >= 2 && is(&rest[0], "version") {
        major = Some(parse_i64(&rest[1])?);
        rest = &rest[2..];
    }
    let version = crate::REDIS_VERSION;
    let size = |i: usize, default: i64, max: i64| -> Result<usize, Reply> {
        let n = rest.get(i).map_or(Ok(default), |a| parse_i64(a))?;
        Ok(n.clamp(1, max) as usize)
    };
    let text = match major.map(|m| m as u32) {
        Some(5) => {
            let art = schotter(size(0, 66, 1000)?, size(1, 8, 200)?, size(2, 12, 200)?);
            format!("{art}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {version}\n")
        }
        Some(6) => {
            let art = skyline(size(0, 80, 1000)?, size(1, 20, 1000)?);
            format!(
                "{art}\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. {version}\n"
            )
        }
        _ => format!("Redis ver. {version}\n"),
    };
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

/// A deterministic pseudo-random sequence (xorshift), so the art is the same every time.
struct Noise(u64);

impl Noise {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

/// Rows of squares `#` on a `columns`-wide canvas; each row down shifts its squares further
/// at random, as Schotter's disorder grows.
fn schotter(columns: usize, per_row: usize, per_column: usize) -> String {
    let side = (columns / per_row).max(1);
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    for row in 0..per_column {
        let disorder = row * side / per_column.max(1);
        let mut line = vec![b' '; columns + side];
        for square in 0..per_row {
            let shift = noise.next(disorder + 1);
            let start = (square * side + shift).min(columns.saturating_sub(1));
            let end = (start + side.saturating_sub(1).max(1)).min(columns);
            for cell in &mut line[start..end] {
                *cell = b'#';
            }
        }
        line.truncate(columns);
        out.push_str(String::from_utf8_lossy(&line).trim_end());
        out.push('\n');
    }
    out
}

/// Buildings of random heights on a `columns` × `rows` canvas, windows lit at random.
fn skyline(columns: usize, rows: usize) -> String {
    let mut noise = Noise(0xD1B5_4A32_D192_ED03);
    let mut heights = Vec::with_capacity(columns);
    while heights.len() < columns {
        let width = 3 + noise.next(5);
        let height = 1 + noise.next(rows);
        heights.extend(std::iter::repeat_n(height, width));
    }
    heights.truncate(columns);
    let mut out = String::new();
    for row in (0..rows).rev() {
        let line: String = heights
            .iter()
            .map(|&h| match h.cmp(&(row + 1)) {
                std::cmp::Ordering::Less => ' ',
                std::cmp::Ordering::Equal => '_',
                std::cmp::Ordering::Greater if noise.next(4) == 0 => '.',
                std::cmp::Ordering::Greater => '#',
            })
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
