//! The binary's two commands: `serve` and `demo`.

use std::net::SocketAddr;
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header, encode};
use rand::RngCore;
use serde_json::json;
use tokio::net::TcpListener;

use crate::app::{self, Settings, StartError};
use crate::config::{DemoArgs, ServeArgs};
use crate::service::OrderUpsert;

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(
    settings: Settings,
    host: &str,
    port: u16,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), StartError> {
    let built = app::build(&settings).await?;
    let listener = TcpListener::bind((host, port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, settings = ?settings, "order-chat listening");
    on_ready(addr);
    let service = built.service.clone();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing client connections");
        service.shutdown(Duration::from_secs(10)).await;
    };
    // Connections get a bounded time to finish after the signal.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, built.router, async move {
        shutdown.await;
        let _ = tx.send(());
    }));
    tokio::select! {
        r = server => { r.map_err(|e| StartError::Config(e.to_string()))??; }
        _ = async { let _ = rx.await; tokio::time::sleep(Duration::from_secs(10)).await } => {
            tracing::warn!("connections still open after 10 s: stopping anyway");
        }
    }
    Ok(())
}

pub async fn serve(args: ServeArgs) -> Result<(), StartError> {
    init_logging(&args.log_format);
    let settings = args.settings().map_err(StartError::Config)?;
    run(settings, &args.host, args.port, |addr| {
        println!("order-chat listening on http://{addr}");
    })
    .await
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub const DEMO_ORDER: &str = "demo-order-1";
const DEMO_NUMBER: &str = "B2S-DEMO1";
const DEMO_CUSTOMER: (&str, &str) = ("demo-customer", "Ada Obi");
const DEMO_AGENT: (&str, &str) = ("demo-agent", "Tunde Bello");

/// An access token as the main backend would issue it.
pub fn issue_token(
    secret: &str,
    user_id: &str,
    name: &str,
    user_type: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + ttl.as_secs();
    let claims = json!({
        "user": { "id": user_id },
        "tokenType": "access",
        "name": name,
        "type": user_type,
        "exp": exp,
    });
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// The demo's secrets, kept in its data folder so that the links it printed keep working
/// after a restart (`--fresh` starts over: new secrets, empty database).
fn demo_secrets(dir: &std::path::Path, fresh: bool) -> Result<(String, String), StartError> {
    let path = dir.join("demo-secrets.json");
    if fresh {
        for name in ["demo-secrets.json", "demo.db", "demo.db-wal", "demo.db-shm"] {
            match std::fs::remove_file(dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let (Some(s), Some(k)) = (v["jwtSecret"].as_str(), v["internalKey"].as_str())
    {
        return Ok((s.to_owned(), k.to_owned()));
    }
    std::fs::create_dir_all(dir)?;
    let (secret, key) = (random_hex(32), random_hex(32));
    let text = json!({ "jwtSecret": secret, "internalKey": key }).to_string();
    write_private(&path, &text)?;
    Ok((secret, key))
}

/// Write a file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

pub async fn demo(args: DemoArgs) -> Result<(), StartError> {
    init_logging("text");
    let dir = std::path::Path::new(&args.data_dir);
    let (secret, internal_api_key) = demo_secrets(dir, args.fresh)?;
    let settings = Settings {
        database_url: format!("sqlite://{}/demo.db", args.data_dir.trim_end_matches('/')),
        redis_url: None,
        jwt_access_secret: Some(secret.clone()),
        jwt_admin_access_secret: None,
        jwt_public_key_file: None,
        internal_api_key,
        cors_origins: Vec::new(),
        limits: Default::default(),
        media: Default::default(),
        notify: Default::default(),
    };
    // Seed the demo order through the service, as the main backend would.
    let seeded = app::build(&settings).await?;
    let order = OrderUpsert::parse(
        DEMO_ORDER,
        &json!({
            "orderNumber": DEMO_NUMBER,
            "status": "shopping",
            "customer": { "id": DEMO_CUSTOMER.0, "name": DEMO_CUSTOMER.1 },
            "agents": [{ "id": DEMO_AGENT.0, "name": DEMO_AGENT.1 }],
        }),
    )
    .map_err(|e| StartError::Config(e.to_string()))?;
    seeded
        .service
        .put_order(order)
        .await
        .map_err(|e| StartError::Config(e.to_string()))?;
    drop(seeded);

    let day = Duration::from_secs(24 * 3600);
    let token = |(id, name): (&str, &str), kind: &str| {
        issue_token(&secret, id, name, kind, day).map_err(|e| StartError::Config(e.to_string()))
    };
    let customer_token = token(DEMO_CUSTOMER, "customer")?;
    let agent_token = token(DEMO_AGENT, "agent")?;
    let host = args.host.clone();
    run(settings, &args.host, args.port, move |addr| {
        let shown = if host == "0.0.0.0" || host == "::" {
            format!("127.0.0.1:{}", addr.port())
        } else {
            addr.to_string()
        };
        let link = |user: &str, token: &str| {
            format!("http://{shown}/chat.html?orderId={DEMO_ORDER}&userId={user}&token={token}")
        };
        println!("order-chat demo is running on http://{shown}");
        println!();
        println!("  order     {DEMO_ORDER} ({DEMO_NUMBER}), status shopping");
        println!("  customer  {} ({})", DEMO_CUSTOMER.0, DEMO_CUSTOMER.1);
        println!("  agent     {} ({})", DEMO_AGENT.0, DEMO_AGENT.1);
        println!();
        println!("Open these two links in two browser windows (tokens valid 24 h):");
        println!();
        println!("  customer: {}", link(DEMO_CUSTOMER.0, &customer_token));
        println!();
        println!("  agent:    {}", link(DEMO_AGENT.0, &agent_token));
        println!();
        println!("Tokens for API clients:");
        println!("  customer  {customer_token}");
        println!("  agent     {agent_token}");
        println!();
        println!("Press Ctrl-C to stop.");
    })
    .await
}
