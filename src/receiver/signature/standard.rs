//! Standard Webhooks (sources §5.3): `webhook-id`, `webhook-timestamp` and a list of
//! `v1,<base64>` signatures over `id.timestamp.body`, keyed with the decoded `whsec_` secret.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::{HmacKeys, SignatureError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
