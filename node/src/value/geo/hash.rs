//! Geohash arithmetic: the 52-bit interleaved hash a geo member's score holds, its decoding to
//! the centre of its cell, neighbouring cells, the search precision for a radius, and the
//! haversine distance. Source: Redis 7.2 `geohash.c` and `geohash_helper.c`; every formula keeps
//! Redis's order of floating-point operations so that cell edges and distances agree with Redis
//! to the last bit.

/// Bits per coordinate in a stored score (26 × 2 = 52 bits, exact in a double).
pub(crate) const STEP_MAX: u8 = 26;
/// Southern and northern limits of what can be indexed (EPSG:900913).
pub(crate) const LAT_MIN: f64 = -85.05112878;
/// See [`LAT_MIN`].
pub(crate) const LAT_MAX: f64 = 85.05112878;
/// Western limit of what can be indexed.
pub(crate) const LONG_MIN: f64 = -180.0;
/// Eastern limit of what can be indexed.
pub(crate) const LONG_MAX: f64 = 180.0;
/// Redis's Earth radius (quadratic mean radius for WGS-84), metres.
pub(crate) const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator projection's width, metres (`MERCATOR_MAX`).
const MERCATOR_MAX: f64 = 20037726.37;
/// 2^63, where C's conversions of a double to a 64-bit integer change behaviour.
pub(crate) const TWO_63: f64 = 9_223_372_036_854_775_808.0;
/// Degrees to radians, computed as `M_PI / 180.0` in double precision like Redis's `D_R`.
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A closed interval of one coordinate, degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Range {
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// The ranges a stored score is encoded in: longitude ±180, latitude ±85.05112878.
pub(crate) const WGS84: (Range, Range) = (
    Range {
        min: LONG_MIN,
        max: LONG_MAX,
    },
    Range {
        min: LAT_MIN,
        max: LAT_MAX,
    },
);

/// The standard geohash ranges (latitude ±90) that `GEOHASH` strings are encoded in.
pub(crate) const STANDARD: (Range, Range) = (
    Range {
        min: -180.0,
        max: 180.0,
    },
    Range {
        min: -90.0,
        max: 90.0,
    },
);

/// A geohash of `step` bits per coordinate: latitude bits at even positions, longitude bits at
/// odd positions. `step == 0` marks an unused neighbour (Redis's `GZERO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Hash {
    pub(crate) bits: u64,
    pub(crate) step: u8,
}

/// A cell's extent, degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Area {
    pub(crate) longitude: Range,
    pub(crate) latitude: Range,
}

/// A cell and its eight neighbours, in the order Redis searches them: the cell itself, north,
/// south, east, west, north-east, north-west, south-east, south-west.
pub(crate) type Boxes = [Hash; 9];

