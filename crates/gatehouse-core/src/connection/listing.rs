//! Listing a server's tools, resources, resource templates and prompts
//! across pages, with the
//! tolerance real servers need.
//!
//! rmcp's `list_all_*` fail the whole list when one entry does not match
//! the schema (a tool without `inputSchema`, an annotation of the wrong
//! type), and follow `nextCursor` for as long as the server hands one out,
//! even when it repeats. Here each entry is read on its own — a malformed
//! one is skipped and logged, the others are listed — and a cursor that
//! repeats, an empty cursor, or more than `MAX_PAGES` pages end the listing
//! with an error instead of a loop.
//!
//! rmcp's model also drops what it does not know, such as a tool's
//! `execution` (MCP 2025-11-25). Where tools are shown or passed on as the
//! server described them (`tools --json`, the gateway), a page of tools is
//! also read from its JSON as the server wrote it ([`RawPage`]), and what
//! each tool held beyond the model is put back ([`described_tools`],
//! [`described_page`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, ErrorData, GetExtensions as _, JsonRpcMessage,
    ListPromptsRequest, ListResourceTemplatesRequest, ListResourcesRequest, ListToolsRequest,
    ListToolsResult, PaginatedRequestParams, Prompt, Resource, ResourceTemplate, Tool,
};
use rmcp::service::Peer;
use rmcp::{RoleClient, ServiceError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// More pages than any server needs; past this the listing is a loop.
const MAX_PAGES: usize = 1000;

/// What is listed: its request and the result's array field.
trait Listed: DeserializeOwned + Serialize {
    const FIELD: &'static str;
    const NAME: &'static str;
    /// The field that holds what `key` gives.
    const KEY: &'static str;
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest;
    /// What must be unique in the list (a tool's name, a resource's URI).
    fn key(&self) -> String;
}

impl Listed for Tool {
    const FIELD: &'static str = "tools";
    const NAME: &'static str = "tool";
    const KEY: &'static str = "name";
    fn key(&self) -> String {
        self.name.to_string()
    }
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest {
        ClientRequest::ListToolsRequest(ListToolsRequest {
            method: Default::default(),
            params,
            extensions: Default::default(),
        })
    }
}

impl Listed for Resource {
    const FIELD: &'static str = "resources";
    const NAME: &'static str = "resource";
    const KEY: &'static str = "uri";
    fn key(&self) -> String {
        self.uri.clone()
    }
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest {
        ClientRequest::ListResourcesRequest(ListResourcesRequest {
            method: Default::default(),
            params,
            extensions: Default::default(),
        })
    }
}

impl Listed for ResourceTemplate {
    const FIELD: &'static str = "resourceTemplates";
    const NAME: &'static str = "resource template";
    const KEY: &'static str = "uriTemplate";
    fn key(&self) -> String {
        self.uri_template.clone()
    }
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest {
        ClientRequest::ListResourceTemplatesRequest(ListResourceTemplatesRequest {
            method: Default::default(),
            params,
            extensions: Default::default(),
        })
    }
}

impl Listed for Prompt {
    const FIELD: &'static str = "prompts";
    const NAME: &'static str = "prompt";
    const KEY: &'static str = "name";
    fn key(&self) -> String {
        self.name.clone()
    }
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest {
        ClientRequest::ListPromptsRequest(ListPromptsRequest {
            method: Default::default(),
            params,
            extensions: Default::default(),
        })
    }
}

/// Where the transport keeps the JSON of the answer to a listing request
/// (in the request's extensions), as the server wrote it.
#[derive(Clone, Default)]
pub(crate) struct RawPage(Arc<Mutex<Option<Value>>>);

impl RawPage {
    /// The page `message` asks to be kept, if any, and the id of the
    /// request (which its answer carries).
    pub(crate) fn of(message: &ClientJsonRpcMessage) -> Option<(RawPage, Value)> {
        let JsonRpcMessage::Request(request) = message else {
            return None;
        };
        let page = request.request.extensions().get::<RawPage>()?.clone();
        Some((page, serde_json::to_value(&request.id).ok()?))
    }

    /// Keeps the result in `message` (a JSON-RPC message from the server)
    /// if it answers the request `id`.
    pub(crate) fn keep(&self, id: &Value, message: &[u8]) {
        if let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(message)
            && message.get("id") == Some(id)
            && let Some(result) = message.remove("result")
        {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    }

    /// The kept result, if any.
    pub(crate) fn take(&self) -> Option<Value> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

pub(crate) async fn tools(peer: &Peer<RoleClient>) -> Result<Vec<Tool>, ServiceError> {
    list_items(peer).await
}

/// The server's tools as it described them: each one as rmcp writes it,
/// with what the server wrote of it beyond rmcp's model put back.
pub(crate) async fn described_tools(peer: &Peer<RoleClient>) -> Result<Vec<Value>, ServiceError> {
    Ok(list_all::<Tool>(peer, true)
        .await?
        .into_iter()
        .map(|(tool, written)| {
            let mut value = serde_json::to_value(&tool).unwrap_or_default();
            if let (Value::Object(fields), Some(written)) = (&mut value, &written) {
                put_back_written(fields, written);
            }
            value
        })
        .collect())
}

pub(crate) async fn resources(peer: &Peer<RoleClient>) -> Result<Vec<Resource>, ServiceError> {
    list_items(peer).await
}

pub(crate) async fn resource_templates(
    peer: &Peer<RoleClient>,
) -> Result<Vec<ResourceTemplate>, ServiceError> {
    list_items(peer).await
}

pub(crate) async fn prompts(peer: &Peer<RoleClient>) -> Result<Vec<Prompt>, ServiceError> {
    list_items(peer).await
}

async fn list_items<T: Listed>(peer: &Peer<RoleClient>) -> Result<Vec<T>, ServiceError> {
    Ok(list_all(peer, false)
        .await?
        .into_iter()
        .map(|(item, _)| item)
        .collect())
}

/// Every entry, and, with its pages read `whole`, the entry as the server
/// wrote it.
async fn list_all<T: Listed>(
    peer: &Peer<RoleClient>,
    whole: bool,
) -> Result<Vec<(T, Option<Map<String, Value>>)>, ServiceError> {
    let mut items = Vec::new();
    let mut keys = HashSet::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = cursor
            .clone()
            .map(|cursor| PaginatedRequestParams::default().with_cursor(Some(cursor)));
        let mut request = T::request(params);
        let raw = whole.then(RawPage::default);
        if let Some(raw) = &raw {
            request.extensions_mut().insert(raw.clone());
        }
        let result = peer.send_request(request).await?;
        let page = serde_json::to_value(&result).map_err(|e| bad_page(T::FIELD, &e.to_string()))?;
        let (page_items, next) = read_page::<T>(&page)?;
        let mut written = written_entries::<T>(raw.and_then(|raw| raw.take()));
        for item in page_items {
            // Names must be unique; a second entry of one name could not be
            // told apart (or called) anyway.
            let key = item.key();
            if !keys.insert(key.clone()) {
                tracing::warn!(kind = T::NAME, key = %key.chars().take(80).collect::<String>(), "skipping a duplicate");
                continue;
            }
            let entry = written.remove(&key);
            items.push((item, entry));
        }
        match next {
            None => return Ok(items),
            Some(next) if next.is_empty() || !seen.insert(next.clone()) => {
                return Err(bad_page(
                    T::FIELD,
                    "the server's pagination repeats itself (the same or an empty cursor)",
                ));
            }
            Some(next) => cursor = Some(next),
        }
    }
    Err(bad_page(
        T::FIELD,
        &format!("the server's list goes on past {MAX_PAGES} pages"),
    ))
}

/// A tool list that rmcp could not read as one (an entry it cannot read,
/// a duplicate key), read as [`list_all`] reads each page: the entries
/// that can be read, and the next cursor. `None` when it is no tool list.
pub(crate) fn tool_page(page: &Value) -> Option<ListToolsResult> {
    let (tools, next) = read_page::<Tool>(page).ok()?;
    let mut list = ListToolsResult::with_all_items(tools);
    list.next_cursor = next;
    Some(list)
}

/// The entries of one page that can be read, and its next cursor.
fn read_page<T: Listed>(page: &Value) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let Some(entries) = page.get(T::FIELD).and_then(Value::as_array) else {
        return Err(bad_page(
            T::FIELD,
            &format!("the answer has no {} list", T::FIELD),
        ));
    };
    let mut items = Vec::with_capacity(entries.len());
    for entry in entries {
        match serde_json::from_value::<T>(entry.clone()) {
            Ok(item) => items.push(item),
            Err(error) => {
                let name = entry
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("(unnamed)");
                tracing::warn!(
                    kind = T::NAME,
                    name = %name.chars().take(80).collect::<String>(),
                    %error,
                    "skipping an entry the server described wrongly"
                );
            }
        }
    }
    let next = match page.get("nextCursor") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(cursor)) => Some(cursor.clone()),
        Some(_) => return Err(bad_page(T::FIELD, "its nextCursor is not a string")),
    };
    Ok((items, next))
}

