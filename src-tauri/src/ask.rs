//! A server asking the person for input while the app makes a request for
//! them (MCP elicitation, also as a 2026-07-28 input request): the window
//! shows a dialog — a form built from the schema the server sent, or the
//! page it wants opened, with its host — and the person's answer goes back
//! to the server. The window is brought forward when a question arrives.
//!
//! Each question waits for `answer_question` with its id. A question whose
//! request ends first (the server's timeout, a cancelled call) is
//! withdrawn: the window closes its dialog. A form answer is checked
//! against the fields before the server sees it; a bad one is refused and
//! the dialog stays open.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_core::ErrorCode;
use gatehouse_core::elicitation::{
    Answer, ElicitationSink, Field, FieldKind, FormRequest, UrlRequest, check_answer, fields,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tauri::{AppHandle, Emitter, Runtime};
use tauri_plugin_opener::OpenerExt;
use tokio::sync::oneshot;
use ts_rs::TS;

use crate::error::{IpcError, Result};

/// The event name questions and withdrawals reach the window on.
pub const ASK_EVENT: &str = "gatehouse://ask";

/// What the window hears on [`ASK_EVENT`].
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AskEvent {
    /// A new question, to be answered with `answer_question`.
    Ask(Question),
    /// The request behind question `id` ended: close its dialog.
    Withdrawn {
        #[ts(type = "number")]
        id: u64,
    },
}

/// One question from a server.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    #[ts(type = "number")]
    pub id: u64,
    /// The server's id in the config.
    pub server: String,
    /// What the server says it needs, as it wrote it (plain text).
    pub message: String,
    pub kind: QuestionKind,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum QuestionKind {
    /// Fill in these fields (each starting at its default).
    Form { fields: Vec<FormField> },
    /// Open this page; `host` is what the person should check first.
    Url { url: String, host: String },
}

/// One field of a form, as the dialog shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub kind: FormFieldKind,
    /// The values of a `choice` field.
    pub choices: Vec<String>,
    #[ts(type = "unknown")]
    pub default: Option<Value>,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FormFieldKind {
    Text,
    Integer,
    Number,
    Boolean,
    Choice,
}

impl From<&Field> for FormField {
    fn from(field: &Field) -> Self {
        let (kind, choices) = match &field.kind {
            FieldKind::Text => (FormFieldKind::Text, Vec::new()),
            FieldKind::Integer => (FormFieldKind::Integer, Vec::new()),
            FieldKind::Number => (FormFieldKind::Number, Vec::new()),
            FieldKind::Boolean => (FormFieldKind::Boolean, Vec::new()),
            FieldKind::Choice(choices) => (FormFieldKind::Choice, choices.clone()),
        };
        Self {
            name: field.name.clone(),
            label: field.label.clone(),
            description: field.description.clone(),
            kind,
            choices,
            default: field.default.clone(),
            required: field.required,
        }
    }
}

/// The person's answer, from the dialog.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PersonAnswer {
    /// Submitted the form (its values by field name), or agreed to open the page.
    Accept {
        #[serde(default)]
        #[ts(type = "Record<string, unknown>", optional)]
        values: Map<String, Value>,
    },
    Decline,
    Cancel,
}

/// A question waiting for the person.
struct Pending {
    /// A form's fields, to check an answer against; `None` for a page.
    fields: Option<Vec<Field>>,
    /// A page's address, opened when the person agrees.
    url: Option<String>,
    reply: oneshot::Sender<Answer>,
}

/// The window as the engine's [`ElicitationSink`].
pub struct WindowPerson<R: Runtime> {
    app: AppHandle<R>,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl<R: Runtime> WindowPerson<R> {
    pub fn new(app: AppHandle<R>) -> Self {
        Self {
            app,
            next: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows `kind` to the person and waits for their answer; withdraws the
    /// question when this future is dropped first.
    async fn ask(
        &self,
        server: String,
        message: String,
        kind: QuestionKind,
        fields: Option<Vec<Field>>,
        url: Option<String>,
    ) -> Answer {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.pending().insert(id, Pending { fields, url, reply });
        let _withdraw = Withdraw { person: self, id };
        let question = Question {
            id,
            server,
            message,
            kind,
        };
        if let Err(error) = self.app.emit(ASK_EVENT, AskEvent::Ask(question)) {
            tracing::warn!(%error, "could not show a server's question in the window");
            return Answer::Cancel;
        }
        crate::show_main_window(&self.app);
        answer.await.unwrap_or(Answer::Cancel)
    }

    /// The person answered question `id`. A form's values must fit its
    /// fields (else the question stays open); agreeing to a page opens it.
    pub fn answer(&self, id: u64, answer: PersonAnswer) -> Result<()> {
        let gone = || {
            IpcError::new(
                ErrorCode::UnknownQuestion,
                "This question is no longer open: the server's request has ended.",
            )
        };
        let (answer, open) = {
            let pending = self.pending();
            let question = pending.get(&id).ok_or_else(gone)?;
            match answer {
                PersonAnswer::Accept { values } => {
                    let values = match &question.fields {
                        Some(fields) => check_answer(fields, values)
                            .map_err(|message| IpcError::new(ErrorCode::InvalidAnswer, message))?,
                        None => Map::new(),
                    };
                    (Answer::Accept(values), question.url.clone())
                }
                PersonAnswer::Decline => (Answer::Decline, None),
                PersonAnswer::Cancel => (Answer::Cancel, None),
            }
        };
        if let Some(url) = open {
            self.app
                .opener()
                .open_url(url, None::<&str>)
                .map_err(|e| IpcError::new(ErrorCode::OpenFailed, e.to_string()))?;
        }
        let question = self.pending().remove(&id).ok_or_else(gone)?;
        // The request may have ended a moment ago; nothing is left to tell.
        let _ = question.reply.send(answer);
        Ok(())
    }
}

/// Removes a question that is still open when its request ends, and tells
/// the window.
struct Withdraw<'a, R: Runtime> {
    person: &'a WindowPerson<R>,
    id: u64,
}

impl<R: Runtime> Drop for Withdraw<'_, R> {
    fn drop(&mut self) {
        if self.person.pending().remove(&self.id).is_some() {
            let _ = self
                .person
                .app
                .emit(ASK_EVENT, AskEvent::Withdrawn { id: self.id });
        }
    }
}

#[async_trait::async_trait]
impl<R: Runtime> ElicitationSink for WindowPerson<R> {
    async fn fill_form(&self, request: FormRequest) -> Answer {
        let fields = fields(&request.schema);
        let kind = QuestionKind::Form {
            fields: fields.iter().map(FormField::from).collect(),
        };
        self.ask(request.server, request.message, kind, Some(fields), None)
            .await
    }

    async fn open_url(&self, request: UrlRequest) -> Answer {
        let kind = QuestionKind::Url {
            url: request.url.clone(),
            host: request.host,
        };
        self.ask(
            request.server,
            request.message,
            kind,
            None,
            Some(request.url),
        )
        .await
    }
}
