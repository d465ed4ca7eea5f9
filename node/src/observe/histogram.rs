//! Per-command latency histograms as Redis keeps them: an HDR histogram of nanoseconds from
//! 1 to 10^9 with two significant digits (256 sub-buckets per power of two), fed with a
//! command's duration in µs × 1000. `INFO latencystats` prints percentiles from it and `LATENCY
//! HISTOGRAM` its cumulative counts at powers of two from 1024 ns; both use the HDR rules for
//! the value a bucket stands for, so the numbers are Redis's (`p50=1.003`, `33 => 3`).
//! Source: Redis 7.2 `server.c` (`updateCommandLatencyHistogram`, `fillCommandCDF`,
//! `fillPercentileDistributionLatencies`) and `hdr_histogram.c`.

use redoubt_protocol::Reply;

/// Largest value recorded, in ns (Redis's `LATENCY_HISTOGRAM_MAX_VALUE`).
const MAX_NS: u64 = 1_000_000_000;
/// Sub-buckets per bucket, halved (`sub_bucket_half_count` for two significant digits).
const HALF: usize = 128;
/// Counters: 23 buckets of 128 plus the first half bucket, for values up to [`MAX_NS`].
const COUNTS: usize = 24 * HALF;

/// Calls of one command by duration.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: Box<[u64; COUNTS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; COUNTS]),
            total: 0,
        }
    }
}

/// The HDR bucket of `ns` (`get_bucket_index`).
fn bucket_of(ns: u64) -> u32 {
    64 - (ns | 255).leading_zeros() - 8
}

/// The counter holding `ns` (`counts_index_for`).
fn index_of(ns: u64) -> usize {
    let bucket = bucket_of(ns);
    let sub = (ns >> bucket) as usize;
    ((bucket as usize + 1) * HALF) + sub - HALF
}

/// The lowest value counter `index` stands for (`hdr_value_at_index`), and the width of its
/// range.
fn range_of(index: usize) -> (u64, u64) {
    let mut bucket = (index / HALF) as i64 - 1;
    let mut sub = (index % HALF + HALF) as u64;
    if bucket < 0 {
        sub -= HALF as u64;
        bucket = 0;
    }
    (sub << bucket, 1 << bucket)
}

/// The highest value equivalent to `ns` (`highest_equivalent_value`).
fn highest_equivalent(ns: u64) -> u64 {
    let (low, width) = range_of(index_of(ns));
    low + width - 1
}

impl Histogram {
    /// Records one call that took `usec` µs.
    pub(crate) fn record(&mut self, usec: u64) {
        let ns = usec.saturating_mul(1000).clamp(1, MAX_NS);
        self.counts[index_of(ns)] += 1;
        self.total += 1;
    }

    /// The value at `percentile` (0..=100) in µs, as `hdr_value_at_percentile` / 1000.
    pub(crate) fn percentile_usec(&self, percentile: f64) -> f64 {
        let wanted = percentile.min(100.0);
        let count = ((wanted / 100.0 * self.total as f64 + 0.5) as u64).max(1);
        let mut seen = 0;
        let mut value = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= count {
                value = range_of(index).0;
                break;
            }
        }
        let value = if percentile == 0.0 {
            value
        } else {
            highest_equivalent(value)
        };
        value as f64 / 1000.0
    }

    /// `LATENCY HISTOGRAM`'s entry for this command: `{calls: n, histogram_usec: {µs:
    /// cumulative calls ...}}` at 1024 ns × 2^k, a level printed only when its count grew.
    pub(crate) fn reply(&self) -> Reply {
        let mut levels = Vec::new();
        let mut previous = 0;
        let mut seen = 0;
        let mut index = 0;
        let mut level: u64 = 1024;
        while seen < self.total {
            // Counters whose range starts at or below the level.
            while index < COUNTS && range_of(index).0 <= level {
                seen += self.counts[index];
                index += 1;
            }
            if seen > previous {
                levels.push((
                    Reply::Int((highest_equivalent(level) / 1000) as i64),
                    Reply::Int(seen as i64),
                ));
            }
            previous = seen;
            level *= 2;
        }
        Reply::Map(vec![
            (Reply::bulk_static("calls"), Reply::Int(self.total as i64)),
            (Reply::bulk_static("histogram_usec"), Reply::Map(levels)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_hdr_values() {
        let mut h = Histogram::default();
        h.record(1);
        assert_eq!(format!("{:.3}", h.percentile_usec(50.0)), "1.003");
        h.record(13);
        h.record(13);
        assert_eq!(format!("{:.3}", h.percentile_usec(99.0)), "13.055");
        h.record(0);
        assert_eq!(format!("{:.3}", h.percentile_usec(0.0)), "0.001");
    }

    #[test]
    fn cumulative_levels_are_powers_of_two() {
        let mut h = Histogram::default();
        for usec in [5, 13, 20, 20_000_000] {
            h.record(usec);
        }
        let Reply::Map(fields) = h.reply() else {
            panic!()
        };
        assert_eq!(fields[0].1, Reply::Int(4));
        let Reply::Map(levels) = &fields[1].1 else {
            panic!()
        };
        let levels: Vec<(i64, i64)> = levels
            .iter()
            .map(|(k, v)| match (k, v) {
                (Reply::Int(k), Reply::Int(v)) => (*k, *v),
                _ => panic!(),
            })
            .collect();
        assert_eq!(levels, vec![(8, 1), (16, 2), (33, 3), (1_082_130, 4)]);
    }
}