/// `list` as rmcp writes it, each tool with what the server wrote of it
/// beyond rmcp's model put back from `raw` (the page as the server wrote it,
/// kept by a [`RawPage`]): a tool list to pass on to a client.
pub(crate) fn described_page(list: &ListToolsResult, raw: Option<Value>) -> Value {
    let written = written_entries::<Tool>(raw);
    let mut page = serde_json::to_value(list).unwrap_or_default();
    if let Some(Value::Array(tools)) = page.get_mut(Tool::FIELD) {
        for (tool, value) in list.tools.iter().zip(tools) {
            if let (Some(written), Value::Object(fields)) = (written.get(tool.name.as_ref()), value)
            {
                put_back_written(fields, written);
            }
        }
    }
    page
}

/// Drops from a tool list written out for a client of a revision before
/// 2026-07-28 each output schema whose root is not an object, as rmcp's
/// `strip_non_object_output_for_legacy_peer` drops them from its model:
/// before that revision a tool's output is an object, and clients refuse
/// the whole list otherwise (the TypeScript SDK's does).
pub(crate) fn without_non_object_output_schemas(page: &mut Value) {
    if let Some(Value::Array(tools)) = page.get_mut(Tool::FIELD) {
        for tool in tools.iter_mut().filter_map(Value::as_object_mut) {
            let object = tool
                .get("outputSchema")
                .is_none_or(|schema| schema.get("type").and_then(Value::as_str) == Some("object"));
            if !object {
                tool.remove("outputSchema");
            }
        }
    }
}

