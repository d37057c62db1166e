//! HubSpot's failed answers read into errors, from status, headers and body. Pure. How the
//! worker handles each (retry, back off, dead-letter) is `failure::FailureClass`.

use std::time::Duration;

use serde::Deserialize;

/// The 10-second window HubSpot's burst limit rolls over, when no header says otherwise.
pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(10);
/// How long to back off after a daily-limit 429 when nothing better is known.
pub const DAILY_LIMIT_PAUSE: Duration = Duration::from_secs(3600);

/// Why a HubSpot call failed. Low-cardinality variants: they label metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    #[error("HubSpot rate limit hit ({policy}); retry after {retry_after:?}")]
    RateLimited {
        policy: String,
        retry_after: Duration,
    },
    #[error("HubSpot answered {status}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("HubSpot did not answer in time")]
    Timeout,
    #[error("could not reach HubSpot: {0}")]
    Connection(String),
    #[error("HubSpot rejected the token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("HubSpot rejected the request ({status} {category}): {message}")]
    Rejected {
        status: u16,
        category: String,
        message: String,
    },
    #[error("HubSpot's answer could not be read: {0}")]
    Decode(String),
    #[error("a batch holds at most 100 inputs, got {0}")]
    BatchTooLarge(usize),
}

impl CrmError {
    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Timeout => "timeout",
            Self::Connection(_) => "connection",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Rejected { .. } => "rejected",
            Self::Decode(_) => "decode",
            Self::BatchTooLarge(_) => "batch_too_large",
        }
    }
}

/// The fields of HubSpot's error bodies (all optional, as HubSpot advises).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    pub message: Option<String>,
    pub category: Option<String>,
    pub policy_name: Option<String>,
    pub error_type: Option<String>,
    pub context: Option<serde_json::Value>,
}

/// `Retry-After` in seconds (integer or decimal, as Shopify's `2.0`); HTTP dates are not
/// used by HubSpot and are ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Classifies a non-2xx answer. `retry_after` and `interval_ms` are the raw headers.
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    interval_ms: Option<&str>,
    body: &[u8],
) -> CrmError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed.message.clone().unwrap_or_default();
    let retry_after = retry_after.and_then(parse_retry_after);
    match status {
        429 => {
            let policy = parsed.policy_name.unwrap_or_else(|| "UNKNOWN".into());
            let window = interval_ms
                .and_then(|ms| ms.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_RATE_WINDOW);
            // Without Retry-After, wait for the window to roll, never retry at once.
            let fallback = if policy == "DAILY" {
                DAILY_LIMIT_PAUSE
            } else {
                window
            };
            CrmError::RateLimited {
                policy,
                retry_after: retry_after.unwrap_or(fallback),
            }
        }
        401 | 403 => CrmError::Unauthorized { status, message },
        // 477 Migration in Progress and every 5xx are worth retrying.
        477 | 500..=599 => CrmError::Server {
            status,
            retry_after,
        },
        _ => CrmError::Rejected {
            status,
            category: parsed.category.unwrap_or_else(|| "UNKNOWN".into()),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hubspots_429_without_retry_after_waits_for_the_window() {
        let body =
            br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.",
            "errorType":"RATE_LIMIT","correlationId":"x","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let e = classify(429, None, Some("10000"), body);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(10)));
        assert_eq!(e.kind(), "rate_limited");
        let daily = classify(429, None, None, br#"{"policyName":"DAILY"}"#);
        assert_eq!(daily.retry_after(), Some(DAILY_LIMIT_PAUSE));
        let told = classify(429, Some("3"), Some("10000"), body);
        assert_eq!(told.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn statuses_are_read_into_errors() {
        assert!(matches!(
            classify(500, None, None, b""),
            CrmError::Server { status: 500, .. }
        ));
        assert_eq!(
            classify(477, Some("2.5"), None, b"").retry_after(),
            Some(Duration::from_millis(2500))
        );
        let bad = classify(
            400,
            None,
            None,
            br#"{"category":"VALIDATION_ERROR","message":"Property values were not valid"}"#,
        );
        assert_eq!(
            bad,
            CrmError::Rejected {
                status: 400,
                category: "VALIDATION_ERROR".into(),
                message: "Property values were not valid".into()
            }
        );
        for status in [401, 403] {
            let e = classify(status, None, None, b"{}");
            assert_eq!(e.kind(), "unauthorized");
        }
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 2.0 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }
}
