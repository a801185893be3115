//! DPoP (RFC 9449) as the authorization server and the MCP endpoint check
//! it, written from the RFC apart from Gatehouse's own proofs: a proof at
//! the token endpoint binds the tokens issued to its key (`token_type`
//! DPoP, §5); a bound refresh token needs a proof by the same key (§5); a
//! bound access token is let in only as `Authorization: DPoP` with a fresh
//! proof for that request, naming the token (`ath`, §7); and with
//! `dpop_nonce` set, both demand that nonce (§8, §9).

use std::collections::{HashMap, HashSet};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::state::{AuthServer, unix_now};

/// What the server remembers: each bound token's key thumbprint, and the
/// proofs (`jti`) the MCP endpoint has seen.
#[derive(Debug, Default)]
pub(crate) struct DpopState {
    pub(crate) bound: HashMap<String, String>,
    seen: HashSet<String>,
    pub(crate) replays: usize,
}

/// A proof that checked out.
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of its key.
    pub(crate) jkt: String,
    jti: String,
    nonce: Option<String>,
}

/// Checks a proof for a `method` request to `url`, with `access_token`
/// when one goes with it.
pub(crate) fn verify(
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<Proof, String> {
    let parts: Vec<&str> = proof.split('.').collect();
    let [header_part, claims_part, signature_part] = parts[..] else {
        return Err("the proof is not a JWS".into());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = B64.decode(part).map_err(|_| "not base64url".to_owned())?;
        serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_owned())
    };
    let header = decode(header_part)?;
    let claims = decode(claims_part)?;
    if header["typ"] != "dpop+jwt" {
        return Err("typ is not dpop+jwt".into());
    }
    if header["alg"] != "ES256" {
        return Err("alg is not ES256".into());
    }
    let jwk = &header["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk.get("d").is_some() {
        return Err("jwk is not a public P-256 key".into());
    }
    let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
        return Err("jwk has no x or y".into());
    };
    let mut point = vec![4u8];
    point.extend(B64.decode(x).map_err(|_| "x is not base64url")?);
    point.extend(B64.decode(y).map_err(|_| "y is not base64url")?);
    let signature = B64
        .decode(signature_part)
        .map_err(|_| "the signature is not base64url")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(
            format!("{header_part}.{claims_part}").as_bytes(),
            &signature,
        )
        .map_err(|_| "the signature does not verify")?;
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
        return Err("jti is missing".into());
    };
    if claims["htm"] != method {
        return Err(format!("htm is not {method}"));
    }
    let htu = claims["htu"].as_str().unwrap_or_default();
    if htu.contains(['?', '#']) || htu.trim_end_matches('/') != url.trim_end_matches('/') {
        return Err(format!("htu is not {url}"));
    }
    let iat = claims["iat"].as_u64().unwrap_or(0);
    if iat.abs_diff(unix_now()) > 300 {
        return Err("iat is not now".into());
    }
    if let Some(token) = access_token {
        let ath = B64.encode(Sha256::digest(token.as_bytes()));
        if claims["ath"] != ath.as_str() {
            return Err("ath does not name the access token".into());
        }
    }
    let canonical = json!({ "crv": "P-256", "kty": "EC", "x": x, "y": y });
    Ok(Proof {
        jkt: B64.encode(Sha256::digest(canonical.to_string().as_bytes())),
        jti: jti.to_owned(),
        nonce: claims["nonce"].as_str().map(str::to_owned),
    })
}

/// The proof of a token request, checked: `Ok(None)` without one (or when
/// the server does not do DPoP), `Err` the error code and the answer to
/// send instead.
#[expect(
    clippy::result_large_err,
    reason = "a refusal is the HTTP response itself"
)]
pub(crate) fn token_request_proof(
    server: &AuthServer,
    headers: &HeaderMap,
) -> Result<Option<Proof>, (&'static str, Response)> {
    if !server.options.dpop {
        return Ok(None);
    }
    let refuse = |code: &'static str, why: String| {
        let body = axum::Json(json!({ "error": code, "error_description": why }));
        (code, (StatusCode::BAD_REQUEST, body).into_response())
    };
    let Some(proof) = one_proof(headers).map_err(|r| ("invalid_dpop_proof", r))? else {
        return Ok(None);
    };
    let endpoint = server.endpoint("/token");
    let proof =
        verify(proof, "POST", &endpoint, None).map_err(|why| refuse("invalid_dpop_proof", why))?;
    if let Some(nonce) = &server.options.dpop_nonce
        && proof.nonce.as_ref() != Some(nonce)
    {
        let (code, mut response) = refuse(
            "use_dpop_nonce",
            "the authorization server requires a nonce in DPoP proofs".into(),
        );
        response.headers_mut().insert(
            "DPoP-Nonce",
            nonce.parse().expect("a nonce is a header value"),
        );
        return Err((code, response));
    }
    Ok(Some(proof))
}

/// At most one `DPoP` header (§4.2).
#[expect(
    clippy::result_large_err,
    reason = "a refusal is the HTTP response itself"
)]
fn one_proof(headers: &HeaderMap) -> Result<Option<&str>, Response> {
    let mut all = headers.get_all("DPoP").iter();
    let first = all.next();
    if all.next().is_some() {
        return Err((StatusCode::BAD_REQUEST, "more than one DPoP header").into_response());
    }
    Ok(first.and_then(|v| v.to_str().ok()))
}

/// The MCP endpoint's check of a bound token (`jkt`): its proof for this
/// request, by the key the token is bound to, fresh, with the nonce when
/// one is demanded.
#[expect(
    clippy::result_large_err,
    reason = "a refusal is the HTTP response itself"
)]
pub(crate) fn admit_bound(
    server: &AuthServer,
    method: &http::Method,
    headers: &HeaderMap,
    token: &str,
    jkt: &str,
) -> Result<(), Response> {
    let refuse = |error: &str, why: String| {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                format!(
                    "DPoP error=\"{error}\", error_description=\"{why}\", resource_metadata=\"{}\"",
                    server.prm_url()
                ),
            )],
            why,
        )
            .into_response()
    };
    let proof = one_proof(headers)?.ok_or_else(|| {
        refuse(
            "invalid_dpop_proof",
            "a DPoP-bound token needs its proof".into(),
        )
    })?;
    let proof = verify(proof, method.as_str(), &server.resource(), Some(token))
        .map_err(|why| refuse("invalid_dpop_proof", why))?;
    if proof.jkt != jkt {
        return Err(refuse(
            "invalid_token",
            "the token is bound to another key".into(),
        ));
    }
    {
        let mut state = server.dpop.lock().unwrap();
        if !state.seen.insert(proof.jti.clone()) {
            state.replays += 1;
            return Err(refuse(
                "invalid_dpop_proof",
                "the proof was used before".into(),
            ));
        }
    }
    if let Some(nonce) = &server.options.dpop_nonce
        && proof.nonce.as_ref() != Some(nonce)
    {
        let mut refused = refuse(
            "use_dpop_nonce",
            "the resource server requires a nonce in DPoP proofs".into(),
        );
        refused.headers_mut().insert(
            "DPoP-Nonce",
            nonce.parse().expect("a nonce is a header value"),
        );
        return Err(refused);
    }
    Ok(())
}
