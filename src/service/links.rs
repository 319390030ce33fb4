//! Signed, time-limited download links (§12). A rendered message carries them so that they
//! work as they are in `<img src>` and links, where no `Authorization` header can go.
//!
//! A link is `/api/v0/chat/attachments/{id}[/thumbnail]?exp=<unix s>&sig=<HMAC-SHA256>` over
//! the id, the variant and the expiry, keyed by a secret every node derives from the same
//! `INTERNAL_API_KEY`, so a link made on one node is good on all of them. The expiry is
//! rounded up to the next whole hour, 12–13 h ahead: every rendering signs afresh, yet within
//! the hour the same link comes back, so browsers keep the file in their cache.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{ATTACHMENTS_PATH, Variant};

type HmacSha256 = Hmac<Sha256>;

/// How long a link lasts at least.
pub const LINK_TTL_SECS: i64 = 12 * 3600;
const ROUND_SECS: i64 = 3600;

#[derive(Clone)]
pub struct Links {
    key: [u8; 32],
    /// Prepended to every link (`PUBLIC_URL`), or empty: root-relative links.
    base: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// A signature that is not ours for this id, variant and expiry.
    Invalid,
    Expired,
}

impl Links {
    /// Links keyed by a secret derived from `secret` (the internal API key): the link key is
    /// never the API key itself.
    pub fn new(secret: &[u8], base: Option<&str>) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"order-chat attachment links v1");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Links {
            key,
            base: base.unwrap_or_default().trim_end_matches('/').to_owned(),
        }
    }

    /// A process-local random key (services built without settings: tests).
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut secret);
        Self::new(&secret, None)
    }

    /// The bare path (works with an `Authorization: Bearer` header).
    pub fn path(id: &str, variant: Variant) -> String {
        match variant {
            Variant::Original => format!("{ATTACHMENTS_PATH}{id}"),
            Variant::Thumbnail => format!("{ATTACHMENTS_PATH}{id}/thumbnail"),
        }
    }

    fn mac(&self, id: &str, variant: Variant, exp: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{id}\n{}\n{exp}", variant.as_str()).as_bytes());
        mac
    }

    /// A signed link valid for 12–13 hours from `now_secs`.
    pub fn signed(&self, id: &str, variant: Variant, now_secs: i64) -> String {
        let exp = (now_secs + LINK_TTL_SECS).div_euclid(ROUND_SECS) * ROUND_SECS + ROUND_SECS;
        let sig = URL_SAFE_NO_PAD.encode(self.mac(id, variant, exp).finalize().into_bytes());
        format!(
            "{}{}?exp={exp}&sig={sig}",
            self.base,
            Self::path(id, variant)
        )
    }

    /// Is this the signature we would give, and is it still valid at `now_secs`?
    pub fn verify(
        &self,
        id: &str,
        variant: Variant,
        exp: i64,
        sig: &str,
        now_secs: i64,
    ) -> Result<(), LinkRefusal> {
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| LinkRefusal::Invalid)?;
        self.mac(id, variant, exp)
            .verify_slice(&sig)
            .map_err(|_| LinkRefusal::Invalid)?;
        if exp <= now_secs {
            return Err(LinkRefusal::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(link: &str) -> (i64, String) {
        let q = link.split_once('?').unwrap().1;
        let mut exp = 0;
        let mut sig = String::new();
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "exp" => exp = v.parse().unwrap(),
                "sig" => sig = v.into_owned(),
                _ => {}
            }
        }
        (exp, sig)
    }

    #[test]
    fn a_link_verifies_until_it_expires_and_only_for_its_file() {
        let links = Links::new(b"key", None);
        let now = 1_800_000_000;
        let link = links.signed("a1", Variant::Original, now);
        assert!(link.starts_with("/api/v0/chat/attachments/a1?exp="));
        let (exp, sig) = parts(&link);
        assert!(exp - now >= LINK_TTL_SECS && exp - now <= LINK_TTL_SECS + ROUND_SECS);
        assert_eq!(
            links.verify("a1", Variant::Original, exp, &sig, now),
            Ok(())
        );
        let bad = Err(LinkRefusal::Invalid);
        assert_eq!(links.verify("a2", Variant::Original, exp, &sig, now), bad);
        assert_eq!(links.verify("a1", Variant::Thumbnail, exp, &sig, now), bad);
        assert_eq!(
            links.verify("a1", Variant::Original, exp + 1, &sig, now),
            bad
        );
        assert_eq!(links.verify("a1", Variant::Original, exp, "AAAA", now), bad);
        let other = Links::new(b"another key", None);
        assert_eq!(other.verify("a1", Variant::Original, exp, &sig, now), bad);
        assert_eq!(
            links.verify("a1", Variant::Original, exp, &sig, exp),
            Err(LinkRefusal::Expired)
        );
        // The same link within the hour: browsers can cache it.
        assert_eq!(links.signed("a1", Variant::Original, now + 1), link);
    }
}
