//! Shared fixtures: pipeline manifests, the contracts' sample payloads, independent
//! signers (written from the vendors' descriptions, not with the code under test), and a
//! harness that drives the axum router in-process against a real Redis.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use sha2::Sha256;
use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::queue::EventEnvelope;
use syncline::receiver::{ReceiverSettings, ReceiverState, router};
use tower::ServiceExt;

use crate::support::redis::RedisServer;

pub const SECRET: &str = "test-webhook-secret";

/// The Shopify orders/create sample of docs/api-contracts.md.
pub const SHOPIFY_ORDER: &str = r##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2026-11-20T10:01:02-05:00","updated_at":"2026-11-20T10:01:02-05:00","currency":"USD","total_price":"403.00","subtotal_price":"398.00","financial_status":"paid","fulfillment_status":null,"cancelled_at":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","phone":null,"created_at":"2026-11-01T09:00:00-05:00","updated_at":"2026-11-20T10:01:02-05:00"},"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}"##;

/// The WooCommerce order.updated sample of docs/api-contracts.md.
pub const WOO_ORDER: &str = r#"{"id":727,"number":"727","status":"processing","currency":"USD","total":"29.35","date_created_gmt":"2026-11-20T15:01:02","date_modified_gmt":"2026-11-20T15:03:10","customer_id":0,"billing":{"first_name":"John","last_name":"Doe","email":"john.doe@example.com","phone":"(555) 555-5555"},"line_items":[{"id":315,"name":"Woo Single #1","product_id":93,"variation_id":0,"quantity":2,"sku":"WOO-1","price":6.0,"total":"12.00"}]}"#;

/// The Magento order of docs/api-contracts.md's sample (one item of the search response).
pub const MAGENTO_ORDER: &str = r#"{"entity_id":42,"increment_id":"000000042","customer_id":7,"customer_email":"roni_cost@example.com","customer_firstname":"Veronica","customer_lastname":"Costello","status":"processing","state":"processing","created_at":"2026-11-20 15:01:02","updated_at":"2026-11-20 15:03:10","grand_total":36.39,"order_currency_code":"USD","items":[{"item_id":91,"product_id":1428,"sku":"WS03-XS-Red","name":"Iris Workout Top","qty_ordered":1,"price":29}]}"#;

pub const STREAM: &str = "sl:{shops/acme}:events";

pub fn shopify_pipeline(shop_domain: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: https://acme.myshopify.com\n    shopify: {{shopDomain: {shop_domain}}}\n\
         \x20 crm: {{platform: hubspot}}\n  secretRef: {{name: acme}}\n"
    )
}

pub fn woo_pipeline() -> String {
    "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {name: acme, namespace: shops}\n\
     spec:\n  store: {platform: woocommerce, url: https://shop.example}\n  crm: {platform: hubspot}\n  secretRef: {name: acme}\n"
        .to_owned()
}

/// A Magento pipeline; `webhooks` is the YAML flow mapping of spec.store.magento.webhooks.
pub fn magento_pipeline(webhooks: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store:\n    platform: magento\n    url: https://shop.example\n    magento:\n      webhooks: {webhooks}\n\
         \x20 crm: {{platform: hubspot}}\n  secretRef: {{name: acme}}\n"
    )
}

pub fn hmac_bytes(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Shopify and WooCommerce: base64 HMAC-SHA256 of the raw body.
pub fn sign_b64(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac_bytes(secret.as_bytes(), &[body]))
}

