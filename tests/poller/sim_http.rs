//! The store simulators over real HTTP, as a client sees them.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use syncline::connectors::store::rest::oauth;
use syncline::model::{ObjectKind, StorePlatform};
use syncline::sim::store::StoreFaults;

use crate::support::stores::StoreSimServer;

const AT: &str = "2026-11-20T15:00:00Z";

fn client() -> reqwest::Client {
    syncline::tls::http_client()
}

/// A Shopify Admin API GET with the simulator's token.
async fn shopify_get(url: &str, token: &str) -> reqwest::Response {
    let request = client().get(url).header("x-shopify-access-token", token);
    request.send().await.unwrap()
}

fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| l[1..l.find('>').unwrap()].to_string())
}

#[tokio::test]
async fn shopify_pages_ties_by_link_header_and_guards_its_api() {
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    store
        .sim
        .seed(ObjectKind::Orders, 1..=600, AT.parse().unwrap());
    let mut url = store.url(
        "/admin/api/2025-07/orders.json?status=any&updated_at_min=2026-11-20T10:00:00-05:00&limit=250",
    );
    let mut ids = BTreeSet::new();
    let mut sizes = Vec::new();
    loop {
        let r = shopify_get(&url, "store-token").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("x-shopify-shop-api-call-limit"));
        let next = next_link(r.headers());
        let body: Value = r.json().await.unwrap();
        let page = body["orders"].as_array().unwrap();
        sizes.push(page.len());
        ids.extend(page.iter().map(|o| o["id"].as_u64().unwrap()));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(sizes, vec![250, 250, 100]);
    assert_eq!(ids.len(), 600);
    let base = store.url("/admin/api/2025-07/orders.json");
    let bad = shopify_get(&base, "nope").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    for refused in ["limit=251", "page_info=abc&status=any"] {
        let r = shopify_get(&format!("{base}?{refused}"), "store-token").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{refused}");
    }
    store.sim.set_faults(StoreFaults {
        burst_429: 2,
        retry_after: 1.5,
    });
    for _ in 0..2 {
        let r = shopify_get(&base, "store-token").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "1.5");
    }
    let r = shopify_get(&base, "store-token").await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn shopify_bucket_answers_429_with_retry_after_when_full() {
    let mut settings = syncline::sim::store::StoreSimSettings::new(StorePlatform::Shopify);
    settings.bucket_size = 3;
    settings.leak_per_second = 0.5;
    let store = StoreSimServer::start(settings).await;
    let url = store.url("/admin/api/2025-07/customers.json");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = shopify_get(&url, "store-token").await;
        statuses.push((
            r.status().as_u16(),
            r.headers()["x-shopify-shop-api-call-limit"]
                .to_str()
                .unwrap()
                .to_string(),
        ));
    }
    assert_eq!(statuses[2], (200, "3/3".into()));
    assert_eq!(statuses[3], (429, "3/3".into()));
    assert_eq!(store.sim.stats().rate_limited, 1);
}

/// `url` signed with the simulator's consumer key, as the WooCommerce client signs over http.
fn woo_signed(url: &str) -> reqwest::Url {
    let nonce = oauth::nonce();
    let signing = oauth::Signing {
        consumer_key: "ck_test",
        consumer_secret: "cs_test",
        method: oauth::SignatureMethod::HmacSha1,
        timestamp: jiff::Timestamp::now().as_second(),
        nonce: &nonce,
    };
    oauth::sign_url("GET", &reqwest::Url::parse(url).unwrap(), signing)
}

