//! What a server asks of its client that, when Gatehouse itself is the
//! client (`gatehouse call`, the app's tools view), only the person can
//! answer: a model's reply (sampling) and the folders it may work in
//! (roots). Both reach the person as forms through the engine's
//! [`ElicitationSink`] (a dialog in the app, a prompt in the CLI). A proxy
//! or gateway client is asked itself instead (`connection::Downstream`).
//!
//! Gatehouse has no model: for sampling the person reads the conversation
//! and writes the reply, which goes back as the assistant's message from
//! the model [`MODEL`], so the server can tell; declining is an error to
//! the server. For roots the person names folders by absolute path; none,
//! or dismissing the form, shares none. Both are deprecated by MCP
//! 2026-07-28 (SEP-2577) and still asked by servers of earlier revisions.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::{
    CreateMessageRequestParams, CreateMessageResult, ErrorCode, ListRootsResult, Role, Root,
    RootsCapabilities, SamplingCapability, SamplingMessage, SamplingMessageContentBlock,
};
use serde_json::{Map, Value, json};

use crate::elicitation::{Answer, ElicitationSink, FormRequest};

/// The model a person's reply is said to come from.
pub(crate) const MODEL: &str = "a person, through Gatehouse";
/// Most of the last message shown (the one the reply answers).
const MAX_LAST: usize = 4000;
/// Most of the instructions and the earlier messages shown, together; the
/// oldest go first.
const MAX_EARLIER: usize = 3000;

/// What Gatehouse tells servers when a person can be asked.
pub(crate) fn sampling_capability() -> SamplingCapability {
    SamplingCapability::default()
}

/// Roots are asked each time: no `list_changed` to announce.
pub(crate) fn roots_capability() -> RootsCapabilities {
    RootsCapabilities::default()
}

/// The refusal of a sampling request no call of the person's is waiting on.
pub(crate) fn nobody_to_ask() -> ErrorData {
    ErrorData::new(
        ErrorCode(-1),
        "no one to ask: Gatehouse takes sampling requests to the person only during their own calls",
        None,
    )
}

/// Shows the person the conversation `server` wants a reply to, and
/// returns what they wrote.
pub(crate) async fn sample(
    sink: &Arc<dyn ElicitationSink>,
    server: &str,
    request: CreateMessageRequestParams,
) -> Result<CreateMessageResult, ErrorData> {
    let schema = json!({
        "type": "object",
        "properties": {
            "reply": {
                "type": "string",
                "title": "Your reply",
                "description": "Sent to the server as the model's answer",
            },
        },
        "required": ["reply"],
    });
    let answer = sink
        .fill_form(FormRequest {
            server: server.to_owned(),
            message: conversation(&request),
            schema,
            defaults: Map::new(),
        })
        .await;
    let reply = match answer {
        Answer::Accept(values) => values
            .get("reply")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|reply| !reply.is_empty())
            .map(str::to_owned),
        Answer::Decline | Answer::Cancel => None,
    };
    let Some(reply) = reply else {
        // What the specification's examples answer a refusal with.
        return Err(ErrorData::new(
            ErrorCode(-1),
            "the person declined to answer the sampling request",
            None,
        ));
    };
    Ok(CreateMessageResult::new(
        SamplingMessage::new(Role::Assistant, SamplingMessageContentBlock::text(reply)),
        MODEL.to_owned(),
    )
    .with_stop_reason(CreateMessageResult::STOP_REASON_END_TURN))
}

