//! The simulator's routes: the HubSpot API behind a gate (auth, limits, faults) and the
//! `/_sim/*` inspection and admin endpoints outside it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::limits::{FaultConfig, SERVER_ERRORS};
use super::types::{
    AssociationInput, BatchInput, BatchReadRequest, Category, ErrorBody, GroupDef, ObjectId,
    ObjectType, PropertyDef, SearchRequest, UpsertInput,
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
        .layer(middleware::from_fn_with_state(
            sim.clone(),
            super::gate::gate,
        ));
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
