//! A client's configuration file, parsed twice over: as plain JSON values
//! to read its entries, and as a concrete syntax tree (JSONC with
//! `jsonc-parser`'s CST, TOML with `toml_edit`) to change only the entries
//! Gatehouse rewrites, so comments, key order, indentation and every other
//! setting survive byte for byte. A file that does not parse is an error
//! here, and nothing is ever written over it.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

use super::ClientKind;
use super::entry::ClientEntry;
use super::formats::{self, Syntax, TRANSPORT_KEYS};

/// A client file that cannot be read as its format. The message gives the
/// place and the kind of error, never the text there (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the file's top level is not an object/table")]
    NotAnObject,
}

/// A parsed client file.
#[derive(Clone)]
pub struct ClientDocument {
    kind: ClientKind,
    text: String,
    value: Value,
}

/// One change to one entry.
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub table: Vec<String>,
    pub name: String,
    pub change: EditKind,
}

#[derive(Debug, Clone)]
pub(crate) enum EditKind {
    /// Replace the keys that say how the entry is reached with these,
    /// keeping every other key of the entry.
    Transport(Vec<(&'static str, Value)>),
    /// Put the entry back as it was (`None`: it did not exist).
    Restore(Option<Value>),
}

impl ClientDocument {
    /// Parses `text` as `kind`'s format. An empty file is an empty one.
    pub fn parse(kind: ClientKind, text: &str) -> Result<Self, DocumentError> {
        let value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            match formats::format(kind).syntax {
                Syntax::Json => parse_json(text)?,
                Syntax::Toml => parse_toml(text)?.1,
            }
        };
        if !value.is_object() {
            return Err(DocumentError::NotAnObject);
        }
        Ok(Self {
            kind,
            text: text.to_owned(),
            value,
        })
    }

    pub fn kind(&self) -> ClientKind {
        self.kind
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every server entry in the file, in file order per table.
    pub fn entries(&self) -> Vec<ClientEntry> {
        let format = formats::format(self.kind);
        let mut entries = Vec::new();
        for pattern in format.tables {
            for table in expand(&self.value, pattern) {
                let Some(map) = lookup(&self.value, &table).and_then(Value::as_object) else {
                    continue;
                };
                for (name, value) in map {
                    entries.push(ClientEntry {
                        name: name.clone(),
                        table: table.clone(),
                        transport: (format.read)(value),
                    });
                }
            }
        }
        entries
    }

    /// The entry `name` in `table` as JSON, if there is one.
    pub fn entry_value(&self, table: &[String], name: &str) -> Option<&Value> {
        lookup(&self.value, table)?.get(name)
    }

    /// The file's text after `edits`; everything they do not touch is kept.
    pub(crate) fn edited(&self, edits: &[Edit]) -> Result<String, DocumentError> {
        if edits.is_empty() {
            return Ok(self.text.clone());
        }
        match formats::format(self.kind).syntax {
            Syntax::Json => edit_json(&self.text, edits),
            Syntax::Toml => edit_toml(&self.text, edits),
        }
    }
}

fn json_options() -> ParseOptions {
    ParseOptions::default()
}

fn parse_json(text: &str) -> Result<Value, DocumentError> {
    jsonc_parser::parse_to_serde_value::<Option<Value>>(text, &json_options())
        .map(|value| value.unwrap_or(Value::Object(Default::default())))
        .map_err(|error| DocumentError::Syntax {
            line: error.line_display(),
            column: error.column_display(),
            message: error.kind().to_string(),
        })
}

fn parse_toml(text: &str) -> Result<(toml_edit::DocumentMut, Value), DocumentError> {
    let document: toml_edit::DocumentMut =
        text.parse().map_err(|error: toml_edit::TomlError| {
            let offset = error.span().map_or(0, |span| span.start);
            let (line, column) = line_and_column(text, offset);
            DocumentError::Syntax {
                line,
                column,
                message: error.message().trim().to_owned(),
            }
        })?;
    let value = toml_edit::de::from_document::<Value>(document.clone()).map_err(|error| {
        DocumentError::Syntax {
            line: 1,
            column: 1,
            message: error.message().trim().to_owned(),
        }
    })?;
    Ok((document, value))
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The concrete key paths a table pattern stands for in `value`.
fn expand(value: &Value, pattern: &[&str]) -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    for segment in pattern {
        let mut next = Vec::new();
        for path in paths {
            if *segment == "*" {
                if let Some(map) = lookup(value, &path).and_then(Value::as_object) {
                    for key in map.keys() {
                        let mut longer = path.clone();
                        longer.push(key.clone());
                        next.push(longer);
                    }
                }
            } else {
                let mut longer = path;
                longer.push((*segment).to_owned());
                next.push(longer);
            }
        }
        paths = next;
    }
    paths
}

fn lookup<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// JSON to the CST's input values, keys in order.
fn to_cst(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(to_cst).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), to_cst(v))).collect())
        }
    }
}

