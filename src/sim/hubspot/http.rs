//! The simulator's routes: the HubSpot API behind a gate (auth, limits, faults) and the
//! `/_sim/*` inspection and admin endpoints outside it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::limits::{Admission, Fault, FaultConfig, SERVER_ERRORS, Usage};
use super::types::{
    AssociationInput, BatchInput, BatchReadRequest, Category, ErrorBody, GroupDef, ObjectId,
    ObjectType, PropertyDef, SearchRequest, UpsertInput, correlation_id,
};
use super::{Sim, lock};

type Shared = State<Arc<Sim>>;

/// The simulator's router.
pub fn router(sim: Arc<Sim>) -> Router {
    let api = Router::new()
        .route("/crm/v3/objects/{kind}/batch/upsert", post(batch_upsert))
        .route("/crm/v3/objects/{kind}/batch/read", post(batch_read))
        .route("/crm/v3/objects/{kind}/search", post(search))
        .route(
            "/crm/v3/properties/{kind}",
            get(list_properties).post(create_property),
        )
        .route(
            "/crm/v3/properties/{kind}/groups",
            get(list_groups).post(create_group),
        )
        .route("/crm/v3/properties/{kind}/{name}", get(read_property))
        .route(
            "/crm/v4/associations/{from}/{to}/batch/associate/default",
            post(batch_associate),
        )
        .route(
            "/crm/v4/objects/{from}/{from_id}/associations/default/{to}/{to_id}",
            put(associate_one),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(sim.clone(), gate));
    Router::new()
        .route("/_sim/objects/{kind}", get(sim_objects))
        .route("/_sim/stats", get(sim_stats))
        .route("/_sim/writes", get(sim_writes))
        .route("/_sim/associations", get(sim_associations))
        .route("/_sim/faults", get(sim_faults).post(set_faults))
        .route("/_sim/reset", post(sim_reset))
        .merge(api)
        .with_state(sim)
}

