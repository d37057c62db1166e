//! WooCommerce REST v3 listings: `GET /wp-json/wc/v3/{orders|customers|products}` with
//! `modified_after` (exclusive, as WordPress date queries are), `dates_are_gmt`,
//! `orderby=modified&order=asc`, `per_page` (default 10, at most 100) and `page` (a page past
//! the end is `[]`), `X-WP-Total`/`X-WP-TotalPages` and a `Link` header with `rel="next"` /
//! `rel="prev"`; OAuth 1.0a signatures over http, HTTP Basic (or `consumer_key`/
//! `consumer_secret` query parameters) only over https (`woo_auth`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::StoreSim;
use super::data::Lower;
use super::dates;
use super::http::{Shared, admit, bad_request, kind_of, origin, set_header, unauthorized};
use super::render::render;
use super::woo_auth::{self, Keys, Outcome, Request};
use crate::sim::lock;

pub(super) fn routes() -> Router<Arc<StoreSim>> {
    Router::new().route("/wp-json/wc/v3/{resource}", get(list))
}

fn error(code: &str, message: &str, status: u16) -> Value {
    json!({"code": code, "message": message, "data": {"status": status}})
}

/// WooCommerce's authentication of a listing request (see `woo_auth`).
fn authenticate(
    sim: &StoreSim,
    resource: &str,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Outcome {
    let keys = Keys {
        consumer_key: &sim.settings.consumer_key,
        consumer_secret: &sim.settings.consumer_secret,
    };
    let scheme = if sim.settings.https { "https" } else { "http" };
    let host = origin(headers);
    let host = host.strip_prefix("http://").unwrap_or(&host);
    let base_url = format!("{scheme}://{host}/wp-json/wc/v3/{resource}");
    let req = Request {
        method: "GET",
        base_url: &base_url,
        params,
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()),
        https: sim.settings.https,
        now: Timestamp::now().as_second(),
    };
    woo_auth::authenticate(keys, req, &mut lock(&sim.nonces))
}

fn number(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, String> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("Invalid parameter(s): {name}")),
        },
    }
}

/// A date parameter as WordPress parses it (`rest_parse_date`); with `dates_are_gmt=true`
/// a time without a zone is GMT, and the simulated site's zone is UTC, so both read alike.
fn date(params: &HashMap<String, String>, name: &str) -> Result<Option<Timestamp>, Value> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => dates::wordpress(v)
            .map(Some)
            .ok_or_else(|| invalid_date(name)),
    }
}

/// WordPress's answer to a parameter that fails its schema (`rest_invalid_param`).
fn invalid_date(name: &str) -> Value {
    json!({"code": "rest_invalid_param", "message": format!("Invalid parameter(s): {name}"),
        "data": {"status": 400, "params": {name: "Invalid date."},
            "details": {name: {"code": "rest_invalid_date", "message": "Invalid date.",
                "data": null}}}})
}

async fn list(
    State(sim): Shared,
    Path(resource): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&sim, || {
        error("too_many_requests", "Too many requests.", 429)
    }) {
        return r;
    }
    match authenticate(&sim, &resource, &headers, &params) {
        Outcome::Authenticated => {}
        Outcome::Refused(body) => return unauthorized(&sim, body),
        Outcome::Anonymous => {
            let body = error(
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
                401,
            );
            return unauthorized(&sim, body);
        }
    }
    let Some(kind) = kind_of(&resource).filter(|_| !resource.ends_with(".json")) else {
        let body = error(
            "rest_no_route",
            "No route was found matching the URL and request method.",
            404,
        );
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let parsed = (|| {
        let number = |name, default, max| {
            number(&params, name, default, max).map_err(|e| error("rest_invalid_param", &e, 400))
        };
        Ok::<_, Value>((
            date(&params, "modified_after")?,
            date(&params, "modified_before")?,
            number("per_page", 10, 100)?,
            number("page", 1, usize::MAX)?,
        ))
    })();
    let (after, before, per_page, page) = match parsed {
        Ok(p) => p,
        Err(body) => return bad_request(&sim, body),
    };
    let lower = after.map_or(Lower::All, Lower::After);
    let upper = before.map(|t| t - jiff::SignedDuration::from_millis(1));
    let offset = (page - 1).saturating_mul(per_page);
    let (objects, total) = sim.data().list(kind, lower, upper, offset, per_page);
    let pages = total.div_ceil(per_page);
    let items: Vec<Value> = objects
        .iter()
        .map(|o| render(sim.settings.platform, o))
        .collect();
    let mut response = axum::Json(items).into_response();
    let h = response.headers_mut();
    set_header(h, "x-wp-total", &total.to_string());
    set_header(h, "x-wp-totalpages", &pages.to_string());
    let link = |p: usize, rel: &str| {
        let mut query: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| {
                k.as_str() != "page" && !k.starts_with("consumer_") && !k.starts_with("oauth_")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        query.sort();
        query.push(("page".into(), p.to_string()));
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!(
            "<{}/wp-json/wc/v3/{resource}?{}>; rel=\"{rel}\"",
            origin(&headers),
            query.join("&")
        )
    };
    let mut links = Vec::new();
    if page > 1 && page <= pages + 1 {
        links.push(link(page - 1, "prev"));
    }
    if page < pages {
        links.push(link(page + 1, "next"));
    }
    if !links.is_empty() {
        set_header(h, "link", &links.join(", "));
    }
    response
}

/// Percent-encodes a query value (times carry `:` and `+`).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
