//! Outgoing HTTP of notifications (§14): webhooks to the main backend, signed by the Standard
//! Webhooks scheme, and Web Push to the browsers' push services. Both clients use rustls with
//! the system's roots plus `SSL_CERT_FILE`'s, follow no redirects and time out; the push client
//! resolves names through the allow-list's guard (`hosts`).

use std::sync::Arc;
use std::time::Duration;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use url::Url;

use crate::domain::PushSubscription;

pub mod hosts;
pub mod push;
pub mod vapid;

pub use hosts::{DEFAULT_PUSH_HOSTS, PushHosts};
pub use vapid::Vapid;

/// base64url, padded or not (browsers send it unpadded; some tools pad).
pub(crate) fn b64url() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Each attempt's limit.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT: &str = concat!("order-chat/", env!("CARGO_PKG_VERSION"));

/// The webhook: where, and the Standard Webhooks signer.
pub struct Webhook {
    url: Url,
    signer: standardwebhooks::Webhook,
}

impl Webhook {
    /// `secret` is `whsec_` + base64 of 24–64 random bytes.
    pub fn new(url: &str, secret: &str) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("WEBHOOK_URL is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("WEBHOOK_URL must be an http or https URL".into());
        }
        let key = secret
            .strip_prefix("whsec_")
            .ok_or_else(|| "WEBHOOK_SECRET must start with whsec_".to_owned())?;
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key)
            .map_err(|_| "WEBHOOK_SECRET must be whsec_ followed by base64".to_owned())?;
        if !(24..=64).contains(&bytes.len()) {
            return Err("WEBHOOK_SECRET must hold 24 to 64 bytes (base64 after whsec_)".into());
        }
        Ok(Self {
            url,
            signer: standardwebhooks::Webhook::from_bytes(bytes)
                .map_err(|e| format!("WEBHOOK_SECRET: {e}"))?,
        })
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// Worth trying again (a 5xx, a 429, a network error, a timeout); `after` from `Retry-After`.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// The push service says the subscription is gone (404, 410).
    Gone,
    /// Never worth repeating (a push service's other 4xx, a payload that cannot be built).
    Failed {
        error: String,
    },
}

pub struct Outbound {
    webhook: Option<Webhook>,
    vapid: Vapid,
    hosts: Arc<PushHosts>,
    web: reqwest::Client,
    push: reqwest::Client,
}

/// `SSL_CERT_FILE`'s certificates (a private CA), to trust beside the system's roots.
fn extra_roots() -> Result<Vec<reqwest::Certificate>, String> {
    let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let pem = std::fs::read(&path)
        .map_err(|e| format!("cannot read SSL_CERT_FILE {}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("SSL_CERT_FILE {}: {e}", path.display()))
}

fn client(resolver: Option<Arc<hosts::GuardedResolver>>) -> Result<reqwest::Client, String> {
    // reqwest's rustls is built without a provider: install ring's once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(USER_AGENT)
        .tls_certs_merge(extra_roots()?);
    if let Some(r) = resolver {
        b = b.dns_resolver(r);
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Outbound {
    pub fn new(webhook: Option<Webhook>, vapid: Vapid, hosts: PushHosts) -> Result<Self, String> {
        let hosts = Arc::new(hosts);
        Ok(Self {
            webhook,
            vapid,
            web: client(None)?,
            push: client(Some(hosts.resolver()))?,
            hosts,
        })
    }

    pub fn has_webhook(&self) -> bool {
        self.webhook.is_some()
    }

    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    pub fn hosts(&self) -> &PushHosts {
        &self.hosts
    }

    /// POST one event to the webhook, signed at `now` (Unix seconds) under its stable `id`.
    pub async fn webhook(&self, id: &str, body: &str, now: i64) -> Sent {
        let Some(hook) = &self.webhook else {
            return Sent::Failed {
                error: "no WEBHOOK_URL is configured".into(),
            };
        };
        let signature = match hook.signer.sign(id, now, body.as_bytes()) {
            Ok(s) => s,
            Err(e) => {
                return Sent::Failed {
                    error: format!("cannot sign: {e}"),
                };
            }
        };
        let req = self
            .web
            .post(hook.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned());
        outcome(req.send().await, false)
    }

    /// Push `payload` to one subscription at `now` (Unix seconds).
    pub async fn push(
        &self,
        sub: &PushSubscription,
        payload: &[u8],
        topic: &str,
        now: u64,
    ) -> Sent {
        let url = match self.hosts.check_endpoint(&sub.endpoint) {
            Ok(u) => u,
            Err(e) => return Sent::Failed { error: e },
        };
        let built = push::encrypt(sub, payload)
            .and_then(|req| Ok((req, self.vapid.authorization(&url, now)?)));
        let (req, authorization) = match built {
            Ok(b) => b,
            Err(error) => return Sent::Failed { error },
        };
        let (parts, body) = req.into_parts();
        let mut out = self
            .push
            .post(url)
            .header("authorization", authorization)
            .header("urgency", "high")
            .header("topic", topic);
        for (name, value) in &parts.headers {
            out = out.header(name, value);
        }
        outcome(out.body(body).send().await, true)
    }
}

fn outcome(res: Result<reqwest::Response, reqwest::Error>, push: bool) -> Sent {
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            return Sent::Retry {
                after: None,
                error: crate::error::error_chain(&e),
            };
        }
    };
    let status = res.status();
    if status.is_success() {
        return Sent::Delivered;
    }
    let code = status.as_u16();
    if push && (code == 404 || code == 410) {
        return Sent::Gone;
    }
    let error = format!("HTTP {code}");
    if push && status.is_client_error() && code != 429 && code != 408 {
        return Sent::Failed { error };
    }
    Sent::Retry {
        after: retry_after(res.headers()),
        error,
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_are_checked() {
        let good = format!(
            "whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 32])
        );
        assert!(Webhook::new("https://backend.example/hooks", &good).is_ok());
        assert!(Webhook::new("ftp://backend.example/hooks", &good).is_err());
        assert!(Webhook::new("https://backend.example/hooks", "secret").is_err());
        assert!(Webhook::new("https://backend.example/hooks", "whsec_!!").is_err());
        assert!(Webhook::new("https://backend.example/hooks", "whsec_AAAA").is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "120".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let later = std::time::SystemTime::now() + Duration::from_secs(600);
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
