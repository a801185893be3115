//! Per call: `tools/call` latency with a small and a 1 MB result, and
//! throughput with 1, 8 and 64 concurrent callers on one session, for each
//! way of reaching the same fixture server: directly, through `gatehouse
//! proxy`, through the gateway, through mcp-remote.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use rmcp::RoleClient;
use rmcp::service::Peer;

use crate::clients::call_payload;
use crate::stats::Summary;

pub const SMALL: usize = 64;
pub const LARGE: usize = 1 << 20;
pub const CALLERS: [usize; 3] = [1, 8, 64];

/// How many calls each measurement makes.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub small_runs: usize,
    pub large_runs: usize,
    /// How long each concurrency level runs.
    pub throughput_for: Duration,
}

/// What one route measured.
#[derive(Debug, Clone)]
pub struct RouteCalls {
    pub small: Summary,
    pub large: Summary,
    /// (callers, calls per second, latency)
    pub throughput: Vec<(usize, f64, Summary)>,
    /// The peak RSS of the route's own process, if it has one.
    pub peak_rss: Option<u64>,
}

async fn timed_calls(peer: &Peer<RoleClient>, bytes: usize, runs: usize) -> Result<Summary> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        call_payload(peer, bytes).await?;
        samples.push(start.elapsed());
    }
    Ok(Summary::of(samples))
}

/// `callers` tasks calling as fast as they can for `duration`.
async fn throughput(
    peer: &Peer<RoleClient>,
    callers: usize,
    duration: Duration,
) -> Result<(f64, Summary)> {
    let start = Instant::now();
    let deadline = start + duration;
    let peer = Arc::new(peer.clone());
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let peer = peer.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call_payload(&peer, SMALL).await?;
                    samples.push(t.elapsed());
                }
                anyhow::Ok(samples)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok((samples.len() as f64 / elapsed, Summary::of(samples)))
}

/// Measures one route whose session is `peer`; `pid` is the route's own
/// process (the proxy, mcp-remote, the gateway), whose peak RSS is read
/// at the end.
pub async fn measure(peer: &Peer<RoleClient>, pid: Option<u32>, plan: Plan) -> Result<RouteCalls> {
    // Warm up: connections, allocator, JIT.
    for _ in 0..20 {
        call_payload(peer, SMALL).await?;
    }
    for _ in 0..3 {
        call_payload(peer, LARGE).await?;
    }
    let small = timed_calls(peer, SMALL, plan.small_runs).await?;
    let large = timed_calls(peer, LARGE, plan.large_runs).await?;
    let mut levels = Vec::new();
    for callers in CALLERS {
        let (rate, latency) = throughput(peer, callers, plan.throughput_for).await?;
        levels.push((callers, rate, latency));
    }
    Ok(RouteCalls {
        small,
        large,
        throughput: levels,
        peak_rss: pid.and_then(crate::procs::peak_rss),
    })
}
