//! The parsers' rules, one test per request kind.
use super::*;
use serde_json::json;

fn code_of(r: ChatResult<impl std::fmt::Debug>) -> &'static str {
    r.expect_err("should be rejected").code()
}

#[test]
fn join_accepts_a_string_or_an_object() {
    let j = JoinRequest::parse(&json!("o-1")).unwrap();
    assert_eq!((j.order.as_str(), j.since, j.limit), ("o-1", None, 50));
    let j = JoinRequest::parse(&json!({"orderId":"o-1","since":4,"limit":10})).unwrap();
    assert_eq!((j.since, j.limit), (Some(4), 10));
    assert_eq!(
        code_of(JoinRequest::parse(&json!({"orderId":"o-1","limit":0}))),
        "VALIDATION"
    );
    assert_eq!(
        code_of(JoinRequest::parse(&json!({"orderId":"o-1","limit":201}))),
        "VALIDATION"
    );
    assert_eq!(
        code_of(JoinRequest::parse(&json!({"orderId":"o-1","since":-1}))),
        "VALIDATION"
    );
    assert_eq!(
        code_of(JoinRequest::parse(&json!({"orderId":["x"]}))),
        "VALIDATION"
    );
    assert_eq!(code_of(JoinRequest::parse(&json!(true))), "VALIDATION");
}

#[test]
fn send_validates_every_field() {
    let ok = SendRequest::parse(
        &json!({"orderId":"o","message":"  hi  ","clientMessageId":"c-1"}),
        None,
    )
    .unwrap();
    assert_eq!(ok.message, "hi");
    assert_eq!(ok.client_message_id.unwrap().as_str(), "c-1");
    let max = "é".repeat(MAX_MESSAGE_CHARS);
    assert!(SendRequest::parse(&json!({"orderId":"o","message":max}), None).is_ok());
    let over = "a".repeat(MAX_MESSAGE_CHARS + 1);
    for bad in [
        json!({"orderId":"o","message":over}),
        json!({"orderId":"o","message":"   "}),
        json!({"orderId":"o"}),
        json!({"orderId":"o","message":5}),
        json!({"orderId":"o","message":"a\u{0}b"}),
        json!({"orderId":"o","message":"x","imageUrl":"javascript:alert(1)"}),
        json!({"orderId":"o","message":"x","imageUrl":"http://example.com/a.png"}),
        json!({"orderId":"o","message":"x","clientMessageId":{"a":1}}),
        json!({"orderId":"o","message":"x","attachmentIds":"a"}),
        json!({"message":"x"}),
        json!("o"),
    ] {
        assert_eq!(
            code_of(SendRequest::parse(&bad, None)),
            "VALIDATION",
            "{bad}"
        );
    }
    let img = SendRequest::parse(
        &json!({"orderId":"o","imageUrl":"https://cdn.example/p.jpg"}),
        None,
    )
    .unwrap();
    assert_eq!(img.message, "");
    assert!(
        SendRequest::parse(
            &json!({"orderId":"o","message":"x","imageUrl":"http://127.0.0.1:8090/a.png"}),
            None
        )
        .is_ok()
    );
}

#[test]
fn typing_needs_a_boolean() {
    assert!(
        TypingRequest::parse(&json!({"orderId":"o","isTyping":true}))
            .unwrap()
            .is_typing
    );
    assert_eq!(
        code_of(TypingRequest::parse(
            &json!({"orderId":"o","isTyping":"yes"})
        )),
        "VALIDATION"
    );
    assert_eq!(
        code_of(TypingRequest::parse(&json!({"orderId":"o"}))),
        "VALIDATION"
    );
}

#[test]
fn mark_read_takes_an_optional_seq() {
    assert_eq!(MarkReadRequest::parse(&json!("o")).unwrap().up_to_seq, None);
    assert_eq!(
        MarkReadRequest::parse(&json!({"orderId":"o","upToSeq":3}))
            .unwrap()
            .up_to_seq,
        Some(3)
    );
    assert_eq!(
        code_of(MarkReadRequest::parse(
            &json!({"orderId":"o","upToSeq":"3"})
        )),
        "VALIDATION"
    );
}

#[test]
fn an_integral_number_is_an_integer_however_written() {
    // JSON has one number type: a client (or schemathesis) may write 3 as 3.0.
    let r = MarkReadRequest::parse(&json!({"orderId":"o-1","upToSeq":3.0})).unwrap();
    assert_eq!(r.up_to_seq, Some(3));
    let j = JoinRequest::parse(&json!({"orderId":"o-1","since":2.0,"limit":10.0})).unwrap();
    assert_eq!((j.since, j.limit), (Some(2), 10));
    for bad in [json!(2.5), json!(-1.0), json!(1e300)] {
        assert_eq!(
            code_of(MarkReadRequest::parse(
                &json!({"orderId":"o-1","upToSeq":bad})
            )),
            "VALIDATION"
        );
    }
}
