//! Resident memory of process trees, read from /proc: the resident set
//! (RSS, shared libraries counted once per process) and the proportional
//! set (PSS, shared pages split among the processes that map them), from
//! `/proc/<pid>/smaps_rollup`; and a process's peak RSS (`VmHWM`).

use std::collections::HashMap;

/// Memory of a set of processes, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub processes: usize,
    pub rss: u64,
    pub pss: u64,
}

/// `roots` and every process descending from them.
pub fn trees(roots: &[u32]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(parent) = parent_of(pid) {
                children.entry(parent).or_default().push(pid);
            }
        }
    }
    let mut all = Vec::new();
    let mut todo: Vec<u32> = roots.to_vec();
    while let Some(pid) = todo.pop() {
        all.push(pid);
        if let Some(kids) = children.get(&pid) {
            todo.extend(kids);
        }
    }
    all
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// The summed RSS and PSS of `pids` (processes that are gone count zero).
pub fn memory(pids: &[u32]) -> Memory {
    let mut total = Memory::default();
    for &pid in pids {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        total.processes += 1;
        total.rss += field_kb(&text, "Rss:") * 1024;
        total.pss += field_kb(&text, "Pss:") * 1024;
    }
    total
}

/// The memory of the trees rooted at `roots`.
pub fn tree_memory(roots: &[u32]) -> Memory {
    memory(&trees(roots))
}

/// The highest RSS process `pid` has had (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(field_kb(&text, "VmHWM:") * 1024)
}

fn field_kb(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
