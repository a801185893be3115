//! A stand-in for the person at the browser, for tests: open the
//! authorization URL, answer the consent page if there is one, and hand
//! back where the browser would be sent (the client's callback URL).

/// What the stand-in person clicks on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAnswer {
    Approve,
    Deny,
}

/// Opens `authorization_url` without following redirects, approves the
/// consent page if one is shown, and returns the final redirect's
/// `Location`: the client's redirect URI with `code`, `state` and `iss`
/// (or `error`). Any other answer is an `Err` describing it.
pub async fn follow_consent(authorization_url: &str) -> Result<String, String> {
    answer_consent(authorization_url, ConsentAnswer::Approve).await
}

/// [`follow_consent`] with a choice of button.
pub async fn answer_consent(
    authorization_url: &str,
    answer: ConsentAnswer,
) -> Result<String, String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let page_url = url::Url::parse(authorization_url)
        .map_err(|e| format!("{authorization_url} is not a URL: {e}"))?;
    let response = browser
        .get(page_url.clone())
        .send()
        .await
        .map_err(|e| format!("GET {authorization_url}: {e}"))?;
    if response.status().is_redirection() {
        return location(&page_url, &response);
    }
    let status = response.status();
    let page = response
        .text()
        .await
        .map_err(|e| format!("reading the authorization page: {e}"))?;
    let Some(request_id) = hidden_request_id(&page) else {
        return Err(format!(
            "HTTP {status} without a consent form: {}",
            page.chars().take(500).collect::<String>()
        ));
    };
    let decision_url = page_url
        .join("/authorize/decision")
        .map_err(|e| format!("consent form address: {e}"))?;
    let decision = match answer {
        ConsentAnswer::Approve => "approve",
        ConsentAnswer::Deny => "deny",
    };
    let response = browser
        .post(decision_url.clone())
        .form(&[("request_id", request_id.as_str()), ("decision", decision)])
        .send()
        .await
        .map_err(|e| format!("POST {decision_url}: {e}"))?;
    if response.status().is_redirection() {
        return location(&decision_url, &response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(format!(
        "the consent form answered HTTP {status}: {}",
        body.chars().take(500).collect::<String>()
    ))
}

fn location(base: &url::Url, response: &reqwest::Response) -> Result<String, String> {
    let value = response
        .headers()
        .get(reqwest::header::LOCATION)
        .ok_or_else(|| format!("HTTP {} without a Location", response.status()))?
        .to_str()
        .map_err(|_| "the Location is not text".to_owned())?;
    base.join(value)
        .map(String::from)
        .map_err(|e| format!("the Location {value} is not a URL: {e}"))
}

/// The consent form's `request_id` (the page is ours, so its markup is known).
fn hidden_request_id(page: &str) -> Option<String> {
    const MARKER: &str = r#"name="request_id" value=""#;
    let start = page.find(MARKER)? + MARKER.len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_owned())
}
