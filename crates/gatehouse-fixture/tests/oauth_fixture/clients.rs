//! Clients: confidential ones and their authentication methods,
//! pre-registered ones, and registrations the server refuses.

use super::*;

#[tokio::test]
async fn confidential_clients_authenticate_with_their_registered_method() {
    let fixture = start(auto_approve()).await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let (client_id, secret) = register(
            &fixture,
            json!({
                "client_name": "Confidential",
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": method,
            }),
        )
        .await;
        let secret = secret.expect("a confidential client gets a secret");
        let (verifier, challenge) = pkce();
        let code_for = |callback: HashMap<String, String>| callback["code"].clone();
        let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

        // The wrong method is refused even with the right secret.
        let code = code_for(redirected_query(&url).await);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ];
        let wrong = if method == "client_secret_basic" {
            let mut post = form.clone();
            post.extend([
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ]);
            post_token(&fixture, &post).await
        } else {
            http()
                .post(format!("{}/token", fixture.issuer()))
                .basic_auth(&client_id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap()
        };
        assert_eq!(
            token_error(wrong).await,
            (StatusCode::UNAUTHORIZED, "invalid_client".into()),
            "{method}"
        );

        // The registered method with a wrong secret, then the right one.
        let code = code_for(redirected_query(&url).await);
        form[1].1 = code.as_str();
        let attempt = |secret: String| {
            let form = form.clone();
            let client_id = client_id.clone();
            let fixture = &fixture;
            async move {
                if method == "client_secret_basic" {
                    http()
                        .post(format!("{}/token", fixture.issuer()))
                        .basic_auth(&client_id, Some(&secret))
                        .form(&form)
                        .send()
                        .await
                        .unwrap()
                } else {
                    let mut post = form.clone();
                    post.extend([
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.as_str()),
                    ]);
                    post_token(fixture, &post).await
                }
            }
        };
        let refused = attempt("wrong-secret".into()).await;
        let status = refused.status();
        let basic_challenge = refused.headers().get("www-authenticate").cloned();
        assert_eq!(token_error(refused).await.1, "invalid_client");
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(basic_challenge.is_some(), method == "client_secret_basic");
        tokens(attempt(secret.clone()).await).await;

        let last = fixture.token_requests().pop().unwrap();
        assert_eq!(last.client_auth, ClientAuthMethod::parse(method));
        assert_eq!(last.client_id.as_deref(), Some(client_id.as_str()));
    }
}

#[tokio::test]
async fn preregistered_clients_need_no_registration() {
    let fixture = start(OAuthOptions {
        dcr_supported: false,
        preregistered_clients: vec![
            RegisteredClient::confidential(
                "known-client",
                "known-secret",
                ClientAuthMethod::ClientSecretPost,
                vec![REDIRECT_URI.into()],
            )
            .with_name("Known Client"),
        ],
        ..OAuthOptions::default()
    })
    .await;
    let metadata = get_json(&fixture.metadata_url()).await;
    assert!(metadata.get("registration_endpoint").is_none());
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({ "redirect_uris": [REDIRECT_URI] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (verifier, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, "known-client", &challenge).url(&fixture);
    let page = http().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Known Client"));
    let callback = callback_query(&follow_consent(&url).await.unwrap());
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", "known-client"),
            ("client_secret", "known-secret"),
        ],
    )
    .await;
    tokens(response).await;
}

#[tokio::test]
async fn registration_refuses_unsafe_redirect_uris() {
    let fixture = start(OAuthOptions::default()).await;
    for uri in [
        "http://example.com/callback",
        "javascript:alert(1)",
        "http://127.0.0.1:4000/cb#fragment",
    ] {
        let response = http()
            .post(format!("{}/register", fixture.issuer()))
            .json(&json!({ "redirect_uris": [uri] }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            token_error(response).await,
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri".into()),
            "{uri}"
        );
    }
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({ "client_name": "No redirect" }))
        .send()
        .await
        .unwrap();
    assert_eq!(token_error(response).await.1, "invalid_redirect_uri");
    for uri in [
        "https://app.example/cb",
        "http://localhost:1234/cb",
        "http://[::1]:9/cb",
    ] {
        let response = http()
            .post(format!("{}/register", fixture.issuer()))
            .json(&json!({ "redirect_uris": [uri] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{uri}");
    }
    assert_eq!(fixture.registrations().len(), 7);
    assert_eq!(
        fixture.registrations()[0].error.as_deref(),
        Some("invalid_redirect_uri")
    );
}