fn edit_json(text: &str, edits: &[Edit]) -> Result<String, DocumentError> {
    let root =
        CstRootNode::parse(text, &json_options()).map_err(|error| DocumentError::Syntax {
            line: error.line_display(),
            column: error.column_display(),
            message: error.kind().to_string(),
        })?;
    let top = root.object_value_or_set();
    for edit in edits {
        let table = edit
            .table
            .iter()
            .fold(top.clone(), |object: CstObject, key| {
                object.object_value_or_set(key)
            });
        let existing = table.get(&edit.name);
        match &edit.change {
            EditKind::Transport(keys) => {
                let entry = match &existing {
                    Some(prop) => prop.object_value_or_set(),
                    None => table.object_value_or_set(&edit.name),
                };
                // A key the new entry keeps has its value replaced in place,
                // so a comment beside it stays; the others go.
                let mut kept = Vec::new();
                for prop in entry.properties() {
                    let Some(name) = prop.name().and_then(|n| n.decoded_value().ok()) else {
                        continue;
                    };
                    if !TRANSPORT_KEYS.contains(&name.as_str()) {
                        continue;
                    }
                    match keys.iter().find(|(key, _)| *key == name) {
                        Some((key, value)) => {
                            prop.set_value(to_cst(value));
                            kept.push(*key);
                        }
                        None => prop.remove(),
                    }
                }
                for (index, (key, value)) in keys.iter().enumerate() {
                    if !kept.contains(key) {
                        entry.insert(index, key, to_cst(value));
                    }
                }
            }
            EditKind::Restore(Some(value)) => match existing {
                Some(prop) => prop.set_value(to_cst(value)),
                None => {
                    table.append(&edit.name, to_cst(value));
                }
            },
            EditKind::Restore(None) => {
                if let Some(prop) = existing {
                    prop.remove();
                }
            }
        }
    }
    Ok(root.to_string())
}

fn edit_toml(text: &str, edits: &[Edit]) -> Result<String, DocumentError> {
    let (mut document, _) = parse_toml(text)?;
    for edit in edits {
        let mut table: &mut toml_edit::Table = document.as_table_mut();
        for key in &edit.table {
            let item = table
                .entry(key)
                .or_insert_with(|| toml_edit::Item::Table(implicit_table()));
            table = match item.as_table_mut() {
                Some(t) => t,
                None => return Err(DocumentError::NotAnObject),
            };
        }
        match &edit.change {
            EditKind::Transport(keys) => {
                let entry = table
                    .entry(&edit.name)
                    .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
                let Some(entry) = entry.as_table_like_mut() else {
                    return Err(DocumentError::NotAnObject);
                };
                // Keys the new entry keeps are replaced where they stand;
                // the other transport keys go.
                for key in TRANSPORT_KEYS {
                    if !keys.iter().any(|(new, _)| new == key) {
                        entry.remove(key);
                    }
                }
                for (key, value) in keys {
                    match entry.get_mut(key) {
                        Some(item) => *item = toml_item(value),
                        None => {
                            entry.insert(key, toml_item(value));
                        }
                    }
                }
            }
            EditKind::Restore(Some(value)) => {
                let mut restored = toml_edit::Table::new();
                if let Value::Object(map) = value {
                    for (key, value) in map {
                        restored.insert(key, toml_item(value));
                    }
                }
                table.insert(&edit.name, toml_edit::Item::Table(restored));
            }
            EditKind::Restore(None) => {
                table.remove(&edit.name);
            }
        }
    }
    Ok(document.to_string())
}