fn error(status: StatusCode, body: ErrorBody) -> Response {
    (status, axum::Json(body)).into_response()
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

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
async fn gate(State(sim): Shared, request: Request, next: Next) -> Response {
    let c = &sim.counters;
    c.requests.fetch_add(1, Ordering::Relaxed);
    sim.saw_user_agent(
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let expected = format!("Bearer {}", sim.settings.token);
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized {
        c.unauthorized.fetch_add(1, Ordering::Relaxed);
        let body = ErrorBody::new(
            Category::InvalidAuthentication,
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        );
        return error(StatusCode::UNAUTHORIZED, body);
    }
    let search = request.uri().path().ends_with("/search");
    let now = Instant::now();
    let admission = lock(&sim.limiter).admit(now, search);
    let usage = match admission {
        Admission::Admitted(usage) => usage,
        Admission::Limited {
            policy,
            usage,
            retry_after,
        } => {
            c.rate_limited.fetch_add(1, Ordering::Relaxed);
            let mut response = too_many(policy.name(), policy.message());
            if !search {
                rate_headers(response.headers_mut(), usage);
            }
            if sim.settings.retry_after_on_429 {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                set(response.headers_mut(), "retry-after", secs.max(1));
            }
            return response;
        }
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
    let mut response = match fault {
        Fault::None => next.run(request).await,
        Fault::Outage => {
            c.outage_rejections.fetch_add(1, Ordering::Relaxed);
            let body = json!({"status": "error", "message": "Service Unavailable",
                              "correlationId": correlation_id()});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
        Fault::Forced429 { retry_after_secs } => {
            c.forced_429.fetch_add(1, Ordering::Relaxed);
            let policy = super::limits::Policy::TenSecondlyRolling;
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
            (status(code), axum::Json(body)).into_response()
        }
    };
    if !search {
        rate_headers(response.headers_mut(), usage);
    }
    response
}

/// An error response; boxed so `Result`s stay small.
struct Rejection(Box<Response>);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

fn reject(status: StatusCode, body: ErrorBody) -> Rejection {
    Rejection(Box::new(error(status, body)))
}

/// HubSpot's status for an error category.
fn category_status(body: &ErrorBody) -> StatusCode {
    match body.category {
        Category::Conflict => StatusCode::CONFLICT,
        Category::ObjectNotFound => StatusCode::NOT_FOUND,
        Category::InvalidAuthentication => StatusCode::UNAUTHORIZED,
        Category::RateLimits => StatusCode::TOO_MANY_REQUESTS,
        Category::ValidationError => StatusCode::BAD_REQUEST,
    }
}

fn rejected(body: ErrorBody) -> Rejection {
    reject(category_status(&body), body)
}

type Reply = Result<Response, Rejection>;

fn object_type(segment: &str) -> Result<ObjectType, Rejection> {
    ObjectType::parse(segment).ok_or_else(|| {
        reject(
            StatusCode::BAD_REQUEST,
            ErrorBody::new(
                Category::ValidationError,
                format!("Unable to infer object type from: {segment}"),
            ),
        )
    })
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|e| {
        reject(
            StatusCode::BAD_REQUEST,
            ErrorBody::new(
                Category::ValidationError,
                format!("Invalid input JSON: {e}"),
            ),
        )
    })
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        ErrorBody::new(Category::ObjectNotFound, "resource not found"),
    )
}

/// 200 COMPLETE, or 207 with `numErrors` and `errors[]` when some inputs failed.
fn batch_reply(mut body: Value, errors: Vec<ErrorBody>) -> Response {
    if errors.is_empty() {
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    body["numErrors"] = json!(errors.len());
    body["errors"] = json!(errors);
    (StatusCode::MULTI_STATUS, axum::Json(body)).into_response()
}

async fn batch_upsert(State(sim): Shared, Path(kind): Path<String>, body: Bytes) -> Reply {
    let t = object_type(&kind)?;
    let input: BatchInput<UpsertInput> = parse(&body)?;
    sim.counters.upsert_calls.fetch_add(1, Ordering::Relaxed);
    let started = now();
    let report = sim
        .store()
        .batch_upsert(t, input.inputs, &started)
        .map_err(rejected)?;
    let results: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let mut v = json!({
                "id": r.object.id, "properties": r.object.properties,
                "createdAt": r.object.created_at, "updatedAt": r.object.updated_at,
                "archived": false, "new": r.new,
            });
            if let Some(trace) = &r.object_write_trace_id {
                v["objectWriteTraceId"] = json!(trace);
            }
            v
        })
        .collect();
    let body = json!({"status": "COMPLETE", "results": results,
                      "startedAt": started, "completedAt": now()});
    Ok(batch_reply(body, report.errors))
}

async fn batch_read(State(sim): Shared, Path(kind): Path<String>, body: Bytes) -> Reply {
    let t = object_type(&kind)?;
    let request: BatchReadRequest = parse(&body)?;
    let started = now();
    let (found, errors) = sim.store().batch_read(t, &request).map_err(rejected)?;
    let results: Vec<Value> = found
        .iter()
        .map(|o| {
            json!({"id": o.id, "properties": o.properties, "createdAt": o.created_at,
                   "updatedAt": o.updated_at, "archived": false})
        })
        .collect();
    let body = json!({"status": "COMPLETE", "results": results,
                      "startedAt": started, "completedAt": now()});
    Ok(batch_reply(body, errors))
}

async fn search(State(sim): Shared, Path(kind): Path<String>, body: Bytes) -> Reply {
    let t = object_type(&kind)?;
    let request: SearchRequest = parse(&body)?;
    let (total, results, next) = sim.store().search(t, &request).map_err(rejected)?;
    let mut body = json!({"total": total, "results": results});
    if let Some(after) = next {
        body["paging"] = json!({"next": {"after": after}});
    }
    Ok(axum::Json(body).into_response())
}

async fn list_properties(State(sim): Shared, Path(kind): Path<String>) -> Reply {
    let t = object_type(&kind)?;
    Ok(axum::Json(json!({"results": sim.store().properties(t)})).into_response())
}

async fn read_property(State(sim): Shared, Path((kind, name)): Path<(String, String)>) -> Reply {
    let t = object_type(&kind)?;
    let property = sim.store().property(t, &name).ok_or_else(|| {
        rejected(ErrorBody::new(
            Category::ObjectNotFound,
            format!("Unable to find property {name}"),
        ))
    })?;
    Ok(axum::Json(property).into_response())
}

async fn create_property(State(sim): Shared, Path(kind): Path<String>, body: Bytes) -> Reply {
    let t = object_type(&kind)?;
    let def: PropertyDef = parse(&body)?;
    let created = sim.store().create_property(t, def).map_err(rejected)?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

async fn list_groups(State(sim): Shared, Path(kind): Path<String>) -> Reply {
    let t = object_type(&kind)?;
    Ok(axum::Json(json!({"results": sim.store().groups(t)})).into_response())
}

async fn create_group(State(sim): Shared, Path(kind): Path<String>, body: Bytes) -> Reply {
    let t = object_type(&kind)?;
    let def: GroupDef = parse(&body)?;
    let created = sim.store().create_group(t, def).map_err(rejected)?;
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

fn associate(sim: &Sim, from: &str, to: &str, inputs: &[AssociationInput]) -> Reply {
    let (from, to) = (object_type(from)?, object_type(to)?);
    let (done, errors) = sim.store().associate(from, to, inputs).map_err(rejected)?;
    let results: Vec<Value> = done
        .iter()
        .map(|a| {
            json!({"from": {"id": a.from_id}, "to": {"id": a.to_id},
                   "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                       "associationTypeId": a.type_id}})
        })
        .collect();
    let body = json!({"status": "COMPLETE", "results": results,
                      "startedAt": now(), "completedAt": now()});
    Ok(batch_reply(body, errors))
}

async fn batch_associate(
    State(sim): Shared,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let input: BatchInput<AssociationInput> = parse(&body)?;
    associate(&sim, &from, &to, &input.inputs)
}

async fn associate_one(
    State(sim): Shared,
    Path((from, from_id, to, to_id)): Path<(String, String, String, String)>,
) -> Reply {
    let input = AssociationInput {
        from: ObjectId { id: from_id },
        to: ObjectId { id: to_id },
    };
    associate(&sim, &from, &to, &[input])
}

async fn sim_objects(State(sim): Shared, Path(kind): Path<String>) -> Reply {
    let t = object_type(&kind)?;
    Ok(axum::Json(json!({"results": sim.store().objects(t)})).into_response())
}

async fn sim_stats(State(sim): Shared) -> Response {
    axum::Json(sim.stats()).into_response()
}

async fn sim_writes(State(sim): Shared) -> Response {
    axum::Json(json!({"results": sim.store().writes()})).into_response()
}

async fn sim_associations(State(sim): Shared) -> Response {
    axum::Json(json!({"results": sim.store().associations()})).into_response()
}

async fn sim_faults(State(sim): Shared) -> Response {
    axum::Json(lock(&sim.faults).config().clone()).into_response()
}

async fn set_faults(State(sim): Shared, body: Bytes) -> Reply {
    let config: FaultConfig = parse(&body)?;
    if !(0.0..=1.0).contains(&config.error_rate) {
        return Err(rejected(ErrorBody::new(
            Category::ValidationError,
            "errorRate must be within 0..=1",
        )));
    }
    if config.error_status != 0 && !SERVER_ERRORS.contains(&config.error_status) {
        return Err(rejected(ErrorBody::new(
            Category::ValidationError,
            "errorStatus must be 0 (any), 500, 502, 503 or 504",
        )));
    }
    sim.set_faults(config.clone());
    Ok(axum::Json(config).into_response())
}

async fn sim_reset(State(sim): Shared) -> Response {
    sim.reset();
    StatusCode::NO_CONTENT.into_response()
}
