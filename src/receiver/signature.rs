//! Webhook signature schemes, exactly as the platforms sign (api-contracts-sources.md §1.2,
//! §2.2, §3.1, §3.6, §5.3). Pure functions: bytes and header values in, a verdict out.
//! Every comparison is constant-time (`Mac::verify_slice`, RSA verification), and every
//! scheme accepts several keys so a secret can be rotated without dropping deliveries.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::Sha256;

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
    fn matches(&self, parts: &[&[u8]], expected: &[u8]) -> bool {
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

/// The HMAC key of a Standard Webhooks secret: the base64 after `whsec_` (padding
/// optional, as the reference library tolerates). A secret that is not in that form is
/// used as literal bytes, so a plain shared secret still works on /webhooks/standard.
pub fn standard_secret_bytes(secret: &str) -> Vec<u8> {
    let trimmed = secret.trim();
    let Some(encoded) = trimmed.strip_prefix("whsec_") else {
        return trimmed.as_bytes().to_vec();
    };
    STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded.trim_end_matches('=')))
        .unwrap_or_else(|_| trimmed.as_bytes().to_vec())
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

/// The three Standard Webhooks headers of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct StandardHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Standard Webhooks: any `v1,<base64>` entry of `webhook-signature` must be the HMAC of
/// `id.timestamp.body`, and the timestamp must lie within `tolerance` of `now_unix` in
/// either direction. Returns the verified timestamp.
pub fn verify_standard<'a>(
    keys: &HmacKeys,
    headers: StandardHeaders<'a>,
    body: &[u8],
    now_unix: i64,
    tolerance: Duration,
) -> Result<i64, SignatureError> {
    let present = |h: Option<&'a str>| h.filter(|v| !v.trim().is_empty());
    let (Some(id), Some(ts), Some(sigs)) = (
        present(headers.id),
        present(headers.timestamp),
        present(headers.signature),
    ) else {
        return Err(SignatureError::Missing);
    };
    let mut matched = false;
    for entry in sigs.split_whitespace() {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        if let Ok(sig) = STANDARD.decode(encoded) {
            matched |= keys.matches(&[id.as_bytes(), b".", ts.as_bytes(), b".", body], &sig);
        }
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let ts: i64 = ts.trim().parse().map_err(|_| SignatureError::Mismatch)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now_unix.abs_diff(ts) > tolerance.unsigned_abs() {
        return Err(SignatureError::StaleTimestamp);
    }
    Ok(ts)
}

/// The RSA public key of Adobe Commerce Webhooks, from the PEM the admin shows.
#[derive(Clone)]
pub struct AdobePublicKey(VerifyingKey<Sha256>);

impl fmt::Debug for AdobePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdobePublicKey(..)")
    }
}

/// The configured Adobe public key is not an RSA SubjectPublicKeyInfo PEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Adobe Commerce public key is not a valid RSA public key PEM")]
pub struct InvalidPublicKey;

impl AdobePublicKey {
    /// Parses `-----BEGIN PUBLIC KEY-----` PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, InvalidPublicKey> {
        let key =
            rsa::RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|_| InvalidPublicKey)?;
        Ok(Self(VerifyingKey::new(key)))
    }
}

