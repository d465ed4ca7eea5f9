//! The area commands: `GEORADIUS`, `GEORADIUSBYMEMBER` (and their `_RO` forms), `GEOSEARCH`
//! and `GEOSEARCHSTORE`. A request is parsed against the source set, because Redis resolves a
//! `FROMMEMBER` (or `GEORADIUSBYMEMBER`'s member) while it reads the arguments, so its error
//! comes before those of later arguments. Source: Redis 7.2 `geo.c` (`georadiusGeneric`).

use bytes::Bytes;
use redoubt_protocol::{Protocol, Reply};

use super::area::{Extent, Point, Shape};
use super::order;
use super::{distance_reply, double_arg, hash, lon_lat, position_reply, Unit, NOT_INTEGER, SYNTAX};
use crate::value::zset::ZSetValue;

/// Which command a search request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SearchKind {
    /// `GEORADIUS key longitude latitude radius unit [options] [STORE key] [STOREDIST key]`.
    Radius,
    /// `GEORADIUS_RO`: as `GEORADIUS` without `STORE`/`STOREDIST`.
    RadiusRo,
    /// `GEORADIUSBYMEMBER key member radius unit [options] [STORE key] [STOREDIST key]`.
    RadiusByMember,
    /// `GEORADIUSBYMEMBER_RO`: without `STORE`/`STOREDIST`.
    RadiusByMemberRo,
    /// `GEOSEARCH key FROMMEMBER m|FROMLONLAT x y BYRADIUS r unit|BYBOX w h unit [options]`.
    Search,
    /// `GEOSEARCHSTORE destination source ... [STOREDIST]`.
    SearchStore,
}

impl SearchKind {
    /// Index of the source key in the argument vector.
    pub(crate) fn source_index(self) -> usize {
        if self == SearchKind::SearchStore {
            2
        } else {
            1
        }
    }

    fn is_geosearch(self) -> bool {
        matches!(self, SearchKind::Search | SearchKind::SearchStore)
    }

    fn accepts_store(self) -> bool {
        matches!(self, SearchKind::Radius | SearchKind::RadiusByMember)
    }
}

/// Result order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sort {
    /// The order the cells are scanned in.
    None,
    /// Nearest first.
    Asc,
    /// Farthest first.
    Desc,
}

/// Where to store the results instead of replying with them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Store {
    /// The destination key.
    pub(crate) key: Bytes,
    /// `STOREDIST`: store distances (in the request's unit) as scores instead of geohashes.
    pub(crate) dist: bool,
}

/// A parsed search request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Search {
    /// The centre; `None` only when the source key is missing and the centre is a member.
    pub(crate) centre: Option<(f64, f64)>,
    /// The extent and its unit; `None` only when the source key is missing and the command is
    /// `GEORADIUSBYMEMBER`, whose radius Redis then does not read.
    pub(crate) extent: Option<(Extent, Unit)>,
    pub(crate) sort: Sort,
    /// `COUNT n` (n ≥ 1).
    pub(crate) count: Option<u64>,
    /// `ANY`: stop scanning once `count` members are found.
    pub(crate) any: bool,
    pub(crate) with_dist: bool,
    pub(crate) with_hash: bool,
    pub(crate) with_coord: bool,
    pub(crate) store: Option<Store>,
}

/// What running a search gives.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SearchOutcome {
    /// Reply with this (an array of results).
    Reply(Reply),
    /// Replace `key` by a sorted set of `members` and reply with their count; when `members`
    /// is empty, delete `key` instead.
    Store {
        key: Bytes,
        members: Vec<(Bytes, f64)>,
    },
}

/// `ERR could not decode requested zset member`.
const NO_MEMBER: &str = "ERR could not decode requested zset member";

