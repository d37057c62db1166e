//! Shopify: valid deliveries land in the stream with the right envelope, every kind of
//! forgery is refused and stores nothing, and the previous secret works during rotation.

use axum::http::StatusCode;

use crate::common::*;

fn shopify() -> Harness {
    Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", SECRET)]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_delivery_is_stored_with_its_envelope() {
    let h = shopify();
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-1");
    let (status, _, json) = h
        .send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let envelopes = h.envelopes();
    assert_eq!(envelopes.len(), 1);
    let e = &envelopes[0];
    assert_eq!(e.delivery_id, "evt-1:orders/create");
    assert_eq!(e.platform.as_str(), "shopify");
    assert_eq!(e.scheme.as_str(), "shopify");
    assert_eq!(e.topic, "orders/create");
    assert_eq!(e.object_kind.map(|k| k.as_str()), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("820982911946154508"));
    // The object's own time, as the worker's mapping reads it (UTC).
    assert_eq!(mapped_version(e).as_deref(), Some("2026-11-20T15:01:02Z"));
    assert_eq!(e.body, SHOPIFY_ORDER);
    assert!(jiff::Timestamp::now().to_string() >= e.received_at);
    // The dedupe marker exists, and the workers' consumer group was created with the stream.
    assert_eq!(
        h.redis
            .keys("sl:{shops/acme}:seen:evt-1:orders/create")
            .len(),
        1
    );
    let ttl = h
        .redis
        .command(&["TTL", "sl:{shops/acme}:seen:evt-1:orders/create"]);
    assert!(
        matches!(ttl, redis::Value::Int(t) if (86_000..=86_400).contains(&t)),
        "dedupe marker TTL {ttl:?}"
    );
    let groups = format!("{:?}", h.redis.command(&["XINFO", "GROUPS", STREAM]));
    assert!(groups.contains("workers"), "{groups}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_dedupes_on_event_id_and_topic_and_falls_back_to_webhook_id() {
    let h = shopify();
    let first = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-2");
    // The same merchant action through another subscription: new webhook id, same event id.
    let second = with_header(&first, "x-shopify-webhook-id", Some("wh-other"));
    for headers in [&first, &second] {
        let (status, _, json) = h
            .send(post_owned("/webhooks/shopify", headers, SHOPIFY_ORDER))
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
    }
    assert_eq!(h.envelopes().len(), 1);
    let no_event_id = with_header(&first, "x-shopify-event-id", None);
    let (status, _, _) = h
        .send(post_owned("/webhooks/shopify", &no_event_id, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The same action under another topic is another change to sync, not a duplicate.
    let paid = with_header(&first, "x-shopify-topic", Some("orders/paid"));
    let (status, _, _) = h
        .send(post_owned("/webhooks/shopify", &paid, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = h.envelopes().into_iter().map(|e| e.delivery_id).collect();
    assert_eq!(
        ids,
        vec![
            "evt-2:orders/create".to_owned(),
            "wh-evt-2".to_owned(),
            "evt-2:orders/paid".to_owned()
        ]
    );
}

/// Name, headers, body, expected status and error code.
type ForgeryCase = (
    &'static str,
    Vec<(String, String)>,
    String,
    StatusCode,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_forgeries_are_refused_and_store_nothing() {
    let h = shopify();
    let good = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-3");
    let sig = sign_b64(SECRET, SHOPIFY_ORDER.as_bytes());
    let altered = SHOPIFY_ORDER.replace("403.00", "1.00");
    let cases: Vec<ForgeryCase> = vec![
        (
            "wrong secret",
            with_header(
                &good,
                "x-shopify-hmac-sha256",
                Some(&sign_b64("other", SHOPIFY_ORDER.as_bytes())),
            ),
            SHOPIFY_ORDER.into(),
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            "altered body",
            good.clone(),
            altered,
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            "missing signature",
            with_header(&good, "x-shopify-hmac-sha256", None),
            SHOPIFY_ORDER.into(),
            StatusCode::UNAUTHORIZED,
            "missing_signature",
        ),
        (
            "truncated signature",
            with_header(&good, "x-shopify-hmac-sha256", Some(&sig[..sig.len() - 6])),
            SHOPIFY_ORDER.into(),
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            "junk body with a bad signature is 401, not 400",
            good.clone(),
            "not json at all {{{".into(),
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
        ),
        (
            "another shop",
            with_header(&good, "x-shopify-shop-domain", Some("evil.myshopify.com")),
            SHOPIFY_ORDER.into(),
            StatusCode::UNAUTHORIZED,
            "wrong_shop",
        ),
        (
            "signed but no topic",
            with_header(&good, "x-shopify-topic", None),
            SHOPIFY_ORDER.into(),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
        (
            "signed but no delivery id",
            with_header(
                &with_header(&good, "x-shopify-event-id", None),
                "x-shopify-webhook-id",
                None,
            ),
            SHOPIFY_ORDER.into(),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
    ];
    for (name, headers, body, want, code) in cases {
        let (status, _, json) = h
            .send(post_owned("/webhooks/shopify", &headers, body))
            .await;
        assert_eq!(status, want, "{name}: {json}");
        assert_eq!(json["error"], code, "{name}: {json}");
        assert!(json["message"].is_string(), "{name}: {json}");
    }
    assert_eq!(h.stored_keys(), 0, "a refused delivery stored something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_previous_secret_still_verifies_during_rotation() {
    let h = Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[
            ("webhookSecret", "brand-new-secret"),
            ("webhookSecretPrevious", SECRET),
        ]),
    );
    let old = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-old");
    let new = shopify_headers("brand-new-secret", SHOPIFY_ORDER, "evt-new");
    let stranger = shopify_headers("never-configured", SHOPIFY_ORDER, "evt-x");
    assert_eq!(
        h.status("/webhooks/shopify", &old, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(
        h.status("/webhooks/shopify", &new, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(
        h.status("/webhooks/shopify", &stranger, SHOPIFY_ORDER)
            .await,
        StatusCode::UNAUTHORIZED
    );
    let ids: Vec<String> = h.envelopes().into_iter().map(|e| e.delivery_id).collect();
    assert_eq!(
        ids,
        vec![
            "evt-old:orders/create".to_owned(),
            "evt-new:orders/create".to_owned()
        ]
    );
}
