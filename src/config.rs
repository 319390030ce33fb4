//! Command line and environment: `order-chat serve` and `order-chat demo`.

use clap::{Args, Parser, Subcommand};

use crate::app::{MediaConfig, NotifyConfig, Settings};
use crate::service::{Limits, MediaSettings};

#[derive(Debug, Parser)]
#[command(
    name = "order-chat",
    version,
    about = "Real-time chat between a customer and the shopping agents of an order (Socket.IO + REST)",
    long_about = "Real-time chat between a customer and the shopping agents of an order.\n\n\
        Socket.IO v4 clients connect on /socket.io/, the REST API is under /api/v0/chat, the main \
        backend feeds orders and users through /api/v0/internal. Every option can be given as a \
        flag or as the environment variable named beside it; prefer the environment for secrets."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server.
    Serve(Box<ServeArgs>),
    /// Run the server on an SQLite file with a demo order, and print a chat link for its
    /// customer and for its agent.
    Demo(DemoArgs),
    /// Copy the embedded (SQLite) database into FILE while the server keeps running; the copy
    /// is consistent and holds every message acknowledged before it began. Restore: stop the
    /// server, put the copy in place of the database file (removing its -wal and -shm files),
    /// start the server.
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist yet).
    pub file: std::path::PathBuf,
    /// The database to copy.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/order-chat.db"
    )]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0 picks a free one; the bound address is printed).
    #[arg(long, env = "PORT", default_value_t = 8090)]
    pub port: u16,
    /// Database: `sqlite://path/to/file.db` (embedded, the default) or
    /// `postgres://user:password@host/db` (production, several nodes).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/order-chat.db"
    )]
    pub database_url: String,
    /// Redis for several nodes sharing rooms, e.g. `redis://127.0.0.1:6379/?protocol=resp3`
    /// (Redis 7+, RESP3). Unset: a single node.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Shared secret of the main backend's access tokens (HS256). Required unless
    /// --jwt-public-key-file is given.
    #[arg(long, env = "JWT_ACCESS_SECRET", hide_env_values = true)]
    pub jwt_access_secret: Option<String>,
    /// Secret of admin tokens (`tokenType: "admin"`, HS256). Unset: admin tokens are refused.
    #[arg(long, env = "JWT_ADMIN_ACCESS_SECRET", hide_env_values = true)]
    pub jwt_admin_access_secret: Option<String>,
    /// PEM public key (RSA → RS256, EC P-256 → ES256, Ed25519 → EdDSA) that verifies access
    /// tokens instead of the shared secret.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<String>,
    /// Key the main backend presents (`Authorization: Bearer …`) on the internal API. Required.
    #[arg(long, env = "INTERNAL_API_KEY", hide_env_values = true)]
    pub internal_api_key: Option<String>,
    /// Comma-separated browser origins allowed to call the API and Socket.IO from another
    /// origin, e.g. `https://app.example.com`. Empty: same origin only. Wildcards are refused.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Log format: `text` or `json`. Levels come from RUST_LOG (default `info`).
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub media: MediaArgs,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// Notifications (§14): webhooks to the main backend and Web Push to browsers.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// How long a message waits, unread by a participant who is not in the chat, before that
    /// participant is notified (later ones are folded in), e.g. `30s`, `0s`.
    #[arg(long, env = "NOTIFY_DELAY", default_value = "30s", value_parser = humantime::parse_duration)]
    pub notify_delay: std::time::Duration,
    /// The main backend's endpoint for signed webhook events (`notification.due`,
    /// `message.created`, …). Unset: no webhooks.
    #[arg(long, env = "WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The Standard Webhooks secret, `whsec_` + base64 (required with WEBHOOK_URL).
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// The VAPID private key (raw P-256, base64url). Unset: one is generated once and stored
    /// in the database, shared by every node.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<String>,
    /// The VAPID contact (`mailto:` or `https:`) push services may write to.
    #[arg(
        long,
        env = "VAPID_SUBJECT",
        default_value = "mailto:order-chat@localhost"
    )]
    pub vapid_subject: String,
    /// Push services a browser subscription may point at: host names, `*.suffix`, IP addresses.
    #[arg(long, env = "PUSH_ENDPOINT_HOSTS", default_value = crate::outbound::DEFAULT_PUSH_HOSTS)]
    pub push_endpoint_hosts: String,
}

impl NotifyArgs {
    pub fn config(&self) -> Result<NotifyConfig, String> {
        let webhook_url = self.webhook_url.clone().filter(|u| !u.is_empty());
        let webhook_secret = self.webhook_secret.clone().filter(|u| !u.is_empty());
        if let Some(url) = &webhook_url {
            let secret = webhook_secret
                .as_deref()
                .ok_or("WEBHOOK_SECRET is required with WEBHOOK_URL")?;
            crate::outbound::Webhook::new(url, secret)?;
        }
        crate::outbound::PushHosts::parse(&self.push_endpoint_hosts)?;
        let vapid_private_key = self.vapid_private_key.clone().filter(|k| !k.is_empty());
        if let Some(k) = &vapid_private_key {
            crate::outbound::Vapid::from_private_key(k, &self.vapid_subject)?;
        }
        Ok(NotifyConfig {
            delay: self.notify_delay,
            webhook_url,
            webhook_secret,
            vapid_private_key,
            vapid_subject: self.vapid_subject.clone(),
            push_hosts: self.push_endpoint_hosts.clone(),
        })
    }
}

