//! The window's commands are named in five places that nothing else ties
//! together: the `#[tauri::command]` functions in `commands.rs`, the list in
//! `build.rs` (which generates one permission per command), the
//! `generate_handler!` in `lib.rs`, the window's capability file, and the
//! typed wrappers in `ui/src/lib/ipc.ts`. This test reads all five and fails,
//! naming the difference, when they disagree — so a command cannot be added,
//! renamed or removed in one place only.

use std::collections::BTreeSet;

const COMMANDS_RS: &str = include_str!("commands.rs");
const BUILD_RS: &str = include_str!("../build.rs");
const LIB_RS: &str = include_str!("lib.rs");
const CAPABILITY: &str = include_str!("../capabilities/main.json");
const IPC_TS: &str = include_str!("../../ui/src/lib/ipc.ts");

/// Functions marked `#[tauri::command]`.
fn defined() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut marked = false;
    for line in COMMANDS_RS.lines().map(str::trim) {
        if line.starts_with("#[tauri::command") {
            marked = true;
        } else if marked && let Some(name) = fn_name(line) {
            names.insert(name);
            marked = false;
        }
    }
    names
}

fn fn_name(line: &str) -> Option<String> {
    let rest = line.split_once("fn ")?.1;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(rest[..end].to_owned())
}

/// The strings of `build.rs`'s `COMMANDS` list.
fn in_build_script() -> BTreeSet<String> {
    let list = BUILD_RS
        .split_once("const COMMANDS")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(list, _)| list)
        .expect("build.rs has a COMMANDS list");
    quoted(list.split_once('=').map_or(list, |(_, l)| l))
}

/// `commands::NAME` entries of `generate_handler!`.
fn in_handler() -> BTreeSet<String> {
    let list = LIB_RS
        .split_once("generate_handler![")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("lib.rs has a generate_handler!");
    list.split(',')
        .map(str::trim)
        .filter_map(|entry| entry.strip_prefix("commands::"))
        .map(str::to_owned)
        .collect()
}

/// `allow-NAME` permissions of the window's capability.
fn in_capability() -> BTreeSet<String> {
    let capability: serde_json::Value =
        serde_json::from_str(CAPABILITY).expect("the capability is JSON");
    capability["permissions"]
        .as_array()
        .expect("the capability lists permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect()
}

/// Commands the UI calls through `call<…>("name"`.
fn in_ui() -> BTreeSet<String> {
    IPC_TS
        .split("call<")
        .skip(1)
        .filter_map(|rest| rest.split_once(">(\"").map(|(_, after)| after))
        .filter_map(|after| after.split_once('"').map(|(name, _)| name.to_owned()))
        .collect()
}

fn quoted(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_list_of_commands_names_the_same_commands() {
    let defined = defined();
    assert!(defined.len() >= 10, "found only {defined:?}");
    for (place, names) in [
        ("build.rs COMMANDS", in_build_script()),
        ("lib.rs generate_handler!", in_handler()),
        ("capabilities/main.json", in_capability()),
        ("ui/src/lib/ipc.ts", in_ui()),
    ] {
        let missing: Vec<_> = defined.difference(&names).collect();
        let unknown: Vec<_> = names.difference(&defined).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "{place} disagrees with the #[tauri::command]s in commands.rs: missing {missing:?}, not a command {unknown:?}"
        );
    }
}

#[test]
fn the_readers_find_what_they_look_for() {
    assert_eq!(
        fn_name("pub async fn save_server("),
        Some("save_server".into())
    );
    assert_eq!(
        fn_name("pub fn open_url<R: Runtime>("),
        Some("open_url".into())
    );
    assert!(in_ui().contains("call_tool"));
    assert!(in_capability().contains("set_start_at_login"));
}
