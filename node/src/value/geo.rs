//! Geospatial indexes: a sorted set whose scores are 52-bit interleaved geohashes. This module
//! owns the cores of Redis's geo commands, independent of key access: each request is parsed
//! into a typed value (with Redis's exact error texts), then run against the sorted set the
//! caller looked up, giving a [`Reply`] (and, for the `STORE` forms, the members and scores to
//! store). Source: Redis 7.2 `geo.c`, `geohash.c` and `geohash_helper.c`.
//!
//! `hash` holds the geohash arithmetic, `area` the search area and the walk over the set,
//! `order` Redis's sorting by distance, `command` the point commands (`GEOADD`, `GEODIST`, `GEOHASH`, `GEOPOS`) and `search` the
//! area commands (`GEORADIUS*`, `GEOSEARCH*`).

mod area;
mod command;
mod hash;
mod order;
mod search;
#[cfg(test)]
mod tests;

use redoubt_protocol::{Protocol, Reply};

pub(crate) use command::{GeoAdd, GeoDist, GeoHash, GeoPos};
pub(crate) use search::{Search, SearchKind, SearchOutcome};

/// `ERR syntax error`.
const SYNTAX: &str = "ERR syntax error";
/// Redis's reply to an argument that is not a double.
const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Redis's reply to an argument that is not a 64-bit integer.
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// A distance unit and its size in metres (`extractUnitOrReply`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unit {
    /// `m`, metres.
    M,
    /// `km`, kilometres.
    Km,
    /// `ft`, feet (0.3048 m).
    Ft,
    /// `mi`, miles (1609.34 m, as Redis rounds it).
    Mi,
}

impl Unit {
    /// Parses a unit name, ignoring case.
    ///
    /// # Errors
    /// `ERR unsupported unit provided. please use M, KM, FT, MI`.
    pub(crate) fn parse(arg: &[u8]) -> Result<Unit, Reply> {
        for (name, unit) in [
            ("m", Unit::M),
            ("km", Unit::Km),
            ("ft", Unit::Ft),
            ("mi", Unit::Mi),
        ] {
            if arg.eq_ignore_ascii_case(name.as_bytes()) {
                return Ok(unit);
            }
        }
        Err(Reply::error(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }

    /// The unit's size in metres.
    pub(crate) fn meters(self) -> f64 {
        match self {
            Unit::M => 1.0,
            Unit::Km => 1000.0,
            Unit::Ft => 0.3048,
            Unit::Mi => 1609.34,
        }
    }
}

/// Parses a double as Redis's `string2d` does: no leading space, the whole argument, not NaN,
/// and not a value that overflows to infinity or underflows to zero.
fn parse_double(arg: &[u8]) -> Option<f64> {
    let value = crate::value::parse_f64(arg)?;
    let mantissa = arg.split(|&b| b == b'e' || b == b'E').next().unwrap_or(arg);
    let overflow = value.is_infinite() && !arg.iter().any(|b| b.eq_ignore_ascii_case(&b'i'));
    let underflow = value == 0.0 && mantissa.iter().any(|b| (b'1'..=b'9').contains(b));
    (!overflow && !underflow).then_some(value)
}

/// Parses a double argument; `message` (or `ERR value is not a valid float`) when it is not
/// one (`getDoubleFromObjectOrReply`).
fn double_arg(arg: &[u8], message: Option<&'static str>) -> Result<f64, Reply> {
    parse_double(arg).ok_or_else(|| Reply::error(message.unwrap_or(NOT_FLOAT)))
}

/// Parses `longitude latitude` (`extractLongLatOrReply`).
///
/// # Errors
/// `ERR value is not a valid float`, or `ERR invalid longitude,latitude pair x,y` (each printed
/// with six decimals) outside ±180, ±85.05112878.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), Reply> {
    let x = double_arg(lon, None)?;
    let y = double_arg(lat, None)?;
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&x)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&y)
    {
        return Err(Reply::error_owned(format!(
            "ERR invalid longitude,latitude pair {x:.6},{y:.6}"
        )));
    }
    Ok((x, y))
}

/// A distance as `GEODIST` and `WITHDIST` print it, a bulk string in both protocols: rounded
/// to four decimals (`fixedpoint_d2string`: `llrint(d * 10000)`, then the digits).
fn distance_reply(d: f64) -> Reply {
    if d == 0.0 {
        return Reply::bulk_static("0.0000");
    }
    let scaled = (d * 10000.0).round_ties_even();
    // `llrint` gives the "integer indefinite" value when the result does not fit.
    let scaled = if scaled.is_nan() || !(-hash::TWO_63..hash::TWO_63).contains(&scaled) {
        i64::MIN
    } else {
        scaled as i64
    };
    let sign = if scaled < 0 { "-" } else { "" };
    let magnitude = scaled.unsigned_abs();
    Reply::bulk(format!(
        "{sign}{}.{:04}",
        magnitude / 10000,
        magnitude % 10000
    ))
}

/// A coordinate as `GEOPOS` and `WITHCOORD` print it (`addReplyHumanLongDouble`): seventeen
/// decimals, trailing zeros and a trailing dot removed, `-0` as `0`.
fn human_double(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x.is_nan() {
        return "nan".to_string();
    }
    let mut text = format!("{x:.17}");
    let kept = text.trim_end_matches('0').trim_end_matches('.').len();
    text.truncate(kept);
    if text == "-0" {
        text = "0".to_string();
    }
    text
}

/// A coordinate reply: a bulk string in RESP2. Redis sends a RESP3 double carrying the same
/// seventeen-decimal text; [`Reply::Double`] carries the same value but prints it shortest.
fn coord_reply(x: f64, protocol: Protocol) -> Reply {
    match protocol {
        Protocol::Resp2 => Reply::bulk(human_double(x)),
        Protocol::Resp3 => Reply::Double(x),
    }
}

/// A `[longitude, latitude]` pair reply.
fn position_reply(position: (f64, f64), protocol: Protocol) -> Reply {
    Reply::Array(vec![
        coord_reply(position.0, protocol),
        coord_reply(position.1, protocol),
    ])
}
