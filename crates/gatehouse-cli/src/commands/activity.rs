//! `gatehouse activity [--follow]`: the Activity record that every proxy
//! and gateway process appends to, read from the data folder. It needs
//! neither the vault nor a connection, so it works while the app, a
//! gateway or a proxy runs elsewhere.

use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::Engine;
use gatehouse_core::activity::{ActivityFilter, ActivityRecord};

use crate::output;

/// Prints the newest `limit` calls `filter` matches; with `follow`, then
/// every matching call as it is recorded, until interrupted.
pub async fn run(
    engine: &Engine,
    filter: ActivityFilter,
    limit: usize,
    follow: bool,
    json: bool,
) -> Result<ExitCode> {
    if !follow {
        let records = engine.activity(filter, limit).await?;
        if json {
            output::json(&records)?;
        } else {
            output::activity(&records)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (backlog, mut feed) = engine.follow_activity().await?;
    let backlog = gatehouse_core::activity::newest(backlog, &filter, limit);
    print(&backlog, json)?;
    while let Some(read) = feed.next().await {
        let records: Vec<ActivityRecord> = read?
            .into_iter()
            .filter(|record| filter.matches(record))
            .collect();
        print(&records, json)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print(records: &[ActivityRecord], json: bool) -> std::io::Result<()> {
    if json {
        output::json_lines(records)
    } else {
        output::activity(records)
    }
}
