//! Everything before the load: the server's address, the orders (internal API), the tokens.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// `http://host:port[/…]` → the address (loopback only) and the Host header.
pub async fn resolve(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or_else(|| format!("--url must start with http:// (got {url})"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| format!("{authority} has no IPv4 address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address: chat-bench only loads servers on this machine"
        ));
    }
    Ok((addr, authority.to_owned()))
}

/// The `i`-th source address: 127.0.0.1, 127.0.0.2, … (`sources` of them, round robin).
pub fn source(i: usize, sources: usize) -> Ipv4Addr {
    let n = (i % sources.max(1)) as u32 + 1;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + n)
}

/// Ids of one run: orders `<prefix>-o<i>`, users `<prefix>-o<i>-c` (customer) and
/// `<prefix>-o<i>-a<j>` (agents).
#[derive(Clone)]
pub struct Naming {
    pub prefix: String,
}

impl Naming {
    pub fn new(prefix: Option<String>) -> Self {
        let prefix = prefix.unwrap_or_else(|| {
            let ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            format!("b{}", ms % 10_000_000_000)
        });
        Self { prefix }
    }
    pub fn order(&self, i: usize) -> String {
        format!("{}-o{i}", self.prefix)
    }
    /// Participant 0 is the customer, the others are agents.
    pub fn user(&self, order: usize, participant: usize) -> String {
        if participant == 0 {
            format!("{}-o{order}-c", self.prefix)
        } else {
            format!("{}-o{order}-a{participant}", self.prefix)
        }
    }
}

/// HS256 access token in the main backend's shape.
pub fn token(secret: &[u8], user_id: &str, valid: Duration) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + valid.as_secs();
    let claims = json!({ "user": { "id": user_id }, "tokenType": "access", "exp": exp });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing cannot fail")
}

/// Create (or update) `orders` orders with `participants` users each through
/// `PUT /api/v0/internal/orders/{id}`, `concurrency` at a time.
pub async fn create_orders(
    addr: SocketAddr,
    host: &str,
    key: &str,
    naming: &Naming,
    orders: usize,
    participants: usize,
    concurrency: usize,
) -> Result<(), String> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(orders);
    for i in 0..orders {
        let permit = sem.clone().acquire_owned().await.expect("semaphore open");
        let body = json!({
            "orderNumber": format!("{}-{i}", naming.prefix.to_uppercase()),
            "status": "shopping",
            "customer": { "id": naming.user(i, 0), "name": format!("Bench Customer {i}") },
            "agents": (1..participants)
                .map(|j| json!({ "id": naming.user(i, j), "name": format!("Bench Agent {i}.{j}") }))
                .collect::<Vec<_>>(),
        })
        .to_string();
        let path = format!("/api/v0/internal/orders/{}", naming.order(i));
        let (host, key) = (host.to_owned(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let r = http_put(addr, &host, &path, &key, &body).await;
            drop(permit);
            r
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// A minimal HTTP/1.1 PUT with a JSON body (`Connection: close`); Err unless the status is 2xx.
async fn http_put(
    addr: SocketAddr,
    host: &str,
    path: &str,
    bearer: &str,
    body: &str,
) -> Result<(), String> {
    let fut = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let req = format!(
            "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&resp);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0);
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
            Err(format!("PUT {path}: HTTP {status} {body:.200}"))
        }
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| format!("PUT {path}: timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_cycle_over_loopback() {
        assert_eq!(source(0, 3), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source(2, 3), Ipv4Addr::new(127, 0, 0, 3));
        assert_eq!(source(3, 3), Ipv4Addr::new(127, 0, 0, 1));
        assert!(source(7, 200).is_loopback());
    }

    #[test]
    fn names_follow_the_id_rule() {
        let n = Naming::new(Some("bx".into()));
        assert_eq!(n.order(4), "bx-o4");
        assert_eq!(n.user(4, 0), "bx-o4-c");
        assert_eq!(n.user(4, 2), "bx-o4-a2");
    }
}
