//! A crash in the middle of a vault write never loses an acknowledged
//! secret and never leaves a vault that cannot be opened: a child process
//! writes the vault in a loop, saying "ack N" after each write returns, and
//! is killed with SIGKILL at a random moment, 200 times over; after each
//! kill a fresh `Vault` opens the file and finds every acknowledged write
//! (or a later one), whole.
//!
//! The child is this test binary again, run with `GATEHOUSE_CRASH_WRITER`
//! set, so the test needs no other program built. Writer and checker are
//! separate processes, so the vault key lives in a file both can read.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::template::Template;
use gatehouse_core::vault::{KeyStore, Vault};
use secrecy::{ExposeSecret, SecretString};

const TEST_NAME: &str = "the_vault_survives_200_sigkills_during_writes";
/// Set in the child: the directory of the vault it writes.
const WRITER_ENV: &str = "GATEHOUSE_CRASH_WRITER";
/// Set in the child: the sequence number of its first write.
const FIRST_ENV: &str = "GATEHOUSE_CRASH_FIRST";
const KILLS: u64 = 200;
const NAMES: [&str; 4] = ["ALPHA", "BETA", "GAMMA", "DELTA"];

/// The vault identity in a file, shared by the writer and the checker.
#[derive(Debug)]
struct FileKeyStore(PathBuf);

impl KeyStore for FileKeyStore {
    fn load(&self, _account: &str) -> Result<Option<SecretString>, String> {
        match std::fs::read_to_string(&self.0) {
            Ok(key) => Ok(Some(SecretString::from(key))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn store(&self, _account: &str, secret: &SecretString) -> Result<(), String> {
        std::fs::write(&self.0, secret.expose_secret()).map_err(|e| e.to_string())
    }
}

fn vault_in(dir: &Path) -> Vault {
    let keys = Arc::new(FileKeyStore(dir.join("identity")));
    Vault::new(dir.join("vault.age"), keys, None)
}

/// Write number `seq`: which secret, and its whole value (sizes vary, so
/// the file grows and shrinks; NUL and non-ASCII included).
fn write_for(seq: u64) -> (&'static str, String) {
    let name = NAMES[(seq % NAMES.len() as u64) as usize];
    let padding = "é\0x".repeat((seq * 7919 % 1500) as usize);
    (name, format!("{seq}:{padding}:{seq}"))
}

#[test]
fn the_vault_survives_200_sigkills_during_writes() {
    if let Ok(dir) = std::env::var(WRITER_ENV) {
        write_until_killed(Path::new(&dir));
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    vault_in(dir.path())
        .set_secret("SEED", &SecretString::from("seed"))
        .unwrap();
    // The last acknowledged write of each name.
    let mut acked: BTreeMap<&str, u64> = BTreeMap::new();
    let mut next = 0;
    let mut torn_writes = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                TEST_NAME,
                "--exact",
                "--nocapture",
                "-q",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, dir.path())
            .env(FIRST_ENV, next.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Wait for the first write, so the kill lands while writing.
        let mut acks = Vec::new();
        let mut line = String::new();
        while acks.is_empty() {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("the writer ended before writing: {err}");
            }
            acks.extend(ack(&line));
        }
        std::thread::sleep(Duration::from_micros(rand::random_range(0..25_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "the writer was killed, not done");
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        acks.extend(rest.lines().filter_map(ack));
        let last = *acks.last().unwrap();
        for &seq in &acks {
            acked.insert(write_for(seq).0, seq);
        }
        // The write after the last ack may or may not have landed.
        let in_flight = last + 1;
        next = last + 2;

        let vault = vault_in(dir.path());
        let names = vault
            .secret_names()
            .unwrap_or_else(|e| panic!("after kill {kill}, the vault does not open: {e}"));
        assert!(names.iter().any(|n| n == "SEED"), "kill {kill}: SEED lost");
        for (name, seq) in acked.iter_mut() {
            assert!(names.iter().any(|n| n == name), "kill {kill}: {name} lost");
            let template = Template::parse(&format!("${{{name}}}")).unwrap();
            let value = vault.resolve([&template]).unwrap().remove(0);
            let value = value.expose_secret();
            let found: u64 = value.split(':').next().unwrap().parse().unwrap();
            let landed_unacknowledged = found == in_flight && write_for(in_flight).0 == *name;
            assert!(
                found == *seq || landed_unacknowledged,
                "kill {kill}: {name} holds write {found}, the last acknowledged was {seq}"
            );
            assert!(value == write_for(found).1, "kill {kill}: {name} is torn");
            *seq = found;
        }
        torn_writes += leftover_temporary_files(dir.path());
    }
    eprintln!(
        "{KILLS} kills in {:?}; {torn_writes} of them cut a write between its temporary file and the rename",
        started.elapsed()
    );
    assert!(
        torn_writes > 0,
        "no kill landed inside a write: the test did not test what it says"
    );
}

/// `ack N` lines of the writer (libtest may print its own lines too).
fn ack(line: &str) -> Option<u64> {
    line.trim().strip_prefix("ack ")?.parse().ok()
}

/// Removes the temporary files killed writes left behind, counting them.
fn leftover_temporary_files(dir: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".vault.age.") && name.ends_with(".tmp") {
            std::fs::remove_file(dir.join(&*name)).unwrap();
            count += 1;
        }
    }
    count
}

/// The child: writes forever, acknowledging each completed write.
fn write_until_killed(dir: &Path) -> ! {
    let vault = vault_in(dir);
    let mut seq: u64 = std::env::var(FIRST_ENV).unwrap().parse().unwrap();
    let mut stdout = std::io::stdout().lock();
    loop {
        let (name, value) = write_for(seq);
        vault
            .set_secret(name, &SecretString::from(value))
            .unwrap_or_else(|e| panic!("write {seq}: {e}"));
        writeln!(stdout, "ack {seq}").unwrap();
        stdout.flush().unwrap();
        seq += 1;
    }
}
