//! The log file a person can send: each front end appends its log lines to
//! `<data dir>/logs/<name>.log`, and when that file would pass
//! [`MAX_BYTES`] it becomes `<name>.log.1` (replacing the previous one), so
//! the logs never take more than twice that. Lines reach it through the same
//! capped filter as the terminal ([`crate::logging`]), so what the file holds
//! is no more than what a person could already see with `GATEHOUSE_LOG`.
//!
//! One file per front end (`app`, `cli`): the window and the command line
//! never rotate each other's file. Several CLI processes may append to
//! `cli.log` at once; at worst one of them rotates a moment early.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The most a log file grows to before it is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// A size-capped log file, shared by every thread that logs.
#[derive(Clone)]
pub struct RotatingFile {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    max_bytes: u64,
    file: Option<File>,
    written: u64,
}

impl RotatingFile {
    /// `dir/<name>.log`, made (private to the owner) if missing.
    pub fn open(dir: &Path, name: &str) -> io::Result<Self> {
        Self::with_limit(dir, name, MAX_BYTES)
    }

    /// As [`open`](Self::open), rotating past `max_bytes`.
    pub fn with_limit(dir: &Path, name: &str, max_bytes: u64) -> io::Result<Self> {
        crate::fsutil::create_private_dir(dir)?;
        let path = dir.join(format!("{name}.log"));
        let file = open_append(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                path,
                max_bytes,
                file: Some(file),
                written,
            })),
        })
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while logging leaves nothing half-done worth refusing.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = Some(open_append(&self.path)?);
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.lock();
        if inner.written > 0 && inner.written + buf.len() as u64 > inner.max_bytes {
            // Another process may have rotated it already; logging goes on.
            if inner.rotate().is_err() && inner.file.is_none() {
                inner.file = Some(open_append(&inner.path)?);
            }
        }
        let file = inner
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the log file is closed"))?;
        file.write_all(buf)?;
        inner.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.lock().file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingFile {
    type Writer = RotatingFile;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The last `max_lines` lines of the front ends' log files in `dir`
/// (`<name>.log.1` before `<name>.log`), each file's lines under its name.
pub fn recent_lines(dir: &Path, max_lines: usize) -> Vec<(String, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".log").map(str::to_owned))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let mut lines = Vec::new();
            for file in [format!("{name}.log.1"), format!("{name}.log")] {
                if let Ok(bytes) = std::fs::read(dir.join(file)) {
                    lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
                }
            }
            let skip = lines.len().saturating_sub(max_lines);
            (name, lines.split_off(skip))
        })
        .collect()
}

/// `path` opened for appending (created private to the owner), as every
/// rolling file of Gatehouse is written.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_past_the_limit_and_keeps_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let mut file = RotatingFile::with_limit(&logs, "app", 100).unwrap();
        for i in 0..30 {
            writeln!(file, "line {i:02} ............").unwrap();
        }
        let current = std::fs::metadata(logs.join("app.log")).unwrap().len();
        let old = std::fs::metadata(logs.join("app.log.1")).unwrap().len();
        assert!(current <= 100 && old <= 100, "{current} {old}");
        assert!(!logs.join("app.log.2").exists());
        let recent = recent_lines(&logs, 3);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].0, "app");
        assert_eq!(
            recent[0].1,
            [
                "line 27 ............",
                "line 28 ............",
                "line 29 ............"
            ]
        );
        // Reopened, it appends and counts what is already there.
        let mut again = RotatingFile::with_limit(&logs, "app", 100).unwrap();
        writeln!(again, "after restart").unwrap();
        let last = &recent_lines(&logs, 1)[0].1;
        assert_eq!(last, &["after restart"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(logs.join("app.log"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "private to the owner: {mode:o}");
        }
    }
}
