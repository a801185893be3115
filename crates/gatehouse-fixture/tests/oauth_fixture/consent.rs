//! The consent page: approving through it, a decision that cannot be
//! replayed, and denial.

use super::*;

#[tokio::test]
async fn the_consent_page_approves_through_follow_consent() {
    let fixture = start(OAuthOptions::default()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

    // What a person sees.
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test Client</strong> wants to access the <strong>Gatehouse demo server")
    );
    assert!(html.contains("<code>mcp:read</code>"));
    assert!(html.contains("data-testid=\"consent-approve\""));
    assert!(html.contains("data-testid=\"consent-deny\""));

    let location = follow_consent(&url).await.unwrap();
    let callback = callback_query(&location);
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    let response = post_token(
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
    let tokens = tokens(response).await;
    mcp_session(&fixture, &tokens.access).await;

    // The page's Deny button.
    let callback = callback_query(&answer_consent(&url, ConsentAnswer::Deny).await.unwrap());
    assert_eq!(callback["error"], "access_denied");
    assert_eq!(callback["state"], "state-123");
    assert!(!callback.contains_key("code"));
    let requests = fixture.authorization_requests();
    assert_eq!(
        requests.last().unwrap().error.as_deref(),
        Some("access_denied")
    );

    // follow_consent also passes through an immediate redirect.
    fixture.set_consent_mode(ConsentMode::AutoApprove);
    let callback = callback_query(&follow_consent(&url).await.unwrap());
    assert!(callback.contains_key("code"));
}

#[tokio::test]
async fn a_consent_decision_cannot_be_replayed() {
    let fixture = start(OAuthOptions::default()).await;
    let response = http()
        .post(format!("{}/authorize/decision", fixture.issuer()))
        .form(&[("request_id", "made-up"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn deny_mode_redirects_with_access_denied() {
    let fixture = start(OAuthOptions {
        consent: ConsentMode::Deny,
        ..OAuthOptions::default()
    })
    .await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    assert_eq!(callback["error"], "access_denied");
    assert!(callback.contains_key("error_description"));
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    assert!(!callback.contains_key("code"));
    assert_eq!(
        fixture.authorization_requests()[0].error.as_deref(),
        Some("access_denied")
    );
}
