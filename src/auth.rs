//! Access tokens: verifying the main backend's JWTs and reading who they name.
//!
//! Only the configured algorithm is accepted (HS256 with the shared secret, or the algorithm of
//! the configured public key). Admin tokens are accepted only when signed with the admin secret.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::{Millis, UserId, UserType};
use crate::error::AuthFailure;

/// Leeway on `exp` (and `nbf`), as the contract says.
pub const LEEWAY_SECS: u64 = 30;

/// Who a verified token names, before the directory is consulted.
#[derive(Debug, Clone)]
pub struct TokenSubject {
    pub user_id: UserId,
    pub is_admin: bool,
    /// Optional profile claims; they fill a profile only when the directory has none.
    pub name: Option<String>,
    pub user_type: Option<UserType>,
    pub display_image: Option<String>,
    /// When the token expires (its `exp`, in milliseconds): a socket lives no longer.
    pub expires_at: Option<Millis>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    user: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default, rename = "tokenType")]
    token_type: Option<Value>,
    #[serde(default, rename = "authKey")]
    auth_key: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default, rename = "type")]
    user_type: Option<Value>,
    #[serde(default, rename = "displayImage")]
    display_image: Option<Value>,
}

/// A JSON string, or a number rendered as one (some backends issue numeric ids).
fn as_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_text(v: &Option<Value>) -> Option<String> {
    v.as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= 200)
        .map(str::to_owned)
}

pub struct Verifier {
    access_key: DecodingKey,
    access_validation: Validation,
    admin: Option<(DecodingKey, Validation)>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read JWT_PUBLIC_KEY_FILE {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("JWT_PUBLIC_KEY_FILE {0} is not an RSA, EC (P-256) or Ed25519 public key in PEM form")]
    Unsupported(String),
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECS;
    v.validate_nbf = true;
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp"]);
    v
}

impl Verifier {
    /// HS256 with the shared access secret; admins, if configured, with their own secret.
    pub fn hmac(access_secret: &[u8], admin_secret: Option<&[u8]>) -> Self {
        Self {
            access_key: DecodingKey::from_secret(access_secret),
            access_validation: validation(Algorithm::HS256),
            admin: admin_secret
                .map(|s| (DecodingKey::from_secret(s), validation(Algorithm::HS256))),
        }
    }

    /// Access tokens signed with a public-key algorithm; the key file decides which one.
    pub fn public_key(path: &str, admin_secret: Option<&[u8]>) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        // The PEM label names RSA keys; EC and Ed25519 keys share "PUBLIC KEY", so try both.
        let (key, alg) = if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
            (k, Algorithm::RS256)
        } else if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
            (k, Algorithm::ES256)
        } else if let Ok(k) = DecodingKey::from_ed_pem(&pem) {
            (k, Algorithm::EdDSA)
        } else {
            return Err(KeyError::Unsupported(path.to_owned()));
        };
        Ok(Self {
            access_key: key,
            access_validation: validation(alg),
            admin: admin_secret
                .map(|s| (DecodingKey::from_secret(s), validation(Algorithm::HS256))),
        })
    }

    /// Verify a token (bare, or with a `Bearer ` prefix) and say whom it names.
    pub fn verify(&self, token: &str) -> Result<TokenSubject, AuthFailure> {
        let token = strip_bearer(token);
        if token.is_empty() {
            return Err(AuthFailure::Missing);
        }
        match jsonwebtoken::decode::<Claims>(token, &self.access_key, &self.access_validation) {
            Ok(data) => return subject(data.claims, false),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                return Err(AuthFailure::Expired);
            }
            Err(_) => {}
        }
        if let Some((key, validation)) = &self.admin {
            match jsonwebtoken::decode::<Claims>(token, key, validation) {
                Ok(data) => return subject(data.claims, true),
                Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                    return Err(AuthFailure::Expired);
                }
                Err(_) => {}
            }
        }
        Err(AuthFailure::Invalid)
    }
}

/// The token of `Bearer <token>` (any case), or the text itself; `Bearer` alone is no token.
pub fn strip_bearer(token: &str) -> &str {
    let t = token.trim();
    if t.eq_ignore_ascii_case("bearer") {
        return "";
    }
    match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => t[7..].trim(),
        _ => t,
    }
}

/// Read the identity out of verified claims. `admin_key` says which secret verified them:
/// an admin token must come from the admin secret, and a user token from the access key.
fn subject(c: Claims, admin_key: bool) -> Result<TokenSubject, AuthFailure> {
    let token_type = match &c.token_type {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(AuthFailure::Invalid),
    };
    let is_admin = match (token_type, admin_key) {
        (Some("admin"), true) => true,
        (None | Some("access"), false) => false,
        _ => return Err(AuthFailure::Invalid),
    };
    let raw_id = if is_admin {
        c.auth_key
            .as_ref()
            .and_then(as_id)
            .or_else(|| c.sub.as_ref().and_then(as_id))
    } else {
        c.user
            .as_ref()
            .and_then(|u| u.get("id"))
            .and_then(as_id)
            .or_else(|| c.sub.as_ref().and_then(as_id))
    };
    let user_id = raw_id
        .and_then(|id| UserId::parse(&id).ok())
        .ok_or(AuthFailure::Invalid)?;
    let user_type = if is_admin {
        Some(UserType::Admin)
    } else {
        c.user_type
            .as_ref()
            .and_then(Value::as_str)
            .and_then(UserType::parse)
            .filter(|t| matches!(t, UserType::Customer | UserType::Agent))
    };
    Ok(TokenSubject {
        user_id,
        is_admin,
        name: as_text(&c.name),
        user_type,
        display_image: as_text(&c.display_image),
        expires_at: c
            .exp
            .as_ref()
            .and_then(Value::as_f64)
            .map(|e| (e * 1000.0) as Millis),
    })
}
