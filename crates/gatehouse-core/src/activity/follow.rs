//! Following the activity file as other processes append to it: the file's
//! folder is watched by the operating system (inotify, FSEvents,
//! ReadDirectoryChanges through `notify`), so a follower sleeps until a
//! line is written — no timer, no polling. The file is read from where the
//! follower left it; when it was rotated, the rest of the old file (still
//! open) is read first, then the new one from its start.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::file::{ActivityLog, FILE_NAME, read_lines};
use super::record::ActivityRecord;

/// New records as they are written, by any process.
pub struct ActivityFeed {
    path: PathBuf,
    /// The file being read, and where.
    open: Option<(File, FileId)>,
    /// A line not yet whole.
    partial: Vec<u8>,
    changed: mpsc::Receiver<()>,
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for ActivityFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityFeed")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Which file a path names now (its inode), to notice a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

fn file_id(meta: &std::fs::Metadata) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        FileId(meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        // No inode: a file that shrank was rotated.
        let _ = meta;
        FileId(0, 0)
    }
}

impl ActivityLog {
    /// Starts following the file: what it holds now (oldest first), and a
    /// feed of what is written after. Must run inside a Tokio runtime.
    pub fn follow(&self) -> io::Result<(Vec<ActivityRecord>, ActivityFeed)> {
        let dir = crate::fsutil::parent_dir(self.path()).to_path_buf();
        crate::fsutil::create_private_dir(&dir)?;
        // Capacity 1: one pending wake-up stands for any number of writes.
        let (tx, changed) = mpsc::channel(1);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let ours = match &event {
                    Ok(event) => event.paths.iter().any(|p| is_activity_file(p)),
                    // Something was missed: read to be sure.
                    Err(_) => true,
                };
                if ours {
                    let _ = tx.try_send(());
                }
            })
            .map_err(watch_error)?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        // Watching before reading: a line written in between is read now
        // or announced after, never missed.
        let mut feed = ActivityFeed {
            path: self.path().to_path_buf(),
            open: None,
            partial: Vec::new(),
            changed,
            _watcher: watcher,
        };
        let mut backlog = Vec::new();
        match File::open(self.rotated_path()) {
            Ok(file) => read_lines(BufReader::new(file), &mut backlog)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        backlog.extend(feed.read_new()?);
        Ok((backlog, feed))
    }
}

fn is_activity_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == FILE_NAME || n.strip_prefix(FILE_NAME) == Some(".1"))
}

fn watch_error(error: notify::Error) -> io::Error {
    match error.kind {
        notify::ErrorKind::Io(error) => error,
        _ => io::Error::other(error.to_string()),
    }
}

impl ActivityFeed {
    /// Waits until records are written and returns them (oldest first);
    /// `None` when the watch ended.
    pub async fn next(&mut self) -> Option<io::Result<Vec<ActivityRecord>>> {
        loop {
            self.changed.recv().await?;
            match self.read_new() {
                Ok(records) if records.is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    /// The whole lines written since the last read.
    fn read_new(&mut self) -> io::Result<Vec<ActivityRecord>> {
        let mut records = Vec::new();
        loop {
            if let Some((file, _)) = &mut self.open {
                file.read_to_end(&mut self.partial)?;
                self.take_lines(&mut records);
            }
            let now = match std::fs::metadata(&self.path) {
                Ok(meta) => meta,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(records),
                Err(error) => return Err(error),
            };
            let same = match &mut self.open {
                Some((file, id)) if *id == file_id(&now) => {
                    // Without inodes, a file shorter than what was read is
                    // a new one.
                    file.stream_position()? <= now.len()
                }
                _ => false,
            };
            if same {
                return Ok(records);
            }
            // Rotated (or first seen): what is left of the old file was
            // read above; now the new one, from its start.
            let file = File::open(&self.path)?;
            let id = file_id(&file.metadata()?);
            self.partial.clear();
            self.open = Some((file, id));
        }
    }

    fn take_lines(&mut self, records: &mut Vec<ActivityRecord>) {
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(end + 1);
        let whole = std::mem::replace(&mut self.partial, rest);
        // Reading from memory does not fail.
        let _ = read_lines(&whole[..], records);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::activity::{Outcome, Via};

    fn record(tool: &str) -> ActivityRecord {
        ActivityRecord::new(
            UNIX_EPOCH,
            Duration::from_millis(1),
            "other-process",
            Via::Gateway,
            "demo",
            "tools/call",
            Some(tool),
            Outcome::Ok,
        )
    }

    async fn next_tools(feed: &mut ActivityFeed) -> Vec<String> {
        let records = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("the feed woke up")
            .expect("the watch goes on")
            .unwrap();
        records.into_iter().map(|r| r.tool.unwrap()).collect()
    }

    #[tokio::test]
    async fn follows_appends_and_rotations_without_polling() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let writer = ActivityLog::with_limit(&data, 600);
        writer.append(&record("before")).unwrap();
        let (backlog, mut feed) = ActivityLog::with_limit(&data, 600).follow().unwrap();
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog[0].tool.as_deref(), Some("before"));

        // Written by "another process" (another log on the same folder).
        writer.append(&record("one")).unwrap();
        assert_eq!(next_tools(&mut feed).await, ["one"]);

        // Enough to rotate several times: every line comes, in order.
        let mut seen = Vec::new();
        let expected: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
        for tool in &expected {
            writer.append(&record(tool)).unwrap();
            // Read as the writes come, so that no rotation is skipped.
            seen.extend(next_tools(&mut feed).await);
        }
        assert!(writer.rotated_path().exists());
        assert_eq!(seen, expected);

        // Nothing written: nothing comes (the feed sleeps).
        let idle = tokio::time::timeout(Duration::from_millis(300), feed.next()).await;
        assert!(idle.is_err(), "no records without writes: {idle:?}");
    }

    #[tokio::test]
    async fn a_feed_started_before_the_file_exists_sees_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = ActivityLog::new(dir.path());
        let (backlog, mut feed) = log.follow().unwrap();
        assert!(backlog.is_empty());
        log.append(&record("first")).unwrap();
        assert_eq!(next_tools(&mut feed).await, ["first"]);
    }
}
