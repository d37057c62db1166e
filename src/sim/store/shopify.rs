//! Shopify Admin REST listings: `GET /admin/api/{version}/{orders|customers|products|
//! checkouts}.json` with `updated_at_min`/`updated_at_max`, `limit` (default 50, at most
//! 250), cursor pagination through `Link: <…page_info=…>; rel="next"` (a request with
//! `page_info` may repeat no other filter), `X-Shopify-Access-Token` auth, the leaky
//! bucket with `X-Shopify-Shop-Api-Call-Limit`, and 429 with `Retry-After: 2.0`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::StoreSim;
use super::data::{Lower, SortKey};
use super::dates;
use super::http::{
    Shared, admit, bad_request, kind_of, origin, set_header, too_many, unauthorized,
};
use super::render::render;

pub(super) fn routes() -> Router<Arc<StoreSim>> {
    Router::new().route("/admin/api/{version}/{resource}", get(list))
}

const THROTTLED: &str = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.";

/// What a `page_info` cursor carries: the listing's bounds and the last key served. Opaque
/// to clients, as Shopify's are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    pub resource: String,
    pub max: Option<i64>,
    /// The last key of the page before; `None` means the first page.
    pub after: Option<SortKey>,
    pub min: Option<i64>,
}

impl PageInfo {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()
    }
}

fn time_param(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, String> {
    params
        .get(name)
        .map(|v| {
            dates::shopify(v)
                .map(|t| t.as_millisecond())
                .ok_or_else(|| {
                    format!(
                        "{name} must be ISO 8601 with whole seconds and an offset, like \
                     2026-11-20T10:01:02-05:00"
                    )
                })
        })
        .transpose()
}

/// The request's bounds: from `page_info` alone, or from the filters.
fn page_info(resource: &str, params: &HashMap<String, String>) -> Result<PageInfo, String> {
    if let Some(text) = params.get("page_info") {
        if params.keys().any(|k| k != "page_info" && k != "limit") {
            return Err("page_info may be combined only with limit".into());
        }
        return PageInfo::decode(text)
            .filter(|p| p.resource == resource)
            .ok_or_else(|| "Invalid page_info".into());
    }
    Ok(PageInfo {
        resource: resource.into(),
        min: time_param(params, "updated_at_min")?,
        max: time_param(params, "updated_at_max")?,
        after: None,
    })
}

fn limit(params: &HashMap<String, String>) -> Result<usize, String> {
    match params.get("limit") {
        None => Ok(50),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=250).contains(&n) => Ok(n),
            _ => Err("limit must be between 1 and 250".into()),
        },
    }
}

async fn list(
    State(sim): Shared,
    Path((version, resource)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&sim, || json!({"errors": THROTTLED})) {
        return r;
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(sim.settings.token.as_str()) {
        return unauthorized(
            &sim,
            json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        );
    }
    let (used, capacity) = match sim.admit_bucket() {
        Some(usage) => usage,
        None => {
            sim.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            let cap = sim.settings.bucket_size;
            let mut r = too_many(2.0, json!({"errors": THROTTLED}));
            set_header(
                r.headers_mut(),
                "x-shopify-shop-api-call-limit",
                &format!("{cap}/{cap}"),
            );
            return r;
        }
    };
    let kind = match kind_of(&resource).filter(|_| resource.ends_with(".json")) {
        Some(kind) => kind,
        None => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"errors": "Not Found"})),
            )
                .into_response();
        }
    };
    let (info, limit) = match (page_info(&resource, &params), limit(&params)) {
        (Ok(info), Ok(limit)) => (info, limit),
        (Err(e), _) | (_, Err(e)) => return bad_request(&sim, json!({"errors": e})),
    };
    let lower = match (info.after, info.min) {
        (Some(key), _) => Lower::AfterKey(key),
        (None, Some(min)) => Lower::AtOrAfter(Timestamp::from_millisecond(min).unwrap_or_default()),
        (None, None) => Lower::All,
    };
    let upper = info.max.and_then(|m| Timestamp::from_millisecond(m).ok());
    let (mut objects, _) = sim.data().list(kind, lower, upper, 0, limit + 1);
    let more = objects.len() > limit;
    objects.truncate(limit);
    let base = format!("{}/admin/api/{version}/{resource}", origin(&headers));
    let mut links = Vec::new();
    if let (true, Some(last)) = (more, objects.last()) {
        let next = PageInfo {
            after: Some(last.sort_key()),
            ..info.clone()
        };
        links.push(format!(
            "<{base}?limit={limit}&page_info={}>; rel=\"next\"",
            next.encode()
        ));
    }
    if info.after.is_some() {
        // The simulator does not page backwards: `previous` leads to the first page.
        let first = PageInfo {
            after: None,
            ..info
        };
        links.push(format!(
            "<{base}?limit={limit}&page_info={}>; rel=\"previous\"",
            first.encode()
        ));
    }
    let items: Vec<Value> = objects
        .iter()
        .map(|o| render(sim.settings.platform, o))
        .collect();
    let key = resource.trim_end_matches(".json").to_string();
    let mut response = axum::Json(json!({ key: items })).into_response();
    let h = response.headers_mut();
    set_header(
        h,
        "x-shopify-shop-api-call-limit",
        &format!("{used}/{capacity}"),
    );
    if !links.is_empty() {
        set_header(h, "link", &links.join(", "));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn page_info_round_trips_and_refuses_other_filters() {
        let p = PageInfo {
            resource: "orders.json".into(),
            max: None,
            after: Some((5, 7)),
            min: Some(1),
        };
        let text = p.encode();
        assert_eq!(
            page_info(
                "orders.json",
                &params(&[("page_info", &text), ("limit", "9")])
            ),
            Ok(p)
        );
        assert!(
            page_info(
                "orders.json",
                &params(&[("page_info", &text), ("status", "any")])
            )
            .is_err()
        );
        assert!(page_info("products.json", &params(&[("page_info", &text)])).is_err());
        let first = page_info(
            "orders.json",
            &params(&[("updated_at_min", "2026-11-20T10:00:00-05:00")]),
        )
        .unwrap();
        assert_eq!(first.min, Some(1_795_186_800_000));
        for bad in [
            "2026-11-20T15:00:00.5Z",
            "2026-11-20T15:00:00",
            "2026-11-20",
        ] {
            let err = page_info("orders.json", &params(&[("updated_at_min", bad)]));
            assert!(err.unwrap_err().contains("updated_at_min"), "{bad}");
        }
        assert!(limit(&params(&[("limit", "251")])).is_err());
        assert_eq!(limit(&params(&[])), Ok(50));
    }
}
