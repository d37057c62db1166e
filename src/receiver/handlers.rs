//! The webhook handlers: read the body within limits, verify the signature before looking
//! at the JSON (so a forgery with a junk body is a 401, not a 400), then dedupe and enqueue
//! in one Redis step and answer 200 only once the event is stored.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::body::{BodyLimits, read_limited};
use super::delivery::{header, verify};
use super::route::Route;
use super::{MagentoScheme, ReceiverState, Rejection};
use crate::connectors::store::webhook::{self, Delivered};
use crate::queue::{EnqueueOutcome, EventEnvelope};

/// How a delivery was answered successfully.
enum Accepted {
    Stored,
    Duplicate,
    Ping,
}

/// Counts a delivery in progress; decrements even when the request deadline drops the
/// handler mid-way.
struct InFlight<'a>(&'a prometheus::IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub async fn shopify(State(state): State<Arc<ReceiverState>>, req: Request) -> Response {
    handle(state, Route::Shopify, req).await
}

pub async fn woocommerce(State(state): State<Arc<ReceiverState>>, req: Request) -> Response {
    handle(state, Route::WooCommerce, req).await
}

pub async fn magento(State(state): State<Arc<ReceiverState>>, req: Request) -> Response {
    handle(state, Route::Magento, req).await
}

pub async fn standard(State(state): State<Arc<ReceiverState>>, req: Request) -> Response {
    handle(state, Route::Standard, req).await
}

async fn handle(state: Arc<ReceiverState>, route: Route, req: Request) -> Response {
    let started = Instant::now();
    let mut topic = None;
    let result = match state.permits.try_acquire() {
        Ok(_permit) => {
            let _in_flight = InFlight::enter(state.metrics.in_flight());
            process(&state, route, req, &mut topic).await
        }
        Err(_) => Err(Rejection::Overloaded),
    };
    let topic_label = topic.as_deref().unwrap_or("unknown");
    let outcome = match &result {
        Ok(Accepted::Stored) => "accepted",
        Ok(Accepted::Duplicate) => "duplicate",
        Ok(Accepted::Ping) => "ping",
        Err(rejection) => rejection.code(),
    };
    state.metrics.observe(
        route.as_str(),
        topic_label,
        outcome,
        started.elapsed().as_secs_f64(),
    );
    match result {
        Ok(accepted) => {
            tracing::debug!(route = route.as_str(), outcome, "delivery answered");
            success_response(&state, route, accepted)
        }
        Err(rejection) => {
            tracing::debug!(route = route.as_str(), outcome, "delivery refused");
            rejection.into_response()
        }
    }
}

fn success_response(state: &ReceiverState, route: Route, accepted: Accepted) -> Response {
    let adobe = route == Route::Magento && matches!(state.magento, Some(MagentoScheme::Adobe(_)));
    let body = if adobe {
        // Adobe Commerce webhooks are synchronous and expect a list of operations.
        r#"[{"op":"success"}]"#
    } else {
        match accepted {
            Accepted::Stored => r#"{"status":"accepted"}"#,
            Accepted::Duplicate => r#"{"status":"duplicate"}"#,
            Accepted::Ping => r#"{"status":"ping"}"#,
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn process(
    state: &ReceiverState,
    route: Route,
    req: Request,
    topic: &mut Option<String>,
) -> Result<Accepted, Rejection> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let limits = BodyLimits {
        max: state.settings.max_body_bytes,
        drain: state.settings.max_drain_bytes,
        drain_timeout: state.settings.request_timeout,
    };
    let body = if route == Route::WooCommerce && is_possible_ping(headers) {
        let bytes = read_limited(body, headers, limits).await?;
        if is_ping_body(&bytes) {
            return Ok(Accepted::Ping);
        }
        if !is_json(headers) {
            return Err(Rejection::UnsupportedMediaType);
        }
        bytes
    } else {
        if !is_json(headers) {
            return Err(Rejection::UnsupportedMediaType);
        }
        read_limited(body, headers, limits).await?
    };
    verify_and_store(state, route, headers, body, topic).await
}

/// WooCommerce's activation ping carries no X-WC-* header at all.
fn is_possible_ping(headers: &HeaderMap) -> bool {
    !headers
        .keys()
        .any(|k| k.as_str().starts_with("x-wc-webhook-"))
}

/// `webhook_id=<digits>`, the whole body of a WooCommerce ping.
fn is_ping_body(body: &[u8]) -> bool {
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_digit))
}

fn is_json(headers: &HeaderMap) -> bool {
    header(headers, header::CONTENT_TYPE.as_str()).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    })
}

async fn verify_and_store(
    state: &ReceiverState,
    route: Route,
    headers: &HeaderMap,
    body: Bytes,
    topic: &mut Option<String>,
) -> Result<Accepted, Rejection> {
    let delivery = verify(state, route, headers, &body)?;
    *topic = delivery.topic.clone();
    let text = std::str::from_utf8(&body).map_err(|_| Rejection::MalformedJson)?;
    let json: Value = serde_json::from_str(text).map_err(|_| Rejection::MalformedJson)?;
    // The worker maps the body through this same reader: acknowledge only what it can.
    let header_topic = delivery.topic.as_deref().or_else(|| {
        let name = state
            .topic_header
            .as_ref()
            .filter(|_| route == Route::Magento)?;
        header(headers, name.as_str())
    });
    let read = webhook::read(state.platform, header_topic, &json).map_err(|e| {
        tracing::info!(route = route.as_str(), error = %e, "delivery refused: it cannot be synced");
        Rejection::Unsyncable(e.to_string())
    })?;
    let (topic_text, kind, object_id) = match read {
        Delivered::Object { topic, record } => (topic, record.kind(), Some(record.id().to_owned())),
        Delivered::Deletion { topic, kind } => (topic, kind, None),
    };
    *topic = Some(topic_text.clone());
    let envelope = EventEnvelope {
        delivery_id: delivery.id,
        platform: state.platform,
        scheme: delivery.scheme,
        topic: topic_text,
        object_kind: Some(kind),
        object_id,
        received_at: jiff::Timestamp::now().to_string(),
        body: text.to_owned(),
    };
    match state.queue.enqueue(&envelope).await {
        Ok(EnqueueOutcome::Enqueued { .. }) => Ok(Accepted::Stored),
        Ok(EnqueueOutcome::Duplicate) => Ok(Accepted::Duplicate),
        Err(err) => {
            state.metrics.enqueue_failed(err.kind());
            if state.should_log_failure() {
                tracing::warn!(reason = err.kind(), error = %err, "could not enqueue a verified delivery; answering 503 (logged at most once a second)");
            }
            Err(Rejection::QueueUnavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_body_is_exactly_webhook_id_digits() {
        assert!(is_ping_body(b"webhook_id=12"));
        assert!(!is_ping_body(b"webhook_id="));
        assert!(!is_ping_body(b"webhook_id=12&x=1"));
        assert!(!is_ping_body(b"{\"webhook_id\":12}"));
    }

    #[test]
    fn json_content_type_allows_parameters() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, "application/jsonx".parse().unwrap());
        assert!(!is_json(&h));
    }
}
