//! Medians and 99th percentiles of timed samples, and how they are shown.

use std::time::Duration;

/// The summary of one set of timed runs.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub runs: usize,
    pub median: Duration,
    pub p99: Duration,
}

impl Summary {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Self {
            runs: samples.len(),
            median: samples[samples.len() / 2],
            p99: at(0.99),
        }
    }

    pub fn median_ms(&self) -> f64 {
        ms(self.median)
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `0.42 ms`, `37 µs`, `1.20 s`.
pub fn time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// A signed difference in milliseconds.
pub fn delta_ms(d: f64) -> String {
    format!("{d:+.2} ms")
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `12.3 MiB`, `4.10 GiB`.
pub fn size(bytes: u64) -> String {
    let m = mib(bytes);
    if m >= 1024.0 {
        format!("{:.2} GiB", m / 1024.0)
    } else {
        format!("{m:.1} MiB")
    }
}
