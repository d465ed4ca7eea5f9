//! The latency monitor: for each event class (`command`, `fast-command`, `expire-cycle`,
//! `eviction-cycle`...), the last 160 seconds in which it took at least
//! `latency-monitor-threshold` ms (the worst latency of each second) and its all-time worst;
//! `LATENCY GRAPH`'s ASCII art and `LATENCY DOCTOR`'s report are drawn from them. Source:
//! Redis 7.2 `latency.c` and `sparkline.c`.

use std::fmt::Write as _;

/// Samples kept per event (`LATENCY_TS_LEN`).
const SAMPLES: usize = 160;
/// Width of `LATENCY GRAPH` (`LATENCY_GRAPH_COLS`).
const GRAPH_COLS: usize = 80;
/// Height of the graph in rows of characters.
const GRAPH_ROWS: usize = 4;

/// One second's worst latency.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    /// Unix seconds; 0 for an unused slot.
    time: u64,
    /// Milliseconds.
    latency: u64,
}

/// One event's samples: a ring of [`SAMPLES`] and the all-time worst.
#[derive(Debug)]
struct Series {
    samples: [Sample; SAMPLES],
    /// Where the next sample goes.
    next: usize,
    max: u64,
}

impl Series {
    /// Samples in use, oldest first.
    fn in_order(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SAMPLES)
            .map(|j| self.samples[(self.next + j) % SAMPLES])
            .filter(|s| s.time != 0)
    }

    fn last(&self) -> Sample {
        self.samples[(self.next + SAMPLES - 1) % SAMPLES]
    }
}

/// Every event's samples, in the order the events first occurred.
#[derive(Debug, Default)]
pub(crate) struct LatencyMonitor {
    events: Vec<(String, Box<Series>)>,
}

impl LatencyMonitor {
    /// Records that `event` took `ms` at unix second `now` (Redis's `latencyAddSample`): the
    /// second's sample keeps the worst.
    pub(crate) fn add(&mut self, event: &str, ms: u64, now: u64) {
        let at = match self.events.iter().position(|(name, _)| name == event) {
            Some(at) => at,
            None => {
                let series = Series {
                    samples: [Sample::default(); SAMPLES],
                    next: 0,
                    max: 0,
                };
                self.events.push((event.to_string(), Box::new(series)));
                self.events.len() - 1
            }
        };
        let series = &mut self.events[at].1;
        series.max = series.max.max(ms);
        let prev = (series.next + SAMPLES - 1) % SAMPLES;
        if series.samples[prev].time == now {
            series.samples[prev].latency = series.samples[prev].latency.max(ms);
            return;
        }
        series.samples[series.next] = Sample {
            time: now,
            latency: ms,
        };
        series.next = (series.next + 1) % SAMPLES;
    }

    fn series(&self, event: &[u8]) -> Option<&Series> {
        self.events
            .iter()
            .find(|(name, _)| name.as_bytes() == event)
            .map(|(_, series)| &**series)
    }

    /// `LATENCY LATEST`: per event, its name, the last sample's time and latency, and the
    /// all-time worst.
    pub(crate) fn latest(&self) -> Vec<(&str, u64, u64, u64)> {
        self.events
            .iter()
            .map(|(name, s)| {
                let last = s.last();
                (name.as_str(), last.time, last.latency, s.max)
            })
            .collect()
    }

    /// `LATENCY HISTORY event`: its samples as `(unix time, ms)`, oldest first; empty for an
    /// event never seen.
    pub(crate) fn history(&self, event: &[u8]) -> Vec<(u64, u64)> {
        self.series(event)
            .map(|s| s.in_order().map(|x| (x.time, x.latency)).collect())
            .unwrap_or_default()
    }

    /// Forgets the named events, or every event when `events` is empty; returns how many
    /// were forgotten (`LATENCY RESET`).
    pub(crate) fn reset(&mut self, events: &[&[u8]]) -> usize {
        let before = self.events.len();
        if events.is_empty() {
            self.events.clear();
        } else {
            self.events
                .retain(|(name, _)| !events.contains(&name.as_bytes()));
        }
        before - self.events.len()
    }

    /// `LATENCY GRAPH event` at unix second `now`: Redis's header, a rule of dashes, and the
    /// sparkline of the samples with how long ago each was, written vertically beneath it.
    /// `None` for an event never seen.
    pub(crate) fn graph(&self, event: &[u8], now: u64) -> Option<String> {
        let series = self.series(event)?;
        let samples: Vec<(u64, String)> = series
            .in_order()
            .map(|s| (s.latency, ago(now.saturating_sub(s.time))))
            .collect();
        let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
        let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
        let mut out = format!(
            "{} - high {high} ms, low {low} ms (all time high {} ms)\n",
            String::from_utf8_lossy(event),
            series.max
        );
        out.push_str(&"-".repeat(GRAPH_COLS));
        out.push('\n');
        for (n, chunk) in samples.chunks(GRAPH_COLS).enumerate() {
            if n != 0 {
                out.push('\n');
            }
            sparkline(&mut out, chunk, low, high);
        }
        Some(out)
    }

