//! JWT rejections and the accepted algorithms, through the REST API.

mod common;

use base64::Engine;
use common::{ADMIN_SECRET, SECRET, app, call, now_secs, seed, sign, sqlite_db};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const UNREAD: &str = "/api/v0/chat/unread";

async fn status_and_message(b: &order_chat::app::Built, bearer: Option<&str>) -> (u16, String) {
    let (status, body) = call(b, "GET", UNREAD, bearer, None).await;
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

const INVALID: (u16, &str) = (401, "Authentication error: Invalid token");

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_refused_with_their_message() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    let check = |want: (u16, &'static str)| {
        move |got: (u16, String)| assert_eq!((got.0, got.1.as_str()), want)
    };
    check((401, "Authentication error: Token not provided"))(status_and_message(&b, None).await);
    check(INVALID)(status_and_message(&b, Some("not-a-jwt")).await);
    check(INVALID)(status_and_message(&b, Some("a.b.c")).await);
    // Bad signature: signed with another secret.
    let t = sign(json!({"user": {"id": "cust"}}), "some-other-secret");
    check(INVALID)(status_and_message(&b, Some(&t)).await);
    // alg: none.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&json!({"user": {"id": "cust"}, "exp": now_secs() + 600}))
    );
    check(INVALID)(status_and_message(&b, Some(&none)).await);
    // Tampered payload: the signature of one user's token on another user's claims.
    let good = sign(json!({"user": {"id": "cust"}}), SECRET);
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(&json!({"user": {"id": "admin"}, "exp": now_secs() + 600})),
        parts[2]
    );
    check(INVALID)(status_and_message(&b, Some(&forged)).await);
    // Expired beyond the 30 s leeway; within it, still accepted.
    let t = sign(
        json!({"user": {"id": "cust"}, "exp": now_secs() - 120}),
        SECRET,
    );
    check((401, "Authentication error: Token expired"))(status_and_message(&b, Some(&t)).await);
    let t = sign(
        json!({"user": {"id": "cust"}, "exp": now_secs() - 5}),
        SECRET,
    );
    assert_eq!(status_and_message(&b, Some(&t)).await.0, 200);
    // No exp at all, or not yet valid.
    let t = encode(
        &Header::default(),
        &json!({"user": {"id": "cust"}}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    check(INVALID)(status_and_message(&b, Some(&t)).await);
    let t = sign(
        json!({"user": {"id": "cust"}, "nbf": now_secs() + 600}),
        SECRET,
    );
    check(INVALID)(status_and_message(&b, Some(&t)).await);
    // A token with no usable id.
    let t = sign(json!({"user": {"id": "bad id with spaces"}}), SECRET);
    check(INVALID)(status_and_message(&b, Some(&t)).await);
}

#[tokio::test]
async fn token_types_must_match_their_secret() {
    let db = sqlite_db();
    let b = app(&db).await;
    seed(&b).await;
    for (claims, secret, want) in [
        (
            json!({"user": {"id": "cust"}, "tokenType": "access"}),
            SECRET,
            200,
        ),
        (json!({"sub": "cust"}), SECRET, 200),
        (
            json!({"user": {"id": "cust"}, "tokenType": "refresh"}),
            SECRET,
            401,
        ),
        (json!({"user": {"id": "cust"}, "tokenType": 1}), SECRET, 401),
        // An admin token signed with the user secret, and a user token signed with the admin one.
        (
            json!({"authKey": "ops@busy2shop.com", "tokenType": "admin"}),
            SECRET,
            401,
        ),
        (
            json!({"user": {"id": "cust"}, "tokenType": "access"}),
            ADMIN_SECRET,
            401,
        ),
        (
            json!({"authKey": "ops@busy2shop.com", "tokenType": "admin"}),
            ADMIN_SECRET,
            200,
        ),
    ] {
        let t = sign(claims.clone(), secret);
        assert_eq!(
            status_and_message(&b, Some(&t)).await.0,
            want,
            "{claims} with {secret}"
        );
    }
    let (status, body) = call(
        &b,
        "GET",
        "/api/v0/chat/messages/o1",
        Some(&common::admin_token("ops@busy2shop.com")),
        None,
    )
    .await;
    assert_eq!(status, 200, "admins read every order: {body}");
}

fn key_app_settings(db: &common::TestDb, key: &str) -> order_chat::app::Settings {
    let mut s = common::settings(db);
    s.jwt_access_secret = None;
    s.jwt_public_key_file = Some(format!(
        "{}/tests/fixtures/{key}",
        env!("CARGO_MANIFEST_DIR")
    ));
    s
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn public_keys_accept_their_algorithm_only() {
    let claims = json!({"user": {"id": "cust"}, "tokenType": "access", "exp": now_secs() + 600});
    for (public, private, alg) in [
        ("rsa_public.pem", "rsa_private.pem", Algorithm::RS256),
        ("ec_public.pem", "ec_private.pem", Algorithm::ES256),
        ("ed_public.pem", "ed_private.pem", Algorithm::EdDSA),
    ] {
        let db = sqlite_db();
        let b = order_chat::app::build(&key_app_settings(&db, public))
            .await
            .unwrap();
        let pem = fixture(private);
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_ed_pem(&pem),
        }
        .unwrap();
        let good = encode(&Header::new(alg), &claims, &key).unwrap();
        assert_eq!(status_and_message(&b, Some(&good)).await.0, 200, "{alg:?}");
        // HS/RS confusion: the public key used as an HMAC secret.
        let confused = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&fixture(public)),
        )
        .unwrap();
        let got = status_and_message(&b, Some(&confused)).await;
        assert_eq!(
            (got.0, got.1.as_str()),
            INVALID,
            "{alg:?} key used as HMAC secret"
        );
        // The shared-secret tokens of the default mode do not work here either.
        let hs = sign(claims.clone(), SECRET);
        assert_eq!(status_and_message(&b, Some(&hs)).await.0, 401);
    }
}

#[tokio::test]
async fn a_bad_key_file_stops_the_start_with_a_clear_error() {
    let db = sqlite_db();
    let err = order_chat::app::build(&key_app_settings(&db, "README.md"))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("is not an RSA, EC (P-256) or Ed25519 public key"),
        "{err}"
    );
    let err = order_chat::app::build(&key_app_settings(&db, "missing.pem"))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("cannot read JWT_PUBLIC_KEY_FILE"),
        "{err}"
    );
}
