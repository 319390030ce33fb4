//! `run --attachments`: uploads through REST (PROTOCOL.md §12), `POST
//! /api/v0/chat/orders/{id}/attachments` as multipart `file` with the connection's bearer token,
//! over a fresh HTTP/1.1 connection each (the server answers uploads with `Connection: close`).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// The image sent when no `--attachment-file` is given: a 640×480 photo-like JPEG (67 KB),
/// made by `python3 bench/media.py fixtures` (`photo-small.jpg`).
pub const DEFAULT_IMAGE: &[u8] = include_bytes!("../assets/photo-small.jpg");

const BOUNDARY: &str = "chat-bench-7f3a9c1e5b";

/// The multipart body of one upload of `file` named `name`.
pub fn form(name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Where and as whom uploads go.
pub struct Uploader<'a> {
    pub addr: SocketAddr,
    pub source: Ipv4Addr,
    pub host: &'a str,
    pub token: &'a str,
    pub order: &'a str,
    /// A body made by [`form`].
    pub body: &'a [u8],
    pub timeout: Duration,
}

impl Uploader<'_> {
    /// The new attachment's id, or an error code: the answer's `error.code`, `HTTP_<status>`,
    /// `UPLOAD_TIMEOUT`, `UPLOAD_IO`.
    pub async fn upload(&self) -> Result<String, String> {
        match tokio::time::timeout(self.timeout, self.post()).await {
            Ok(r) => r,
            Err(_) => Err("UPLOAD_TIMEOUT".into()),
        }
    }

    async fn post(&self) -> Result<String, String> {
        let io = |_| "UPLOAD_IO".to_owned();
        let sock = TcpSocket::new_v4().map_err(io)?;
        sock.bind(SocketAddr::from((self.source, 0))).map_err(io)?;
        let mut s = sock.connect(self.addr).await.map_err(io)?;
        let _ = s.set_nodelay(true);
        let head = format!(
            "POST /api/v0/chat/orders/{}/attachments HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.order,
            self.host,
            self.token,
            self.body.len()
        );
        s.write_all(head.as_bytes()).await.map_err(io)?;
        s.write_all(self.body).await.map_err(io)?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.map_err(io)?;
        parse_answer(&resp)
    }
}

/// The id in a 201 answer, else the error code.
fn parse_answer(resp: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(resp);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // hyper answers small bodies with Content-Length; a chunked one is undone here.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let json: Option<Value> = serde_json::from_str(&body).ok();
    if status == 201
        && let Some(id) = json
            .as_ref()
            .and_then(|v| v.get("data")?.get("id")?.as_str())
    {
        return Ok(id.to_owned());
    }
    Err(json
        .as_ref()
        .and_then(|v| v.get("error")?.get("code")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP_{status}")))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_is_a_jpeg_and_the_form_carries_it() {
        assert_eq!(&DEFAULT_IMAGE[..3], &[0xff, 0xd8, 0xff]);
        let body = form("p.jpg", b"abc");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("name=\"file\"; filename=\"p.jpg\""));
        assert!(text.ends_with(&format!("\r\nabc\r\n--{BOUNDARY}--\r\n")));
    }

    #[test]
    fn answers_give_the_id_or_the_code() {
        let ok =
            b"HTTP/1.1 201 Created\r\ncontent-length: 30\r\n\r\n{\"data\":{\"id\":\"0190-ab\"}}";
        assert_eq!(parse_answer(ok), Ok("0190-ab".into()));
        let refused = b"HTTP/1.1 413 Payload Too Large\r\n\r\n{\"success\":false,\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\"}}";
        assert_eq!(parse_answer(refused), Err("PAYLOAD_TOO_LARGE".into()));
        let chunked = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n18\r\n{\"data\":{\"id\":\"x1\"}}    \r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked), Ok("x1".into()));
        assert_eq!(parse_answer(b"garbage"), Err("HTTP_0".into()));
    }
}
