//! A server asking the person for input in the middle of a request
//! (MCP elicitation): a form generated from the schema the server sends, or
//! a web page to open. The front end that has a person in front of it (a
//! prompt in the CLI, a conformance run that accepts at once) answers
//! through an [`ElicitationSink`] set on the engine; without one, Gatehouse
//! does not advertise elicitation and a server that asks anyway is
//! declined. A proxy or gateway client gets the server's request itself
//! (`connection::Downstream`), not this.
//!
//! Defaults (SEP-1034): the form starts from each field's `default`, and a
//! field the person left out of an accepted answer gets its default, so
//! the server sees every value it offered one for.

use std::sync::Arc;

use rmcp::model::{
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationCapability,
    FormElicitationCapability, UrlElicitationCapability,
};
use serde_json::{Map, Value};

/// A form the server asks the person to fill in.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRequest {
    /// The server's id in the config.
    pub server: String,
    /// What the server says it needs, as it wrote it.
    pub message: String,
    /// The requested schema: an object whose `properties` are primitive
    /// fields (`type`, `title`, `description`, `default`, `enum`, …).
    pub schema: Value,
    /// Each field's `default`, the form's starting values.
    pub defaults: Map<String, Value>,
}

/// A page the server asks the person to open (a sign-in elsewhere, a
/// payment): shown with its host before anything is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlRequest {
    pub server: String,
    pub message: String,
    pub url: String,
    /// The URL's host, what the person should check.
    pub host: String,
}

/// What the person did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Submitted (for a URL: agreed to open it), with the form's values.
    Accept(Map<String, Value>),
    /// Said no.
    Decline,
    /// Dismissed it without deciding.
    Cancel,
}

/// Where a server's elicitation reaches a person.
#[async_trait::async_trait]
pub trait ElicitationSink: Send + Sync {
    async fn fill_form(&self, request: FormRequest) -> Answer;
    async fn open_url(&self, request: UrlRequest) -> Answer;
}

/// What Gatehouse tells servers it supports when a sink is set: forms and
/// URLs.
pub(crate) fn capability() -> ElicitationCapability {
    ElicitationCapability::new()
        .with_form(FormElicitationCapability::default())
        .with_url(UrlElicitationCapability::new())
}

/// One field of a requested form, as a prompt or a dialog shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The schema's `title`, else the name.
    pub label: String,
    pub description: Option<String>,
    pub kind: FieldKind,
    pub default: Option<Value>,
    pub required: bool,
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Integer,
    Number,
    Boolean,
    /// One of these values (`enum`, or `oneOf` with `const`s).
    Choice(Vec<String>),
}

/// The fields of `schema`, required ones first as the server listed them.
pub fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    let mut fields: Vec<Field> = properties
        .iter()
        .map(|(name, field)| {
            let choices: Vec<String> = field["enum"]
                .as_array()
                .or_else(|| field["oneOf"].as_array())
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|v| v.as_str().or_else(|| v["const"].as_str()))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let kind = match field["type"].as_str() {
                _ if !choices.is_empty() => FieldKind::Choice(choices),
                Some("integer") => FieldKind::Integer,
                Some("number") => FieldKind::Number,
                Some("boolean") => FieldKind::Boolean,
                _ => FieldKind::Text,
            };
            Field {
                name: name.clone(),
                label: field["title"].as_str().unwrap_or(name).to_owned(),
                description: field["description"].as_str().map(str::to_owned),
                kind,
                default: field.get("default").cloned(),
                required: required.contains(&name.as_str()),
            }
        })
        .collect();
    fields.sort_by_key(|field| !field.required);
    fields
}

impl Field {
    /// What the person typed, as the value the schema asks for.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let text = text.trim();
        match &self.kind {
            FieldKind::Text => Ok(Value::from(text)),
            FieldKind::Integer => text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{} must be a whole number", self.label)),
            FieldKind::Number => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{} must be a number", self.label)),
            FieldKind::Boolean => match text.to_ascii_lowercase().as_str() {
                "y" | "yes" | "true" => Ok(Value::Bool(true)),
                "n" | "no" | "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{} must be yes or no", self.label)),
            },
            FieldKind::Choice(choices) => choices
                .iter()
                .find(|choice| choice.as_str() == text)
                .map(|choice| Value::from(choice.as_str()))
                .ok_or_else(|| format!("{} must be one of: {}", self.label, choices.join(", "))),
        }
    }
}

