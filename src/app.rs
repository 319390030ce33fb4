//! Assembling the server: storage, the chat service, Socket.IO (one node or Redis), HTTP.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use socketioxide::SocketIo;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

use crate::cluster::{Breaker, ResilientRedisDriver};
use tokio::net::TcpListener;

use crate::auth::{KeyError, Verifier};
use crate::http::{self, AppState, ops::RedisCheck};
use crate::metrics::Metrics;
use crate::presence::{LocalLedger, PresenceLedger, RedisLedger};
use crate::rates::{RedisRate, SharedRate};
use crate::service::{ChatService, Limits, Links, Media, MediaSettings};
use crate::socket;
use crate::socket::realtime::SocketRealtime;
use crate::store::{self, StoreError};
use crate::versions::{LocalVersions, OrderVersions, RedisVersions};

/// Everything the server needs to start; built from flags and environment by `config`.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub jwt_access_secret: Option<String>,
    pub jwt_admin_access_secret: Option<String>,
    pub jwt_public_key_file: Option<String>,
    pub internal_api_key: String,
    pub cors_origins: Vec<String>,
    pub limits: Limits,
    pub media: MediaConfig,
    pub notify: NotifyConfig,
}

/// Notifications (§14).
#[derive(Clone)]
pub struct NotifyConfig {
    pub delay: Duration,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// Unset: generated once and stored in the database.
    pub vapid_private_key: Option<String>,
    pub vapid_subject: String,
    pub push_hosts: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(30),
            webhook_url: None,
            webhook_secret: None,
            vapid_private_key: None,
            vapid_subject: "mailto:order-chat@localhost".into(),
            push_hosts: crate::outbound::DEFAULT_PUSH_HOSTS.into(),
        }
    }
}

/// The webhook, the VAPID key (the configured one, or the one stored in the database, made by
/// the first node that needed it) and the push allow-list.
async fn outbound(
    c: &NotifyConfig,
    store: &dyn store::Store,
) -> Result<crate::outbound::Outbound, StartError> {
    use crate::outbound::{Outbound, PushHosts, Vapid, Webhook};
    let webhook = match (&c.webhook_url, &c.webhook_secret) {
        (Some(url), Some(secret)) => Some(Webhook::new(url, secret).map_err(StartError::Config)?),
        (Some(_), None) => {
            return Err(StartError::Config(
                "WEBHOOK_SECRET is required with WEBHOOK_URL".into(),
            ));
        }
        _ => None,
    };
    let key = match &c.vapid_private_key {
        Some(k) => k.clone(),
        None => {
            store
                .setting_or_insert("vapid_private_key", &Vapid::generate())
                .await?
        }
    };
    let vapid = Vapid::from_private_key(&key, &c.vapid_subject).map_err(StartError::Config)?;
    let hosts = PushHosts::parse(&c.push_hosts).map_err(StartError::Config)?;
    Outbound::new(webhook, vapid, hosts).map_err(StartError::Config)
}

/// Where attachments go and how they are linked (§12).
#[derive(Debug, Clone, Default)]
pub struct MediaConfig {
    /// `file:///folder` or `s3://bucket/prefix`; unset: a `files` folder beside the SQLite
    /// file (or `./data/files`).
    pub storage_url: Option<String>,
    /// Prefix of attachment links (e.g. `https://chat.example.com`); unset: root-relative.
    pub public_url: Option<String>,
    pub settings: MediaSettings,
}

/// The default `STORAGE_URL`: a folder beside the SQLite file.
pub fn default_storage_url(database_url: &str) -> String {
    let dir = database_url
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p))
        .and_then(|p| std::path::Path::new(p).parent())
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "data".into());
    format!("file://{dir}/files")
}

impl std::fmt::Debug for Settings {
    // Secrets stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("jwt_public_key_file", &self.jwt_public_key_file)
            .field("cors_origins", &self.cors_origins)
            .field(
                "storage_url",
                &self.media.storage_url.as_deref().map(redact_url),
            )
            .finish_non_exhaustive()
    }
}

