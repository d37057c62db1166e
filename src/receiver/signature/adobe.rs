//! Adobe Commerce Webhooks (sources §3.1): RSA-SHA256 with the configured public key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::Sha256;

use super::SignatureError;

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