/// Spreads the 32 bits of `v` to the even bit positions of a `u64`.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bit positions of `x` into 32 bits (the inverse of [`spread`]).
fn gather(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Encodes a point with `step` bits per coordinate within `ranges` (longitude, latitude).
/// `None` outside the indexable area (Redis's `geohashEncode` returning 0). A point on the
/// eastern or northern edge gets the out-of-range cell index `2^step`, as in Redis.
pub(crate) fn encode(
    ranges: (Range, Range),
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<Hash> {
    let (long_range, lat_range) = ranges;
    if !(LONG_MIN..=LONG_MAX).contains(&longitude)
        || !(LAT_MIN..=LAT_MAX).contains(&latitude)
        || !(lat_range.min..=lat_range.max).contains(&latitude)
        || !(long_range.min..=long_range.max).contains(&longitude)
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    // Offsets lie in [0, 2^step]: the C conversion to uint32_t truncates, as `as` does here.
    let bits = spread(lat_offset as u32) | (spread(long_offset as u32) << 1);
    Some(Hash { bits, step })
}

/// Encodes a point at full precision and aligns it to 52 bits: the score `GEOADD` stores.
pub(crate) fn score_of(longitude: f64, latitude: f64) -> Option<f64> {
    let hash = encode(WGS84, longitude, latitude, STEP_MAX)?;
    Some(align52(hash) as f64)
}

/// The hash shifted left to occupy 52 bits (`geohashAlign52Bits`).
pub(crate) fn align52(hash: Hash) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// The cell a hash names, within `ranges`.
pub(crate) fn decode(ranges: (Range, Range), hash: Hash) -> Area {
    let (long_range, lat_range) = ranges;
    let step = 1u64 << hash.step;
    let lat_cell = gather(hash.bits);
    let long_cell = gather(hash.bits >> 1);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let at = |min: f64, cell: u32, scale: f64| min + (f64::from(cell) / step as f64) * scale;
    // `ilato + 1` is computed in 32 bits in Redis and cannot wrap for a 26-bit cell index.
    let next = |cell: u32| cell.wrapping_add(1);
    Area {
        latitude: Range {
            min: at(lat_range.min, lat_cell, lat_scale),
            max: at(lat_range.min, next(lat_cell), lat_scale),
        },
        longitude: Range {
            min: at(long_range.min, long_cell, long_scale),
            max: at(long_range.min, next(long_cell), long_scale),
        },
    }
}

/// The centre of a cell, clamped to the indexable area: `(longitude, latitude)`.
pub(crate) fn centre(area: &Area) -> (f64, f64) {
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (longitude, latitude)
}

/// The position a stored score stands for (`decodeGeohash`): the centre of its 52-bit cell.
/// Any score decodes (Redis never fails here): scores outside `[0, 2^52)` are converted to an
/// integer the way C's `(uint64_t)` conversion does on x86-64, and the result is clamped.
pub(crate) fn position_of(score: f64) -> (f64, f64) {
    let hash = Hash {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    centre(&decode(WGS84, hash))
}

/// C's `(uint64_t)double` as compiled for x86-64 (SSE2 `cvttsd2si`): values from 2^63 are
/// shifted down first, and out-of-range results become the "integer indefinite" 2^63.
pub(crate) fn c_double_to_u64(x: f64) -> u64 {
    let cvtt = |v: f64| -> u64 {
        if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
            1 << 63
        } else {
            v as i64 as u64
        }
    };
    if x >= TWO_63 {
        cvtt(x - TWO_63) ^ (1 << 63)
    } else {
        cvtt(x)
    }
}

/// Moves a hash one cell east (`d > 0`) or west (`d < 0`), wrapping around the antimeridian.
fn move_x(hash: &mut Hash, d: i8) {
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xAAAA_AAAA_AAAA_AAAA;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x = (x | zz).wrapping_sub(zz + 1);
    }
    x &= 0xAAAA_AAAA_AAAA_AAAAu64 >> shift;
    hash.bits = x | y;
}

/// Moves a hash one cell north (`d > 0`) or south (`d < 0`), wrapping at the edges.
fn move_y(hash: &mut Hash, d: i8) {
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xAAAA_AAAA_AAAA_AAAA;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xAAAA_AAAA_AAAA_AAAAu64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y = (y | zz).wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

/// The cell and its eight neighbours, in search order (see [`Boxes`]).
pub(crate) fn neighbours(hash: Hash) -> Boxes {
    const MOVES: [(i8, i8); 9] = [
        (0, 0),
        (0, 1),
        (0, -1),
        (1, 0),
        (-1, 0),
        (1, 1),
        (-1, 1),
        (1, -1),
        (-1, -1),
    ];
    MOVES.map(|(dx, dy)| {
        let mut h = hash;
        if dx != 0 {
            move_x(&mut h, dx);
        }
        if dy != 0 {
            move_y(&mut h, dy);
        }
        h
    })
}

/// The precision (bits per coordinate) whose cells, with their neighbours, cover a search of
/// `range_meters` around `latitude` (`geohashEstimateStepsByRadius`).
pub(crate) fn estimate_steps(mut range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    // Meridians converge towards the poles: widen the cells there.
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// Degrees to radians as Redis computes it (`ang * D_R`).
pub(crate) fn deg_rad(degrees: f64) -> f64 {
    degrees * D_R
}

/// Radians to degrees as Redis computes it (`ang / D_R`).
pub(crate) fn rad_deg(radians: f64) -> f64 {
    radians / D_R
}

/// The distance along a meridian between two latitudes, metres (`geohashGetLatDistance`).
pub(crate) fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The great-circle distance between two points, metres, by Redis's haversine formula
/// (`geohashGetDistance`).
pub(crate) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The 11-character standard geohash `GEOHASH` prints for a stored score: the position is
/// re-encoded with latitude ±90, its 52 bits give ten base32 characters, and an eleventh `0`
/// follows for compatibility, as Redis does.
pub(crate) fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (longitude, latitude) = position_of(score);
    // A decoded position is always within the WGS84 area, hence within the standard one.
    let bits = encode(STANDARD, longitude, latitude, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}
