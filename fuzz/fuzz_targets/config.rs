//! The config file: whatever the text, loading never panics; a config that
//! loads is valid by the editor's rules too, and written back out it loads
//! as itself; and no error message (nor the Debug form of a loaded config)
//! ever carries a value from a place where secrets are typed — a header
//! value, a client secret, a URL, a value of the wrong type.
#![no_main]

use std::path::Path;

use gatehouse_core::fuzzing::{Config, ConfigError};
use libfuzzer_sys::fuzz_target;

/// Put in front of every string value a secret could be typed into.
const CANARY: &str = "~zq7xcanary~";
/// The same, in header values, whose Debug form must hide them.
const HEADER_CANARY: &str = "~hv4ycanary~";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("config.toml");
    if let Ok(config) = Config::parse(text, path) {
        check_loaded(&config);
    }
    if let Some(marked) = with_canaries(text) {
        match Config::parse(&marked, path) {
            Ok(config) => {
                let shown = format!("{config:?}").to_lowercase();
                assert!(!shown.contains(HEADER_CANARY), "{shown}");
            }
            Err(error) => check_error(&error),
        }
    }
});

fn check_loaded(config: &Config) {
    for server in &config.servers {
        let issues = config.check_server(server, Some(&server.id));
        assert!(
            issues.is_empty(),
            "loaded, yet the editor refuses: {issues:?}"
        );
    }
    let written = toml_edit::ser::to_string(config).expect("a config serializes");
    match Config::parse(&written, Path::new("config.toml")) {
        Ok(again) => assert!(again == *config, "{written}"),
        Err(error) => panic!("written back, it does not load: {error}\n{written}"),
    }
}

fn check_error(error: &ConfigError) {
    for shown in [error.to_string(), format!("{error:?}")] {
        let shown = shown.to_lowercase();
        assert!(
            !shown.contains(CANARY) && !shown.contains(HEADER_CANARY),
            "{shown}"
        );
    }
}

/// The text with a canary in front of every string value except those a
/// message may name (server ids, scopes, the keys themselves).
fn with_canaries(text: &str) -> Option<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
    let mut changed = false;
    mark_table(doc.as_table_mut(), false, &mut changed);
    changed.then(|| doc.to_string())
}

fn mark_table(table: &mut dyn toml_edit::TableLike, in_headers: bool, changed: &mut bool) {
    for (key, item) in table.iter_mut() {
        let name = key.get().to_owned();
        if name == "id" || name == "scopes" {
            continue;
        }
        mark_item(item, in_headers || name == "headers", changed);
    }
}

fn mark_item(item: &mut toml_edit::Item, in_headers: bool, changed: &mut bool) {
    match item {
        toml_edit::Item::Value(value) => mark_value(value, in_headers, changed),
        toml_edit::Item::Table(table) => mark_table(table, in_headers, changed),
        toml_edit::Item::ArrayOfTables(tables) => {
            for table in tables.iter_mut() {
                mark_table(table, in_headers, changed);
            }
        }
        toml_edit::Item::None => {}
    }
}

fn mark_value(value: &mut toml_edit::Value, in_headers: bool, changed: &mut bool) {
    match value {
        toml_edit::Value::String(string) => {
            let canary = if in_headers { HEADER_CANARY } else { CANARY };
            let marked = format!("{canary}{}", string.value());
            *string = toml_edit::Formatted::new(marked);
            *changed = true;
        }
        toml_edit::Value::Array(array) => {
            for value in array.iter_mut() {
                mark_value(value, in_headers, changed);
            }
        }
        toml_edit::Value::InlineTable(table) => mark_table(table, in_headers, changed),
        _ => {}
    }
}