/// Standard Webhooks: `v1,` + base64 HMAC over `id.ts.body`, keyed with the decoded secret.
pub fn sign_standard(whsec: &str, id: &str, ts: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(whsec.strip_prefix("whsec_").unwrap())
        .unwrap();
    let ts = ts.to_string();
    let sig = hmac_bytes(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", STANDARD.encode(sig))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn secrets(values: &[(&str, &str)]) -> SecretValues {
    let mut s = SecretValues::default();
    for (k, v) in values {
        s.insert(*k, *v);
    }
    s
}

pub fn test_settings() -> ReceiverSettings {
    ReceiverSettings {
        redis_deadline: Duration::from_millis(500),
        request_timeout: Duration::from_secs(3),
        max_body_bytes: 64 * 1024,
        ..Default::default()
    }
}

/// A router for one pipeline plus the Redis behind it.
pub struct Harness {
    pub redis: RedisServer,
    pub state: Arc<ReceiverState>,
    pub app: Router,
}

impl Harness {
    pub fn new(pipeline_yaml: &str, secrets: SecretValues) -> Self {
        Self::with_settings(pipeline_yaml, secrets, test_settings())
    }

    pub fn with_settings(
        pipeline_yaml: &str,
        mut secrets: SecretValues,
        settings: ReceiverSettings,
    ) -> Self {
        let redis = RedisServer::start();
        secrets.insert("redisUrl", redis.url());
        let config = PipelineConfig {
            pipeline: parse_pipeline(pipeline_yaml).expect("test pipeline parses"),
            secrets,
        };
        let state = ReceiverState::new(&config, settings).expect("receiver state");
        let app = router(state.clone());
        Self { redis, state, app }
    }

    /// A Shopify pipeline (shop acme.myshopify.com, secret SECRET) with custom settings.
    pub fn shopify_with(settings: ReceiverSettings) -> Self {
        Self::with_settings(
            &shopify_pipeline("acme.myshopify.com"),
            secrets(&[("webhookSecret", SECRET)]),
            settings,
        )
    }

    /// The status of one POST.
    pub async fn status(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: impl Into<Vec<u8>>,
    ) -> StatusCode {
        self.send(post_owned(path, headers, body)).await.0
    }

    /// Sends one request; returns status, headers and the body parsed as JSON (Null if not).
    pub async fn send(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let resp = self
            .app
            .clone()
            .oneshot(req)
            .await
            .expect("router never errors");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }

    pub fn envelopes(&self) -> Vec<EventEnvelope> {
        self.redis
            .stream(STREAM)
            .into_iter()
            .map(|(_, fields)| EventEnvelope::from_fields(&fields).expect("entry decodes"))
            .collect()
    }

    /// Stream entries plus dedupe markers: zero means "nothing was stored at all".
    pub fn stored_keys(&self) -> usize {
        self.redis.keys("sl:*").len()
    }
}

/// Serves the harness router on loopback with the given limits; returns the address.
pub async fn serve_with(
    h: &Harness,
    limits: syncline::receiver::ConnectionLimits,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(syncline::receiver::serve(
        listener,
        h.app.clone(),
        std::future::pending(),
        Duration::from_secs(1),
        limits,
    ));
    addr
}

pub fn post(path: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Request<Body> {
    let mut req = Request::post(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.into())).unwrap()
}

/// Standard Shopify delivery headers for `body`, signed with `secret`.
pub fn shopify_headers(secret: &str, body: &str, event_id: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-shopify-topic".into(), "orders/create".into()),
        (
            "x-shopify-hmac-sha256".into(),
            sign_b64(secret, body.as_bytes()),
        ),
        ("x-shopify-shop-domain".into(), "acme.myshopify.com".into()),
        ("x-shopify-api-version".into(), "2025-07".into()),
        ("x-shopify-webhook-id".into(), format!("wh-{event_id}")),
        ("x-shopify-event-id".into(), event_id.into()),
        (
            "x-shopify-triggered-at".into(),
            "2026-11-20T15:01:02.234647458Z".into(),
        ),
    ]
}

pub fn post_owned(
    path: &str,
    headers: &[(String, String)],
    body: impl Into<Vec<u8>>,
) -> Request<Body> {
    let borrowed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(path, &borrowed, body)
}

/// `headers` with one header replaced (or removed when `value` is None).
pub fn with_header(
    headers: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        headers.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(v) = value {
        out.push((name.to_owned(), v.to_owned()));
    }
    out
}

pub fn field_map(fields: &HashMap<String, Vec<u8>>, name: &str) -> Option<String> {
    fields
        .get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The object's version (`updated_at`, UTC) as the worker reads it from a stored envelope:
/// the same reader the receiver asked before acknowledging.
pub fn mapped_version(e: &syncline::queue::EventEnvelope) -> Option<String> {
    use syncline::connectors::store::webhook::{Delivered, read};
    let body: serde_json::Value = serde_json::from_str(&e.body).ok()?;
    match read(e.platform, Some(&e.topic), &body).ok()? {
        Delivered::Object { record, .. } => Some(record.updated_at().to_string()),
        Delivered::Deletion { .. } => None,
    }
}
