//! Exponential backoff with jitter for reconnects.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(500);
const MAX: Duration = Duration::from_secs(60);

/// Delays of about 0.5 s, 1 s, 2 s, … up to a minute, each with ±20 %
/// jitter so many servers that fail together do not retry in lockstep.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub(crate) fn next(&mut self) -> Duration {
        let base = FIRST.saturating_mul(1u32 << self.attempt.min(16)).min(MAX);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = rand::random_range(0.8..1.2);
        base.mul_f64(jitter)
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let mut backoff = Backoff::default();
        let first = backoff.next();
        assert!(first >= Duration::from_millis(400) && first <= Duration::from_millis(600));
        let delays: Vec<_> = (0..20).map(|_| backoff.next()).collect();
        assert!(delays[0] > first / 2);
        assert!(delays.iter().all(|d| *d <= MAX.mul_f64(1.2)));
        assert!(delays.last().unwrap() >= &MAX.mul_f64(0.8));
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(600));
    }
}
