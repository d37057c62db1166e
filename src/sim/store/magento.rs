//! Magento 2 REST searches: `GET /rest[/<store>]/V1/orders`, `/V1/customers/search` and
//! `/V1/products` with `searchCriteria` (an `updated_at` filter with `condition_type`
//! gteq/gt/lteq/lt, `sortOrders`, `pageSize` up to 300, `currentPage`), answering
//! `{"items","search_criteria","total_count"}`; descending unless sorted, everything without
//! `pageSize`, and the quirk that a page past the end repeats the last page. Bearer auth.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::StoreSim;
use super::data::Lower;
use super::dates;
use super::http::{Shared, admit, bad_request, unauthorized};
use super::render::render;
use crate::model::ObjectKind;

type Params = Query<HashMap<String, String>>;

pub(super) fn routes() -> Router<Arc<StoreSim>> {
    let mut router = Router::new();
    for prefix in ["/rest/{store}/V1", "/rest/V1"] {
        router = router
            .route(&format!("{prefix}/orders"), get(orders))
            .route(&format!("{prefix}/customers/search"), get(customers))
            .route(&format!("{prefix}/products"), get(products));
    }
    router
}

async fn orders(sim: Shared, params: Params, headers: HeaderMap) -> Response {
    list(sim, ObjectKind::Orders, params, headers)
}

async fn customers(sim: Shared, params: Params, headers: HeaderMap) -> Response {
    list(sim, ObjectKind::Customers, params, headers)
}

async fn products(sim: Shared, params: Params, headers: HeaderMap) -> Response {
    list(sim, ObjectKind::Products, params, headers)
}

/// A parsed `searchCriteria`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    pub lower: Lower,
    pub upper: Option<Timestamp>,
    pub ascending: bool,
    pub page_size: Option<usize>,
    pub current_page: usize,
}

fn message(text: &str, parameter: &str) -> Value {
    json!({"message": text, "parameters": [parameter]})
}

/// Reads the `updated_at` filters, sort order and paging of a request. Pure.
pub fn criteria(params: &HashMap<String, String>) -> Result<Criteria, Value> {
    let mut c = Criteria {
        lower: Lower::All,
        upper: None,
        ascending: false,
        page_size: None,
        current_page: 1,
    };
    for (key, field) in params {
        let Some(prefix) = key
            .strip_suffix("[field]")
            .filter(|k| k.contains("[filters]"))
        else {
            continue;
        };
        if field != "updated_at" {
            return Err(message("\"%1\" is not a filterable field", field));
        }
        let value = params
            .get(&format!("{prefix}[value]"))
            .map(String::as_str)
            .unwrap_or("");
        let at = dates::magento(value).ok_or_else(|| {
            json!({"message": "Invalid value of \"%1\" provided for the %2 field.",
                "parameters": [value, "updated_at"]})
        })?;
        let condition = params
            .get(&format!("{prefix}[condition_type]"))
            .map_or("eq", String::as_str);
        match condition {
            "gteq" | "from" => c.lower = Lower::AtOrAfter(at),
            "gt" => c.lower = Lower::After(at),
            "lteq" | "to" => c.upper = Some(at),
            "lt" => c.upper = Some(at - SignedDuration::from_millis(1)),
            other => return Err(message("Invalid condition type %1", other)),
        }
    }
    if let Some(field) = params.get("searchCriteria[sortOrders][0][field]") {
        if field != "updated_at" {
            return Err(message("\"%1\" is not a sortable field", field));
        }
        let dir = params
            .get("searchCriteria[sortOrders][0][direction]")
            .map_or("DESC", String::as_str);
        c.ascending = dir.eq_ignore_ascii_case("ASC");
    }
    let number = |name: &str| -> Result<Option<usize>, Value> {
        params
            .get(&format!("searchCriteria[{name}]"))
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| message("Invalid value %1", v))
            })
            .transpose()
    };
    c.page_size = number("pageSize")?;
    if c.page_size.is_some_and(|n| n > 300) {
        return Err(message("Maximum SearchCriteria pageSize is %1", "300"));
    }
    c.current_page = number("currentPage")?.unwrap_or(1);
    Ok(c)
}

fn list(
    State(sim): Shared,
    kind: ObjectKind,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&sim, || message("Too many requests", "")) {
        return r;
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(sim.settings.token.as_str()) {
        let body = json!({"message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Sales::actions_view"}});
        return unauthorized(&sim, body);
    }
    let c = match criteria(&params) {
        Ok(c) => c,
        Err(body) => return bad_request(&sim, body),
    };
    let data = sim.data();
    let (mut all, total) = data.list(kind, c.lower, c.upper, 0, usize::MAX);
    drop(data);
    if !c.ascending {
        all.reverse();
    }
    let items: Vec<Value> = match c.page_size {
        None => all
            .iter()
            .map(|o| render(sim.settings.platform, o))
            .collect(),
        Some(size) => {
            // Past the end, many Magento versions answer the last page again.
            let last = total.div_ceil(size).max(1);
            let page = c.current_page.min(last);
            all.iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|o| render(sim.settings.platform, o))
                .collect()
        }
    };
    let echo =
        json!({"filter_groups": [], "page_size": c.page_size, "current_page": c.current_page});
    axum::Json(json!({"items": items, "search_criteria": echo, "total_count": total}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_criteria_are_read_from_bracketed_keys() {
        let f = "searchCriteria[filter_groups][0][filters][0]";
        let params: HashMap<String, String> = [
            (format!("{f}[field]"), "updated_at"),
            (format!("{f}[value]"), "2026-11-20 10:00:00"),
            (format!("{f}[condition_type]"), "gteq"),
            ("searchCriteria[sortOrders][0][field]".into(), "updated_at"),
            ("searchCriteria[sortOrders][0][direction]".into(), "ASC"),
            ("searchCriteria[pageSize]".into(), "100"),
            ("searchCriteria[currentPage]".into(), "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        let c = criteria(&params).unwrap();
        assert_eq!(
            c.lower,
            Lower::AtOrAfter("2026-11-20T10:00:00Z".parse().unwrap())
        );
        assert!(c.ascending);
        assert_eq!((c.page_size, c.current_page), (Some(100), 3));
        let mut big = params.clone();
        big.insert("searchCriteria[pageSize]".into(), "301".into());
        assert!(criteria(&big).is_err());
        assert!(!criteria(&HashMap::new()).unwrap().ascending);
        let mut iso = params.clone();
        iso.insert(format!("{f}[value]"), "2026-11-20T10:00:00Z".into());
        let err = criteria(&iso).unwrap_err();
        assert_eq!(err["parameters"][1], "updated_at", "{err}");
    }
}
