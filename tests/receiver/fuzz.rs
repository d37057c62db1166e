//! Arbitrary bytes and headers never panic the server, never get a 2xx or 5xx, and never
//! store anything.

use axum::http::StatusCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common::*;

const HEADER_NAMES: &[&str] = &[
    "content-type",
    "content-length",
    "x-shopify-hmac-sha256",
    "x-shopify-topic",
    "x-shopify-event-id",
    "x-shopify-webhook-id",
    "x-shopify-shop-domain",
    "x-wc-webhook-signature",
    "x-wc-webhook-delivery-id",
    "x-magento-signature",
    "x-adobe-commerce-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

fn request_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>, Vec<u8>)> {
    let path = prop::sample::select(vec![
        "/webhooks/shopify",
        "/webhooks/woocommerce",
        "/webhooks/magento",
        "/webhooks/standard",
        "/metricz",
    ])
    .prop_map(str::to_owned);
    let value = prop_oneof![
        "[ -~]{0,80}",
        Just("application/json".to_owned()),
        prop::collection::vec(any::<u8>(), 32).prop_map(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(b)
        }),
        (0i64..4_000_000_000).prop_map(|n| n.to_string()),
    ];
    let header = (
        prop::sample::select(HEADER_NAMES.to_vec()).prop_map(str::to_owned),
        value,
    );
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        Just(SHOPIFY_ORDER.as_bytes().to_vec()),
        Just(b"webhook_id=7".to_vec()),
    ];
    (path, prop::collection::vec(header, 0..10), body)
}

fn fuzz(pipeline: &str, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(async { Harness::new(pipeline, secrets(&[("webhookSecret", SECRET)])) });
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&request_strategy(), |(path, headers, body)| {
            let mut builder = axum::http::Request::post(path.as_str());
            for (k, v) in &headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            // Some generated header sets are not valid HTTP (e.g. a bad content-length):
            // those never reach a server at all.
            let Ok(req) = builder.body(axum::body::Body::from(body.clone())) else {
                return Ok(());
            };
            let (status, _, _) = rt.block_on(h.send(req));
            let ping = path == "/webhooks/woocommerce" && body == b"webhook_id=7";
            prop_assert!(
                (status.is_client_error()) || (ping && status == StatusCode::OK),
                "{path} answered {status}"
            );
            prop_assert_eq!(h.stored_keys(), 0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_requests_to_a_shopify_pipeline_store_nothing() {
    fuzz(&shopify_pipeline("acme.myshopify.com"), 200);
}

#[test]
fn arbitrary_requests_to_a_woocommerce_pipeline_store_nothing() {
    fuzz(&woo_pipeline(), 150);
}

#[test]
fn arbitrary_requests_to_a_magento_hmac_pipeline_store_nothing() {
    fuzz(&magento_pipeline("{scheme: hmac}"), 150);
}

/// Raw bytes on the socket (garbage, truncated requests, bogus framing) reach hyper's
/// parser too; none may take the server down or store anything.
#[test]
fn arbitrary_bytes_on_the_socket_leave_the_server_serving() {
    use std::io::{Read, Write};
    use std::time::Duration;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(async {
        Harness::new(
            &shopify_pipeline("acme.myshopify.com"),
            secrets(&[("webhookSecret", SECRET)]),
        )
    });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(syncline::receiver::serve(
        listener,
        h.app.clone(),
        std::future::pending(),
        Duration::from_secs(1),
        syncline::receiver::ConnectionLimits {
            header_read_timeout: Duration::from_millis(500),
            ..Default::default()
        },
    ));
    let prefix = prop_oneof![
        Just(Vec::new()),
        Just(b"POST /webhooks/shopify HTTP/1.1\r\nhost: x\r\n".to_vec()),
        Just(b"POST /webhooks/shopify HTTP/1.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec()),
    ];
    let strategy = (prefix, prop::collection::vec(any::<u8>(), 0..1024));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(prefix, noise)| {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let _ = conn.write_all(&prefix);
            let _ = conn.write_all(&noise);
            let _ = conn.shutdown(std::net::Shutdown::Write);
            let mut answer = Vec::new();
            let _ = conn.read_to_end(&mut answer);
            let text = String::from_utf8_lossy(&answer);
            prop_assert!(
                !text.starts_with("HTTP/1.1 2"),
                "noise was accepted: {text}"
            );
            prop_assert!(
                !text.starts_with("HTTP/1.1 5"),
                "noise caused a server error: {text}"
            );
            prop_assert_eq!(h.stored_keys(), 0);
            Ok(())
        })
        .unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
