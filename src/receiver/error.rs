//! Every way a delivery is refused, with its HTTP status and a stable machine-readable code.
//! The codes double as the `outcome` label of the request metric, so the set is fixed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Seconds a provider is asked to wait before retrying a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Why a delivery was not accepted. Nothing is enqueued for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the webhook signature header is missing")]
    MissingSignature,
    #[error("the webhook signature does not match")]
    InvalidSignature,
    #[error("the webhook timestamp is outside the accepted window")]
    StaleTimestamp,
    #[error("the delivery names a different shop than this pipeline's")]
    WrongShop,
    #[error("a required header is missing or invalid")]
    MissingHeader,
    #[error("the body is not valid JSON")]
    MalformedJson,
    /// Verified, but nothing the worker could sync: answered 422 rather than
    /// acknowledged and lost. The text names the problem (topic, shape or field).
    #[error("{0}")]
    Unsyncable(String),
    #[error("the body could not be read")]
    BodyUnreadable,
    #[error("the body is larger than the limit")]
    PayloadTooLarge,
    #[error("the content type must be application/json")]
    UnsupportedMediaType,
    #[error("this pipeline has no such webhook route")]
    NotFound,
    #[error("the queue is unavailable; retry later")]
    QueueUnavailable,
    #[error("too many deliveries in flight; retry later")]
    Overloaded,
    #[error("the request took too long; retry later")]
    Timeout,
}

impl Rejection {
    /// The HTTP status the provider sees.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingSignature
            | Self::InvalidSignature
            | Self::StaleTimestamp
            | Self::WrongShop => StatusCode::UNAUTHORIZED,
            Self::MissingHeader | Self::MalformedJson | Self::BodyUnreadable => {
                StatusCode::BAD_REQUEST
            }
            Self::Unsyncable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::QueueUnavailable | Self::Overloaded | Self::Timeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The stable code in the JSON answer and in the metric's outcome label.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::InvalidSignature => "invalid_signature",
            Self::StaleTimestamp => "stale_timestamp",
            Self::WrongShop => "wrong_shop",
            Self::MissingHeader => "missing_header",
            Self::MalformedJson => "malformed_json",
            Self::Unsyncable(_) => "unsyncable",
            Self::BodyUnreadable => "body_unreadable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotFound => "not_found",
            Self::QueueUnavailable => "queue_unavailable",
            Self::Overloaded => "overloaded",
            Self::Timeout => "timeout",
        }
    }
}

/// A small JSON answer: `{"error": code, "message": text}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = json_error(self.status(), self.code(), &self.to_string());
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_answers_carry_retry_after() {
        for r in [
            Rejection::QueueUnavailable,
            Rejection::Overloaded,
            Rejection::Timeout,
        ] {
            let resp = r.into_response();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(resp.headers().contains_key(header::RETRY_AFTER));
        }
        let resp = Rejection::InvalidSignature.into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(!resp.headers().contains_key(header::RETRY_AFTER));
    }
}
