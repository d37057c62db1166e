//! The gate in front of the simulated HubSpot API: auth, the rate limits (with HubSpot's
//! headers and 429 bodies), injected faults and latency, in that order.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::limits::{Admission, Fault, Policy, Usage};
use super::types::{Category, ErrorBody, correlation_id};
use super::{Counters, Sim, lock};

fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, v);
    }
}

fn rate_headers(headers: &mut HeaderMap, usage: Usage) {
    set(headers, "x-hubspot-ratelimit-max", usage.max);
    set(headers, "x-hubspot-ratelimit-remaining", usage.remaining);
    set(headers, "x-hubspot-ratelimit-interval-milliseconds", 10_000);
    set(headers, "x-hubspot-ratelimit-daily", usage.daily);
    set(
        headers,
        "x-hubspot-ratelimit-daily-remaining",
        usage.daily_remaining,
    );
}

fn too_many(policy_name: &str, message: &str) -> Response {
    let body = json!({
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy_name,
        "requestId": correlation_id(),
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

/// Auth, then the rate limits, then faults, then latency; admitted responses carry the
/// rate-limit headers (except search, as on HubSpot).
pub(super) async fn gate(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let c = &sim.counters;
    c.requests.fetch_add(1, Ordering::Relaxed);
    sim.saw_user_agent(
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    if let Some(refused) = unauthorized(&sim, &request) {
        return refused;
    }
    let search = request.uri().path().ends_with("/search");
    let now = Instant::now();
    let usage = match lock(&sim.limiter).admit(now, search) {
        Admission::Admitted(usage) => usage,
        Admission::Limited {
            policy,
            usage,
            retry_after,
        } => return limited(&sim, policy, usage, retry_after, search),
    };
    let (fault, latency) = {
        let mut faults = lock(&sim.faults);
        if faults.applies_to(request.uri().path()) {
            (faults.decide(now, fastrand::f64()), faults.latency())
        } else {
            (Fault::None, Duration::ZERO)
        }
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = match injected_response(&sim.counters, fault) {
        Some(injected) => injected,
        None => next.run(request).await,
    };
    if !search {
        rate_headers(response.headers_mut(), usage);
    }
    response
}

/// HubSpot's 401, unless the request carries the simulator's bearer token.
fn unauthorized(sim: &Sim, request: &Request) -> Option<Response> {
    let expected = format!("Bearer {}", sim.settings.token);
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if authorized {
        return None;
    }
    sim.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
    let body = ErrorBody::new(
        Category::InvalidAuthentication,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication \
         and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    );
    Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response())
}

/// The 429 of a limit the request ran into, with `Retry-After` when the simulator sends it.
fn limited(
    sim: &Sim,
    policy: Policy,
    usage: Usage,
    retry_after: Duration,
    search: bool,
) -> Response {
    sim.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
    let mut response = too_many(policy.name(), policy.message());
    if !search {
        rate_headers(response.headers_mut(), usage);
    }
    if sim.settings.retry_after_on_429 {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        set(response.headers_mut(), "retry-after", secs.max(1));
    }
    response
}

/// The response of an injected fault; `None` lets the request through.
fn injected_response(c: &Counters, fault: Fault) -> Option<Response> {
    let response = match fault {
        Fault::None => return None,
        Fault::Outage => {
            c.outage_rejections.fetch_add(1, Ordering::Relaxed);
            let body = json!({"status": "error", "message": "Service Unavailable",
                              "correlationId": correlation_id()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
        Fault::Forced429 { retry_after_secs } => {
            c.forced_429.fetch_add(1, Ordering::Relaxed);
            let policy = Policy::TenSecondlyRolling;
            let mut response = too_many(policy.name(), policy.message());
            if retry_after_secs > 0 {
                set(response.headers_mut(), "retry-after", retry_after_secs);
            }
            response
        }
        Fault::ServerError(code) => {
            c.server_errors.fetch_add(1, Ordering::Relaxed);
            let body = json!({"status": "error", "message": "internal error (injected)",
                              "correlationId": correlation_id()});
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(body)).into_response()
        }
    };
    Some(response)
}