fn implicit_table() -> toml_edit::Table {
    let mut table = toml_edit::Table::new();
    table.set_implicit(true);
    table
}

/// A JSON value as a TOML value (objects become inline tables).
fn toml_item(value: &Value) -> toml_edit::Item {
    toml_edit::Item::Value(toml_value(value))
}

fn toml_value(value: &Value) -> toml_edit::Value {
    match value {
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => n
            .as_i64()
            .map(toml_edit::Value::from)
            .or_else(|| n.as_f64().map(toml_edit::Value::from))
            .unwrap_or_else(|| toml_edit::Value::from(n.to_string())),
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(items) => {
            toml_edit::Value::Array(items.iter().map(toml_value).collect::<toml_edit::Array>())
        }
        Value::Object(map) => {
            let mut inline = toml_edit::InlineTable::new();
            for (key, value) in map {
                inline.insert(key, toml_value(value));
            }
            toml_edit::Value::InlineTable(inline)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::entry::Transport;
    use serde_json::json;

    #[test]
    fn reads_claude_code_user_and_project_entries() {
        let text = r#"{
  "numStartups": 3,
  "mcpServers": { "a": { "type": "http", "url": "https://a.example/mcp" } },
  "projects": { "/home/me/app": { "mcpServers": { "b": { "type": "sse", "url": "https://b.example/sse" } } } }
}"#;
        let doc = ClientDocument::parse(ClientKind::ClaudeCode, text).unwrap();
        let entries = doc.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].table, ["projects", "/home/me/app", "mcpServers"]);
        assert!(matches!(
            entries[1].transport,
            Transport::Remote { sse: true, .. }
        ));
    }

    #[test]
    fn a_transport_edit_keeps_comments_and_other_keys() {
        let text = "{\n  // my servers\n  \"servers\": {\n    \"x\": { \"type\": \"stdio\", \"command\": \"npx\", \"args\": [\"mcp-remote\", \"https://x.example/mcp\"], \"dev\": { \"watch\": \"src\" } }\n  },\n  \"inputs\": []\n}\n";
        let doc = ClientDocument::parse(ClientKind::VsCode, text).unwrap();
        let out = doc
            .edited(&[Edit {
                table: vec!["servers".into()],
                name: "x".into(),
                change: EditKind::Transport(vec![
                    ("type", json!("http")),
                    ("url", json!("http://127.0.0.1:1/servers/x/mcp")),
                ]),
            }])
            .unwrap();
        assert!(out.contains("// my servers"), "{out}");
        assert!(out.contains("\"dev\""), "{out}");
        assert!(!out.contains("mcp-remote"), "{out}");
        let again = ClientDocument::parse(ClientKind::VsCode, &out).unwrap();
        assert_eq!(
            again.entry_value(&["servers".into()], "x").unwrap()["url"],
            "http://127.0.0.1:1/servers/x/mcp"
        );
    }

    #[test]
    fn a_syntax_error_names_the_place_not_the_text() {
        let error = ClientDocument::parse(
            ClientKind::Cursor,
            "{\n  \"mcpServers\": { \"a\": { \"headers\": { \"k\": \"sk-live-123\" } \n",
        )
        .err()
        .unwrap();
        assert!(!error.to_string().contains("sk-live"), "{error}");
        let error =
            ClientDocument::parse(ClientKind::Codex, "[mcp_servers.a]\nurl = \"sk-live-9 \n")
                .err()
                .unwrap();
        assert!(
            matches!(error, DocumentError::Syntax { line: 2, .. }),
            "{error:?}"
        );
        assert!(!error.to_string().contains("sk-live"), "{error}");
    }
}
