//! One Web Push request (RFC 8030): the payload encrypted for the browser's keys (RFC 8291,
//! `aes128gcm`, by web-push-native), the VAPID token, and the delivery headers.

use std::time::Duration;

use base64::Engine as _;
use web_push_native::{Auth, WebPushBuilder};

use super::b64url;
use crate::domain::PushSubscription;

/// How long a push service keeps a push for an offline browser.
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// The browser's keys, checked: `p256dh` a 65-byte uncompressed P-256 point, `auth` 16 bytes.
/// Errors name the field.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<(), String> {
    let point = b64url()
        .decode(p256dh)
        .map_err(|_| "keys.p256dh must be base64url".to_owned())?;
    if point.len() != 65 || point[0] != 4 || p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err("keys.p256dh must be an uncompressed P-256 public key (65 bytes)".into());
    }
    let secret = b64url()
        .decode(auth)
        .map_err(|_| "keys.auth must be base64url".to_owned())?;
    if secret.len() != 16 {
        return Err("keys.auth must be 16 bytes".into());
    }
    Ok(())
}

/// The encrypted request (method, URI, body, `TTL`, `Content-Encoding`) for `payload`.
pub fn encrypt(sub: &PushSubscription, payload: &[u8]) -> Result<http::Request<Vec<u8>>, String> {
    let uri: http::Uri = sub
        .endpoint
        .parse()
        .map_err(|_| "the subscription's endpoint is not a URI".to_owned())?;
    let point = b64url()
        .decode(&sub.p256dh)
        .map_err(|_| "stored p256dh is not base64url".to_owned())?;
    let public = p256::PublicKey::from_sec1_bytes(&point)
        .map_err(|_| "stored p256dh is not a P-256 key".to_owned())?;
    let secret = b64url()
        .decode(&sub.auth)
        .map_err(|_| "stored auth is not base64url".to_owned())?;
    let secret: [u8; 16] = secret
        .try_into()
        .map_err(|_| "stored auth is not 16 bytes".to_owned())?;
    WebPushBuilder::new(uri, public, Auth::from(secret))
        .with_valid_duration(TTL)
        .build(payload.to_vec())
        .map_err(|e| format!("cannot encrypt the push: {e}"))
}

/// A `Topic` header for an order (RFC 8030 §5.4: at most 32 characters of base64url): a push
/// service keeps only the newest undelivered push per topic.
pub fn topic(order_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(order_id.as_bytes());
    let mut t = b64url().encode(digest);
    t.truncate(32);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    fn browser() -> (p256::SecretKey, [u8; 16], PushSubscription) {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let auth: [u8; 16] = rand::random();
        let sub = PushSubscription {
            endpoint: "https://fcm.googleapis.com/fcm/send/x".into(),
            user_id: crate::domain::UserId::parse("u1").unwrap(),
            p256dh: b64url().encode(secret.public_key().to_encoded_point(false).as_bytes()),
            auth: b64url().encode(auth),
            created_at: 0,
        };
        (secret, auth, sub)
    }

    #[test]
    fn the_browser_can_decrypt_it() {
        let (secret, auth, sub) = browser();
        check_keys(&sub.p256dh, &sub.auth).unwrap();
        let req = encrypt(&sub, br#"{"title":"Order #1"}"#).unwrap();
        assert_eq!(req.headers()["content-encoding"], "aes128gcm");
        assert_eq!(req.headers()["ttl"], "86400");
        let plain =
            web_push_native::decrypt(req.body().clone(), &secret, &Auth::from(auth)).unwrap();
        assert_eq!(plain, br#"{"title":"Order #1"}"#);
    }

    #[test]
    fn bad_keys_name_the_field() {
        let (_, _, sub) = browser();
        assert!(
            check_keys("%%", &sub.auth)
                .unwrap_err()
                .contains("keys.p256dh")
        );
        assert!(
            check_keys(&b64url().encode([4u8; 65]), &sub.auth)
                .unwrap_err()
                .contains("keys.p256dh")
        );
        assert!(
            check_keys(&sub.p256dh, "AAAA")
                .unwrap_err()
                .contains("keys.auth")
        );
    }

    #[test]
    fn topics_are_short_and_stable() {
        assert_eq!(topic("order-1"), topic("order-1"));
        assert_ne!(topic("order-1"), topic("order-2"));
        assert_eq!(topic("order-1").len(), 32);
    }
}