/// Attachments (§12).
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Where attachment files live: `file:///path/to/folder`, or `s3://bucket/prefix` for
    /// several nodes (endpoint, region and keys from AWS_ENDPOINT, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP, or the URL's query:
    /// `?endpoint=…&region=…&allow_http=true`). Unset: a `files` folder beside the SQLite file.
    #[arg(long, env = "STORAGE_URL")]
    pub storage_url: Option<String>,
    /// The largest file an upload may carry, in bytes; over it: 413 PAYLOAD_TOO_LARGE.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = crate::service::DEFAULT_MAX_UPLOAD_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024 * 1024 * 1024))]
    pub max_upload_bytes: usize,
    /// The public address attachment links start with, e.g. `https://chat.example.com`
    /// (for apps on another origin). Unset: links are root-relative paths.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How long an upload waits for a message before it is removed.
    #[arg(long, env = "UNATTACHED_UPLOAD_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub unattached_upload_ttl: std::time::Duration,
    /// How often the attachment sweep runs (on one node of a cluster at a time).
    #[arg(long, env = "ATTACHMENT_SWEEP_EVERY", default_value = "10m", value_parser = humantime::parse_duration)]
    pub attachment_sweep_every: std::time::Duration,
}

impl MediaArgs {
    pub fn config(&self) -> Result<MediaConfig, String> {
        let storage_url = self.storage_url.clone().filter(|u| !u.is_empty());
        if let Some(u) = &storage_url
            && !(u.starts_with("file://") || u.starts_with("s3://"))
        {
            return Err("STORAGE_URL must start with file:// or s3://".into());
        }
        if self.attachment_sweep_every.is_zero() {
            return Err("ATTACHMENT_SWEEP_EVERY must be more than 0".into());
        }
        Ok(MediaConfig {
            storage_url,
            public_url: self.public_url.clone().filter(|u| !u.is_empty()),
            settings: MediaSettings {
                max_upload_bytes: self.max_upload_bytes,
                unattached_ttl: self.unattached_upload_ttl,
                sweep_every: self.attachment_sweep_every,
                ..MediaSettings::default()
            },
        })
    }
}

/// Per-user abuse limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Messages one user may send per second (socket and REST together); over it: RATE_LIMITED
    /// with a retry hint.
    #[arg(long, env = "MESSAGES_PER_SECOND", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub messages_per_second: u32,
    /// Messages one user may send at once before the per-second rate applies.
    #[arg(long, env = "MESSAGE_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,
    /// Typing events broadcast per user and order per second; more are dropped.
    #[arg(long, env = "TYPING_PER_SECOND", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub typing_per_second: u32,
    /// Live Socket.IO connections one user may hold on one node (tabs, devices).
    #[arg(long, env = "MAX_SOCKETS_PER_USER", default_value_t = 20)]
    pub max_sockets_per_user: usize,
    /// Order chats one connection may have joined at once.
    #[arg(long, env = "MAX_ROOMS_PER_SOCKET", default_value_t = 50)]
    pub max_rooms_per_socket: usize,
    /// How long after sending its sender may edit a message, e.g. `15m`, `1h`, `0s` (never).
    #[arg(long, env = "EDIT_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    pub edit_window: std::time::Duration,
    /// How long after sending its sender may delete a message (admins always may), e.g. `24h`.
    #[arg(long, env = "DELETE_WINDOW", default_value = "24h", value_parser = humantime::parse_duration)]
    pub delete_window: std::time::Duration,
    /// How long a user may have no socket in an order's chat before `user-left` is announced
    /// (a reload or a short network drop announces nothing), e.g. `10s`, `0s`.
    #[arg(long, env = "PRESENCE_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub presence_grace: std::time::Duration,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            messages_per_second: self.messages_per_second,
            message_burst: self.message_burst,
            typing_per_second: self.typing_per_second,
            sockets_per_user: self.max_sockets_per_user,
            rooms_per_socket: self.max_rooms_per_socket,
            edit_window: self.edit_window,
            delete_window: self.delete_window,
            presence_grace: self.presence_grace,
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8090)]
    pub port: u16,
    /// Folder for the demo's SQLite file and its secrets (kept across restarts, so the links
    /// it printed keep working).
    #[arg(long, default_value = "data")]
    pub data_dir: String,
    /// Start over: new secrets (old links stop working) and an empty database.
    #[arg(long)]
    pub fresh: bool,
}

impl ServeArgs {
    /// Check the settings; the error is one line naming what is missing or wrong.
    pub fn settings(&self) -> Result<Settings, String> {
        if self
            .jwt_access_secret
            .as_deref()
            .is_none_or(|s| s.is_empty())
            && self.jwt_public_key_file.is_none()
        {
            return Err("JWT_ACCESS_SECRET is required (or JWT_PUBLIC_KEY_FILE)".into());
        }
        let internal_api_key = match self.internal_api_key.as_deref() {
            Some(k) if !k.trim().is_empty() => k.trim().to_owned(),
            _ => return Err("INTERNAL_API_KEY is required".into()),
        };
        let cors_origins: Vec<String> = self
            .cors_origins
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if let Some(bad) = cors_origins.iter().find(|o| o.contains('*')) {
            return Err(format!(
                "CORS_ORIGINS must list exact origins; wildcards are refused ({bad})"
            ));
        }
        Ok(Settings {
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone().filter(|u| !u.is_empty()),
            jwt_access_secret: self.jwt_access_secret.clone().filter(|s| !s.is_empty()),
            jwt_admin_access_secret: self
                .jwt_admin_access_secret
                .clone()
                .filter(|s| !s.is_empty()),
            jwt_public_key_file: self.jwt_public_key_file.clone().filter(|s| !s.is_empty()),
            internal_api_key,
            cors_origins,
            limits: self.limits.limits(),
            media: self.media.config()?,
            notify: self.notify.config()?,
        })
    }
}
