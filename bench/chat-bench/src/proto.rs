//! Engine.IO v4 / Socket.IO v5 text packets, by hand (namespace `/` only, no binary packets).
//!
//! Engine.IO: `0` open, `1` close, `2` ping, `3` pong, `4` message, `6` noop.
//! Socket.IO (inside an Engine.IO message): `0` connect, `1` disconnect, `2` event, `3` ack,
//! `4` connect error; an optional `/nsp,` then an optional ack id (digits) then the JSON.

use serde_json::Value;

/// One packet received from the server.
#[derive(Debug, PartialEq)]
pub enum Incoming<'a> {
    /// Engine.IO open: the handshake JSON (`sid`, `pingInterval`, …).
    Open(&'a str),
    /// Engine.IO ping: answer with [`PONG`] at once.
    Ping,
    /// Engine.IO close, or Socket.IO disconnect of the namespace.
    Close,
    /// Socket.IO connect accepted (`{"sid":…}`).
    Connected,
    /// Socket.IO connect refused: the `message` of the error.
    ConnectError(String),
    /// Socket.IO event: the JSON array text `["name", …args]` and the ack id the server wants.
    Event { ack: Option<u64>, json: &'a str },
    /// Socket.IO ack of one of our events: the JSON array text of its arguments.
    Ack { id: u64, json: &'a str },
    /// Anything else (noop, upgrade, namespaces other than `/`).
    Other,
}

pub const PONG: &str = "3";

/// Decode one text frame.
pub fn parse(text: &str) -> Incoming<'_> {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, '0')) => Incoming::Open(&text[1..]),
        Some((_, '1')) => Incoming::Close,
        Some((_, '2')) => Incoming::Ping,
        Some((_, '4')) => parse_socketio(&text[1..]),
        _ => Incoming::Other,
    }
}

fn parse_socketio(p: &str) -> Incoming<'_> {
    let Some(kind) = p.chars().next() else {
        return Incoming::Other;
    };
    let mut rest = &p[1..];
    if rest.starts_with('/') {
        // A namespace other than `/` is not ours.
        match rest.find(',') {
            Some(i) if &rest[..i] == "/" => rest = &rest[i + 1..],
            _ => return Incoming::Other,
        }
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        rest[..digits].parse::<u64>().ok()
    } else {
        None
    };
    let json = &rest[digits..];
    match kind {
        '0' => Incoming::Connected,
        '1' => Incoming::Close,
        '2' => Incoming::Event { ack: id, json },
        '3' => match id {
            Some(id) => Incoming::Ack { id, json },
            None => Incoming::Other,
        },
        '4' => {
            let message = serde_json::from_str::<Value>(json)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| json.to_owned());
            Incoming::ConnectError(message)
        }
        _ => Incoming::Other,
    }
}

/// `40{auth}`: connect to `/` with the handshake auth payload.
pub fn connect(auth: &Value) -> String {
    format!("40{auth}")
}

/// `42<id>["name",payload]`: an event asking for an ack (id) or not.
pub fn event(ack: Option<u64>, name: &str, payload: &Value) -> String {
    let args = Value::Array(vec![Value::String(name.to_owned()), payload.clone()]);
    match ack {
        Some(id) => format!("42{id}{args}"),
        None => format!("42{args}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_packets_the_server_sends() {
        assert_eq!(
            parse(r#"0{"sid":"x","pingInterval":25000}"#),
            Incoming::Open(r#"{"sid":"x","pingInterval":25000}"#)
        );
        assert_eq!(parse("2"), Incoming::Ping);
        assert_eq!(parse(r#"40{"sid":"a"}"#), Incoming::Connected);
        assert_eq!(
            parse(r#"44{"message":"Authentication error: Invalid token"}"#),
            Incoming::ConnectError("Authentication error: Invalid token".into())
        );
        assert_eq!(
            parse(r#"42["new-message",{"seq":1}]"#),
            Incoming::Event {
                ack: None,
                json: r#"["new-message",{"seq":1}]"#
            }
        );
        assert_eq!(
            parse(r#"4317[{"ok":true}]"#),
            Incoming::Ack {
                id: 17,
                json: r#"[{"ok":true}]"#
            }
        );
        assert_eq!(
            parse(r#"43/,5[{"ok":true}]"#),
            Incoming::Ack {
                id: 5,
                json: r#"[{"ok":true}]"#
            }
        );
        assert_eq!(parse(r#"42/admin,["x"]"#), Incoming::Other);
        assert_eq!(parse("41"), Incoming::Close);
        assert_eq!(parse("6"), Incoming::Other);
    }

    #[test]
    fn encodes_events_and_connect() {
        assert_eq!(
            event(Some(3), "send-message", &json!({"a":1})),
            r#"423["send-message",{"a":1}]"#
        );
        assert_eq!(event(None, "typing", &json!(1)), r#"42["typing",1]"#);
        assert_eq!(connect(&json!({"token":"t"})), r#"40{"token":"t"}"#);
    }
}