/// The entries of a page as the server wrote it, by key (the first of
/// each). They are read only for the fields rmcp's model lacks: which
/// entries are listed is rmcp's reading, as rmcp leaves some out (a tool
/// with invalid `x-mcp-header` annotations).
fn written_entries<T: Listed>(page: Option<Value>) -> HashMap<String, Map<String, Value>> {
    let mut written = HashMap::new();
    let entries = match page {
        Some(Value::Object(mut page)) => page.remove(T::FIELD),
        _ => None,
    };
    if let Some(Value::Array(entries)) = entries {
        for entry in entries {
            if let Value::Object(entry) = entry
                && let Some(key) = entry.get(T::KEY).and_then(Value::as_str)
            {
                written.entry(key.to_owned()).or_insert(entry);
            }
        }
    }
    written
}

/// Puts into `fields` (an entry as rmcp writes it) what `written` (the
/// entry as the server wrote it) holds beyond them.
fn put_back_written(fields: &mut Map<String, Value>, written: &Map<String, Value>) {
    let more = beyond(written, fields);
    put_back(fields, &more);
}

/// What `raw` holds that `known` (its reading by rmcp's model, written out
/// again) does not: whole fields, and the missing fields of the objects
/// both have.
fn beyond(raw: &Map<String, Value>, known: &Map<String, Value>) -> Map<String, Value> {
    let mut more = Map::new();
    for (key, value) in raw {
        match (value, known.get(key)) {
            (_, None) => {
                more.insert(key.clone(), value.clone());
            }
            (Value::Object(raw), Some(Value::Object(known))) => {
                let inner = beyond(raw, known);
                if !inner.is_empty() {
                    more.insert(key.clone(), Value::Object(inner));
                }
            }
            _ => {}
        }
    }
    more
}

/// Puts back into `fields` what [`beyond`] found missing from them.
fn put_back(fields: &mut Map<String, Value>, more: &Map<String, Value>) {
    for (key, value) in more {
        match (fields.get_mut(key), value) {
            (None, _) => {
                fields.insert(key.clone(), value.clone());
            }
            (Some(Value::Object(fields)), Value::Object(more)) => put_back(fields, more),
            _ => {}
        }
    }
}

