//! DPoP (RFC 9449): tokens bound to a key only Gatehouse holds, so a token
//! copied off the wire or out of a log is useless without it.
//!
//! When the authorization server signs up for ES256 proofs
//! (`dpop_signing_alg_values_supported`) and the server's `oauth.dpop` is on
//! (the default), a new grant gets a fresh P-256 key. The key is kept with
//! the grant (in the vault, or in memory for `token_storage = "memory"`)
//! and signs a proof for each of its token requests and, when the
//! authorization server bound the access token to it (`token_type` DPoP),
//! for each MCP request ([`transport::BoundHttp`]). A server may demand a
//! nonce (§8 for the authorization server, §9 for the MCP server): the one
//! it hands out is remembered per origin, and the refused request is sent
//! again once with a new proof carrying it.

pub(crate) mod transport;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rmcp::transport::auth::AuthorizationMetadata;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use url::Url;
use zeroize::Zeroizing;

/// The header carrying a proof, and the one carrying a server's nonce.
pub(crate) const DPOP: &str = "DPoP";
pub(crate) const DPOP_NONCE: &str = "DPoP-Nonce";
/// The error a server answers a proof without its nonce with.
const USE_NONCE: &str = "use_dpop_nonce";
/// The only proof algorithm Gatehouse signs with.
const ALGORITHM: &str = "ES256";

/// Whether the authorization server that `metadata` describes accepts ES256
/// proofs.
pub(crate) fn supported(metadata: &AuthorizationMetadata) -> bool {
    metadata
        .additional_fields
        .get("dpop_signing_alg_values_supported")
        .and_then(|v| v.as_array())
        .is_some_and(|algs| algs.iter().any(|a| a.as_str() == Some(ALGORITHM)))
}

/// Whether a token response's `token_type` binds the access token to the
/// key (RFC 9449 §5: `DPoP`, compared without case).
pub(crate) fn is_bound_type(token_type: &str) -> bool {
    token_type.eq_ignore_ascii_case(DPOP)
}

/// A grant's proof key: P-256, stored as its PKCS#8 document.
#[derive(Clone)]
pub(crate) struct DpopKey(Arc<KeyInner>);

struct KeyInner {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: EcdsaKeyPair,
    /// The public key as the proof's `jwk` header carries it.
    jwk: serde_json::Value,
}

impl DpopKey {
    /// A new key from the system's random source.
    pub(crate) fn generate() -> Result<Self, String> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "could not make a DPoP key".to_owned())?;
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|_| "could not encode the DPoP key".to_owned())?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec())
    }

    fn from_pkcs8(der: Vec<u8>) -> Result<Self, String> {
        let pkcs8 = Zeroizing::new(der);
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .map_err(|_| "the stored DPoP key is not a P-256 key".to_owned())?;
        // An uncompressed point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err("the stored DPoP key has an unexpected public key".into());
        }
        let jwk = serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..]),
        });
        Ok(Self(Arc::new(KeyInner { pkcs8, pair, jwk })))
    }

    /// The RFC 7638 thumbprint of the public key (what a bound token's
    /// `cnf.jkt` names).
    pub(crate) fn thumbprint(&self) -> String {
        let jwk = &self.0.jwk;
        // Required members only, in lexicographic order, no spaces.
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default()
        );
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof for one request (RFC 9449 §4.2): a fresh `jti`, the method
    /// and the URL without query or fragment, `ath` when an access token
    /// goes with it, and the server's nonce when it asked for one.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = serde_json::json!({
            "jti": B64.encode(rand::random::<[u8; 16]>()),
            "htm": method,
            "htu": htu.as_str(),
            "iat": super::store::now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = B64.encode(Sha256::digest(token.as_bytes())).into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        let header = serde_json::json!({ "typ": "dpop+jwt", "alg": ALGORITHM, "jwk": self.0.jwk });
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        // ECDSA over P-256 with the system's random source cannot fail.
        let signature = self
            .0
            .pair
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map(|s| B64.encode(s.as_ref()))
            .unwrap_or_default();
        format!("{signing_input}.{signature}")
    }
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DpopKey({})", self.thumbprint())
    }
}

impl Serialize for DpopKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Zeroizing::new(B64.encode(self.0.pkcs8.as_slice())))
    }
}

impl<'de> Deserialize<'de> for DpopKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        let der = B64
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("the stored DPoP key is not base64url"))?;
        Self::from_pkcs8(der).map_err(serde::de::Error::custom)
    }
}

/// The nonces servers handed out, by origin: each is sent in the proofs to
/// that origin until it hands out another.
#[derive(Clone, Default)]
pub(crate) struct Nonces(Arc<Mutex<HashMap<String, String>>>);

