//! Tokens after the grant: refresh with and without rotation, scope
//! narrowing, rejected refreshes, revocation, expiry, and 403
//! insufficient_scope.

use super::*;

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let old_refresh = first.refresh.unwrap();

    let second = tokens(refresh(&fixture, &client_id, &old_refresh).await).await;
    let new_refresh = second.refresh.clone().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.scope, "mcp:read");
    mcp_session(&fixture, &second.access).await;

    // The old refresh token is spent; the new one works.
    let replay = refresh(&fixture, &client_id, &old_refresh).await;
    assert_eq!(
        token_error(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let third = tokens(refresh(&fixture, &client_id, &new_refresh).await).await;
    assert!(third.refresh.is_some());

    let requests = fixture.token_requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[1].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(
        requests[1].refresh_token_hash.as_deref(),
        Some(token_hash(&old_refresh).as_str())
    );
    assert_eq!(requests[2].error.as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let fixture = start(OAuthOptions {
        rotate_refresh_tokens: false,
        ..auto_approve()
    })
    .await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();
    for _ in 0..2 {
        let refreshed = tokens(refresh(&fixture, &client_id, &refresh_token).await).await;
        assert_eq!(refreshed.refresh, None, "no new refresh token is issued");
    }
}

#[tokio::test]
async fn refresh_can_narrow_but_not_widen_the_scope() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, Some("mcp:read mcp:write")).await;
    assert_eq!(first.scope, "mcp:read mcp:write");
    let refresh_token = first.refresh.unwrap();

    let narrowed = post_token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("client_id", &client_id),
            ("scope", "mcp:read"),
        ],
    )
    .await;
    let narrowed = tokens(narrowed).await;
    assert_eq!(narrowed.scope, "mcp:read");

    let widened = post_token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed.refresh.as_deref().unwrap()),
            ("client_id", &client_id),
            ("scope", "mcp:read admin"),
        ],
    )
    .await;
    assert_eq!(
        token_error(widened).await,
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
}

#[tokio::test]
async fn reject_refresh_answers_invalid_grant_until_lifted() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();

    fixture.reject_refresh(true);
    let rejected = refresh(&fixture, &client_id, &refresh_token).await;
    assert_eq!(
        token_error(rejected).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    fixture.reject_refresh(false);
    tokens(refresh(&fixture, &client_id, &refresh_token).await).await;
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_access_tokens() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();
    mcp_session(&fixture, &first.access).await;

    let response = http()
        .post(format!("{}/revoke", fixture.issuer()))
        .form(&[
            ("token", refresh_token.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&response).contains("error=\"invalid_token\""));
    let refused = refresh(&fixture, &client_id, &refresh_token).await;
    assert_eq!(token_error(refused).await.1, "invalid_grant");

    // Unknown tokens are answered 200 too.
    let response = http()
        .post(format!("{}/revoke", fixture.issuer()))
        .form(&[("token", "never-issued"), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let revocations = fixture.revocations();
    assert_eq!(revocations.len(), 2);
    assert_eq!(revocations[0].revoked, Some(TokenKind::Refresh));
    assert_eq!(
        revocations[0].token_hash.as_deref(),
        Some(token_hash(&refresh_token).as_str())
    );
    assert_eq!(
        revocations[0].token_type_hint.as_deref(),
        Some("refresh_token")
    );
    assert_eq!(revocations[1].revoked, None);
    assert!(fixture.issued_tokens().iter().all(|token| !token.active));
}

#[tokio::test]
async fn revoke_all_ends_every_grant() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    fixture.revoke_all();
    let response = http()
        .get(fixture.url())
        .bearer_auth(&first.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let refused = refresh(&fixture, &client_id, first.refresh.as_deref().unwrap()).await;
    assert_eq!(token_error(refused).await.1, "invalid_grant");
}

#[tokio::test]
async fn access_tokens_expire_after_their_ttl() {
    let fixture = start(OAuthOptions {
        access_token_ttl: Duration::from_secs(1),
        ..auto_approve()
    })
    .await;
    let (client_id, first) = authorized(&fixture, None).await;
    assert_eq!(first.expires_in, 1);
    mcp_session(&fixture, &first.access).await;

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&response);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");

    // A refresh after a runtime TTL change gets the new lifetime.
    fixture.set_access_token_ttl(Duration::from_secs(300));
    let second =
        tokens(refresh(&fixture, &client_id, first.refresh.as_deref().unwrap()).await).await;
    assert_eq!(second.expires_in, 300);
    mcp_session(&fixture, &second.access).await;
    fixture.expire_access_tokens();
    let response = http()
        .get(fixture.url())
        .bearer_auth(&second.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_scoped_tool_answers_403_insufficient_scope() {
    let fixture = start(OAuthOptions {
        tool_scopes: HashMap::from([("add".to_owned(), "mcp:write".to_owned())]),
        ..auto_approve()
    })
    .await;
    let (_, reader) = authorized(&fixture, Some("mcp:read")).await;
    let session = mcp_session(&fixture, &reader.access).await;

    let response = mcp_post(
        &fixture,
        Some(&reader.access),
        Some(&session),
        tool_call("add", json!({ "a": 2, "b": 3 })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&response),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write\", resource_metadata=\"{}\"",
            fixture.prm_url()
        )
    );
    // Tools that need nothing more still work with the same token.
    let echoed = rpc_result(
        mcp_post(
            &fixture,
            Some(&reader.access),
            Some(&session),
            tool_call("echo", json!({ "text": "ok" })),
        )
        .await,
    )
    .await;
    assert_eq!(echoed["content"][0]["text"], "ok");

    // Step-up: a token with both scopes may call it.
    let (_, writer) = authorized(&fixture, Some("mcp:read mcp:write")).await;
    let session = mcp_session(&fixture, &writer.access).await;
    let sum = rpc_result(
        mcp_post(
            &fixture,
            Some(&writer.access),
            Some(&session),
            tool_call("add", json!({ "a": 2, "b": 3 })),
        )
        .await,
    )
    .await;
    assert_eq!(sum["content"][0]["text"], "5");
}