fn bad_page(field: &str, why: &str) -> ServiceError {
    ServiceError::McpError(ErrorData::internal_error(
        format!("listing {field} failed: {why}"),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_entry_is_skipped_and_the_rest_listed() {
        let page = serde_json::json!({
            "tools": [
                {"name": "good", "inputSchema": {"type": "object"}},
                {"name": "no-schema"},
                {"name": "bad-schema", "inputSchema": true},
                {"name": "also-good", "description": "d", "inputSchema": {"type": "object", "properties": {}}},
            ],
            "nextCursor": "2",
        });
        let (tools, next) = read_page::<Tool>(&page).unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["good", "also-good"]);
        assert_eq!(next.as_deref(), Some("2"));
        assert!(read_page::<Tool>(&serde_json::json!({"nextCursor": null})).is_err());
        assert!(read_page::<Tool>(&serde_json::json!({"tools": [], "nextCursor": 3})).is_err());
        let (none, end) = read_page::<Prompt>(&serde_json::json!({"prompts": []})).unwrap();
        assert!(none.is_empty() && end.is_none());
    }

    #[test]
    fn what_a_tool_holds_beyond_rmcps_model_is_put_back() {
        let described = serde_json::json!({
            "name": "report",
            "inputSchema": {"type": "object", "$defs": {"a": {"$anchor": "a"}}},
            "execution": {"taskSupport": "optional"},
            "annotations": {"readOnlyHint": true, "costHint": "high"},
            "x-vendor": [1, 2],
        });
        let plain = serde_json::json!({"name": "plain", "inputSchema": {"type": "object"}});
        let page = serde_json::json!({"tools": [described, plain], "nextCursor": "n"});
        // rmcp's reading of the page drops what its model lacks.
        let Ok(rmcp::model::ServerResult::ListToolsResult(mut list)) =
            serde_json::from_value(page.clone())
        else {
            panic!("a tool list");
        };
        assert!(
            serde_json::to_value(&list.tools[0])
                .unwrap()
                .get("execution")
                .is_none()
        );
        assert_eq!(described_page(&list, Some(page.clone())), page);
        // What rmcp or the tool filter left out stays out; a second entry
        // of a name is not the first's description.
        list.tools.remove(1);
        let mut twice = page.clone();
        twice["tools"][1] = serde_json::json!({"name": "report", "x-other": 1});
        assert_eq!(
            described_page(&list, Some(twice)),
            serde_json::json!({"tools": [described], "nextCursor": "n"})
        );
        // Without the page as written, rmcp's reading as it is.
        assert_eq!(
            described_page(&list, None),
            serde_json::to_value(&list).unwrap()
        );
        let written = written_entries::<Tool>(Some(page));
        assert_eq!(
            Value::Object(beyond(
                &written["report"],
                serde_json::to_value(&list.tools[0])
                    .unwrap()
                    .as_object()
                    .unwrap()
            )),
            serde_json::json!({
                "execution": {"taskSupport": "optional"},
                "annotations": {"costHint": "high"},
                "x-vendor": [1, 2],
            })
        );
    }

    #[test]
    fn output_schemas_other_than_objects_are_dropped_for_earlier_revisions() {
        let mut page = serde_json::json!({"tools": [
            {"name": "list", "inputSchema": {"type": "object"}, "outputSchema": {"type": "array"}},
            {"name": "any", "inputSchema": {"type": "object"}, "outputSchema": {"oneOf": []}},
            {"name": "object", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"}},
            {"name": "none", "inputSchema": {"type": "object"}},
        ]});
        without_non_object_output_schemas(&mut page);
        let kept: Vec<bool> = page["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool.get("outputSchema").is_some())
            .collect();
        assert_eq!(kept, [false, false, true, false]);
        assert_eq!(page["tools"][0]["inputSchema"]["type"], "object");
    }

    #[test]
    fn a_raw_page_keeps_only_the_answer_to_its_request() {
        let page = RawPage::default();
        let id = serde_json::json!(7);
        page.keep(
            &id,
            br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
        );
        page.keep(&id, br#"{"jsonrpc":"2.0","id":6,"result":{"tools":[]}}"#);
        page.keep(&id, b"not json");
        assert!(page.take().is_none());
        page.keep(
            &id,
            br#"{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"t"}]}}"#,
        );
        assert_eq!(
            page.take(),
            Some(serde_json::json!({"tools":[{"name":"t"}]}))
        );
    }

    #[test]
    fn a_malformed_page_survives_rmcp_parsing() {
        for page in [
            serde_json::json!({"tools": [{"name": "no-schema"}, {"name": "ok", "inputSchema": {"type": "object"}}]}),
            serde_json::json!({"resources": [{"name": "no-uri"}], "nextCursor": "x"}),
        ] {
            let parsed: rmcp::model::ServerResult = serde_json::from_value(page.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), page, "{parsed:?}");
        }
    }
}
