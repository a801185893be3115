//! The Activity record: every call a client makes through `gatehouse proxy`
//! or the HTTP gateway — when, which client, which server, the method and
//! tool, how long, how it ended — and never its arguments, its result, an
//! error's words, a token or a header. Kept in a rolling file in the data
//! folder, so that the desktop app shows the calls of proxies and gateways
//! running in other processes, live.
//!
//! - `record`: [`ActivityRecord`], what one call leaves, and [`ActivityFilter`].
//! - `file`: [`ActivityLog`], the capped file many processes append to.
//! - `follow`: [`ActivityFeed`], the records other processes write, as they
//!   write them.
//! - `wanted`: calls refused for want of authorization, as the app's
//!   Authorize prompts.

mod file;
mod follow;
mod record;
mod wanted;

pub use file::{ActivityLog, FILE_NAME, MAX_BYTES, newest};
pub use follow::ActivityFeed;
pub use record::{
    ActivityFilter, ActivityRecord, MAX_CLIENT_CHARS, MAX_NAME_CHARS, Outcome, Via, error_class,
};
pub(crate) use wanted::AuthorizationWanted;
pub use wanted::WANTED_EVERY;

/// Who is calling, as the record names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The client's name from `initialize`, or its gateway token's name.
    pub(crate) client: String,
    pub(crate) via: Via,
}

impl Caller {
    pub(crate) fn new(client: impl Into<String>, via: Via) -> Self {
        Self {
            client: client.into(),
            via,
        }
    }
}
