//! 404 for another platform's route, 415, 413 and 400: clear answers that store nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use syncline::receiver::ReceiverSettings;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_pipelines_platform_routes_answer() {
    let h = Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", SECRET)]),
    );
    for path in [
        "/webhooks/woocommerce",
        "/webhooks/magento",
        "/webhooks/other",
        "/",
    ] {
        let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-404");
        let (status, _, json) = h.send(post_owned(path, &headers, SHOPIFY_ORDER)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(json["error"], "not_found", "{path}");
    }
    let woo = Harness::new(&woo_pipeline(), secrets(&[("webhookSecret", SECRET)]));
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-404");
    let (status, _, _) = woo
        .send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(h.stored_keys() + woo.stored_keys(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_415() {
    let h = Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", SECRET)]),
    );
    let good = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-415");
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let headers = with_header(&good, "content-type", ct);
        let (status, _, json) = h
            .send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(json["error"], "unsupported_media_type");
    }
    // A parameter on the right type is fine.
    let headers = with_header(
        &good,
        "content-type",
        Some("application/json; charset=utf-8"),
    );
    assert_eq!(
        h.status("/webhooks/shopify", &headers, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(h.envelopes().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413_declared_or_streamed() {
    let settings = ReceiverSettings {
        max_body_bytes: 1024,
        ..test_settings()
    };
    let h = Harness::shopify_with(settings);
    let big = format!(r#"{{"id":1,"note":"{}"}}"#, "x".repeat(2000));
    let headers = shopify_headers(SECRET, &big, "evt-413");
    // With Content-Length (rejected before reading) ...
    let mut req = post_owned("/webhooks/shopify", &headers, big.clone());
    req.headers_mut().insert("content-length", big.len().into());
    let (status, _, json) = h.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"], "payload_too_large");
    // ... and streamed without a length (cut off while reading).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.as_bytes().chunks(100).map(|c| Ok(c.to_vec())).collect();
    let mut builder = Request::post("/webhooks/shopify");
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let req = builder
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let (status, _, _) = h.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit passes.
    let mut small: serde_json::Value = serde_json::from_str(SHOPIFY_ORDER).unwrap();
    small["note"] = serde_json::json!("x".repeat(1000 - SHOPIFY_ORDER.len()));
    let small = small.to_string();
    assert!(small.len() <= 1024, "{}", small.len());
    let headers = shopify_headers(SECRET, &small, "evt-small");
    assert_eq!(
        h.status("/webhooks/shopify", &headers, small).await,
        StatusCode::OK
    );
    assert_eq!(h.envelopes().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_malformed_json_is_400() {
    let h = Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", SECRET)]),
    );
    for body in ["{\"id\":1,", "", "\u{0}\u{1}", "{\"id\": 1} trailing"] {
        let headers = shopify_headers(SECRET, body, "evt-400");
        let (status, _, json) = h
            .send(post_owned("/webhooks/shopify", &headers, body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {json}");
        assert_eq!(json["error"], "malformed_json");
    }
    let latin1 = b"{\"name\":\"caf\xe9\"}".to_vec();
    let sig = sign_b64(SECRET, &latin1);
    let headers = with_header(
        &shopify_headers(SECRET, "", "evt-400"),
        "x-shopify-hmac-sha256",
        Some(&sig),
    );
    let (status, _, _) = h
        .send(post_owned("/webhooks/shopify", &headers, latin1))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(h.stored_keys(), 0);
}
