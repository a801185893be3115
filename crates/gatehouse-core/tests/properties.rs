//! Property tests of what Gatehouse keeps on disk: any valid set of servers
//! saved through the editor's path loads back exactly; server ids are
//! accepted exactly when they are safe as vault keys, whatever the script
//! they are written in; and any secrets, of any content and size, read back
//! the same from a new `Vault` over the same file.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use gatehouse_core::config::{
    Config, ConfigError, ConfigFile, KeyAlgorithm, OAuthConfig, OAuthGrant, ServerConfig,
    TokenStorage, normalize_id,
};
use gatehouse_core::template::Template;
use gatehouse_core::vault::{MemoryKeyStore, Vault, VaultError};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Each case writes real files; shrinking a failure stays bounded.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Config

fn secret_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// A header value: literal text (any script, no control characters),
/// `${NAME}` references, `$${` escapes and lone dollars, in any mix.
fn header_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[^$\\x00-\\x1f\\x7f]{1,8}",
        secret_name().prop_map(|name| format!("${{{name}}}")),
        Just("$${".to_owned()),
        Just("$ ".to_owned()),
    ];
    prop::collection::vec(piece, 1..5).prop_map(|pieces| pieces.concat())
}

fn headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("X-[A-Za-z0-9-]{1,10}|Authorization", header_value(), 0..4)
        .prop_map(|headers| {
            // Header names ignore case: keep one of each.
            let mut seen = HashSet::new();
            headers
                .into_iter()
                .filter(|(name, _)| seen.insert(name.to_ascii_lowercase()))
                .collect()
        })
}

/// What a pre-registered client presents.
#[derive(Debug, Clone)]
enum Credential {
    None,
    Secret(String),
    Key(String, Option<KeyAlgorithm>),
    File(String),
    /// Enterprise-managed: the identity provider's host, client and secret.
    Idp(String, String, Option<String>),
}

fn credential() -> impl Strategy<Value = Credential> {
    let algorithm = prop_oneof![
        Just(KeyAlgorithm::ES256),
        Just(KeyAlgorithm::ES384),
        Just(KeyAlgorithm::RS256),
        Just(KeyAlgorithm::RS384),
        Just(KeyAlgorithm::RS512),
    ];
    prop_oneof![
        Just(Credential::None),
        secret_name().prop_map(Credential::Secret),
        (secret_name(), prop::option::of(algorithm)).prop_map(|(n, a)| Credential::Key(n, a)),
        "[a-z]{1,8}".prop_map(Credential::File),
        (
            "[a-z]{1,8}",
            "[A-Za-z0-9_.-]{1,24}",
            prop::option::of(secret_name())
        )
            .prop_map(|(host, id, secret)| Credential::Idp(host, id, secret)),
    ]
}

fn oauth() -> impl Strategy<Value = OAuthConfig> {
    (
        any::<bool>(),
        prop_oneof![Just(TokenStorage::Vault), Just(TokenStorage::Memory)],
        prop_oneof![Just(0u16), 1024u16..],
        prop::collection::vec("[!#-\\[\\]-~]{1,12}", 0..3),
        prop::option::of(("[A-Za-z0-9_.-]{1,24}", credential(), any::<bool>())),
        prop::option::of("[a-z]{1,8}"),
        any::<bool>(),
        prop::option::of(10u64..=3600),
    )
        .prop_map(
            |(enabled, token_storage, callback_port, scopes, client, metadata, resource, wait)| {
                let mut oauth = OAuthConfig {
                    enabled,
                    token_storage,
                    callback_port,
                    scopes,
                    client_metadata_url: metadata
                        .map(|name| format!("https://app.example/{name}.json")),
                    send_resource_parameter: resource,
                    authorization_timeout: wait,
                    ..OAuthConfig::default()
                };
                if let Some((id, credential, explicit)) = client {
                    oauth.client_id = Some(id);
                    let grant = match credential {
                        Credential::None => OAuthGrant::AuthorizationCode,
                        Credential::Secret(name) => {
                            oauth.client_secret = Some(format!("${{{name}}}"));
                            OAuthGrant::ClientCredentials
                        }
                        Credential::Key(name, algorithm) => {
                            oauth.client_key = Some(format!("${{{name}}}"));
                            oauth.client_key_algorithm = algorithm;
                            OAuthGrant::ClientCredentials
                        }
                        Credential::File(name) => {
                            oauth.assertion_file = Some(format!("/run/secrets/{name}"));
                            OAuthGrant::JwtBearer
                        }
                        Credential::Idp(host, id, secret) => {
                            oauth.idp_issuer = Some(format!("https://{host}.example/oauth2"));
                            oauth.idp_client_id = Some(id);
                            oauth.idp_client_secret = secret.map(|name| format!("${{{name}}}"));
                            oauth.assertion_file = Some("/run/user/id-token".into());
                            OAuthGrant::EnterpriseManaged
                        }
                    };
                    oauth.grant = explicit.then_some(grant);
                }
                oauth
            },
        )
}

