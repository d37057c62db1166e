//! The store simulator's router: the platform's REST API plus the `/_sim/*` admin
//! endpoints, and the helpers the platform handlers share (forced 429s, kinds, links).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use super::data::StoredObject;
use super::webhooks::WebhookKnobs;
use super::{StoreFaults, StoreSim};
use crate::model::{ObjectKind, StorePlatform};

pub(super) type Shared = State<Arc<StoreSim>>;

/// The simulator's router for its platform.
pub fn router(sim: Arc<StoreSim>) -> Router {
    let api = match sim.settings.platform {
        StorePlatform::Shopify => super::shopify::routes(),
        StorePlatform::WooCommerce => super::woocommerce::routes(),
        StorePlatform::Magento => super::magento::routes(),
    };
    Router::new()
        .route(
            "/_sim/objects/{kind}",
            get(list_objects).post(mutate).put(put_objects),
        )
        .route("/_sim/seed/{kind}", post(seed))
        .route("/_sim/faults", post(set_faults))
        .route("/_sim/webhooks", post(set_webhooks))
        .route("/_sim/stats", get(stats))
        .merge(api)
        .with_state(sim)
}

/// An object kind from a URL segment (`orders`, `orders.json`, `checkouts`, `carts`).
pub(super) fn kind_of(segment: &str) -> Option<ObjectKind> {
    match segment.trim_end_matches(".json") {
        "orders" => Some(ObjectKind::Orders),
        "customers" => Some(ObjectKind::Customers),
        "products" => Some(ObjectKind::Products),
        "checkouts" | "carts" => Some(ObjectKind::Carts),
        _ => None,
    }
}

pub(super) fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// 429 with `Retry-After` and the platform's body.
pub(super) fn too_many(retry_after: f64, body: serde_json::Value) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    set_header(
        response.headers_mut(),
        "retry-after",
        &format!("{retry_after:.1}"),
    );
    response
}

/// Counts the request and answers an injected 429 if one is due.
pub(super) fn admit(sim: &StoreSim, body: impl FnOnce() -> serde_json::Value) -> Option<Response> {
    sim.counters.requests.fetch_add(1, Ordering::Relaxed);
    let retry_after = sim.forced_429()?;
    sim.counters.forced_429.fetch_add(1, Ordering::Relaxed);
    Some(too_many(retry_after, body()))
}

pub(super) fn unauthorized(sim: &StoreSim, body: serde_json::Value) -> Response {
    sim.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

pub(super) fn bad_request(sim: &StoreSim, body: serde_json::Value) -> Response {
    sim.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// `http://<Host>` of the request, for the absolute URLs of `Link` headers.
pub(super) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Which objects an admin call touches: `ids`, or `count` ids from `from`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selection {
    #[serde(default)]
    ids: Vec<u64>,
    #[serde(default = "one")]
    from: u64,
    #[serde(default)]
    count: u64,
    /// RFC 3339; default now. With `seed`, the first object's time.
    updated_at: Option<String>,
    /// With `seed`: milliseconds between consecutive objects' `updated_at`.
    #[serde(default)]
    step_ms: i64,
}

fn one() -> u64 {
    1
}

impl Selection {
    fn ids(&self) -> Vec<u64> {
        let mut ids = self.ids.clone();
        ids.extend(self.from..self.from.saturating_add(self.count));
        ids
    }

    fn at(&self) -> Result<Option<Timestamp>, AdminError> {
        self.updated_at
            .as_deref()
            .map(|t| t.parse().map_err(|_| AdminError::BadTime))
            .transpose()
    }
}

/// Why an admin call was refused.
#[derive(Debug, Clone, Copy)]
enum AdminError {
    UnknownKind,
    BadTime,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            Self::UnknownKind => (StatusCode::NOT_FOUND, "unknown object kind").into_response(),
            Self::BadTime => (
                StatusCode::BAD_REQUEST,
                "createdAt and updatedAt must be RFC 3339",
            )
                .into_response(),
        }
    }
}

