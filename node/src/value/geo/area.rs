//! The search area of `GEOSEARCH` and `GEORADIUS`: a circle or a box around a centre, the
//! nine geohash cells that cover it, and the walk over the sorted set that collects the members
//! inside. Source: Redis 7.2 `geohash_helper.c` (`geohashCalculateAreasByShapeWGS84`,
//! `geohashBoundingBox`) and `geo.c` (`membersOfAllNeighbors`, `geoGetPointsInRange`).

use std::cmp::Ordering;

use bytes::Bytes;

use super::hash::{self, Boxes, Hash, WGS84};
use crate::value::zset::{ScoreBound, ZSetValue};

/// The extent of a search, in the request's unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Extent {
    /// `BYRADIUS radius` (and the `GEORADIUS` forms).
    Radius(f64),
    /// `BYBOX width height`.
    Box { width: f64, height: f64 },
}

/// A search shape: a centre `(longitude, latitude)` in degrees, an extent in some unit, and
/// that unit's size in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Shape {
    pub(crate) centre: (f64, f64),
    pub(crate) extent: Extent,
    pub(crate) to_meters: f64,
}

/// A member found inside a shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Point {
    pub(crate) member: Bytes,
    /// The stored score (the 52-bit geohash).
    pub(crate) score: f64,
    /// The decoded position `(longitude, latitude)`.
    pub(crate) position: (f64, f64),
    /// Distance from the centre, metres.
    pub(crate) dist: f64,
}

impl Shape {
    /// `[min longitude, min latitude, max longitude, max latitude]` of the shape
    /// (`geohashBoundingBox`): longitudes widen on the side nearer the pole.
    fn bounds(&self) -> [f64; 4] {
        let (longitude, latitude) = self.centre;
        let (half_width, half_height) = match self.extent {
            Extent::Radius(r) => (r, r),
            Extent::Box { width, height } => (width / 2.0, height / 2.0),
        };
        let height = self.to_meters * half_height;
        let width = self.to_meters * half_width;
        let lat_delta = hash::rad_deg(height / hash::EARTH_RADIUS_IN_METERS);
        let long_delta = |lat: f64| {
            hash::rad_deg(width / hash::EARTH_RADIUS_IN_METERS / hash::deg_rad(lat).cos())
        };
        let long_delta = if latitude < 0.0 {
            long_delta(latitude - lat_delta)
        } else {
            long_delta(latitude + lat_delta)
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// The distance from the centre to the farthest point of the shape, metres.
    fn radius_meters(&self) -> f64 {
        let r = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        r * self.to_meters
    }

    /// The cells to scan: the centre's cell at an estimated precision and its neighbours,
    /// one step coarser when a neighbour does not reach the bounding box's edge, with the
    /// neighbours wholly outside the box zeroed.
    pub(crate) fn boxes(&self) -> Boxes {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let (longitude, latitude) = self.centre;
        let mut steps = hash::estimate_steps(self.radius_meters(), latitude);
        // The centre is within the indexable area, so it always encodes.
        let cell = |steps: u8| hash::encode(WGS84, longitude, latitude, steps).unwrap_or_default();
        let mut boxes = hash::neighbours(cell(steps));
        let north = hash::decode(WGS84, boxes[1]);
        let south = hash::decode(WGS84, boxes[2]);
        let east = hash::decode(WGS84, boxes[3]);
        let west = hash::decode(WGS84, boxes[4]);
        let decrease = north.latitude.max < max_lat
            || south.latitude.min > min_lat
            || east.longitude.max < max_lon
            || west.longitude.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            boxes = hash::neighbours(cell(steps));
        }
        if steps >= 2 {
            let area = hash::decode(WGS84, boxes[0]);
            let mut drop = |indexes: [usize; 3]| indexes.map(|i| boxes[i] = Hash::default());
            if area.latitude.min < min_lat {
                drop([2, 7, 8]);
            }
            if area.latitude.max > max_lat {
                drop([1, 5, 6]);
            }
            if area.longitude.min < min_lon {
                drop([4, 8, 6]);
            }
            if area.longitude.max > max_lon {
                drop([3, 7, 5]);
            }
        }
        boxes
    }

    /// The distance from the centre to `position` in metres, if it lies inside the shape
    /// (`geoWithinShape`). A box compares the latitude distance, then the longitude distance
    /// along the point's parallel, with half the box's height and width.
    fn within(&self, position: (f64, f64)) -> Option<f64> {
        let (x1, y1) = self.centre;
        let (x2, y2) = position;
        match self.extent {
            Extent::Radius(r) => {
                let dist = hash::distance(x1, y1, x2, y2);
                // Redis tests `dist > radius`, so a NaN distance counts as inside.
                match dist.partial_cmp(&(r * self.to_meters)) {
                    Some(Ordering::Greater) => None,
                    _ => Some(dist),
                }
            }
            Extent::Box { width, height } => {
                let (width, height) = (width * self.to_meters, height * self.to_meters);
                if hash::lat_distance(y2, y1) > height / 2.0 {
                    return None;
                }
                if hash::distance(x2, y2, x1, y2) > width / 2.0 {
                    return None;
                }
                Some(hash::distance(x1, y1, x2, y2))
            }
        }
    }

    /// The members of `zset` inside the shape, in the order Redis finds them: cell by cell in
    /// [`Boxes`] order (skipping zeroed cells and a neighbour equal to the last one scanned), by
    /// score within a cell. With `limit` (`COUNT n ANY`) the walk stops once that many are
    /// found.
    pub(crate) fn search(&self, zset: &ZSetValue, limit: Option<usize>) -> Vec<Point> {
        let full =
            |found: &Vec<Point>| limit.is_some_and(|n| !found.is_empty() && found.len() >= n);
        let mut found = Vec::new();
        // Redis compares with the last scanned neighbour only, never with the centre cell.
        let mut last: Option<Hash> = None;
        for (i, cell) in self.boxes().into_iter().enumerate() {
            if cell == Hash::default() || last == Some(cell) {
                continue;
            }
            if full(&found) {
                break;
            }
            let min = hash::align52(cell);
            let max = hash::align52(Hash {
                bits: cell.bits + 1,
                step: cell.step,
            });
            let ranks = zset.score_ranks(
                ScoreBound {
                    value: min as f64,
                    exclusive: false,
                },
                ScoreBound {
                    value: max as f64,
                    exclusive: true,
                },
            );
            for (member, score) in zset.range(ranks, false) {
                let position = hash::position_of(score);
                if let Some(dist) = self.within(position) {
                    found.push(Point {
                        member: Bytes::copy_from_slice(member),
                        score,
                        position,
                        dist,
                    });
                }
                if full(&found) {
                    break;
                }
            }
            if i > 0 {
                last = Some(cell);
            }
        }
        found
    }
}