/// The request as the person reads it: Gatehouse's own words, then what
/// the server sent, each of its lines quoted (`> `) so none passes for
/// Gatehouse's: the instructions for the model, each message with who said
/// it (the last one whole, the oldest dropped first), the length asked for.
fn conversation(request: &CreateMessageRequestParams) -> String {
    let mut quoted: Vec<String> = Vec::new();
    if let Some(system) = request.system_prompt.as_deref().filter(|s| !s.is_empty()) {
        quoted.push(format!("Instructions for the model: {system}"));
    }
    for message in &request.messages {
        let who = match message.role {
            Role::User => "User",
            Role::Assistant => "Assistant",
        };
        let parts: Vec<String> = message
            .content
            .clone()
            .into_vec()
            .iter()
            .map(|block| match block {
                SamplingMessageContentBlock::Text(t) => t.text.clone(),
                SamplingMessageContentBlock::Image(_) => "[an image]".into(),
                SamplingMessageContentBlock::Audio(_) => "[a recording]".into(),
                SamplingMessageContentBlock::ToolUse(t) => format!("[calls the tool {}]", t.name),
                SamplingMessageContentBlock::ToolResult(_) => "[a tool's result]".into(),
                _ => "[content of a kind Gatehouse does not know]".into(),
            })
            .collect();
        quoted.push(format!("{who}: {}", parts.join(" ")));
    }
    let last = quoted.pop().map(|l| cut(&l, MAX_LAST));
    // The earlier parts, newest first, while they fit.
    let mut earlier: Vec<String> = Vec::new();
    let mut room = MAX_EARLIER;
    let mut left_out = 0;
    for part in quoted.iter().rev() {
        let length = part.chars().count();
        if length <= room {
            room -= length;
            earlier.push(part.clone());
        } else {
            left_out += 1;
        }
    }
    earlier.reverse();
    let mut text = String::from(
        "The server asks for a model's reply to the conversation below. Gatehouse has no model: write the reply yourself, or decline. The server reads what you write: never type a password or a key.\n\nWhat the server sent:\n",
    );
    if left_out > 0 {
        text.push_str(&format!("({left_out} earlier parts not shown)\n"));
    }
    for part in earlier.iter().chain(&last) {
        for line in part.lines() {
            text.push_str("> ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "\nAt most {} tokens are asked for.",
        request.max_tokens
    ));
    text
}

/// `text` to at most `limit` characters.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    text.chars().take(limit).collect::<String>() + "…"
}

/// Asks the person which folders `server` may work in.
pub(crate) async fn roots(sink: &Arc<dyn ElicitationSink>, server: &str) -> ListRootsResult {
    let separator = if cfg!(windows) { ";" } else { ":" };
    let schema = json!({
        "type": "object",
        "properties": {
            "folders": {
                "type": "string",
                "title": "Folders",
                "description": format!(
                    "Existing folders as absolute paths, separated by '{separator}' as in PATH; empty for none"
                ),
            },
        },
    });
    let answer = sink
        .fill_form(FormRequest {
            server: server.to_owned(),
            message: "The server asks which folders on this computer it may work in (MCP roots). It is told their paths, nothing more.".into(),
            schema,
            defaults: Map::new(),
        })
        .await;
    let folders = match answer {
        Answer::Accept(values) => values
            .get("folders")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default(),
        Answer::Decline | Answer::Cancel => String::new(),
    };
    ListRootsResult::new(roots_of(&folders))
}

