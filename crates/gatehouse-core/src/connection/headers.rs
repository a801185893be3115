//! A server's configured headers with their `${NAME}` vault references
//! filled in, and the redaction that keeps those secrets out of whatever
//! the server says back (an error that echoes the request's headers).

use std::collections::HashMap;

use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::failure::Failure;
use crate::config::{AuthMode, ServerConfig};
use crate::events::ErrorKind;
use crate::template::Template;
use crate::vault::{ResolveError, Vault};

/// The configured headers with `${NAME}` references resolved (none for
/// servers that do not authenticate with headers). The secret values read
/// go to `secrets` as soon as they are known, so that they are cut out of
/// what the server says even when a header then turns out invalid.
pub(crate) async fn resolve(
    config: &ServerConfig,
    vault: &Vault,
    secrets_read: &mut Option<Vec<SecretString>>,
) -> Result<HashMap<HeaderName, HeaderValue>, Failure> {
    if config.auth_mode() != AuthMode::Headers {
        return Ok(HashMap::new());
    }
    let names: Vec<String> = config.headers.keys().cloned().collect();
    let templates: Vec<Template> = config
        .headers
        .values()
        .map(|v| Template::parse(v))
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::fatal(ErrorKind::Protocol, format!("invalid header: {e}")))?;
    // Each referenced secret once, from one read of the vault; the
    // values are kept to cut them out of what the server says back (an
    // error that echoes the request's headers).
    let mut secret_names: Vec<String> = templates
        .iter()
        .flat_map(|t| t.references().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    secret_names.sort();
    secret_names.dedup();
    let singles: Vec<Template> = secret_names
        .iter()
        .filter_map(|name| Template::parse(&format!("${{{name}}}")).ok())
        .collect();
    let vault = vault.clone();
    let secrets = match tokio::task::spawn_blocking(move || vault.resolve(singles.iter()))
        .await
        .map_err(|e| Failure::fatal(ErrorKind::Vault, e.to_string()))?
    {
        Ok(secrets) => secrets,
        Err(ResolveError::Missing(missing)) => {
            return Err(Failure::fatal(
                ErrorKind::MissingSecret,
                missing.to_string(),
            ));
        }
        Err(ResolveError::Vault(e)) => {
            return Err(Failure::fatal(ErrorKind::Vault, e.to_string()));
        }
    };
    let by_name: HashMap<&str, &SecretString> = secret_names
        .iter()
        .map(String::as_str)
        .zip(secrets.iter())
        .collect();
    let values = templates
        .iter()
        .map(|t| t.resolve(|name| by_name.get(name).copied()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|missing| Failure::fatal(ErrorKind::MissingSecret, missing.to_string()))?;
    drop(by_name);
    *secrets_read = Some(secrets);
    let mut headers = HashMap::with_capacity(names.len());
    for (name, value) in names.into_iter().zip(values) {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Failure::fatal(ErrorKind::Protocol, format!("invalid header name {name:?}"))
        })?;
        let mut header_value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                Failure::fatal(
                    ErrorKind::Protocol,
                    format!(
                        "header {name:?} has a character not allowed in a header after its secrets were filled in"
                    ),
                )
            })?;
        header_value.set_sensitive(true);
        headers.insert(header_name, header_value);
    }
    Ok(headers)
}

/// `text` with each of `secrets` replaced by `[secret]`.
pub(crate) fn without_secrets(mut text: String, secrets: &[SecretString]) -> String {
    for secret in secrets {
        let value = secret.expose_secret();
        // Very short values would blank out ordinary words.
        if value.len() >= 4 && text.contains(value) {
            text = text.replace(value, "[secret]");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_a_server_echoes_are_cut_out() {
        let secrets = [
            SecretString::from("sk-live-123456"),
            SecretString::from("ab"),
        ];
        assert_eq!(
            without_secrets(
                "bad header Authorization: Bearer sk-live-123456 (ab)".into(),
                &secrets
            ),
            "bad header Authorization: Bearer [secret] (ab)"
        );
    }
}
