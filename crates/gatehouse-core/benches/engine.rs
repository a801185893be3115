//! Gatehouse's hot paths, measured: `cargo bench -p gatehouse-core`.
//!
//! A bench binary rather than criterion: most of what matters here is
//! wall-clock time across real sockets (connecting twenty servers, a full
//! OAuth authorization, a restart with stored tokens), each repeated and
//! reported as median and 95th percentile. The figures go into the README's
//! performance section.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::Engine;
use gatehouse_core::config::{Config, OAuthConfig, ServerConfig};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::paths::Paths;
use gatehouse_core::template::Template;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_core::{ConsentSink, Error};
use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};
use secrecy::SecretString;

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[(samples.len() * 95 / 100).min(samples.len() - 1)];
    println!(
        "| {name} | {} | {} | {} |",
        samples.len(),
        show(median),
        show(p95)
    );
}

fn show(d: Duration) -> String {
    if d < Duration::from_micros(1000) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect()
}

fn big_config() -> String {
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "[[servers]]\nid = \"server-{i}\"\nurl = \"https://mcp{i}.example.com/mcp\"\ntimeout = 20\nheaders = {{ Authorization = \"Bearer ${{TOKEN_{i}}}\", X-Tenant = \"acme\" }}\n\n"
        ));
    }
    text
}

struct Approve;

#[async_trait::async_trait]
impl ConsentSink for Approve {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        let callback = gatehouse_fixture::follow_consent(url).await?;
        reqwest::get(&callback).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

async fn wait_connected(engine: &Engine, id: &str) {
    loop {
        if let Some(ServerStatus::Connected { .. }) = engine.status(id) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn engine_at(dir: &std::path::Path, keys: &Arc<MemoryKeyStore>) -> Engine {
    let paths = Paths::new(dir.join("config.toml"), dir.join("data"));
    let vault = Vault::new(paths.vault_file(), keys.clone(), None);
    Engine::with_vault(paths, vault).unwrap()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    println!("| operation | runs | median | p95 |");
    println!("|---|---|---|---|");

    let text = big_config();
    report(
        "parse and validate a 200-server config",
        time(50, || {
            Config::parse(&text, std::path::Path::new("c.toml")).unwrap()
        }),
    );

    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeyStore::default());
    let vault = Vault::new(dir.path().join("vault.age"), keys.clone(), None);
    for i in 0..100 {
        vault
            .set_secret(
                &format!("TOKEN_{i}"),
                &SecretString::from(format!("value-{i}")),
            )
            .unwrap();
    }
    report(
        "store a secret (encrypt, fsync, rename; 100 in the vault)",
        time(30, || {
            vault
                .set_secret("TOKEN_0", &SecretString::from("new"))
                .unwrap()
        }),
    );
    report(
        "open the vault cold and read it (100 secrets)",
        time(30, || {
            Vault::new(dir.path().join("vault.age"), keys.clone(), None)
                .secret_names()
                .unwrap()
        }),
    );
    let templates: Vec<Template> = (0..10)
        .map(|i| Template::parse(&format!("Bearer ${{TOKEN_{i}}}")).unwrap())
        .collect();
    report(
        "resolve 10 header values from the vault",
        time(200, || vault.resolve(templates.iter()).unwrap()),
    );

    // Twenty real servers on loopback, all connected from a cold start.
    let mut fixtures = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MemoryKeyStore::default());
    let engine = engine_at(dir.path(), &keys);
    for i in 0..20 {
        let fixture = McpFixture::start(McpOptions {
            access: Access::Bearer(format!("t{i}")),
            ..McpOptions::default()
        })
        .await
        .unwrap();
        engine
            .set_secret(&format!("T{i}"), &SecretString::from(format!("t{i}")))
            .await?;
        let mut server = ServerConfig::new(format!("s{i}"), fixture.url());
        server
            .headers
            .insert("Authorization".into(), format!("Bearer ${{T{i}}}"));
        engine.add_server(server).await?;
        fixtures.push(fixture);
    }
    engine.shutdown().await;
    let mut samples = Vec::new();
    for _ in 0..10 {
        let engine = engine_at(dir.path(), &keys);
        let start = Instant::now();
        engine.start();
        for i in 0..20 {
            wait_connected(&engine, &format!("s{i}")).await;
        }
        samples.push(start.elapsed());
        engine.shutdown().await;
    }
    report(
        "start and connect 20 header servers (initialize + tools/list each)",
        samples,
    );

    // OAuth: a full browser flow, and a restart with stored tokens.
    let fixture = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    let mut flows = Vec::new();
    let mut restarts = Vec::new();
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(MemoryKeyStore::default());
        let engine = engine_at(dir.path(), &keys);
        let mut server = ServerConfig::new("demo", fixture.url());
        server.oauth = Some(OAuthConfig::default());
        engine.add_server(server).await?;
        while !matches!(
            engine.status("demo"),
            Some(ServerStatus::NeedsAuthorization { .. })
        ) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let start = Instant::now();
        engine.authorize("demo", Arc::new(Approve)).await?;
        wait_connected(&engine, "demo").await;
        flows.push(start.elapsed());
        engine.shutdown().await;

        let restarted = engine_at(dir.path(), &keys);
        let start = Instant::now();
        restarted.start();
        wait_connected(&restarted, "demo").await;
        restarts.push(start.elapsed());
        restarted.shutdown().await;
    }
    report(
        "OAuth: discovery, registration, consent, exchange, connect",
        flows,
    );
    report("OAuth: restart to connected with stored tokens", restarts);
    Ok(())
}
