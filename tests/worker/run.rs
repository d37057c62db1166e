use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use syncline::sim::hubspot::types::ObjectType;

use crate::common::*;
use crate::support::redis::free_port;

/// `syncline run`: one process receives a signed Shopify webhook and writes it to the CRM,
/// then stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncline_run_takes_a_webhook_to_the_crm_in_one_process() {
    let h = Harness::start(100_000, 100_000, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let (port, worker_port) = (free_port(), free_port());
    let secret = "run-webhook-secret";
    let (listen, worker_listen) = (
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{worker_port}"),
    );
    let args = [
        "run",
        "--listen",
        &listen,
        "--worker-listen",
        &worker_listen,
    ];
    let mut child = h.spawn(dir.path(), &args, &[("SYNCLINE_WEBHOOK_SECRET", secret)]);
    let http = syncline::tls::http_client();
    let ready = Instant::now();
    while http
        .get(format!("http://127.0.0.1:{worker_port}/readyz"))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "the worker never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let body = order(42, 7, "run@example.com").to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer = http
        .post(format!("http://127.0.0.1:{port}/webhooks/shopify"))
        .header("content-type", "application/json")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-event-id", "evt-42")
        .header("x-shopify-shop-domain", "acme.myshopify.com")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    h.until(30, "the deal in the CRM", || {
        h.objects(ObjectType::Deals, "syncline_order_key")
            .contains_key(&deal_key(42))
    })
    .await;
    assert_eq!(
        h.objects(ObjectType::Deals, "syncline_order_key")[&deal_key(42)].properties["amount"],
        "7.00"
    );

    let status = terminate(&mut child).await;
    assert!(status.success(), "{status:?}");
}