fn admin_kind(kind: &str) -> Result<ObjectKind, AdminError> {
    kind_of(kind).ok_or(AdminError::UnknownKind)
}

/// `POST /_sim/objects/{kind}`: create or update objects, sending their webhooks.
async fn mutate(
    State(sim): Shared,
    Path(kind): Path<String>,
    axum::Json(sel): axum::Json<Selection>,
) -> Response {
    let (kind, at) = match (admin_kind(&kind), sel.at()) {
        (Ok(kind), Ok(at)) => (kind, at),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let changed = sim.mutate(kind, &sel.ids(), at);
    axum::Json(json!({"changed": changed.len()})).into_response()
}

/// `POST /_sim/seed/{kind}`: import history without webhooks, optionally spread in time.
async fn seed(
    State(sim): Shared,
    Path(kind): Path<String>,
    axum::Json(sel): axum::Json<Selection>,
) -> Response {
    let (kind, at) = match (admin_kind(&kind), sel.at()) {
        (Ok(kind), Ok(at)) => (kind, at.unwrap_or_else(Timestamp::now)),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let mut data = sim.data();
    for (i, id) in sel.ids().into_iter().enumerate() {
        let offset = SignedDuration::from_millis(sel.step_ms.saturating_mul(i as i64));
        data.upsert(kind, id, at.saturating_add(offset).unwrap_or(at));
    }
    axum::Json(json!({"count": data.count(kind)})).into_response()
}

/// One object's exact state, for `PUT /_sim/objects/{kind}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutObject {
    id: u64,
    version: u32,
    created_at: String,
    updated_at: String,
}

/// `PUT /_sim/objects/{kind}` with `{"objects": [{id, version, createdAt, updatedAt}]}`:
/// sets each object's state, without webhooks, where it is newer than the stored one. The
/// storm generator decides versions itself and keeps the store at the newest of them, so the
/// poller finds what a dropped webhook did not deliver.
async fn put_objects(
    State(sim): Shared,
    Path(kind): Path<String>,
    axum::Json(body): axum::Json<PutObjects>,
) -> Response {
    let kind = match admin_kind(&kind) {
        Ok(kind) => kind,
        Err(e) => return e.into_response(),
    };
    let mut objects = Vec::with_capacity(body.objects.len());
    for o in body.objects {
        let (Ok(created_at), Ok(updated_at)) = (o.created_at.parse(), o.updated_at.parse()) else {
            return AdminError::BadTime.into_response();
        };
        if o.version == 0 {
            return (
                StatusCode::BAD_REQUEST,
                "objects[].version must be at least 1",
            )
                .into_response();
        }
        objects.push(StoredObject {
            kind,
            id: o.id,
            version: o.version,
            created_at,
            updated_at,
        });
    }
    let mut data = sim.data();
    let applied = objects
        .into_iter()
        .filter_map(|o| data.put(o).then_some(()))
        .count();
    axum::Json(json!({"applied": applied})).into_response()
}

#[derive(Debug, Deserialize)]
struct PutObjects {
    objects: Vec<PutObject>,
}

/// `GET /_sim/objects/{kind}`: every object's id, version and updated_at.
async fn list_objects(State(sim): Shared, Path(kind): Path<String>) -> Response {
    let kind = match admin_kind(&kind) {
        Ok(kind) => kind,
        Err(e) => return e.into_response(),
    };
    let objects: Vec<_> = sim
        .data()
        .all(kind)
        .iter()
        .map(|o| json!({"id": o.id, "version": o.version, "updatedAt": o.updated_at.to_string()}))
        .collect();
    axum::Json(objects).into_response()
}

async fn set_faults(State(sim): Shared, axum::Json(faults): axum::Json<StoreFaults>) -> Response {
    sim.set_faults(faults);
    StatusCode::NO_CONTENT.into_response()
}

async fn set_webhooks(State(sim): Shared, axum::Json(knobs): axum::Json<WebhookKnobs>) -> Response {
    sim.set_webhooks(knobs);
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): Shared) -> Response {
    axum::Json(sim.stats()).into_response()
}
