//! The point commands: `GEOADD`, `GEODIST`, `GEOHASH` and `GEOPOS`. Each request is parsed
//! from the full argument vector (command name first, arity already checked by the command
//! table), then run against the sorted set under its key. Source: Redis 7.2 `geo.c`
//! (`geoaddCommand`, `geodistCommand`, `geohashCommand`, `geoposCommand`) and, for `GEOADD`'s
//! flags, `t_zset.c` (`zaddGenericCommand`).

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};

use super::{distance_reply, hash, lon_lat, position_reply, Unit, SYNTAX};
use crate::value::zset::ZSetValue;

/// `GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]`
/// → integer: members added (with `CH`, added or moved).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GeoAdd {
    /// `NX`: only add new members.
    pub(crate) nx: bool,
    /// `XX`: only move existing members. With an absent key nothing is created: run it on an
    /// empty set and drop the set when it stays empty.
    pub(crate) xx: bool,
    /// `CH`: count moved members too.
    pub(crate) ch: bool,
    /// Members and their scores (52-bit geohashes), in argument order.
    pub(crate) points: Vec<(Bytes, f64)>,
}

impl GeoAdd {
    /// Parses the arguments. `NX`, `XX` and `CH` may come in any order and repeat before the
    /// first longitude.
    ///
    /// # Errors
    /// `ERR syntax error` when no triple follows the flags, a triple is incomplete, or both
    /// `NX` and `XX` are given; `ERR value is not a valid float`; `ERR invalid
    /// longitude,latitude pair x,y`.
    pub(crate) fn parse(args: &[Bytes]) -> Result<GeoAdd, Reply> {
        let (mut nx, mut xx, mut ch) = (false, false, false);
        let mut at = 2;
        while let Some(arg) = args.get(at) {
            if arg.eq_ignore_ascii_case(b"nx") {
                nx = true;
            } else if arg.eq_ignore_ascii_case(b"xx") {
                xx = true;
            } else if arg.eq_ignore_ascii_case(b"ch") {
                ch = true;
            } else {
                break;
            }
            at += 1;
        }
        let rest = args.get(at..).unwrap_or_default();
        if rest.is_empty() || rest.len() % 3 != 0 || (nx && xx) {
            return Err(Reply::error(SYNTAX));
        }
        let mut points = Vec::with_capacity(rest.len() / 3);
        for triple in rest.chunks_exact(3) {
            let (x, y) = lon_lat(&triple[0], &triple[1])?;
            // A pair within the limits always encodes.
            let score = hash::score_of(x, y).unwrap_or_default();
            points.push((triple[2].clone(), score));
        }
        Ok(GeoAdd { nx, xx, ch, points })
    }

    /// Adds or moves the members, in argument order, as `ZADD` with the same flags does.
    pub(crate) fn run(&self, zset: &mut ZSetValue) -> Reply {
        let (mut added, mut moved) = (0, 0);
        for (member, score) in &self.points {
            match zset.score(member) {
                Some(_) if self.nx => {}
                Some(old) => {
                    if old != *score {
                        zset.insert(member.clone(), *score);
                        moved += 1;
                    }
                }
                None if self.xx => {}
                None => {
                    zset.insert(member.clone(), *score);
                    added += 1;
                }
            }
        }
        Reply::Int(if self.ch { added + moved } else { added })
    }
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]` → the distance as a bulk string with four
/// decimals (in both protocols), or nil when the key or either member is missing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GeoDist {
    pub(crate) members: (Bytes, Bytes),
    pub(crate) unit: Unit,
}

impl GeoDist {
    /// Parses the arguments. Redis checks them before it looks the key up, so these errors
    /// win over `WRONGTYPE`.
    ///
    /// # Errors
    /// `ERR unsupported unit provided. please use M, KM, FT, MI`; `ERR syntax error` with more
    /// than one unit.
    pub(crate) fn parse(args: &[Bytes]) -> Result<GeoDist, Reply> {
        let unit = match args.len() {
            4 => Unit::M,
            5 => Unit::parse(&args[4])?,
            // More arguments (or fewer, which the command table's arity already refuses).
            _ => return Err(Reply::error(SYNTAX)),
        };
        Ok(GeoDist {
            members: (args[2].clone(), args[3].clone()),
            unit,
        })
    }

    /// The distance between the two members' decoded positions.
    pub(crate) fn run(&self, zset: Option<&ZSetValue>) -> Reply {
        let scores =
            zset.and_then(|z| Some((z.score(&self.members.0)?, z.score(&self.members.1)?)));
        let Some((a, b)) = scores else {
            return Reply::Null;
        };
        let (x1, y1) = hash::position_of(a);
        let (x2, y2) = hash::position_of(b);
        distance_reply(hash::distance(x1, y1, x2, y2) / self.unit.meters())
    }
}

/// `GEOHASH key [member ...]` → an array of 11-character standard geohash strings, nil for
/// missing members (all nil when the key is missing).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GeoHash {
    pub(crate) members: Vec<Bytes>,
}

impl GeoHash {
    /// Parses the arguments (every argument after the key is a member).
    pub(crate) fn parse(args: &[Bytes]) -> GeoHash {
        GeoHash {
            members: args.get(2..).unwrap_or_default().to_vec(),
        }
    }

    /// The geohash strings.
    pub(crate) fn run(&self, zset: Option<&ZSetValue>) -> Reply {
        let hashes = self.members.iter().map(|m| {
            zset.and_then(|z| z.score(m)).map_or(Reply::Null, |score| {
                Reply::bulk(hash::geohash_string(score))
            })
        });
        Reply::Array(hashes.collect())
    }
}

/// `GEOPOS key [member ...]` → an array of `[longitude, latitude]` pairs (the centre of each
/// member's cell), a null array for missing members.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GeoPos {
    pub(crate) members: Vec<Bytes>,
}

impl GeoPos {
    /// Parses the arguments (every argument after the key is a member).
    pub(crate) fn parse(args: &[Bytes]) -> GeoPos {
        GeoPos {
            members: args.get(2..).unwrap_or_default().to_vec(),
        }
    }

    /// The positions, printed as [`super::human_double`] does.
    pub(crate) fn run(&self, zset: Option<&ZSetValue>, protocol: Protocol) -> Reply {
        let positions = self.members.iter().map(|m| {
            zset.and_then(|z| z.score(m))
                .map_or(Reply::NullArray, |score| {
                    position_reply(hash::position_of(score), protocol)
                })
        });
        Reply::Array(positions.collect())
    }
}