fn server_url() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z][a-z0-9-]{0,10}", "[a-z0-9/_.-]{0,12}")
            .prop_map(|(host, path)| format!("https://{host}.example/{path}")),
        (1u16.., "[a-z0-9/]{0,8}")
            .prop_map(|(port, path)| format!("http://127.0.0.1:{port}/{path}")),
        Just("http://localhost/mcp".to_owned()),
    ]
}

/// A valid server; `id` is filled in later.
fn server() -> impl Strategy<Value = ServerConfig> {
    (
        server_url(),
        any::<bool>(),
        prop::option::of(1u64..=3600),
        headers(),
        prop::option::of(oauth()),
    )
        .prop_map(|(url, enabled, timeout, headers, oauth)| {
            let mut server = ServerConfig::new("", url);
            server.enabled = enabled;
            server.timeout = timeout;
            // Static headers and enabled OAuth exclude each other.
            if oauth.as_ref().is_none_or(|o| !o.enabled) {
                server.headers = headers;
            }
            server.oauth = oauth;
            server
        })
}

fn servers() -> impl Strategy<Value = Vec<ServerConfig>> {
    prop::collection::vec(("[A-Za-z0-9][A-Za-z0-9._-]{0,20}", server()), 1..5).prop_map(|entries| {
        let mut keys = HashSet::new();
        entries
            .into_iter()
            .filter(|(id, _)| keys.insert(normalize_id(id)))
            .map(|(id, mut server)| {
                server.id = id;
                server
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(40))]

    /// Saved through the same path the desktop editor and the CLI use, any
    /// valid servers load back exactly, from the file and from its text.
    #[test]
    fn saved_servers_load_back_as_they_were(servers in servers()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let file = ConfigFile::new(&path);
        for server in &servers {
            prop_assert!(server.validate().is_empty(), "{:?}", server.validate());
            file.add_server(server.clone()).unwrap();
        }
        let loaded = file.load().unwrap();
        prop_assert_eq!(&loaded.servers, &servers);
        for server in &loaded.servers {
            for value in server.headers.values() {
                prop_assert!(Template::parse(value).is_ok(), "{:?}", value);
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        prop_assert_eq!(Config::parse(&text, &path).unwrap(), loaded);

        // Edits keep the others as they were.
        let first = servers[0].id.clone();
        let mut renamed = servers[0].clone();
        renamed.id = format!("{first}-renamed");
        renamed.enabled = !renamed.enabled;
        file.update_server(&first, renamed.clone()).unwrap();
        let mut expected = servers.clone();
        expected[0] = renamed.clone();
        prop_assert_eq!(&file.load().unwrap().servers, &expected);
        file.remove_server(&renamed.id).unwrap();
        prop_assert_eq!(&file.load().unwrap().servers, &expected[1..]);
    }

    /// An id is accepted exactly when it is ASCII letters, digits, `-`, `_`
    /// and `.`, starts with a letter or digit and has at most 64 bytes; the
    /// editor, the file and loading all agree, and a refused id changes
    /// nothing on disk.
    #[test]
    fn ids_are_accepted_exactly_when_safe(
        id in prop_oneof![
            "[A-Za-z0-9][A-Za-z0-9._-]{0,70}",
            "[A-Za-zéüßøЖж中文ğ٣_ .-]{0,12}",
            "\\PC{0,10}",
        ]
    ) {
        let safe = !id.is_empty()
            && id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_alphanumeric())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# mine\n").unwrap();
        let file = ConfigFile::new(&path);
        let server = ServerConfig::new(id.clone(), "https://mcp.example/mcp");

        let editor_ok = Config::default().check_server(&server, None).is_empty();
        prop_assert_eq!(editor_ok, safe);
        match file.add_server(server.clone()) {
            Ok(_) => {
                prop_assert!(safe);
                prop_assert_eq!(&file.load().unwrap().servers, &vec![server]);
            }
            Err(error) => {
                prop_assert!(!safe);
                prop_assert!(
                    error.issues().iter().all(|issue| issue.field == "id"),
                    "{error}"
                );
                prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
            }
        }
        // Written by hand into the file, the verdict is the same.
        let text = format!(
            "[[servers]]\nid = {}\nurl = \"https://mcp.example/mcp\"\n",
            toml_edit::Value::from(id.as_str())
        );
        match Config::parse(&text, &path) {
            Ok(config) => {
                prop_assert!(safe);
                prop_assert_eq!(&config.servers[0].id, &id);
            }
            Err(ConfigError::Invalid { issues, .. }) => {
                prop_assert!(!safe);
                prop_assert!(issues.iter().all(|issue| issue.field == "id"));
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Vault

/// A secret value: anything but empty, NUL and every script included, now
/// and then large.
fn secret_value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(any::<char>(), 1..64).prop_map(String::from_iter),
        1 => Just("\0".to_owned()),
        1 => Just("a\0b\u{1F512}\u{202E}\r\n\t\"\\".to_owned()),
        1 => (any::<char>(), 20_000usize..100_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

/// Set (`Some`) or delete (`None`) a secret.
fn operations() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    let name = prop_oneof![
        4 => "[A-Z][A-Z0-9_]{0,6}",
        1 => "_[a-z0-9_]{0,3}",
        1 => "[A-Za-z_][A-Za-z0-9_]{127}",
    ];
    prop::collection::vec((name, prop::option::weighted(0.8, secret_value())), 1..8)
}

proptest! {
    #![proptest_config(config(24))]

    /// Whatever is stored, a new `Vault` over the same file (as after a
    /// restart, or in another process) reads exactly the same secrets, and
    /// the file shows none of them.
    #[test]
    fn secrets_read_back_the_same_from_a_new_vault(operations in operations()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyStore::default());
        let vault = Vault::new(&path, keys.clone(), None);
        let mut expected = BTreeMap::new();
        for (name, value) in &operations {
            match value {
                Some(value) => {
                    vault.set_secret(name, &SecretString::from(value.as_str())).unwrap();
                    expected.insert(name.clone(), value.clone());
                }
                None => match vault.delete_secret(name) {
                    Ok(()) => prop_assert!(expected.remove(name).is_some()),
                    Err(VaultError::NotFound { .. }) => prop_assert!(!expected.contains_key(name)),
                    Err(other) => prop_assert!(false, "{other}"),
                },
            }
        }

        let reopened = Vault::new(&path, keys, None);
        let names = reopened.secret_names().unwrap();
        prop_assert_eq!(names.iter().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
        let templates: Vec<Template> = names
            .iter()
            .map(|name| Template::parse(&format!("${{{name}}}")).unwrap())
            .collect();
        let values = reopened.resolve(&templates).unwrap();
        for (value, (name, want)) in values.iter().zip(&expected) {
            prop_assert!(value.expose_secret() == want, "{} differs", name);
        }
        if path.exists() {
            let bytes = std::fs::read(&path).unwrap();
            for value in expected.values().filter(|v| v.len() >= 16) {
                prop_assert!(
                    !bytes.windows(16).any(|w| w == &value.as_bytes()[..16]),
                    "a secret is readable in the file"
                );
            }
        }
    }

    /// A name that could not be written as `${NAME}` is refused, and the
    /// vault is left as it was.
    #[test]
    fn unusable_names_are_refused_and_change_nothing(name in "\\PC{0,12}|[0-9][A-Z]{0,3}|[A-Z]{129}") {
        let usable = Template::parse(&format!("${{{name}}}"))
            .is_ok_and(|t| t.references().eq([name.as_str()]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyStore::default());
        let vault = Vault::new(&path, keys.clone(), None);
        vault.set_secret("KEEP", &SecretString::from("kept")).unwrap();
        let before = std::fs::read(&path).unwrap();
        match vault.set_secret(&name, &SecretString::from("value")) {
            Ok(()) => prop_assert!(usable, "{:?} was stored", name),
            Err(VaultError::InvalidName(_)) => {
                prop_assert!(!usable, "{:?} was refused", name);
                prop_assert_eq!(std::fs::read(&path).unwrap(), before);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}