/// `radius unit` (`extractDistanceOrReply`).
fn radius(args: &[Bytes]) -> Result<(Extent, Unit), Reply> {
    let r = double_arg(&args[0], Some("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(Reply::error("ERR radius cannot be negative"));
    }
    Ok((Extent::Radius(r), Unit::parse(&args[1])?))
}

/// `width height unit` (`extractBoxOrReply`).
fn dimensions(args: &[Bytes]) -> Result<(Extent, Unit), Reply> {
    let width = double_arg(&args[0], Some("ERR need numeric width"))?;
    let height = double_arg(&args[1], Some("ERR need numeric height"))?;
    if height < 0.0 || width < 0.0 {
        return Err(Reply::error("ERR height or width cannot be negative"));
    }
    Ok((Extent::Box { width, height }, Unit::parse(&args[2])?))
}

/// The decoded position of `member` in `zset`.
fn member_position(zset: &ZSetValue, member: &[u8]) -> Result<(f64, f64), Reply> {
    zset.score(member)
        .map(hash::position_of)
        .ok_or(Reply::error(NO_MEMBER))
}

impl Search {
    /// Parses a request from the full argument vector (command name first, arity checked by
    /// the command table); `source` is the sorted set under the source key, if any (the
    /// caller has already answered `WRONGTYPE`). Errors come in Redis's order: the fixed
    /// arguments, then each option as it is read, then the cross-option checks.
    ///
    /// # Errors
    /// `ERR syntax error`; `ERR value is not a valid float`; `ERR invalid longitude,latitude
    /// pair x,y`; `ERR need numeric radius|width|height`; `ERR radius cannot be negative`;
    /// `ERR height or width cannot be negative`; `ERR unsupported unit provided. please use
    /// M, KM, FT, MI`; `ERR could not decode requested zset member`; `ERR value is not an
    /// integer or out of range` and `ERR COUNT must be > 0`; `ERR STORE option in GEORADIUS
    /// is not compatible with WITHDIST, WITHHASH and WITHCOORD options` (`GEOSEARCHSTORE`
    /// for that command); `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for
    /// <command>`; `ERR exactly one of BYRADIUS and BYBOX can be specified for <command>`
    /// (the command name as the client typed it); `ERR the ANY argument requires COUNT
    /// argument`.
    pub(crate) fn parse(
        kind: SearchKind,
        args: &[Bytes],
        source: Option<&ZSetValue>,
    ) -> Result<Search, Reply> {
        let mut search = Search {
            centre: None,
            extent: None,
            sort: Sort::None,
            count: None,
            any: false,
            with_dist: false,
            with_hash: false,
            with_coord: false,
            store: None,
        };
        let base = match kind {
            SearchKind::Radius | SearchKind::RadiusRo => 6,
            SearchKind::RadiusByMember | SearchKind::RadiusByMemberRo => 5,
            SearchKind::Search => 2,
            SearchKind::SearchStore => 3,
        };
        if args.len() < base {
            return Err(Reply::error(SYNTAX));
        }
        match kind {
            SearchKind::Radius | SearchKind::RadiusRo => {
                search.centre = Some(lon_lat(&args[2], &args[3])?);
                search.extent = Some(radius(&args[4..6])?);
            }
            SearchKind::RadiusByMember | SearchKind::RadiusByMemberRo => {
                if let Some(zset) = source {
                    search.centre = Some(member_position(zset, &args[2])?);
                    search.extent = Some(radius(&args[3..5])?);
                }
            }
            SearchKind::Search => {}
            SearchKind::SearchStore => {
                search.store = Some(Store {
                    key: args[1].clone(),
                    dist: false,
                });
            }
        }
        let geosearch = kind.is_geosearch();
        let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
            (false, false, false, false);
        let opts = &args[base..];
        let mut i = 0;
        while i < opts.len() {
            let arg = &opts[i][..];
            let left = opts.len() - i - 1;
            let is = |word: &str| arg.eq_ignore_ascii_case(word.as_bytes());
            if is("withdist") {
                search.with_dist = true;
            } else if is("withhash") {
                search.with_hash = true;
            } else if is("withcoord") {
                search.with_coord = true;
            } else if is("any") {
                search.any = true;
            } else if is("asc") {
                search.sort = Sort::Asc;
            } else if is("desc") {
                search.sort = Sort::Desc;
            } else if is("count") && left >= 1 {
                let n = crate::value::parse_canonical_i64(&opts[i + 1])
                    .ok_or(Reply::error(NOT_INTEGER))?;
                if n <= 0 {
                    return Err(Reply::error("ERR COUNT must be > 0"));
                }
                search.count = Some(n as u64);
                i += 1;
            } else if (is("store") || is("storedist")) && left >= 1 && kind.accepts_store() {
                search.store = Some(Store {
                    key: opts[i + 1].clone(),
                    dist: is("storedist"),
                });
                i += 1;
            } else if is("storedist") && kind == SearchKind::SearchStore {
                if let Some(store) = &mut search.store {
                    store.dist = true;
                }
            } else if is("frommember") && left >= 1 && geosearch && !from_lonlat {
                if let Some(zset) = source {
                    search.centre = Some(member_position(zset, &opts[i + 1])?);
                }
                from_member = true;
                i += 1;
            } else if is("fromlonlat") && left >= 2 && geosearch && !from_member {
                search.centre = Some(lon_lat(&opts[i + 1], &opts[i + 2])?);
                from_lonlat = true;
                i += 2;
            } else if is("byradius") && left >= 2 && geosearch && !by_box {
                search.extent = Some(radius(&opts[i + 1..i + 3])?);
                by_radius = true;
                i += 2;
            } else if is("bybox") && left >= 3 && geosearch && !by_radius {
                search.extent = Some(dimensions(&opts[i + 1..i + 4])?);
                by_box = true;
                i += 3;
            } else {
                return Err(Reply::error(SYNTAX));
            }
            i += 1;
        }
        if search.store.is_some() && (search.with_dist || search.with_hash || search.with_coord) {
            return Err(Reply::error(if kind == SearchKind::SearchStore {
                "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
            } else {
                "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
            }));
        }
        let name = || String::from_utf8_lossy(&args[0]).into_owned();
        if geosearch && !(from_member || from_lonlat) {
            return Err(Reply::error_owned(format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
                name()
            )));
        }
        if geosearch && !(by_radius || by_box) {
            return Err(Reply::error_owned(format!(
                "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
                name()
            )));
        }
        if search.any && search.count.is_none() {
            return Err(Reply::error("ERR the ANY argument requires COUNT argument"));
        }
        Ok(search)
    }

    /// Runs the search on `source` (the same set it was parsed against). Without `STORE`, the
    /// reply is an array of members, or with `WITHDIST`/`WITHHASH`/`WITHCOORD` of arrays
    /// `[member, distance?, hash?, [longitude, latitude]?]` (distance a four-decimal bulk
    /// string in the request's unit, hash an integer). `COUNT` without `ANY` implies `ASC`.
    pub(crate) fn run(&self, source: Option<&ZSetValue>, protocol: Protocol) -> SearchOutcome {
        let (Some(zset), Some(centre), Some((extent, unit))) = (source, self.centre, self.extent)
        else {
            return self.empty();
        };
        let shape = Shape {
            centre,
            extent,
            to_meters: unit.meters(),
        };
        let count = self.count.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut points = shape.search(zset, if self.any { count } else { None });
        let sort = match self.sort {
            Sort::None if count.is_some() && !self.any => Sort::Asc,
            sort => sort,
        };
        let keep = count.unwrap_or(usize::MAX).min(points.len());
        match sort {
            Sort::None => {}
            Sort::Asc => order::sort(&mut points, false, keep),
            Sort::Desc => order::sort(&mut points, true, keep),
        }
        points.truncate(keep);
        let to_meters = unit.meters();
        match &self.store {
            Some(store) => SearchOutcome::Store {
                key: store.key.clone(),
                members: points
                    .into_iter()
                    .map(|p| {
                        let score = if store.dist {
                            p.dist / to_meters
                        } else {
                            p.score
                        };
                        (p.member, score)
                    })
                    .collect(),
            },
            None => SearchOutcome::Reply(Reply::Array(
                points
                    .into_iter()
                    .map(|p| self.item(p, to_meters, protocol))
                    .collect(),
            )),
        }
    }

    /// The outcome when the source key is missing: an empty array, or for `STORE` an empty
    /// result (the destination is deleted).
    fn empty(&self) -> SearchOutcome {
        match &self.store {
            Some(store) => SearchOutcome::Store {
                key: store.key.clone(),
                members: Vec::new(),
            },
            None => SearchOutcome::Reply(Reply::Array(Vec::new())),
        }
    }

    /// One result: the member, or an array of the member and the requested extras.
    fn item(&self, point: Point, to_meters: f64, protocol: Protocol) -> Reply {
        if !(self.with_dist || self.with_hash || self.with_coord) {
            return Reply::Bulk(point.member);
        }
        let mut item = vec![Reply::Bulk(point.member)];
        if self.with_dist {
            item.push(distance_reply(point.dist / to_meters));
        }
        if self.with_hash {
            item.push(Reply::Int(point.score as i64));
        }
        if self.with_coord {
            item.push(position_reply(point.position, protocol));
        }
        Reply::Array(item)
    }
}
