//! From the Activity record to the desktop app's Authorize prompt: a call
//! a proxy or the gateway refused because its server needs authorization
//! becomes an [`Event::AuthorizationWanted`], at most once a
//! [`WANTED_EVERY`] per server, so a client that retries every second
//! does not bury the person in notifications.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{ActivityRecord, Outcome};
use crate::events::Event;

/// How often one server's prompt may be announced again.
pub const WANTED_EVERY: Duration = Duration::from_secs(60);

/// When each server's prompt was last announced.
#[derive(Debug, Default)]
pub(crate) struct AuthorizationWanted {
    announced: HashMap<String, Instant>,
}

impl AuthorizationWanted {
    /// The events `records` (read at `now`) call for.
    pub(crate) fn events(&mut self, records: &[ActivityRecord], now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        for record in records {
            if record.outcome != Outcome::NeedsAuthorization {
                continue;
            }
            let recent = self
                .announced
                .get(&record.server)
                .is_some_and(|at| now.saturating_duration_since(*at) < WANTED_EVERY);
            if recent {
                continue;
            }
            self.announced.insert(record.server.clone(), now);
            events.push(Event::AuthorizationWanted {
                server: record.server.clone(),
                client: record.client.clone(),
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Via;

    fn record(server: &str, client: &str, outcome: Outcome) -> ActivityRecord {
        ActivityRecord::new(
            std::time::SystemTime::now(),
            Duration::from_millis(3),
            client,
            Via::Proxy,
            server,
            "initialize",
            None,
            outcome,
        )
    }

    fn wanted(events: &[Event]) -> Vec<(&str, &str)> {
        events
            .iter()
            .map(|event| match event {
                Event::AuthorizationWanted { server, client } => (server.as_str(), client.as_str()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn one_prompt_per_server_a_minute() {
        let mut throttle = AuthorizationWanted::default();
        let start = Instant::now();
        let records = [
            record("demo", "Claude Desktop", Outcome::NeedsAuthorization),
            record("demo", "Cursor", Outcome::NeedsAuthorization),
            record("other", "Cursor", Outcome::Ok),
            record("other", "Cursor", Outcome::error(-32001)),
            record("linear", "Cursor", Outcome::NeedsAuthorization),
        ];
        assert_eq!(
            wanted(&throttle.events(&records, start)),
            [("demo", "Claude Desktop"), ("linear", "Cursor")]
        );
        let again = [record("demo", "Zed", Outcome::NeedsAuthorization)];
        assert!(
            throttle
                .events(&again, start + Duration::from_secs(59))
                .is_empty()
        );
        assert_eq!(
            wanted(&throttle.events(&again, start + WANTED_EVERY)),
            [("demo", "Zed")]
        );
    }
}