    /// `LATENCY DOCTOR`'s report for the events recorded (Redis's wording, opening and
    /// per-event lines; its advice reduced to what applies to this node).
    /// `enabled`: `latency-monitor-threshold` is above 0; `now`: unix seconds.
    pub(crate) fn doctor(&self, enabled: bool, now: u64) -> String {
        if self.events.is_empty() && !enabled {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
        }
        if self.events.is_empty() {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        let mut slow_commands = false;
        let mut expiry = false;
        for (n, (name, series)) in self.events.iter().enumerate() {
            let samples: Vec<Sample> = series.in_order().collect();
            let count = samples.len() as u64;
            let avg = samples.iter().map(|s| s.latency).sum::<u64>() / count.max(1);
            let mad = samples.iter().map(|s| s.latency.abs_diff(avg)).sum::<u64>() / count.max(1);
            // Seconds since the oldest sample (at least 1), per sample.
            let oldest = samples.first().map_or(now, |s| s.time);
            let period = now.saturating_sub(oldest).max(1) as f64 / count.max(1) as f64;
            let _ = writeln!(
                out,
                "{}. {name}: {count} latency spikes (average {avg}ms, mean deviation {mad}ms, period {period:.2} sec). Worst all time event {}ms.",
                n + 1,
                series.max
            );
            slow_commands |= name == "command" || name == "fast-command";
            expiry |= name == "expire-cycle";
        }
        out.push_str("\nI have a few advices for you:\n\n");
        if slow_commands {
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        if expiry {
            out.push_str(
                "- Many keys expired at the same time: consider spreading their expire times.\n",
            );
        }
        out
    }
}

/// How long ago, as a graph label: `12s`, `5m`, `3h`, `2d`.
fn ago(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// Redis's `sparklineRenderRange` with `SPARKLINE_FILL`: [`GRAPH_ROWS`] rows of `_o#` and `|`
/// scaled between `low` and `high`, a blank row, then each label written downwards.
fn sparkline(out: &mut String, samples: &[(u64, String)], low: u64, high: u64) {
    const FILL: [u8; 3] = *b"_o#";
    let steps = (FILL.len() * GRAPH_ROWS) as i64;
    let span = match high - low {
        0 => 1.0,
        span => span as f64,
    };
    let mut row = 0;
    loop {
        let mut line = vec![b' '; samples.len()];
        let mut more = false;
        for (j, (value, label)) in samples.iter().enumerate() {
            let relative = (value - low) as f64;
            let step =
                ((((relative * steps as f64) as i64) as f64 / span) as i64).clamp(0, steps - 1);
            if row < GRAPH_ROWS {
                more = true;
                let index = step - ((GRAPH_ROWS - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&index) {
                    line[j] = FILL[index as usize];
                } else if index >= FILL.len() as i64 {
                    line[j] = b'|';
                }
            } else if row == GRAPH_ROWS {
                // The margin between the graph and its labels.
                more = true;
                break;
            } else if let Some(&c) = label.as_bytes().get(row - GRAPH_ROWS - 1) {
                more = true;
                line[j] = c;
            }
        }
        if !more {
            break;
        }
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
        row += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let mut monitor = LatencyMonitor::default();
        monitor.add("command", 50, 1000);
        monitor.add("command", 100, 1000);
        monitor.add("command", 20, 1001);
        assert_eq!(monitor.history(b"command"), vec![(1000, 100), (1001, 20)]);
        assert_eq!(monitor.latest(), vec![("command", 1001, 20, 100)]);
        assert_eq!(monitor.reset(&[b"nosuch"]), 0);
        assert_eq!(monitor.reset(&[]), 1);
    }

    #[test]
    fn graph_of_one_sample_is_redis_s() {
        let mut monitor = LatencyMonitor::default();
        monitor.add("command", 100, 1000);
        let graph = monitor.graph(b"command", 1000).unwrap();
        let expected = format!(
            "command - high 100 ms, low 100 ms (all time high 100 ms)\n{}\n \n \n \n_\n \n0\ns\n",
            "-".repeat(80)
        );
        assert_eq!(graph, expected);
    }

    #[test]
    fn ring_keeps_160_seconds() {
        let mut monitor = LatencyMonitor::default();
        for t in 1..=200 {
            monitor.add("expire-cycle", t, t);
        }
        let history = monitor.history(b"expire-cycle");
        assert_eq!(history.len(), 160);
        assert_eq!(history[0], (41, 41));
    }
}
