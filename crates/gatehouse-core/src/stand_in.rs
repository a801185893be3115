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
/// Longest conversation shown; a longer one is cut at its end.
const MAX_SHOWN: usize = 8000;

/// What Gatehouse tells servers when a person can be asked.
pub(crate) fn sampling_capability() -> SamplingCapability {
    SamplingCapability::default()
}

/// Roots are asked each time: no `list_changed` to announce.
pub(crate) fn roots_capability() -> RootsCapabilities {
    RootsCapabilities::default()
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

/// The request as the person reads it: what is asked, the instructions,
/// each message with who said it, and the length asked for.
fn conversation(request: &CreateMessageRequestParams) -> String {
    let mut text = String::from(
        "The server asks for a model's reply to this conversation. Gatehouse has no model: write the reply yourself, or decline.\n",
    );
    if let Some(system) = request.system_prompt.as_deref().filter(|s| !s.is_empty()) {
        text.push_str(&format!("\nInstructions for the model: {system}\n"));
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
        text.push_str(&format!("\n{who}: {}\n", parts.join(" ")));
    }
    text.push_str(&format!(
        "\n(At most {} tokens are asked for.)",
        request.max_tokens
    ));
    if text.chars().count() > MAX_SHOWN {
        text = text.chars().take(MAX_SHOWN).collect::<String>() + "…";
    }
    text
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
                    "Absolute paths, separated by '{separator}' as in PATH; empty for none"
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

/// The folders of a PATH-like list as roots; what is not an absolute path
/// is left out.
fn roots_of(folders: &str) -> Vec<Root> {
    let mut roots: Vec<Root> = Vec::new();
    for path in std::env::split_paths(folders.trim()) {
        let Ok(uri) = url::Url::from_directory_path(&path) else {
            if !path.as_os_str().is_empty() {
                tracing::info!(path = %path.display(), "left out a root that is not an absolute path");
            }
            continue;
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
            "Instructions for the model: Be brief",
            "User: Say hello",
            "Assistant: Hi [an image]",
            "At most 20 tokens",
        ] {
            assert!(shown.contains(part), "{part:?} not in {shown}");
        }
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
        let list = std::env::join_paths([&a, &b, &a, std::path::Path::new("relative")]).unwrap();
        let sink: Arc<dyn ElicitationSink> = person(accept("folders", list.to_str().unwrap()));
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
