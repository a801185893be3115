//! What the authorization and MCP servers publish: metadata documents and
//! their locations, challenges on unauthenticated requests, and the hostile
//! metadata variants the client tests need.

use super::*;

#[tokio::test]
async fn metadata_documents_describe_one_origin() {
    let fixture = start(OAuthOptions::default()).await;
    let origin = format!("http://{}", fixture.addr());
    assert_eq!(fixture.url(), format!("{origin}/mcp"));
    assert_eq!(fixture.issuer(), origin);
    assert_eq!(
        fixture.prm_url(),
        format!("{origin}/.well-known/oauth-protected-resource/mcp")
    );

    let prm = get_json(&fixture.prm_url()).await;
    assert_eq!(prm["resource"], fixture.url());
    assert_eq!(prm["authorization_servers"], json!([origin]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));

    let metadata = get_json(&format!("{origin}/.well-known/oauth-authorization-server")).await;
    assert_eq!(metadata["issuer"], origin);
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{origin}/authorize")
    );
    assert_eq!(metadata["token_endpoint"], format!("{origin}/token"));
    assert_eq!(
        metadata["registration_endpoint"],
        format!("{origin}/register")
    );
    assert_eq!(metadata["revocation_endpoint"], format!("{origin}/revoke"));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_post", "client_secret_basic"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!(["mcp:read", "mcp:write"])
    );
    let oidc = get_json(&format!("{origin}/.well-known/openid-configuration")).await;
    assert_eq!(oidc, metadata);
    assert_eq!(get_json(&fixture.metadata_url()).await, metadata);

    // The root PRM location is not served by default (path-aware only).
    let root = http()
        .get(format!("{origin}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unauthenticated_and_invalid_tokens_get_challenges() {
    let fixture = start(OAuthOptions::default()).await;
    let ping = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });

    let response = mcp_post(&fixture, None, None, ping.clone()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&response),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"mcp:read\"",
            fixture.prm_url()
        )
    );

    let response = mcp_post(&fixture, Some("not-a-token"), None, ping).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&response);
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}\"", fixture.prm_url())),
        "{challenge}"
    );

    let quiet = start(OAuthOptions {
        scope_in_challenge: false,
        ..OAuthOptions::default()
    })
    .await;
    let response = http().get(quiet.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&response),
        format!("Bearer resource_metadata=\"{}\"", quiet.prm_url())
    );
}

#[tokio::test]
async fn hostile_metadata_variants() {
    let fixture = start(OAuthOptions {
        pkce_advertised: false,
        authorization_endpoint_override: Some("javascript:alert(1)".into()),
        token_endpoint_override: Some("http://10.0.0.1/token".into()),
        registration_endpoint_override: Some("http://169.254.169.254/latest".into()),
        issuer_override: Some("https://issuer.example".into()),
        prm_resource_override: Some("https://other.example/mcp".into()),
        prm_authorization_servers_override: Some(vec!["http://169.254.169.254/".into()]),
        ..OAuthOptions::default()
    })
    .await;
    let metadata = get_json(&fixture.metadata_url()).await;
    assert!(metadata.get("code_challenge_methods_supported").is_none());
    assert_eq!(metadata["authorization_endpoint"], "javascript:alert(1)");
    assert_eq!(metadata["token_endpoint"], "http://10.0.0.1/token");
    assert_eq!(
        metadata["registration_endpoint"],
        "http://169.254.169.254/latest"
    );
    assert_eq!(metadata["issuer"], "https://issuer.example");
    let prm = get_json(&fixture.prm_url()).await;
    assert_eq!(prm["resource"], "https://other.example/mcp");
    assert_eq!(
        prm["authorization_servers"],
        json!(["http://169.254.169.254/"])
    );

    let oversized = start(OAuthOptions {
        oversized_metadata: true,
        oversized_resource_metadata: true,
        ..OAuthOptions::default()
    })
    .await;
    for url in [oversized.metadata_url(), oversized.prm_url()] {
        let body = http()
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(body.len() > 1024 * 1024, "{url}: {} bytes", body.len());
    }

    let redirecting = start(OAuthOptions {
        metadata_redirect_to: Some("http://169.254.169.254/latest/meta-data".into()),
        ..OAuthOptions::default()
    })
    .await;
    for path in ["oauth-authorization-server", "openid-configuration"] {
        let response = http()
            .get(format!("{}/.well-known/{path}", redirecting.issuer()))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection());
        assert_eq!(
            response.headers()["location"],
            "http://169.254.169.254/latest/meta-data"
        );
    }

    let target = "http://[::a9fe:a9fe]/register";
    let redirecting = start(OAuthOptions {
        registration_redirect_to: Some(target.into()),
        ..OAuthOptions::default()
    })
    .await;
    let response = http()
        .post(format!("{}/register", redirecting.issuer()))
        .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1:1/callback"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], target);
    let recorded = redirecting.registrations();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].redirected_to.as_deref(), Some(target));
    assert!(recorded[0].client.is_none(), "no client was registered");
}

#[tokio::test]
async fn an_issuer_path_moves_the_metadata() {
    let fixture = start(OAuthOptions {
        issuer_path: Some("/tenant".into()),
        ..OAuthOptions::default()
    })
    .await;
    let origin = format!("http://{}", fixture.addr());
    assert_eq!(fixture.issuer(), format!("{origin}/tenant"));
    for path in [
        "/.well-known/oauth-authorization-server/tenant",
        "/.well-known/openid-configuration/tenant",
        "/tenant/.well-known/openid-configuration",
    ] {
        let metadata = get_json(&format!("{origin}{path}")).await;
        assert_eq!(metadata["issuer"], fixture.issuer(), "{path}");
    }
    let root = http()
        .get(format!("{origin}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get_json(&fixture.prm_url()).await["authorization_servers"],
        json!([fixture.issuer()])
    );
}