/// Adobe Commerce Webhooks: `x-adobe-commerce-webhook-signature` is a base64 RSA-SHA256
/// (PKCS#1 v1.5) signature over the **base64 encoding** of the body (their verification
/// sample feeds base64(body) to `crypto.createVerify('SHA256')`), not over the raw body.
pub fn verify_adobe(
    key: &AdobePublicKey,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let raw = STANDARD
        .decode(header.trim())
        .map_err(|_| SignatureError::Mismatch)?;
    let signature = Signature::try_from(raw.as_slice()).map_err(|_| SignatureError::Mismatch)?;
    let signed = STANDARD.encode(body);
    key.0
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector from api-contracts-sources.md §1.2 (also valid for WooCommerce, §2.2).
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

    // Vector from the Standard Webhooks reference library (sources §5.3).
    const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const STD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const STD_TS: &str = "1614265330";
    const STD_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const STD_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const FIVE_MIN: Duration = Duration::from_secs(300);

    fn std_headers<'a>(sig: &'a str, ts: &'a str) -> StandardHeaders<'a> {
        StandardHeaders {
            id: Some(STD_ID),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn standard_vector_verifies_among_other_entries() {
        let keys = HmacKeys::from_standard_secrets(&[STD_SECRET]);
        let header = format!("v1a,AAAA v1,bm90LWl0 {STD_SIG}");
        assert_eq!(
            verify_standard(
                &keys,
                std_headers(&header, STD_TS),
                STD_BODY,
                1_614_265_330,
                FIVE_MIN
            ),
            Ok(1_614_265_330)
        );
    }

    #[test]
    fn standard_tolerance_is_five_minutes_both_ways() {
        let keys = HmacKeys::from_standard_secrets(&[STD_SECRET]);
        let at =
            |now| verify_standard(&keys, std_headers(STD_SIG, STD_TS), STD_BODY, now, FIVE_MIN);
        assert!(at(1_614_265_330 + 300).is_ok());
        assert!(at(1_614_265_330 - 300).is_ok());
        assert_eq!(at(1_614_265_330 + 301), Err(SignatureError::StaleTimestamp));
        assert_eq!(at(1_614_265_330 - 301), Err(SignatureError::StaleTimestamp));
    }

    #[test]
    fn standard_forgeries_fail() {
        let keys = HmacKeys::from_standard_secrets(&[STD_SECRET]);
        let now = 1_614_265_330;
        // The signature covers the timestamp, so a replay with a fresh timestamp fails.
        assert_eq!(
            verify_standard(
                &keys,
                std_headers(STD_SIG, "1614265331"),
                STD_BODY,
                now,
                FIVE_MIN
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_standard(
                &keys,
                std_headers(STD_SIG, STD_TS),
                b"{\"test\": 1}",
                now,
                FIVE_MIN
            ),
            Err(SignatureError::Mismatch)
        );
        let missing = StandardHeaders {
            id: None,
            ..std_headers(STD_SIG, STD_TS)
        };
        assert_eq!(
            verify_standard(&keys, missing, STD_BODY, now, FIVE_MIN),
            Err(SignatureError::Missing)
        );
        let truncated = &STD_SIG[..STD_SIG.len() - 8];
        assert_eq!(
            verify_standard(
                &keys,
                std_headers(truncated, STD_TS),
                STD_BODY,
                now,
                FIVE_MIN
            ),
            Err(SignatureError::Mismatch)
        );
        // The literal secret text is not the key: only the decoded bytes are.
        let literal = HmacKeys::from_secrets(&[STD_SECRET]);
        assert_eq!(
            verify_standard(
                &literal,
                std_headers(STD_SIG, STD_TS),
                STD_BODY,
                now,
                FIVE_MIN
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn standard_secret_padding_is_optional() {
        let padded = standard_secret_bytes("whsec_aGVsbG8=");
        assert_eq!(padded, b"hello");
        assert_eq!(standard_secret_bytes("whsec_aGVsbG8"), b"hello");
        assert_eq!(standard_secret_bytes("plain"), b"plain");
    }

    #[test]
    fn adobe_signs_base64_of_body() {
        use rsa::pkcs1v15::SigningKey;
        use rsa::pkcs8::EncodePublicKey;
        use rsa::signature::{SignatureEncoding, Signer};

        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        let key = AdobePublicKey::from_pem(&pem).unwrap();
        let signer = SigningKey::<Sha256>::new(private);
        let body = br#"{"eventName":"observer.sales_order_save_after"}"#;
        let over_b64 = STANDARD.encode(signer.sign(STANDARD.encode(body).as_bytes()).to_bytes());
        let over_raw = STANDARD.encode(signer.sign(body).to_bytes());
        assert_eq!(verify_adobe(&key, body, Some(&over_b64)), Ok(()));
        assert_eq!(
            verify_adobe(&key, body, Some(&over_raw)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_adobe(&key, b"{}", Some(&over_b64)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_adobe(&key, body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify_adobe(&key, body, Some(&over_b64[..40])),
            Err(SignatureError::Mismatch)
        );
        assert!(
            AdobePublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
