//! The authorization code flow and its checks: PKCE, redirect URI, one use
//! per code, `iss`, the resource parameter, and the fixture binary serving it.

use super::*;

#[tokio::test]
async fn full_flow_from_registration_to_mcp_tools() {
    let fixture = start(auto_approve()).await;

    // Dynamic client registration of a public client.
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({
            "client_name": "Test Client",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let registration: Value = response.json().await.unwrap();
    let client_id = registration["client_id"].as_str().unwrap().to_owned();
    assert!(client_id.len() > 16);
    assert!(registration.get("client_secret").is_none());
    assert_eq!(registration["token_endpoint_auth_method"], "none");
    assert_eq!(registration["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(registration["client_name"], "Test Client");
    assert_eq!(registration["application_type"], "native");

    // Authorization with PKCE, auto-approved.
    let (verifier, challenge) = pkce();
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.scope = Some("mcp:read".into());
    let callback = redirected_query(&request.url(&fixture)).await;
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    let code = &callback["code"];

    let resource = fixture.url();
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    let tokens = tokens(response).await;
    assert_eq!(tokens.expires_in, 3600);
    assert_eq!(tokens.scope, "mcp:read");
    assert!(tokens.refresh.is_some());

    // MCP with the bearer token.
    let session = mcp_session(&fixture, &tokens.access).await;
    let listing = rpc_result(
        mcp_post(
            &fixture,
            Some(&tokens.access),
            Some(&session),
            json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = listing["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for tool in ["echo", "add", "whoami"] {
        assert!(names.contains(&tool), "{names:?}");
    }
    let echoed = rpc_result(
        mcp_post(
            &fixture,
            Some(&tokens.access),
            Some(&session),
            tool_call("echo", json!({ "text": "through the gate" })),
        )
        .await,
    )
    .await;
    assert_eq!(echoed["content"][0]["text"], "through the gate");

    // The fixture remembers what it was asked.
    let registrations = fixture.registrations();
    assert_eq!(registrations.len(), 1);
    assert_eq!(
        registrations[0].client.as_ref().unwrap().client_id,
        client_id
    );
    let authorizations = fixture.authorization_requests();
    assert_eq!(authorizations.len(), 1);
    assert_eq!(authorizations[0].param("resource"), Some(resource.as_str()));
    assert_eq!(
        authorizations[0].param("code_challenge_method"),
        Some("S256")
    );
    assert_eq!(authorizations[0].error, None);
    let token_requests = fixture.token_requests();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        token_requests[0].grant_type.as_deref(),
        Some("authorization_code")
    );
    assert_eq!(token_requests[0].client_auth, Some(ClientAuthMethod::None));
    assert_eq!(
        token_requests[0].client_id.as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(token_requests[0].param("resource"), Some(resource.as_str()));
    assert_eq!(token_requests[0].status, 200);
    let mcp = fixture.mcp_requests();
    assert_eq!(mcp[0].calls[0].method, "initialize");
    assert_eq!(
        mcp[0].headers["authorization"],
        format!("Bearer {}", tokens.access)
    );
    assert!(mcp.iter().any(|request| {
        request
            .calls
            .iter()
            .any(|c| c.called_tool() == Some("echo"))
    }));
    let issued = fixture.issued_tokens();
    assert_eq!(issued.len(), 2);
    assert!(
        issued
            .iter()
            .all(|token| token.active && token.client_id == client_id)
    );
    assert_eq!(issued[0].resource.as_deref(), Some(resource.as_str()));
}

#[tokio::test]
async fn a_wrong_code_verifier_is_rejected() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &other_verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        token_error(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert!(fixture.issued_tokens().is_empty());
    assert_eq!(
        fixture.token_requests()[0].error.as_deref(),
        Some("invalid_grant")
    );
}

#[tokio::test]
async fn authorization_requires_pkce_s256() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

    let plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let callback = redirected_query(&plain).await;
    assert_eq!(callback["error"], "invalid_request");
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    assert!(!callback.contains_key("code"));

    let without = url.replace("code_challenge=", "no_challenge=");
    let callback = redirected_query(&without).await;
    assert_eq!(callback["error"], "invalid_request");
    assert_eq!(
        fixture.authorization_requests()[1].error.as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_rejected() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();

    // At /authorize: not redirected anywhere, an error page instead.
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.redirect_uri = "http://127.0.0.1:45998/callback".into();
    let response = http().get(request.url(&fixture)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("not valid"));

    // At /token: a redirect_uri other than the authorization request's.
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", "http://127.0.0.1:45998/callback"),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        token_error(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

#[tokio::test]
async fn an_authorization_code_works_once() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", callback["code"].as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
        ("client_id", client_id.as_str()),
    ];
    let first = tokens(post_token(&fixture, &exchange).await).await;
    let replay = post_token(&fixture, &exchange).await;
    assert_eq!(
        token_error(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // A replayed code revokes what it produced.
    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn iss_can_be_omitted_or_wrong() {
    for (mode, expected) in [(IssMode::Omit, None), (IssMode::Wrong, Some(WRONG_ISSUER))] {
        let fixture = start(OAuthOptions {
            iss_in_redirect: mode,
            ..auto_approve()
        })
        .await;
        let client_id = register_public(&fixture).await;
        let (_, challenge) = pkce();
        let callback = redirected_query(
            &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
        )
        .await;
        assert!(callback.contains_key("code"));
        assert_eq!(callback.get("iss").map(String::as_str), expected);
    }
}

#[tokio::test]
async fn require_resource_insists_on_the_mcp_url() {
    let fixture = start(OAuthOptions {
        require_resource: true,
        ..auto_approve()
    })
    .await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.resource = None;
    assert_eq!(
        redirected_query(&request.url(&fixture)).await["error"],
        "invalid_target"
    );
    request.resource = Some(format!("http://localhost:{}/mcp", fixture.addr().port()));
    assert_eq!(
        redirected_query(&request.url(&fixture)).await["error"],
        "invalid_target"
    );

    request.resource = Some(fixture.url());
    let callback = redirected_query(&request.url(&fixture)).await;
    let without_resource = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(token_error(without_resource).await.1, "invalid_target");
}

#[tokio::test]
async fn the_binary_serves_the_oauth_demo() {
    use std::io::BufRead;

    /// Kills the server when the test ends, pass or fail.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let mut server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-fixture"))
            .args(["--oauth", "--consent", "approve", "--token-ttl", "7"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let first_line = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let url = first_line.trim();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    let origin = url.trim_end_matches("/mcp");

    let prm = get_json(&format!(
        "{origin}/.well-known/oauth-protected-resource/mcp"
    ))
    .await;
    assert_eq!(prm["resource"], url);
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // --consent approve and --token-ttl reach the server.
    let client: Value = http()
        .post(format!("{origin}/register"))
        .json(&json!({ "redirect_uris": [REDIRECT_URI] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = client["client_id"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let authorize = format!(
        "{origin}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state=s",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let callback = redirected_query(&authorize).await;
    let response = http()
        .post(format!("{origin}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", callback["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens(response).await.expires_in, 7);
}
