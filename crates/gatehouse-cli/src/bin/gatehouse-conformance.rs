//! `gatehouse-conformance <server-url>`: the client the official MCP
//! conformance suite drives (`npx @modelcontextprotocol/conformance client
//! --command gatehouse-conformance`).
//!
//! It runs the same engine and the same loopback listener as the app, with a
//! throwaway config and an in-memory vault; only its consent and
//! elicitation sinks differ: it fetches the authorization URL without
//! following redirects and delivers the `Location` to the listener, as a
//! browser would, and submits every form the server asks for as prefilled. The scenario's name
//! and context come from `MCP_CONFORMANCE_SCENARIO` and
//! `MCP_CONFORMANCE_CONTEXT`: a pre-registered client (its id with a secret
//! or a private key), or a workload's identity token, set up as a person
//! would set them up in the config and the vault.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::config::{OAuthConfig, ServerConfig, TokenStorage};
use gatehouse_core::elicitation::{Answer, ElicitationSink, FormRequest, UrlRequest};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_core::{ConsentSink, Engine};
use secrecy::SecretString;

const SERVER: &str = "conformance";
/// The Client ID Metadata Document URL the suite expects.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";
/// Authorizations a run may start (the first one plus step-ups).
const MAX_AUTHORIZATIONS: usize = 3;

/// Follows the consent page like a browser that approves at once.
struct FollowRedirect {
    http: reqwest::Client,
}

#[async_trait::async_trait]
impl ConsentSink for FollowRedirect {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                format!(
                    "the authorization endpoint answered {} without a redirect",
                    response.status()
                )
            })?
            .to_owned();
        // The redirect goes to Gatehouse's own loopback listener.
        self.http
            .get(&location)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// A person who submits every form as the server prefilled it (its
/// defaults) and agrees to open every page (without a browser to open it in).
struct AcceptAtOnce;

#[async_trait::async_trait]
impl ElicitationSink for AcceptAtOnce {
    async fn fill_form(&self, _request: FormRequest) -> Answer {
        Answer::Accept(serde_json::Map::new())
    }
    async fn open_url(&self, _request: UrlRequest) -> Answer {
        Answer::Accept(serde_json::Map::new())
    }
}