#[tokio::test]
async fn woocommerce_pages_by_number_with_totals_and_oauth() {
    let store = StoreSimServer::of(StorePlatform::WooCommerce).await;
    store
        .sim
        .seed(ObjectKind::Orders, 1..=250, AT.parse().unwrap());
    let http = client();
    let get = |page: u32, after: &str| {
        http.get(woo_signed(&store.url(&format!(
            "/wp-json/wc/v3/orders?modified_after={after}&dates_are_gmt=true&orderby=modified&order=asc&per_page=100&page={page}"
        ))))
        .send()
    };
    let r = get(3, "2026-11-20T14:59:59").await.unwrap();
    assert_eq!(r.headers()["x-wp-total"], "250");
    assert_eq!(r.headers()["x-wp-totalpages"], "3");
    assert!(next_link(r.headers()).is_none());
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 50);
    assert!(
        get(4, "2026-11-20T14:59:59")
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .is_empty()
    );
    // modified_after is exclusive.
    assert_eq!(
        get(1, "2026-11-20T15:00:00").await.unwrap().headers()["x-wp-total"],
        "0"
    );
    let anonymous = http
        .get(store.url("/wp-json/wc/v3/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "woocommerce_rest_cannot_view");
}

#[tokio::test]
async fn woocommerce_over_http_refuses_basic_and_replays_and_malformed_dates() {
    let store = StoreSimServer::of(StorePlatform::WooCommerce).await;
    let http = client();
    let url = store.url("/wp-json/wc/v3/orders?per_page=10");
    // The secret in clear text over http is not looked at: the request is anonymous.
    let basic = http.get(&url).basic_auth("ck_test", Some("cs_test"));
    let basic = basic.send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let body: Value = basic.json().await.unwrap();
    assert_eq!(body["code"], "woocommerce_rest_cannot_view");
    let signed = woo_signed(&url);
    let first = http.get(signed.clone()).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let replay = http.get(signed).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["code"], "woocommerce_rest_authentication_error");
    assert_eq!(
        body["message"],
        "Invalid nonce - nonce has already been used."
    );
    for (after, status) in [
        ("2026-11-20T14:59:59", StatusCode::OK),
        ("2026-11-20T14:59:59.25Z", StatusCode::OK),
        ("2026-11-20", StatusCode::BAD_REQUEST),
        ("yesterday", StatusCode::BAD_REQUEST),
    ] {
        let url = store.url(&format!("/wp-json/wc/v3/orders?modified_after={after}"));
        let r = http.get(woo_signed(&url)).send().await.unwrap();
        assert_eq!(r.status(), status, "{after}");
        if status == StatusCode::BAD_REQUEST {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "rest_invalid_param");
            assert_eq!(body["data"]["params"]["modified_after"], "Invalid date.");
        }
    }
}

#[tokio::test]
async fn magento_repeats_the_last_page_past_the_end() {
    let store = StoreSimServer::of(StorePlatform::Magento).await;
    store
        .sim
        .seed(ObjectKind::Orders, 1..=250, AT.parse().unwrap());
    let f = "searchCriteria[filter_groups][0][filters][0]";
    let get = |page: u32| {
        let mut url = reqwest::Url::parse(&store.url("/rest/default/V1/orders")).unwrap();
        url.query_pairs_mut()
            .append_pair(&format!("{f}[field]"), "updated_at")
            .append_pair(&format!("{f}[value]"), "2026-11-20 15:00:00")
            .append_pair(&format!("{f}[condition_type]"), "gteq")
            .append_pair("searchCriteria[sortOrders][0][field]", "updated_at")
            .append_pair("searchCriteria[sortOrders][0][direction]", "ASC")
            .append_pair("searchCriteria[pageSize]", "100")
            .append_pair("searchCriteria[currentPage]", &page.to_string());
        client().get(url).bearer_auth("store-token").send()
    };
    let last: Value = get(3).await.unwrap().json().await.unwrap();
    let past: Value = get(5).await.unwrap().json().await.unwrap();
    assert_eq!(last["total_count"], 250);
    assert_eq!(last["items"].as_array().unwrap().len(), 50);
    assert_eq!(past["items"], last["items"]);
    assert_eq!(last["items"][0]["entity_id"], json!(201));
}

#[tokio::test]
async fn shopify_and_magento_refuse_times_not_in_their_documented_form() {
    let shopify = StoreSimServer::of(StorePlatform::Shopify).await;
    let base = shopify.url("/admin/api/2025-07/orders.json");
    for (min, status) in [
        ("2026-11-20T10:00:00-05:00", StatusCode::OK),
        ("2026-11-20T15:00:00%2B00:00", StatusCode::OK),
        ("2026-11-20T15:00:00Z", StatusCode::OK),
        ("2026-12-01T18:19:17.507664946Z", StatusCode::BAD_REQUEST),
        ("2026-11-20T15:00:00", StatusCode::BAD_REQUEST),
    ] {
        let r = shopify_get(&format!("{base}?updated_at_min={min}"), "store-token").await;
        assert_eq!(r.status(), status, "{min}");
        if status == StatusCode::BAD_REQUEST {
            let body: Value = r.json().await.unwrap();
            let text = body["errors"].as_str().unwrap();
            assert!(text.contains("updated_at_min"), "{text}");
        }
    }
    let magento = StoreSimServer::of(StorePlatform::Magento).await;
    let f = "searchCriteria[filter_groups][0][filters][0]";
    for (value, status) in [
        ("2026-11-20 15:00:00", StatusCode::OK),
        ("2026-11-20T15:00:00Z", StatusCode::BAD_REQUEST),
        ("2026-11-20 15:00:00.5", StatusCode::BAD_REQUEST),
    ] {
        let mut url = reqwest::Url::parse(&magento.url("/rest/default/V1/orders")).unwrap();
        url.query_pairs_mut()
            .append_pair(&format!("{f}[field]"), "updated_at")
            .append_pair(&format!("{f}[value]"), value)
            .append_pair(&format!("{f}[condition_type]"), "gteq");
        let r = client().get(url).bearer_auth("store-token").send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), status, "{value}");
        if status == StatusCode::BAD_REQUEST {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["parameters"], json!([value, "updated_at"]));
        }
    }
}
