//! Whether a client is running, where the platform lets us see it (Linux:
//! the process names in `/proc`), so the person can be told to restart it
//! after its file changed. Elsewhere the answer is "unknown" and the hint
//! is given anyway.

use super::ClientKind;

/// `Some(true)` when a process of the client is running, `Some(false)`
/// when none is, `None` when this platform cannot tell.
pub fn is_running(kind: ClientKind) -> Option<bool> {
    running_names().map(|names| {
        names
            .iter()
            .any(|name| kind.process_names().contains(&name.as_str()))
    })
}

#[cfg(target_os = "linux")]
fn running_names() -> Option<Vec<String>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        if !file_name
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            names.push(comm.trim_end().to_owned());
        }
    }
    Some(names)
}

#[cfg(not(target_os = "linux"))]
fn running_names() -> Option<Vec<String>> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn sees_this_test_process() {
        let names = super::running_names().unwrap();
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert!(names.iter().any(|n| n == me.trim_end()));
    }
}