/// A form's answer (from a dialog, typed) checked against its `fields`:
/// each value of the field's type (a
/// choice among its choices), every required field present, no field the
/// form does not have. Empty optional text is left out.
pub fn check_answer(
    fields: &[Field],
    values: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (name, value) in values {
        let Some(field) = fields.iter().find(|f| f.name == name) else {
            return Err(format!("The form has no field {name:?}."));
        };
        if value.is_null() || value.as_str().is_some_and(str::is_empty) {
            continue;
        }
        let fits = match &field.kind {
            FieldKind::Text => value.is_string(),
            FieldKind::Integer => value.is_i64() || value.is_u64(),
            FieldKind::Number => value.is_number(),
            FieldKind::Boolean => value.is_boolean(),
            FieldKind::Choice(choices) => value
                .as_str()
                .is_some_and(|v| choices.iter().any(|c| c == v)),
        };
        if !fits {
            return Err(match &field.kind {
                FieldKind::Text => format!("{} must be text.", field.label),
                FieldKind::Integer => format!("{} must be a whole number.", field.label),
                FieldKind::Number => format!("{} must be a number.", field.label),
                FieldKind::Boolean => format!("{} must be yes or no.", field.label),
                FieldKind::Choice(choices) => {
                    format!("{} must be one of: {}.", field.label, choices.join(", "))
                }
            });
        }
        out.insert(name, value);
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.required && f.default.is_none() && !out.contains_key(&f.name))
    {
        return Err(format!("{} is required.", missing.label));
    }
    Ok(out)
}

