//! Everything a client can send, decoded and validated: Socket.IO event payloads, REST and
//! internal API bodies, tokens. Nothing may panic or hang, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_chat::auth::Verifier;
use order_chat::domain::{Emoji, SearchCursor, SearchTerms, snippet};
use order_chat::outbound::{PushHosts, push};
use order_chat::service::requests::{
    DeleteRequest, EditRequest, JoinRequest, MarkReadRequest, ReactionRequest, SendRequest,
    SubscribeRequest, Target, TypingRequest, UnsubscribeRequest, parse_leave, parse_muted,
};
use order_chat::service::{OrderUpsert, UserUpsert};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = JoinRequest::parse(&v);
        let _ = SendRequest::parse(&v, None);
        let _ = SendRequest::parse(&v, Some(&text));
        let _ = TypingRequest::parse(&v);
        let _ = MarkReadRequest::parse(&v);
        let _ = MarkReadRequest::parse_body("o1", Some(&v));
        let _ = parse_leave(&v);
        let path = || Target {
            order: &text,
            message: &text,
        };
        let _ = EditRequest::parse(&v, None);
        let _ = EditRequest::parse(&v, Some(path()));
        let _ = DeleteRequest::parse(&v, None);
        let _ = DeleteRequest::parse(&v, Some(path()));
        let _ = ReactionRequest::parse(&v, None, None);
        let _ = ReactionRequest::parse(&v, Some(path()), Some(&text));
        let _ = OrderUpsert::parse("o1", &v);
        let _ = UserUpsert::parse("u1", &v);
        let _ = SubscribeRequest::parse(&v);
        let _ = UnsubscribeRequest::parse(&v);
        let _ = parse_muted(&v);
        if let Some(s) = v.as_str() {
            let _ = OrderUpsert::parse(s, &v);
        }
    }
    let _ = Emoji::parse(&text);
    let _ = SearchCursor::parse(&text);
    if let Ok(terms) = SearchTerms::parse(&text) {
        // The query against itself as a message: highlights must lie inside the snippet.
        let s = snippet(&text, &terms);
        let units = s.text.encode_utf16().count();
        assert!(s.highlights.iter().all(|&(a, b)| a < b && b <= units));
    }
    // Web Push: a subscription's endpoint against the default allow-list and a list of its
    // own, and its keys.
    if let Ok(hosts) = PushHosts::parse(order_chat::outbound::DEFAULT_PUSH_HOSTS) {
        let _ = hosts.check_endpoint(&text);
    }
    let _ = PushHosts::parse(&text);
    let mid = (text.len() / 2..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    let (p256dh, auth) = text.split_at(mid);
    let _ = push::check_keys(p256dh, auth);
    let verifier = Verifier::hmac(b"fuzz-secret", Some(b"fuzz-admin"));
    let _ = verifier.verify(&text);
});
