//! The activity file: one JSON line per call appended to
//! `<data dir>/activity.jsonl`, which becomes `activity.jsonl.1` (replacing
//! the previous one) when it would pass its cap, as the log files rotate
//! ([`crate::log_file`]), so the record never takes more than twice the cap.
//!
//! Any number of processes append at once (the app, `gatehouse serve`, a
//! proxy per AI client): each line is one `write` on a file opened with
//! `O_APPEND`, so lines never interleave, and the rotation is done under
//! the file's cross-process lock after looking again, so two writers never
//! both rotate. A writer that opened the file just before another rotated it
//! writes its line at the end of the rotated file: kept, and read back.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::record::{ActivityFilter, ActivityRecord};
use crate::fsutil::FileLock;
use crate::log_file::open_append;

/// The file's name in the data folder.
pub const FILE_NAME: &str = "activity.jsonl";
/// The most the current file grows to before it is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The activity file of one data folder.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    path: PathBuf,
    max_bytes: u64,
}

impl ActivityLog {
    /// `data_dir/activity.jsonl`, capped at [`MAX_BYTES`].
    pub fn new(data_dir: &Path) -> Self {
        Self::with_limit(data_dir, MAX_BYTES)
    }

    /// As [`new`](Self::new), rotating past `max_bytes`.
    pub fn with_limit(data_dir: &Path, max_bytes: u64) -> Self {
        Self {
            path: data_dir.join(FILE_NAME),
            max_bytes,
        }
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file it rotates to.
    pub fn rotated_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".1");
        PathBuf::from(name)
    }

    /// Appends `record` as one line, rotating first when the line would
    /// take the file past its cap.
    pub fn append(&self, record: &ActivityRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        crate::fsutil::create_private_dir(crate::fsutil::parent_dir(&self.path))?;
        let mut file = open_append(&self.path)?;
        if self.over_cap(&file, &line)? {
            let _lock = FileLock::acquire(&self.path)?;
            // Another process may have rotated it while we waited.
            file = open_append(&self.path)?;
            if self.over_cap(&file, &line)? {
                std::fs::rename(&self.path, self.rotated_path())?;
                file = open_append(&self.path)?;
            }
        }
        // One write, so that concurrent appenders never interleave.
        let written = file.write(&line)?;
        if written != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the activity line was written in part",
            ));
        }
        Ok(())
    }

    fn over_cap(&self, file: &File, line: &[u8]) -> io::Result<bool> {
        let len = file.metadata()?.len();
        Ok(len > 0 && len + line.len() as u64 > self.max_bytes)
    }

    /// Every record on disk, oldest first (the rotated file, then the
    /// current one). A line that does not read (torn by a crash, or from a
    /// newer version) is skipped.
    pub fn read_all(&self) -> io::Result<Vec<ActivityRecord>> {
        let mut records = Vec::new();
        for path in [self.rotated_path(), self.path.clone()] {
            match File::open(&path) {
                Ok(file) => read_lines(BufReader::new(file), &mut records)?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(records)
    }

    /// The newest `limit` records that `filter` matches, oldest first.
    pub fn recent(&self, filter: &ActivityFilter, limit: usize) -> io::Result<Vec<ActivityRecord>> {
        Ok(newest(self.read_all()?, filter, limit))
    }
}

/// The newest `limit` of `records` that `filter` matches, oldest first.
pub fn newest(
    records: Vec<ActivityRecord>,
    filter: &ActivityFilter,
    limit: usize,
) -> Vec<ActivityRecord> {
    let mut matching: Vec<ActivityRecord> =
        records.into_iter().filter(|r| filter.matches(r)).collect();
    let skip = matching.len().saturating_sub(limit);
    matching.split_off(skip)
}

/// Reads the complete lines of `reader` into `records`, skipping what
/// does not read as a record. A line torn by a crash has no newline, so the
/// next writer's record is glued to its end: that record is read from
/// where it starts.
pub(super) fn read_lines(
    reader: impl BufRead,
    records: &mut Vec<ActivityRecord>,
) -> io::Result<()> {
    for line in reader.split(b'\n') {
        let line = line?;
        if let Some(record) = read_record(&line) {
            records.push(record);
        }
    }
    Ok(())
}

/// Every record starts so (its first field is `time`).
const RECORD_START: &[u8] = b"{\"time\":";

fn read_record(line: &[u8]) -> Option<ActivityRecord> {
    if let Ok(record) = serde_json::from_slice(line) {
        return Some(record);
    }
    let start = line
        .windows(RECORD_START.len())
        .rposition(|window| window == RECORD_START)?;
    if start == 0 {
        return None;
    }
    serde_json::from_slice(&line[start..]).ok()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::activity::{Outcome, Via};

    fn record(client: &str, server: &str, tool: &str) -> ActivityRecord {
        ActivityRecord::new(
            UNIX_EPOCH,
            Duration::from_millis(3),
            client,
            Via::Proxy,
            server,
            "tools/call",
            Some(tool),
            Outcome::Ok,
        )
    }

    #[test]
    fn appends_lines_and_reads_them_back_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let log = ActivityLog::new(dir.path());
        assert!(log.read_all().unwrap().is_empty(), "no file yet");
        for i in 0..5 {
            log.append(&record("cursor", "linear", &format!("t{i}")))
                .unwrap();
            log.append(&record("zed", "github", &format!("t{i}")))
                .unwrap();
        }
        assert_eq!(log.read_all().unwrap().len(), 10);
        let filter = ActivityFilter {
            server: Some("linear".into()),
            client: None,
        };
        let recent = log.recent(&filter, 2).unwrap();
        let tools: Vec<_> = recent.iter().map(|r| r.tool.clone().unwrap()).collect();
        assert_eq!(tools, ["t3", "t4"], "the newest two, oldest first");
        let by_client = ActivityFilter {
            server: None,
            client: Some("zed".into()),
        };
        assert!(
            log.recent(&by_client, 100)
                .unwrap()
                .iter()
                .all(|r| r.client == "zed")
        );
        // A torn last line (a crash mid-write) is skipped, not an error.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        file.write_all(b"{\"time\":\"20").unwrap();
        assert_eq!(log.read_all().unwrap().len(), 10);
        // The next record, glued to the torn one, is still read; garbage
        // and a line of another shape are skipped.
        log.append(&record("after-crash", "linear", "t9")).unwrap();
        file.write_all(b"\x00\xff garbage \xfe\n[1,2,3]\n{\"time\": 5}\n")
            .unwrap();
        log.append(&record("last", "linear", "t10")).unwrap();
        let all = log.read_all().unwrap();
        let clients: Vec<_> = all[10..].iter().map(|r| r.client.as_str()).collect();
        assert_eq!(clients, ["after-crash", "last"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private to the owner: {mode:o}");
        }
    }

    #[test]
    fn stays_under_twice_the_cap_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let log = ActivityLog::with_limit(dir.path(), 2_000);
        for i in 0..200 {
            log.append(&record("cursor", "linear", &format!("tool-{i:03}")))
                .unwrap();
        }
        let current = std::fs::metadata(log.path()).unwrap().len();
        let rotated = std::fs::metadata(log.rotated_path()).unwrap().len();
        assert!(current <= 2_000 && rotated <= 2_000, "{current} {rotated}");
        assert!(!dir.path().join("activity.jsonl.2").exists());
        let all = log.read_all().unwrap();
        assert_eq!(all.last().unwrap().tool.as_deref(), Some("tool-199"));
        // What is kept is in order, with nothing missing in between.
        let numbers: Vec<u32> = all
            .iter()
            .map(|r| r.tool.as_deref().unwrap()[5..].parse().unwrap())
            .collect();
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
        // At least one whole file's worth of the newest is kept.
        let line_len = serde_json::to_vec(&all[0]).unwrap().len() + 1;
        assert!(numbers.len() >= 2_000 / line_len, "{}", numbers.len());
    }

    /// Four writers (each its own `ActivityLog`, as separate processes
    /// have), 600 lines in all, past the cap once: every line is whole and
    /// none is lost, each writer's in its own order.
    #[test]
    fn concurrent_writers_lose_and_tear_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let line_len = serde_json::to_vec(&record("writer-0", "s", "100"))
            .unwrap()
            .len() as u64
            + 1;
        // Rotated once, about two thirds of the way.
        let cap = line_len * 400;
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let log = ActivityLog::with_limit(dir.path(), cap);
                std::thread::spawn(move || {
                    for i in 100..250 {
                        log.append(&record(&format!("writer-{w}"), "s", &format!("{i}")))
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let log = ActivityLog::with_limit(dir.path(), cap);
        assert!(log.rotated_path().exists(), "the writers rotated the file");
        for path in [log.path().to_path_buf(), log.rotated_path()] {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                serde_json::from_str::<ActivityRecord>(line)
                    .unwrap_or_else(|e| panic!("a torn line {line:?}: {e}"));
            }
        }
        let all = log.read_all().unwrap();
        assert_eq!(all.len(), 600);
        for w in 0..4 {
            let mine: Vec<u32> = all
                .iter()
                .filter(|r| r.client == format!("writer-{w}"))
                .map(|r| r.tool.as_deref().unwrap().parse().unwrap())
                .collect();
            assert_eq!(mine, (100..250).collect::<Vec<_>>(), "writer {w}");
        }
    }

    /// Set in a child process of the test below: the folder to write to.
    const WRITER_DIR: &str = "GATEHOUSE_TEST_ACTIVITY_WRITER_DIR";
    const WRITER_NAME: &str = "GATEHOUSE_TEST_ACTIVITY_WRITER_NAME";

    /// Four processes (this test binary, started again as writers) append
    /// 300 lines each to one small capped file at once: every line is
    /// whole, none is lost past what the cap lets go, each writer's lines
    /// are in order, and the files stay within the cap (plus the few lines
    /// writers that raced a rotation add to the rotated file).
    #[test]
    fn several_processes_append_at_once() {
        let cap = 40_000;
        if let (Ok(dir), Ok(name)) = (std::env::var(WRITER_DIR), std::env::var(WRITER_NAME)) {
            // Start together: wait for the parent's signal.
            let go = Path::new(&dir).join("go");
            while !go.exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let log = ActivityLog::with_limit(Path::new(&dir), cap);
            for i in 1000..1300 {
                log.append(&record(&name, "s", &format!("{i}"))).unwrap();
            }
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..4)
            .map(|w| {
                std::process::Command::new(&exe)
                    .args([
                        "activity::file::tests::several_processes_append_at_once",
                        "--exact",
                        "--test-threads=1",
                    ])
                    .env(WRITER_DIR, dir.path())
                    .env(WRITER_NAME, format!("process-{w}"))
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::fs::write(dir.path().join("go"), b"").unwrap();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let log = ActivityLog::with_limit(dir.path(), cap);
        let line_len = serde_json::to_vec(&record("process-0", "s", "1000"))
            .unwrap()
            .len() as u64
            + 1;
        for path in [log.path().to_path_buf(), log.rotated_path()] {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                serde_json::from_str::<ActivityRecord>(line)
                    .unwrap_or_else(|e| panic!("a torn line {line:?}: {e}"));
            }
            let len = text.len() as u64;
            assert!(
                len <= cap + 4 * line_len,
                "{} is {len} bytes",
                path.display()
            );
        }
        let all = log.read_all().unwrap();
        // 1200 lines of about 170 bytes passed the 40 kB cap several times:
        // the oldest were let go, at least a file's worth of the newest kept.
        assert!(all.len() as u64 >= cap / line_len, "{}", all.len());
        let mut writers_kept = 0;
        for w in 0..4 {
            let mine: Vec<u32> = all
                .iter()
                .filter(|r| r.client == format!("process-{w}"))
                .map(|r| r.tool.as_deref().unwrap().parse().unwrap())
                .collect();
            assert!(
                mine.windows(2).all(|p| p[1] == p[0] + 1),
                "process {w}: {mine:?}"
            );
            // What a writer lost is its oldest lines, never its newest.
            if !mine.is_empty() {
                writers_kept += 1;
                assert_eq!(mine.last(), Some(&1299), "process {w}");
            }
        }
        assert!(writers_kept >= 2, "the writers did not write at once");
    }
}