/// The `default` of each property of `schema`.
pub fn schema_defaults(schema: &Value) -> Map<String, Value> {
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .filter_map(|(name, field)| Some((name.clone(), field.get("default")?.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// Asks `sink` what server `server` asked, and words the answer for the
/// server.
pub(crate) async fn answer(
    sink: &Arc<dyn ElicitationSink>,
    server: &str,
    request: ElicitRequestParams,
) -> ElicitResult {
    let answer = match request {
        ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } => {
            let schema = serde_json::to_value(&requested_schema).unwrap_or_default();
            let defaults = schema_defaults(&schema);
            let answer = sink
                .fill_form(FormRequest {
                    server: server.to_owned(),
                    message,
                    schema,
                    defaults: defaults.clone(),
                })
                .await;
            match answer {
                Answer::Accept(mut values) => {
                    for (name, value) in defaults {
                        values.entry(name).or_insert(value);
                    }
                    Answer::Accept(values)
                }
                other => other,
            }
        }
        ElicitRequestParams::UrlElicitationParams { message, url, .. } => {
            match url::Url::parse(&url) {
                // Only web pages: no `file:`, `javascript:` or app schemes.
                Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {
                    sink.open_url(UrlRequest {
                        server: server.to_owned(),
                        message,
                        host: parsed.host_str().unwrap_or_default().to_owned(),
                        url,
                    })
                    .await
                }
                _ => {
                    tracing::info!(
                        server,
                        "declined a URL elicitation that is not a web address"
                    );
                    Answer::Decline
                }
            }
        }
        // A mode of a newer revision than this build knows.
        _ => Answer::Decline,
    };
    match answer {
        Answer::Accept(values) => {
            ElicitResult::new(ElicitationAction::Accept).with_content(Value::Object(values))
        }
        Answer::Decline => ElicitResult::new(ElicitationAction::Decline),
        Answer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers with what it is given, remembering what it was asked.
    struct Person {
        form: Answer,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl ElicitationSink for Person {
        async fn fill_form(&self, request: FormRequest) -> Answer {
            self.asked.lock().unwrap().push(format!(
                "form {}: {} {:?}",
                request.server,
                request.message,
                request.defaults.keys().collect::<Vec<_>>()
            ));
            self.form.clone()
        }
        async fn open_url(&self, request: UrlRequest) -> Answer {
            self.asked
                .lock()
                .unwrap()
                .push(format!("url {} at {}", request.url, request.host));
            Answer::Accept(Map::new())
        }
    }

    fn form(schema: Value) -> ElicitRequestParams {
        serde_json::from_value(serde_json::json!({
            "mode": "form",
            "message": "Your details",
            "requestedSchema": schema,
        }))
        .unwrap()
    }

    fn url(url: &str) -> ElicitRequestParams {
        serde_json::from_value(serde_json::json!({
            "mode": "url",
            "message": "Sign in",
            "url": url,
            "elicitationId": "e1",
        }))
        .unwrap()
    }

    fn person(form: Answer) -> (Arc<Person>, Arc<dyn ElicitationSink>) {
        let person = Arc::new(Person {
            form,
            asked: Mutex::default(),
        });
        (person.clone(), person)
    }

    #[tokio::test]
    async fn an_accepted_form_carries_every_default_the_person_left() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
                "verified": {"type": "boolean", "default": true},
                "note": {"type": "string"},
            },
        });
        let mut typed = Map::new();
        typed.insert("name".into(), "Ada".into());
        let (person, sink) = person(Answer::Accept(typed));
        let result = answer(&sink, "demo", form(schema)).await;
        assert_eq!(result.action, ElicitationAction::Accept);
        assert_eq!(
            result.content.unwrap(),
            serde_json::json!({
                "name": "Ada", "age": 30, "score": 95.5, "status": "active", "verified": true,
            })
        );
        assert_eq!(
            person.asked.lock().unwrap()[0],
            r#"form demo: Your details ["age", "name", "score", "status", "verified"]"#
        );
    }

    #[test]
    fn fields_come_from_the_schema_required_first() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "note": {"type": "string", "description": "Anything else"},
                "age": {"type": "integer", "title": "Your age", "default": 30},
                "plan": {"type": "string", "enum": ["free", "pro"]},
                "tier": {"type": "string", "oneOf": [{"const": "a", "title": "A"}, {"const": "b", "title": "B"}]},
                "ok": {"type": "boolean"},
                "score": {"type": "number"},
            },
            "required": ["plan"],
        });
        let found = fields(&schema);
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[0], "plan");
        let by_name = |name: &str| found.iter().find(|f| f.name == name).unwrap();
        assert_eq!(by_name("age").label, "Your age");
        assert_eq!(by_name("age").default, Some(Value::from(30)));
        assert_eq!(
            by_name("tier").kind,
            FieldKind::Choice(vec!["a".into(), "b".into()])
        );
        assert_eq!(by_name("age").parse(" 41 "), Ok(Value::from(41)));
        assert!(by_name("age").parse("41.5").is_err());
        assert_eq!(by_name("score").parse("2.5"), Ok(Value::from(2.5)));
        assert!(by_name("score").parse("NaN").is_err());
        assert_eq!(by_name("ok").parse("Yes"), Ok(Value::Bool(true)));
        assert!(by_name("ok").parse("maybe").is_err());
        assert_eq!(by_name("plan").parse("pro"), Ok(Value::from("pro")));
        assert!(
            by_name("plan")
                .parse("gold")
                .unwrap_err()
                .contains("free, pro")
        );
        assert_eq!(by_name("note").parse("hi"), Ok(Value::from("hi")));
        assert!(fields(&serde_json::json!({"type": "object"})).is_empty());
    }

    #[tokio::test]
    async fn declined_and_cancelled_forms_carry_nothing() {
        for (given, action) in [
            (Answer::Decline, ElicitationAction::Decline),
            (Answer::Cancel, ElicitationAction::Cancel),
        ] {
            let (_, sink) = person(given);
            let result = answer(
                &sink,
                "demo",
                form(serde_json::json!({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}})),
            )
            .await;
            assert_eq!(result.action, action);
            assert_eq!(result.content, None);
        }
    }

    #[tokio::test]
    async fn only_web_addresses_are_offered_to_open() {
        let (person, sink) = person(Answer::Decline);
        let result = answer(&sink, "demo", url("https://auth.example.com/connect?x=1")).await;
        assert_eq!(result.action, ElicitationAction::Accept);
        for hostile in ["file:///etc/passwd", "javascript:alert(1)", "not a url"] {
            let result = answer(&sink, "demo", url(hostile)).await;
            assert_eq!(result.action, ElicitationAction::Decline, "{hostile}");
        }
        assert_eq!(
            *person.asked.lock().unwrap(),
            ["url https://auth.example.com/connect?x=1 at auth.example.com"]
        );
    }

    #[test]
    fn a_typed_answer_is_checked_against_the_fields() {
        let fields = fields(&serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "title": "Name"},
                "count": {"type": "integer", "default": 2},
                "share": {"type": "number"},
                "remote": {"type": "boolean"},
                "room": {"type": "string", "enum": ["A", "B"]}
            },
            "required": ["name", "count"]
        }));
        let answer = |values: Value| check_answer(&fields, values.as_object().unwrap().clone());
        let ok = answer(serde_json::json!({
            "name": "Ada", "share": 0.5, "remote": false, "room": "B", "count": null
        }))
        .unwrap();
        assert_eq!(
            Value::Object(ok),
            serde_json::json!({"name": "Ada", "share": 0.5, "remote": false, "room": "B"})
        );
        for (values, why) in [
            (serde_json::json!({"name": 5}), "Name must be text."),
            (serde_json::json!({"name": ""}), "Name is required."),
            (
                serde_json::json!({"name": "A", "count": 1.5}),
                "count must be a whole number.",
            ),
            (
                serde_json::json!({"name": "A", "share": "x"}),
                "share must be a number.",
            ),
            (
                serde_json::json!({"name": "A", "remote": "yes"}),
                "remote must be yes or no.",
            ),
            (
                serde_json::json!({"name": "A", "room": "C"}),
                "room must be one of: A, B.",
            ),
            (
                serde_json::json!({"name": "A", "x": 1}),
                "The form has no field \"x\".",
            ),
        ] {
            assert_eq!(answer(values).unwrap_err(), why);
        }
    }
}
