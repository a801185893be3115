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

use std::collections::HashSet;

use rmcp::model::{
    ClientRequest, ErrorData, ListPromptsRequest, ListResourceTemplatesRequest,
    ListResourcesRequest, ListToolsRequest, PaginatedRequestParams, Prompt, Resource,
    ResourceTemplate, Tool,
};
use rmcp::service::Peer;
use rmcp::{RoleClient, ServiceError};
use serde::de::DeserializeOwned;

/// More pages than any server needs; past this the listing is a loop.
const MAX_PAGES: usize = 1000;

/// What is listed: its request and the result's array field.
trait Listed: DeserializeOwned {
    const FIELD: &'static str;
    const NAME: &'static str;
    fn request(params: Option<PaginatedRequestParams>) -> ClientRequest;
    /// What must be unique in the list (a tool's name, a resource's URI).
    fn key(&self) -> String;
}

impl Listed for Tool {
    const FIELD: &'static str = "tools";
    const NAME: &'static str = "tool";
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

pub(crate) async fn tools(peer: &Peer<RoleClient>) -> Result<Vec<Tool>, ServiceError> {
    list_all(peer).await
}

pub(crate) async fn resources(peer: &Peer<RoleClient>) -> Result<Vec<Resource>, ServiceError> {
    list_all(peer).await
}

pub(crate) async fn resource_templates(
    peer: &Peer<RoleClient>,
) -> Result<Vec<ResourceTemplate>, ServiceError> {
    list_all(peer).await
}

pub(crate) async fn prompts(peer: &Peer<RoleClient>) -> Result<Vec<Prompt>, ServiceError> {
    list_all(peer).await
}

async fn list_all<T: Listed>(peer: &Peer<RoleClient>) -> Result<Vec<T>, ServiceError> {
    let mut items: Vec<T> = Vec::new();
    let mut keys = HashSet::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = cursor
            .clone()
            .map(|cursor| PaginatedRequestParams::default().with_cursor(Some(cursor)));
        let result = peer.send_request(T::request(params)).await?;
        let page = serde_json::to_value(&result).map_err(|e| bad_page(T::FIELD, &e.to_string()))?;
        let (page_items, next) = read_page::<T>(&page)?;
        for item in page_items {
            // Names must be unique; a second entry of one name could not be
            // told apart (or called) anyway.
            if keys.insert(item.key()) {
                items.push(item);
            } else {
                tracing::warn!(kind = T::NAME, key = %item.key().chars().take(80).collect::<String>(), "skipping a duplicate");
            }
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

/// The entries of one page that can be read, and its next cursor.
fn read_page<T: Listed>(
    page: &serde_json::Value,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let Some(entries) = page.get(T::FIELD).and_then(serde_json::Value::as_array) else {
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