fn main() -> ExitCode {
    let filter = gatehouse_core::logging::env_filter("warn");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Some(url) = std::env::args().skip(1).last() else {
        eprintln!("usage: gatehouse-conformance <server-url>");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    match runtime.block_on(run(url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse-conformance: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: String) -> Result<(), String> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: serde_json::Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or_default();
    eprintln!("scenario {scenario:?} against {url}");

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let vault = Vault::new(
        paths.vault_file(),
        Arc::new(MemoryKeyStore::default()),
        None,
    );
    let engine = Engine::with_vault(paths, vault).map_err(|e| e.to_string())?;

    let mut oauth = OAuthConfig {
        token_storage: TokenStorage::Memory,
        client_metadata_url: Some(CLIENT_METADATA_URL.into()),
        ..OAuthConfig::default()
    };
    let given = |key: &str| context.get(key).and_then(|v| v.as_str());
    if let Some(client_id) = given("client_id") {
        oauth.client_id = Some(client_id.to_owned());
        // The client's credential goes into the vault, the setting names it.
        if let Some(secret) = given("client_secret") {
            let name = "CONFORMANCE_CLIENT_SECRET";
            oauth.client_secret = Some(in_vault(&engine, name, secret).await?);
        }
        if let Some(key) = given("private_key_pem") {
            let name = "CONFORMANCE_CLIENT_KEY";
            oauth.client_key = Some(in_vault(&engine, name, key).await?);
        }
        if let Some(algorithm) = given("signing_algorithm") {
            oauth.client_key_algorithm = Some(
                algorithm
                    .parse()
                    .map_err(|_| format!("unknown signing algorithm {algorithm:?}"))?,
            );
        }
        // A workload's identity token, or the person's ID token from the
        // company identity provider, in the file it would be kept in.
        if let Some(token) = given("valid_jwt").or(given("idp_id_token")) {
            let file = dir.path().join("identity-token.jwt");
            std::fs::write(&file, token).map_err(|e| e.to_string())?;
            oauth.assertion_file = Some(file.to_string_lossy().into_owned());
        }
        oauth.idp_issuer = given("idp_issuer").map(str::to_owned);
        oauth.idp_client_id = given("idp_client_id").map(str::to_owned);
    }
    let mut server = ServerConfig::new(SERVER, url);
    server.timeout = Some(10);
    server.oauth = Some(oauth);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let sink: Arc<dyn ConsentSink> = Arc::new(FollowRedirect { http });
    engine.set_consent_sink(sink.clone());
    engine.set_elicitation_sink(Arc::new(AcceptAtOnce));
    engine.add_server(server).await.map_err(|e| e.to_string())?;

    let calls = context.get("toolCalls").and_then(|c| c.as_array()).cloned();
    let result = exercise(&engine, sink, &scenario, calls).await;
    engine.shutdown().await;
    result
}

/// Stores `value` as the vault secret `name`; its `${NAME}` reference.
async fn in_vault(engine: &Engine, name: &str, value: &str) -> Result<String, String> {
    engine
        .set_secret(name, &SecretString::from(value))
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("${{{name}}}"))
}

/// Connects (authorizing when asked), lists the tools and calls the ones
/// the suite names (`toolCalls` in its context, with their arguments), or
/// the call in which the scenario has the client report what it listed
/// ([`report`]), or else each listed tool, the way a person trying a server
/// out would.
async fn exercise(
    engine: &Engine,
    sink: Arc<dyn ConsentSink>,
    scenario: &str,
    named: Option<Vec<serde_json::Value>>,
) -> Result<(), String> {
    let mut authorizations = 0;
    loop {
        let status = engine
            .wait_server_settled(SERVER, Duration::from_secs(15))
            .await
            .ok_or("the server is not configured")?;
        match status {
            ServerStatus::Connected { .. } => break,
            ServerStatus::NeedsAuthorization { .. } if authorizations < MAX_AUTHORIZATIONS => {
                authorizations += 1;
                engine
                    .authorize(SERVER, sink.clone())
                    .await
                    .map_err(|e| format!("authorization failed: {e}"))?;
            }
            other => return Err(format!("cannot connect: {other:?}")),
        }
    }
    let tools = engine.list_tools(SERVER).await.map_err(|e| e.to_string())?;
    eprintln!(
        "tools: {:?}",
        tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>()
    );
    let calls: Vec<(String, serde_json::Map<String, serde_json::Value>)> = match named {
        None if let Some(report) = report(scenario, &tools) => vec![report],
        Some(named) => named
            .iter()
            .filter_map(|call| {
                let name = call["name"].as_str()?.to_owned();
                let arguments = call["arguments"].as_object().cloned().unwrap_or_default();
                Some((name, arguments))
            })
            .collect(),
        // Each tool once, in the order listed.
        None => tools
            .iter()
            .map(|tool| {
                let schema = serde_json::Value::Object((*tool.input_schema).clone());
                (tool.name.to_string(), sample_arguments(&schema))
            })
            .collect(),
    };
    for (name, arguments) in calls {
        let result = engine
            .call_tool(SERVER, &name, Some(arguments))
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("{name} returned {} content block(s)", result.content.len());
    }
    Ok(())
}

/// The call in which a scenario has the client report what it observed,
/// where one does: `json-schema-2020-12-preservation` checks that the
/// client keeps a tool's input schema whole (`$schema`, `$defs`, `$anchor`,
/// composition and conditionals) by having it send the schema it listed
/// back through an echo tool. What goes back is the input schema of the
/// engine's listing of the tool, untouched.
fn report(
    scenario: &str,
    tools: &[gatehouse_core::mcp::Tool],
) -> Option<(String, serde_json::Map<String, serde_json::Value>)> {
    match scenario {
        "json-schema-2020-12-preservation" => {
            let listed = tools
                .iter()
                .find(|tool| tool.name == "json_schema_2020_12_tool")?;
            let mut arguments = serde_json::Map::new();
            let schema = serde_json::Value::Object((*listed.input_schema).clone());
            arguments.insert("schema".into(), schema);
            Some(("json_schema_echo".into(), arguments))
        }
        _ => None,
    }
}

/// Arguments a tool's input schema accepts, as a person trying the tool
/// would fill them in: each required property's default, else a plain value
/// of its type (the first of an `enum`).
fn sample_arguments(schema: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{Value, json};
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut arguments = serde_json::Map::new();
    for name in required {
        let property = &schema["properties"][name];
        let value = property.get("default").cloned().unwrap_or_else(|| {
            match (property["enum"].get(0), property["type"].as_str()) {
                (Some(first), _) => first.clone(),
                (None, Some("number" | "integer")) => json!(1),
                (None, Some("boolean")) => json!(true),
                (None, Some("array")) => json!([]),
                (None, Some("object")) => json!({}),
                _ => json!("test"),
            }
        });
        arguments.insert(name.to_owned(), value);
    }
    arguments
}