/// A URL with its password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot open the database: {}", crate::error::error_chain(.0))]
    Store(#[from] StoreError),
    #[error("cannot connect to Redis at {url}: {reason}")]
    Redis { url: String, reason: String },
    #[error("cannot open the attachment storage: {}", crate::error::error_chain(.0))]
    Blobs(#[from] crate::blobs::BlobError),
    #[error("cannot bind: {0}")]
    Bind(#[from] std::io::Error),
}

/// A built server: its router and the service (tests and `demo` use the service directly).
pub struct Built {
    pub router: Router,
    pub service: Arc<ChatService>,
}

fn verifier(s: &Settings) -> Result<Verifier, StartError> {
    let admin = s.jwt_admin_access_secret.as_deref().map(str::as_bytes);
    match (&s.jwt_public_key_file, &s.jwt_access_secret) {
        (Some(path), _) => Ok(Verifier::public_key(path, admin)?),
        (None, Some(secret)) => Ok(Verifier::hmac(secret.as_bytes(), admin)),
        (None, None) => Err(StartError::Config(
            "JWT_ACCESS_SECRET is required (or JWT_PUBLIC_KEY_FILE)".into(),
        )),
    }
}

struct RedisPing(redis::Client);

#[async_trait::async_trait]
impl RedisCheck for RedisPing {
    async fn ping(&self) -> Result<(), String> {
        let fut = async {
            let mut conn = self.0.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(Duration::from_secs(2), fut).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }
}

/// Socket.IO settings shared by both adapters.
fn socket_builder() -> socketioxide::SocketIoBuilder {
    SocketIo::builder()
        .max_payload(http::MAX_BODY_BYTES as u64)
        // The same limit over WebSocket (its own defaults are 64 MB / 16 MB).
        .ws_max_message_size(http::MAX_BODY_BYTES)
        .ws_max_frame_size(http::MAX_BODY_BYTES)
        // Chat frames are small: a 1 KB read buffer per connection instead of 4 KB (it grows
        // for a bigger frame when one comes).
        .ws_read_buffer_size(1024)
        .connect_timeout(Duration::from_secs(10))
}

pub async fn build(settings: &Settings) -> Result<Built, StartError> {
    let verifier = verifier(settings)?;
    if settings.internal_api_key.trim().is_empty() {
        return Err(StartError::Config("INTERNAL_API_KEY is required".into()));
    }
    if let Some(path) = settings.database_url.strip_prefix("sqlite://")
        && let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let store = store::connect(&settings.database_url).await?;
    let storage_url = settings
        .media
        .storage_url
        .clone()
        .unwrap_or_else(|| default_storage_url(&settings.database_url));
    let blobs = crate::blobs::open(&storage_url)?;
    tracing::debug!(storage = %blobs.describe(), "attachment storage");
    let links = Links::new(
        settings.internal_api_key.as_bytes(),
        settings.media.public_url.as_deref(),
    );
    let media = Media::new(blobs, links, settings.media.settings.clone());
    let outbound = Arc::new(outbound(&settings.notify, store.as_ref()).await?);

    let mut parts = Parts {
        store,
        media,
        outbound,
        verifier,
        metrics: Arc::new(Metrics::default()),
        settings,
        versions: Arc::new(LocalVersions::default()),
        shared_rate: None,
    };
    let (router, service) = match &settings.redis_url {
        None => {
            let ledger = Box::new(LocalLedger::default());
            let register = |io: &SocketIo<_>| {
                io.ns("/", socket::handler());
                async { Ok(()) }
            };
            assemble(parts, socket_builder(), ledger, None, register).await?
        }
        Some(url) => {
            let redis_err = |reason: String| StartError::Redis {
                url: redact_url(url),
                reason,
            };
            let client = redis::Client::open(url.as_str()).map_err(|e| redis_err(e.to_string()))?;
            let breaker = Arc::new(Breaker::default());
            let driver = ResilientRedisDriver::connect(client.clone(), breaker.clone())
                .await
                .map_err(|e| redis_err(e.to_string()))?;
            let ctr = RedisAdapterCtr::new_with_driver(
                driver,
                RedisAdapterConfig::new().with_request_timeout(Duration::from_secs(2)),
            );
            let ledger = RedisLedger::connect(client.clone(), breaker.clone())
                .await
                .map_err(|e| redis_err(e.to_string()))?;
            // The order counter and the shared limits have their own breaker: a failure of
            // theirs must not make the adapter's broadcasts fail (and the other way round).
            let records = Arc::new(Breaker::default());
            parts.versions = Arc::new(
                RedisVersions::connect(client.clone(), records.clone())
                    .await
                    .map_err(|e| redis_err(e.to_string()))?,
            );
            parts.shared_rate = Some(Arc::new(
                RedisRate::connect(client.clone(), records)
                    .await
                    .map_err(|e| redis_err(e.to_string()))?,
            ));
            let builder = socket_builder().with_adapter::<RedisAdapter>(ctr);
            let check: Arc<dyn RedisCheck> = Arc::new(RedisPing(client));
            // With a remote adapter the namespace is ready once it has subscribed to Redis.
            let register = |io: &SocketIo<RedisAdapter>| {
                let subscribed = io.ns("/", socket::handler());
                async { subscribed.await.map_err(|e| redis_err(e.to_string())) }
            };
            assemble(parts, builder, Box::new(ledger), Some(check), register).await?
        }
    };
    Ok(Built {
        router: http::finish(router, &settings.cors_origins),
        service,
    })
}

type RedisAdapter = CustomRedisAdapter<socketioxide::adapter::Emitter, ResilientRedisDriver>;

/// What both assemblies share: the store, the token verifier, the metrics, the settings.
struct Parts<'a> {
    store: Arc<dyn store::Store>,
    media: Media,
    outbound: Arc<crate::outbound::Outbound>,
    verifier: Verifier,
    metrics: Arc<Metrics>,
    settings: &'a Settings,
    versions: Arc<dyn OrderVersions>,
    shared_rate: Option<Arc<dyn SharedRate>>,
}

/// The service over Socket.IO with adapter `A` (local, or Redis for a cluster), and the HTTP
/// router around it. `register` adds the `/` namespace (`io.ns`, which has a different result
/// type per adapter: nothing on the local one, a future on Redis).
async fn assemble<A, F, Fut>(
    parts: Parts<'_>,
    builder: socketioxide::SocketIoBuilder<A>,
    ledger: Box<dyn PresenceLedger>,
    redis_check: Option<Arc<dyn RedisCheck>>,
    register: F,
) -> Result<(Router, Arc<ChatService>), StartError>
where
    A: socketioxide::adapter::Adapter,
    F: FnOnce(&SocketIo<A>) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let realtime = Arc::new(SocketRealtime::<A>::new(ledger));
    let mut service = ChatService::new(
        parts.store,
        realtime.clone(),
        parts.verifier,
        parts.metrics,
        parts.settings.limits.clone(),
    )
    .with_versions(parts.versions)
    .with_media(parts.media)
    .with_notifications(parts.outbound, parts.settings.notify.delay);
    if let Some(rate) = parts.shared_rate {
        service = service.with_shared_rate(rate);
    }
    let service = Arc::new(service);
    // The attachment sweep, under a lease so that one node of a cluster runs it at a time.
    let holder = uuid::Uuid::new_v4().to_string();
    service.spawn_sweeper(holder.clone());
    // Notifications: deciding under a lease (one node at a time), delivering on every node.
    service.spawn_notifier(holder);
    let (layer, io) = builder.with_state(service.clone()).build_layer();
    register(&io).await?;
    realtime.attach(io);
    let state = AppState {
        service: service.clone(),
        internal_api_key: parts.settings.internal_api_key.clone().into(),
        redis_check,
    };
    let router = http::router(state)
        .layer(layer)
        .layer(axum::middleware::map_request(http::own_socket_head));
    Ok((router, service))
}

/// Longest a client may take to send a request's headers (also the idle wait for the next
/// request on a kept-alive connection): thousands of slow half-open requests then cost their
/// sockets for this long, not forever, and real users are served meanwhile.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shutdown waits for open connections (requests in flight, WebSockets) to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Serve until `shutdown` resolves: hyper's HTTP/1 server per connection (with upgrades, for
/// WebSockets), with a header-read timeout that axum's own `serve` does not expose.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small frames (an ack right after an event) must not wait for Nagle's algorithm.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(router.clone());
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        // Reap finished connections now and then, so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drained).await.is_err() {
        tracing::warn!("connections still open after the drain timeout");
    }
    Ok(())
}
