//! How the worker handles each HubSpot failure, decided once from the error: an outage of
//! the CRM (back off, spend nothing), a failure that may pass on a retry, one that will
//! fail again as it is, or a refused token. The worker's retry policy (`worker::retry`)
//! acts on the class; tests assert on it rather than on the raw error.

use std::time::Duration;

use super::CrmError;

/// How a CRM failure is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureClass {
    /// The CRM is down or over its limit (429, 502/503/504, timeouts, connection errors):
    /// nothing is wrong with the event, so no attempt is spent and an outage of any length
    /// dead-letters nothing; the worker backs off.
    Outage { retry_after: Option<Duration> },
    /// May pass on a retry (500, unreadable answers, inputs left unanswered): spends one
    /// attempt.
    Transient,
    /// Will fail again as it is (400 validation, 404, 409): a dead letter at once.
    Permanent { reason: &'static str },
    /// The token is refused (401/403): a dead letter, and the pipeline says CrmUnauthorized.
    Unauthorized,
    /// Never from the CRM: the worker's write lock on the event's object lapsed and
    /// another worker took the object over, so the rest of the event was not sent (it may
    /// be the older version now). The event goes back to be claimed again, where it is
    /// dropped as stale or waits for the other worker; no attempt is spent.
    LeaseLost,
}

impl FailureClass {
    /// The class of a HubSpot error: the only place a `CrmError` is judged retryable.
    pub fn of(error: &CrmError) -> Self {
        match error {
            CrmError::RateLimited { retry_after, .. } => Self::Outage {
                retry_after: Some(*retry_after),
            },
            CrmError::Server {
                status: 502..=504,
                retry_after,
            } => Self::Outage {
                retry_after: *retry_after,
            },
            CrmError::Timeout | CrmError::Connection(_) => Self::Outage { retry_after: None },
            CrmError::Server { .. } | CrmError::Decode(_) => Self::Transient,
            CrmError::Unauthorized { .. } => Self::Unauthorized,
            CrmError::Rejected { .. } => Self::Permanent {
                reason: "crm_rejected",
            },
            CrmError::BatchTooLarge(_) => Self::Permanent {
                reason: "batch_too_large",
            },
        }
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Outage { .. } => "outage",
            Self::Transient => "transient",
            Self::Permanent { .. } => "permanent",
            Self::Unauthorized => "unauthorized",
            Self::LeaseLost => "lease_lost",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::crm::hubspot::errors::classify;

    #[test]
    fn failures_are_classified_by_what_they_say_about_the_event() {
        let rate = CrmError::RateLimited {
            policy: "TEN_SECONDLY_ROLLING".into(),
            retry_after: Duration::from_secs(10),
        };
        assert_eq!(
            FailureClass::of(&rate),
            FailureClass::Outage {
                retry_after: Some(Duration::from_secs(10))
            }
        );
        let server = |status| CrmError::Server {
            status,
            retry_after: None,
        };
        assert_eq!(FailureClass::of(&server(503)).label(), "outage");
        assert_eq!(FailureClass::of(&server(500)), FailureClass::Transient);
        assert_eq!(FailureClass::of(&CrmError::Timeout).label(), "outage");
        let rejected = CrmError::Rejected {
            status: 400,
            category: "VALIDATION_ERROR".into(),
            message: "bad email".into(),
        };
        assert_eq!(
            FailureClass::of(&rejected),
            FailureClass::Permanent {
                reason: "crm_rejected"
            }
        );
        let unauthorized = CrmError::Unauthorized {
            status: 401,
            message: "expired".into(),
        };
        assert_eq!(FailureClass::of(&unauthorized), FailureClass::Unauthorized);
    }

    #[test]
    fn answers_split_into_retried_and_dead_lettered() {
        assert_eq!(
            FailureClass::of(&classify(500, None, None, b"")),
            FailureClass::Transient
        );
        assert_eq!(
            FailureClass::of(&classify(503, None, None, b"<html>")),
            FailureClass::Outage { retry_after: None }
        );
        assert_eq!(
            FailureClass::of(&classify(477, Some("2.5"), None, b"")),
            FailureClass::Transient
        );
        let body = br#"{"policyName":"TEN_SECONDLY_ROLLING"}"#;
        assert_eq!(
            FailureClass::of(&classify(429, None, Some("10000"), body)),
            FailureClass::Outage {
                retry_after: Some(Duration::from_secs(10))
            }
        );
        let bad = classify(400, None, None, br#"{"category":"VALIDATION_ERROR"}"#);
        assert_eq!(
            FailureClass::of(&bad),
            FailureClass::Permanent {
                reason: "crm_rejected"
            }
        );
        for status in [401, 403] {
            let e = classify(status, None, None, b"{}");
            assert_eq!(FailureClass::of(&e), FailureClass::Unauthorized);
        }
        assert_eq!(
            FailureClass::of(&CrmError::BatchTooLarge(101)),
            FailureClass::Permanent {
                reason: "batch_too_large"
            }
        );
        assert_eq!(
            FailureClass::of(&CrmError::Decode("eof".into())),
            FailureClass::Transient
        );
    }
}
