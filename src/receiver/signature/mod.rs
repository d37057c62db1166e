//! Webhook signature schemes, exactly as the platforms sign (docs/api-contracts-sources.md §1.2,
//! §2.2, §3.1, §3.6, §5.3). Pure functions: bytes and header values in, a verdict out.
//! Every comparison is constant-time (`Mac::verify_slice`, RSA verification), and every
//! scheme accepts several keys so a secret can be rotated without dropping deliveries.

mod adobe;
mod standard;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use adobe::{AdobePublicKey, InvalidPublicKey, verify_adobe};
pub use standard::{StandardHeaders, standard_secret_bytes, verify_standard};

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused. Deliberately coarse: the caller learns nothing that would
/// help it forge a better attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signature timestamp is outside the accepted window")]
    StaleTimestamp,
}

/// How an HMAC is written into its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Hex,
}

/// Pre-keyed HMAC-SHA256 instances, newest secret first. Debug never shows key material.
#[derive(Clone, Default)]
pub struct HmacKeys(Vec<HmacSha256>);

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKeys({} key(s), redacted)", self.0.len())
    }
}

impl HmacKeys {
    /// Keys from raw secret bytes (Shopify client secret, WooCommerce webhook secret and
    /// extension HMAC secrets are used as the literal UTF-8 text).
    pub fn from_secrets<S: AsRef<[u8]>>(secrets: &[S]) -> Self {
        Self(
            secrets
                .iter()
                .filter_map(|s| HmacSha256::new_from_slice(s.as_ref()).ok())
                .collect(),
        )
    }

    /// Keys for Standard Webhooks: `whsec_<base64>` secrets whose decoded bytes are the key.
    pub fn from_standard_secrets<S: AsRef<str>>(secrets: &[S]) -> Self {
        let bytes: Vec<Vec<u8>> = secrets
            .iter()
            .map(|s| standard_secret_bytes(s.as_ref()))
            .collect();
        Self::from_secrets(&bytes)
    }

    /// Whether there is at least one key; without one every delivery is refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `expected` is the HMAC of the concatenated parts under any key.
    pub(super) fn matches(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
        let mut ok = false;
        for key in &self.0 {
            let mut mac = key.clone();
            for part in parts {
                mac.update(part);
            }
            // Evaluate every key: which one matched is not worth a timing signal.
            ok |= mac.verify_slice(expected).is_ok();
        }
        ok
    }
}

fn decode(value: &str, encoding: Encoding) -> Option<Vec<u8>> {
    let value = value.trim();
    match encoding {
        Encoding::Base64 => STANDARD.decode(value).ok(),
        Encoding::Hex => hex::decode(value).ok(),
    }
}

/// HMAC-SHA256 of the raw body in one header: Shopify (`X-Shopify-Hmac-Sha256`, base64),
/// WooCommerce (`X-WC-Webhook-Signature`, base64) and Magento extensions (hex or base64).
pub fn verify_body_hmac(
    keys: &HmacKeys,
    body: &[u8],
    header: Option<&str>,
    encoding: Encoding,
) -> Result<(), SignatureError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let expected = decode(header, encoding).ok_or(SignatureError::Mismatch)?;
    if keys.matches(&[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector from docs/api-contracts-sources.md §1.2 (also valid for WooCommerce, §2.2).
    const SHOPIFY_BODY: &[u8] =
        br#"{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}"#;
    const SHOPIFY_SIG: &str = "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=";

    #[test]
    fn shopify_vector_verifies() {
        let keys = HmacKeys::from_secrets(&["test-webhook-secret"]);
        assert_eq!(
            verify_body_hmac(&keys, SHOPIFY_BODY, Some(SHOPIFY_SIG), Encoding::Base64),
            Ok(())
        );
    }

    #[test]
    fn body_hmac_forgeries_fail() {
        let keys = HmacKeys::from_secrets(&["test-webhook-secret"]);
        let wrong = HmacKeys::from_secrets(&["another-secret"]);
        let mut altered = SHOPIFY_BODY.to_vec();
        altered[5] = b'9';
        let truncated = &SHOPIFY_SIG[..20];
        let check =
            |k: &HmacKeys, b: &[u8], s: Option<&str>| verify_body_hmac(k, b, s, Encoding::Base64);
        assert_eq!(
            check(&wrong, SHOPIFY_BODY, Some(SHOPIFY_SIG)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&keys, &altered, Some(SHOPIFY_SIG)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&keys, SHOPIFY_BODY, Some(truncated)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&keys, SHOPIFY_BODY, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check(&keys, SHOPIFY_BODY, Some("not base64!")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&HmacKeys::default(), SHOPIFY_BODY, Some(SHOPIFY_SIG)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn either_secret_verifies_during_rotation() {
        let keys = HmacKeys::from_secrets(&["new-secret", "test-webhook-secret"]);
        assert_eq!(
            verify_body_hmac(&keys, SHOPIFY_BODY, Some(SHOPIFY_SIG), Encoding::Base64),
            Ok(())
        );
    }

    #[test]
    fn hex_encoding_for_magento_extensions() {
        let keys = HmacKeys::from_secrets(&["test-webhook-secret"]);
        let hex_sig = hex::encode(STANDARD.decode(SHOPIFY_SIG).unwrap());
        assert_eq!(
            verify_body_hmac(&keys, SHOPIFY_BODY, Some(&hex_sig), Encoding::Hex),
            Ok(())
        );
        assert_eq!(
            verify_body_hmac(&keys, SHOPIFY_BODY, Some(SHOPIFY_SIG), Encoding::Hex),
            Err(SignatureError::Mismatch)
        );
    }
}
