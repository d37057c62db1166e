//! WooCommerce: deliveries, the unsigned activation ping, forgeries and rotation.

use axum::http::StatusCode;

use crate::common::*;

fn woo_headers(secret: &str, body: &str, delivery: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-wc-webhook-source".into(), "https://shop.example/".into()),
        ("x-wc-webhook-topic".into(), "order.updated".into()),
        ("x-wc-webhook-resource".into(), "order".into()),
        ("x-wc-webhook-event".into(), "updated".into()),
        (
            "x-wc-webhook-signature".into(),
            sign_b64(secret, body.as_bytes()),
        ),
        ("x-wc-webhook-id".into(), "12".into()),
        ("x-wc-webhook-delivery-id".into(), delivery.into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_deliveries_pings_forgeries_and_rotation() {
    let h = Harness::new(
        &woo_pipeline(),
        secrets(&[
            ("webhookSecret", "new-woo"),
            ("webhookSecretPrevious", SECRET),
        ]),
    );
    // The activation ping: unsigned form body, exactly 200, nothing stored.
    let ping = post(
        "/webhooks/woocommerce",
        &[("content-type", "application/x-www-form-urlencoded")],
        "webhook_id=12",
    );
    let (status, _, _) = h.send(ping).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.stored_keys(), 0);

    let good = woo_headers(SECRET, WOO_ORDER, "d-1");
    let forged = [
        with_header(
            &good,
            "x-wc-webhook-signature",
            Some(&sign_b64("guess", WOO_ORDER.as_bytes())),
        ),
        with_header(&good, "x-wc-webhook-signature", None),
        with_header(
            &good,
            "x-wc-webhook-signature",
            Some(&sign_b64(SECRET, WOO_ORDER.as_bytes())[..10]),
        ),
    ];
    for headers in &forged {
        let (status, _, json) = h
            .send(post_owned("/webhooks/woocommerce", headers, WOO_ORDER))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    }
    let (status, _, json) = h
        .send(post_owned(
            "/webhooks/woocommerce",
            &good,
            WOO_ORDER.replace("29.35", "0.01"),
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    assert_eq!(h.stored_keys(), 0);

    let (status, _, json) = h
        .send(post_owned("/webhooks/woocommerce", &good, WOO_ORDER))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let current = woo_headers("new-woo", WOO_ORDER, "d-2");
    assert_eq!(
        h.status("/webhooks/woocommerce", &current, WOO_ORDER).await,
        StatusCode::OK
    );
    let envelopes = h.envelopes();
    assert_eq!(envelopes.len(), 2);
    let e = &envelopes[0];
    assert_eq!(
        (
            e.delivery_id.as_str(),
            e.platform.as_str(),
            e.topic.as_str()
        ),
        ("d-1", "woocommerce", "order.updated")
    );
    assert_eq!(e.object_kind.map(|k| k.as_str()), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("727"));
    assert_eq!(mapped_version(e).as_deref(), Some("2026-11-20T15:03:10Z"));
    assert_eq!(e.body, WOO_ORDER);
}
