//! The server's VAPID identity (RFC 8292): a P-256 key whose public half browsers get as
//! `applicationServerKey`, and the ES256 token each push request carries.

use base64::Engine as _;
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use url::Url;

use super::b64url;

pub struct Vapid {
    key: jsonwebtoken::EncodingKey,
    public_key: String,
    subject: String,
}

/// How long a token is valid (RFC 8292 allows at most 24 h).
const TOKEN_SECS: u64 = 12 * 3600;

#[derive(serde::Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

impl Vapid {
    /// From the raw 32-byte private key, base64url (as `web-push generate-vapid-keys` prints it).
    pub fn from_private_key(encoded: &str, subject: &str) -> Result<Self, String> {
        let bytes = b64url()
            .decode(encoded.trim())
            .map_err(|_| "VAPID_PRIVATE_KEY must be base64url".to_owned())?;
        let secret = SecretKey::from_slice(&bytes)
            .map_err(|_| "VAPID_PRIVATE_KEY must be a 32-byte P-256 private key".to_owned())?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the VAPID key: {e}"))?;
        let public = secret.public_key().to_encoded_point(false);
        if !subject.starts_with("mailto:") && !subject.starts_with("https://") {
            return Err("VAPID_SUBJECT must be a mailto: or https: URL".into());
        }
        Ok(Self {
            key: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            public_key: b64url().encode(public.as_bytes()),
            subject: subject.to_owned(),
        })
    }

    /// A new private key, encoded as `from_private_key` reads it.
    pub fn generate() -> String {
        loop {
            let bytes: [u8; 32] = rand::random();
            if SecretKey::from_slice(&bytes).is_ok() {
                return b64url().encode(bytes);
            }
        }
    }

    /// The uncompressed public key, base64url: the browsers' `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` header for a push to `endpoint` at `now` (Unix seconds).
    pub fn authorization(&self, endpoint: &Url, now: u64) -> Result<String, String> {
        let origin = endpoint.origin().ascii_serialization();
        let claims = Claims {
            aud: &origin,
            exp: now + TOKEN_SECS,
            sub: &self.subject,
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the VAPID token: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_verifies_with_the_public_key() {
        let vapid = Vapid::from_private_key(&Vapid::generate(), "mailto:ops@example.com").unwrap();
        let endpoint = Url::parse("https://fcm.googleapis.com:443/fcm/send/abc").unwrap();
        let header = vapid.authorization(&endpoint, 1_800_000_000).unwrap();
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|r| r.split_once(", k="))
            .unwrap();
        assert_eq!(k, vapid.public_key());
        let point = b64url().decode(k).unwrap();
        assert_eq!(point.len(), 65);
        let x = b64url().encode(&point[1..33]);
        let y = b64url().encode(&point[33..]);
        let key = jsonwebtoken::DecodingKey::from_ec_components(&x, &y).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.validate_exp = false;
        v.set_audience(&["https://fcm.googleapis.com"]);
        v.set_required_spec_claims(&["exp", "aud", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(t, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "mailto:ops@example.com");
        assert_eq!(data.claims["exp"], 1_800_000_000u64 + TOKEN_SECS);
    }

    #[test]
    fn bad_keys_and_subjects_are_refused() {
        assert!(Vapid::from_private_key("not base64!", "mailto:a@b").is_err());
        assert!(Vapid::from_private_key(&b64url().encode([0u8; 32]), "mailto:a@b").is_err());
        assert!(Vapid::from_private_key(&Vapid::generate(), "ops@example.com").is_err());
    }
}
