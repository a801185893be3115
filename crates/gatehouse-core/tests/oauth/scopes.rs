//! Scopes and the resource parameter: step-up on insufficient_scope, a
//! demand remembered for the next authorization, RFC 8707 switched off.

use super::*;

#[tokio::test]
async fn insufficient_scope_steps_up_with_the_union_of_scopes() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..OAuthOptions::default()
    })
    .await;
    let sink = Arc::new(Approve::default());
    s.engine.set_consent_sink(sink.clone());
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine.authorize("demo", sink.clone()).await.unwrap();
    let result = s
        .engine
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "3");
    let scopes: Vec<String> = fixture
        .authorization_requests()
        .iter()
        .map(|r| r.param("scope").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(scopes.len(), 2, "{scopes:?}");
    let second: Vec<&str> = scopes[1].split(' ').collect();
    assert!(
        second.contains(&"mcp:read") && second.contains(&"mcp:write"),
        "{scopes:?}"
    );
    assert!(is_connected(&s.engine.status("demo").unwrap()));
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_scope_demand_seen_without_a_browser_is_asked_for_by_the_next_authorization() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    // No consent sink (a CLI `call`): the refusal says what to do.
    let err = s
        .engine
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("needs more permissions") && err.contains("mcp:write"),
        "{err}"
    );
    assert_eq!(err.matches("more permissions").count(), 1, "{err}");
    s.engine.shutdown().await;

    // Another process authorizes: it asks for what the server demanded.
    let again = s.reopen();
    again.start();
    wait_for(&again, "demo", LONG, is_connected).await;
    again
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let last = fixture.authorization_requests().pop().unwrap();
    let scopes: Vec<&str> = last.param("scope").unwrap_or_default().split(' ').collect();
    assert!(
        scopes.contains(&"mcp:read") && scopes.contains(&"mcp:write"),
        "{scopes:?}"
    );
    let result = again
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "3");
    again.shutdown().await;
}

#[tokio::test]
async fn the_resource_parameter_can_be_turned_off() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let mut server = oauth_server("entra", &fixture.url());
    server.oauth.as_mut().unwrap().send_resource_parameter = false;
    s.engine.add_server(server).await.unwrap();
    wait_for(&s.engine, "entra", LONG, needs_authorization).await;
    s.engine
        .authorize("entra", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert_eq!(fixture.authorization_requests()[0].param("resource"), None);
    assert!(
        fixture
            .token_requests()
            .iter()
            .all(|t| t.param("resource").is_none())
    );
    s.engine.shutdown().await;
}