impl Nonces {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nonce to send to `url`'s origin.
    pub(crate) fn for_url(&self, url: &Url) -> Option<String> {
        self.map().get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the nonce a response from `url` carries; whether it was new.
    pub(crate) fn learn(&self, url: &Url, headers: &http::HeaderMap) -> bool {
        let Some(nonce) = headers
            .get(DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| is_nonce(n))
        else {
            return false;
        };
        let previous = self
            .map()
            .insert(url.origin().ascii_serialization(), nonce.to_owned());
        previous.as_deref() != Some(nonce)
    }
}

impl Nonces {
    /// Keeps the nonce a response from `url` carries, and tells whether
    /// the newest nonce known is not the one the request was `sent` with:
    /// a refusal for want of a nonce is then worth sending again (another
    /// request may have learnt the new nonce first).
    pub(crate) fn learn_newer(
        &self,
        url: &Url,
        headers: &http::HeaderMap,
        sent: Option<&str>,
    ) -> bool {
        self.learn(url, headers);
        self.for_url(url)
            .is_some_and(|newest| Some(newest.as_str()) != sent)
    }
}

/// RFC 9449 §8.1: `1*NQCHAR` (printable ASCII without `"` and `\`), kept
/// to a sane length.
fn is_nonce(value: &str) -> bool {
    (1..=1024).contains(&value.len())
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// Whether a token endpoint's error answer asks for a nonce (§8: 400 with
/// `error` `use_dpop_nonce`).
pub(crate) fn token_endpoint_wants_nonce(status: u16, body: &[u8]) -> bool {
    (400..500).contains(&status)
        && serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .is_some_and(|v| v.get("error").and_then(|e| e.as_str()) == Some(USE_NONCE))
}

/// Whether an MCP server's 401 challenge asks for a nonce (§9:
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"`).
pub(crate) fn resource_wants_nonce(www_authenticate: &str) -> bool {
    super::challenge_error(www_authenticate).as_deref() == Some(USE_NONCE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_is_a_signed_dpop_jwt_naming_the_request_and_binding_the_token() {
        let key = DpopKey::generate().unwrap();
        let url = Url::parse("https://mcp.example.com/mcp?x=1#f").unwrap();
        let proof = key.proof("POST", &url, Some("the-token"), Some("n-1"));
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none(), "no private part");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://mcp.example.com/mcp");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            claims["ath"],
            B64.encode(Sha256::digest(b"the-token")).as_str()
        );
        let now = crate::oauth::store::now();
        assert!(claims["iat"].as_u64().unwrap().abs_diff(now) < 5);

        // The signature verifies with the embedded public key.
        let jwk = &header["jwk"];
        let mut point = vec![4u8];
        point.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signature = B64.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the proof verifies");

        // Each proof is fresh.
        let again = key.proof("POST", &url, Some("the-token"), Some("n-1"));
        assert_ne!(
            decode(again.split('.').nth(1).unwrap())["jti"],
            claims["jti"]
        );
        // No token, no nonce: neither claim.
        let plain = decode(
            key.proof("GET", &url, None, None)
                .split('.')
                .nth(1)
                .unwrap(),
        );
        assert!(plain.get("ath").is_none() && plain.get("nonce").is_none());
    }

    #[test]
    fn a_key_survives_storage_and_its_debug_form_names_only_the_thumbprint() {
        let key = DpopKey::generate().unwrap();
        let stored = serde_json::to_string(&key).unwrap();
        let back: DpopKey = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.thumbprint(), key.thumbprint());
        assert_eq!(
            format!("{back:?}"),
            format!("DpopKey({})", key.thumbprint())
        );
        assert!(!format!("{back:?}").contains(stored.trim_matches('"')));
        assert!(serde_json::from_str::<DpopKey>("\"bm90IGEga2V5\"").is_err());
    }

    #[test]
    fn the_thumbprint_follows_rfc_7638() {
        // RFC 7638 §3.1 hashes the members in order; checked against an
        // independent computation of the same canonical form.
        let key = DpopKey::generate().unwrap();
        let jwk = &key.0.jwk;
        let canonical = serde_json::json!({
            "crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"],
        });
        // serde_json sorts an object's keys: the canonical order.
        let expected = B64.encode(Sha256::digest(canonical.to_string().as_bytes()));
        assert_eq!(key.thumbprint(), expected);
    }

    #[test]
    fn nonces_are_kept_per_origin_and_only_when_well_formed() {
        let nonces = Nonces::default();
        let a = Url::parse("https://a.example/token").unwrap();
        let a_mcp = Url::parse("https://a.example/mcp").unwrap();
        let b = Url::parse("https://b.example/token").unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert(DPOP_NONCE, "n-1".parse().unwrap());
        assert!(nonces.learn(&a, &headers));
        assert!(!nonces.learn(&a, &headers), "the same nonce is not new");
        assert_eq!(nonces.for_url(&a_mcp).as_deref(), Some("n-1"));
        assert_eq!(nonces.for_url(&b), None);
        headers.insert(DPOP_NONCE, "has \"quote".parse().unwrap());
        assert!(!nonces.learn(&b, &headers));
        assert_eq!(nonces.for_url(&b), None);
    }

    #[test]
    fn nonce_challenges_are_recognized() {
        assert!(token_endpoint_wants_nonce(
            400,
            br#"{"error":"use_dpop_nonce","error_description":"x"}"#
        ));
        assert!(!token_endpoint_wants_nonce(
            400,
            br#"{"error":"invalid_grant"}"#
        ));
        assert!(!token_endpoint_wants_nonce(
            200,
            br#"{"error":"use_dpop_nonce"}"#
        ));
        assert!(resource_wants_nonce(
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
        ));
        assert!(!resource_wants_nonce(
            r#"DPoP resource_metadata="https://x/y""#
        ));
        assert!(!resource_wants_nonce(r#"Bearer error="invalid_token""#));
    }

    #[test]
    fn only_es256_is_taken_for_support() {
        let mut metadata = AuthorizationMetadata::default();
        assert!(!supported(&metadata));
        metadata.additional_fields.insert(
            "dpop_signing_alg_values_supported".into(),
            serde_json::json!(["RS256"]),
        );
        assert!(!supported(&metadata));
        metadata.additional_fields.insert(
            "dpop_signing_alg_values_supported".into(),
            serde_json::json!(["RS256", "ES256"]),
        );
        assert!(supported(&metadata));
        assert!(is_bound_type("DPoP") && is_bound_type("dpop") && !is_bound_type("Bearer"));
    }
}