/// The folders of a PATH-like list as roots; what is not an existing
/// folder's absolute path is left out.
fn roots_of(folders: &str) -> Vec<Root> {
    let mut roots: Vec<Root> = Vec::new();
    for entry in std::env::split_paths(folders.trim()) {
        let path = std::path::PathBuf::from(entry.to_string_lossy().trim());
        if path.as_os_str().is_empty() {
            continue;
        }
        let uri = match url::Url::from_directory_path(&path) {
            Ok(uri) if path.is_dir() => uri,
            _ => {
                tracing::warn!(path = %path.display(), "left out a root that is not an existing folder's absolute path");
                continue;
            }
        };
        let root = match path.file_name() {
            Some(name) => Root::new(uri.as_str()).with_name(name.to_string_lossy()),
            None => Root::new(uri.as_str()),
        };
        if !roots.iter().any(|r| r.uri == root.uri) {
            roots.push(root);
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elicitation::UrlRequest;
    use std::sync::Mutex;

    struct Person {
        answer: Answer,
        asked: Mutex<Vec<FormRequest>>,
    }

    #[async_trait::async_trait]
    impl ElicitationSink for Person {
        async fn fill_form(&self, request: FormRequest) -> Answer {
            self.asked.lock().unwrap().push(request);
            self.answer.clone()
        }
        async fn open_url(&self, _request: UrlRequest) -> Answer {
            Answer::Decline
        }
    }

    fn person(answer: Answer) -> Arc<Person> {
        Arc::new(Person {
            answer,
            asked: Mutex::new(Vec::new()),
        })
    }

    fn accept(field: &str, value: &str) -> Answer {
        let mut values = Map::new();
        values.insert(field.into(), value.into());
        Answer::Accept(values)
    }

    fn request() -> CreateMessageRequestParams {
        serde_json::from_value(json!({
            "systemPrompt": "Be brief",
            "messages": [
                {"role": "user", "content": {"type": "text", "text": "Say hello"}},
                {"role": "assistant", "content": [{"type": "text", "text": "Hi"}, {"type": "image", "data": "AA==", "mimeType": "image/png"}]},
            ],
            "maxTokens": 20,
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_person_reads_the_conversation_and_their_reply_is_the_models() {
        let someone = person(accept("reply", "  Hello there  "));
        let sink: Arc<dyn ElicitationSink> = someone.clone();
        let result = sample(&sink, "demo", request()).await.unwrap();
        assert_eq!(result.model, MODEL);
        assert_eq!(result.message.role, Role::Assistant);
        let content = result.message.content.into_vec();
        assert_eq!(content[0].as_text().unwrap().text, "Hello there");
        assert_eq!(result.stop_reason.as_deref(), Some("endTurn"));
        let asked = someone.asked.lock().unwrap();
        assert_eq!(asked[0].server, "demo");
        let shown = &asked[0].message;
        for part in [
            "never type a password or a key",
            "\n> Instructions for the model: Be brief\n",
            "\n> User: Say hello\n",
            "\n> Assistant: Hi [an image]\n",
            "At most 20 tokens",
        ] {
            assert!(shown.contains(part), "{part:?} not in {shown}");
        }
    }

    #[test]
    fn the_servers_words_are_quoted_and_the_last_message_is_shown_whole() {
        // A line that would pass for Gatehouse's is quoted like the rest.
        let forged: CreateMessageRequestParams = serde_json::from_value(json!({
            "messages": [
                {"role": "user", "content": {"type": "text", "text": "old ".repeat(2000)}},
                {"role": "user", "content": {"type": "text", "text": "Hi\nGatehouse: paste your API key below"}},
            ],
            "maxTokens": 5,
        }))
        .unwrap();
        let shown = conversation(&forged);
        assert!(
            shown.contains("\n> Gatehouse: paste your API key below\n"),
            "{shown}"
        );
        assert!(
            !shown.lines().any(|l| l.starts_with("Gatehouse:")),
            "{shown}"
        );
        // The oldest part did not fit; the last message is whole.
        assert!(shown.contains("(1 earlier parts not shown)"), "{shown}");
        assert!(!shown.contains("old old"), "{shown}");
        assert!(shown.contains("> User: Hi\n"), "{shown}");
    }

    #[tokio::test]
    async fn declining_or_an_empty_reply_refuses_the_request() {
        for answer in [Answer::Decline, Answer::Cancel, accept("reply", "   ")] {
            let sink: Arc<dyn ElicitationSink> = person(answer);
            let error = sample(&sink, "demo", request()).await.unwrap_err();
            assert_eq!(error.code, ErrorCode(-1));
        }
    }

    #[tokio::test]
    async fn the_folders_the_person_names_are_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("project a");
        let b = dir.path().join("b");
        let missing = dir.path().join("missing");
        for folder in [&a, &b] {
            std::fs::create_dir(folder).unwrap();
        }
        let list =
            std::env::join_paths([&a, &b, &a, &missing, std::path::Path::new("relative")]).unwrap();
        // Spaces around an entry are not part of it.
        let separator = if cfg!(windows) { ";" } else { ":" };
        let list = list
            .to_str()
            .unwrap()
            .replace(separator, &format!(" {separator} "));
        let sink: Arc<dyn ElicitationSink> = person(accept("folders", &list));
        let roots = roots(&sink, "demo").await.roots;
        let uris: Vec<&str> = roots.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(uris.len(), 2, "{uris:?}");
        assert!(uris[0].starts_with("file://") && uris[0].ends_with("/project%20a/"));
        assert_eq!(roots[0].name.as_deref(), Some("project a"));
        assert!(uris[1].ends_with("/b/"));
        for answer in [Answer::Decline, Answer::Cancel, accept("folders", "")] {
            let sink: Arc<dyn ElicitationSink> = person(answer);
            assert!(self::roots(&sink, "demo").await.roots.is_empty());
        }
    }
}
