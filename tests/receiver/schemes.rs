//! Every signature scheme: valid deliveries land in the stream with the right envelope;
//! each kind of forgery is refused with the right status and stores nothing; a rotated-out
//! secret keeps working while it is webhookSecretPrevious.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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
    assert_eq!(e.delivery_id, "evt-1");
    assert_eq!(e.platform, "shopify");
    assert_eq!(e.scheme, "shopify");
    assert_eq!(e.topic, "orders/create");
    assert_eq!(e.object_kind.as_deref(), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("820982911946154508"));
    assert_eq!(e.updated_at.as_deref(), Some("2026-11-20T10:01:02-05:00"));
    assert_eq!(
        e.triggered_at.as_deref(),
        Some("2026-11-20T15:01:02.234647458Z")
    );
    assert_eq!(e.body, SHOPIFY_ORDER);
    assert!(jiff::Timestamp::now().to_string() >= e.received_at);
    // The dedupe marker exists, and the workers' consumer group was created with the stream.
    assert_eq!(h.redis.keys("sl:{shops/acme}:seen:evt-1").len(), 1);
    let ttl = h.redis.command(&["TTL", "sl:{shops/acme}:seen:evt-1"]);
    assert!(
        matches!(ttl, redis::Value::Int(t) if (86_000..=86_400).contains(&t)),
        "dedupe marker TTL {ttl:?}"
    );
    let groups = format!("{:?}", h.redis.command(&["XINFO", "GROUPS", STREAM]));
    assert!(groups.contains("workers"), "{groups}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_dedupes_on_event_id_and_falls_back_to_webhook_id() {
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
    let ids: Vec<String> = h.envelopes().into_iter().map(|e| e.delivery_id).collect();
    assert_eq!(ids, vec!["evt-2".to_owned(), "wh-evt-2".to_owned()]);
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
        h.send(post_owned("/webhooks/shopify", &old, SHOPIFY_ORDER))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        h.send(post_owned("/webhooks/shopify", &new, SHOPIFY_ORDER))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        h.send(post_owned("/webhooks/shopify", &stranger, SHOPIFY_ORDER))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let ids: Vec<String> = h.envelopes().into_iter().map(|e| e.delivery_id).collect();
    assert_eq!(ids, vec!["evt-old".to_owned(), "evt-new".to_owned()]);
}

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
        h.send(post_owned("/webhooks/woocommerce", &current, WOO_ORDER))
            .await
            .0,
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
    assert_eq!(e.object_kind.as_deref(), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("727"));
    assert_eq!(e.updated_at.as_deref(), Some("2026-11-20T15:03:10Z"));
    assert_eq!(e.body, WOO_ORDER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_hmac_hex_in_the_configured_header() {
    let h = Harness::new(
        &magento_pipeline("{scheme: hmac, signatureHeader: X-Magento-Signature}"),
        secrets(&[("webhookSecret", SECRET)]),
    );
    let body = format!(r#"{{"type":"orders/updated","data":{MAGENTO_ORDER}}}"#);
    let hex_sig = hex::encode(hmac_bytes(SECRET.as_bytes(), &[body.as_bytes()]));
    let ct = ("content-type", "application/json");
    for (sig, want) in [
        (hex_sig.clone(), StatusCode::OK),
        (
            STANDARD.encode(hex::decode(&hex_sig).unwrap()),
            StatusCode::UNAUTHORIZED,
        ),
        (hex_sig[..32].to_owned(), StatusCode::UNAUTHORIZED),
        (
            hex::encode(hmac_bytes(b"wrong", &[body.as_bytes()])),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, _, json) = h
            .send(post(
                "/webhooks/magento",
                &[ct, ("x-magento-signature", &sig)],
                body.clone(),
            ))
            .await;
        assert_eq!(status, want, "{json}");
    }
    let (status, _, _) = h.send(post("/webhooks/magento", &[ct], body.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let envelopes = h.envelopes();
    assert_eq!(envelopes.len(), 1);
    let e = &envelopes[0];
    assert_eq!(e.scheme, "magento-hmac");
    assert_eq!(e.topic, "orders/updated");
    assert_eq!(e.object_id.as_deref(), Some("42"));
    assert_eq!(e.updated_at.as_deref(), Some("2026-11-20T15:03:10Z"));
    assert!(e.delivery_id.starts_with("sha256:"), "{}", e.delivery_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_hmac_base64_encoding() {
    let h = Harness::new(
        &magento_pipeline(
            "{scheme: hmac, signatureHeader: x-unific-hmac, signatureEncoding: base64}",
        ),
        secrets(&[("webhookSecret", SECRET)]),
    );
    let ct = ("content-type", "application/json");
    let sig = sign_b64(SECRET, MAGENTO_ORDER.as_bytes());
    let (status, _, _) = h
        .send(post(
            "/webhooks/magento",
            &[ct, ("x-unific-hmac", &sig)],
            MAGENTO_ORDER,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let hex_sig = hex::encode(hmac_bytes(SECRET.as_bytes(), &[MAGENTO_ORDER.as_bytes()]));
    let (status, _, _) = h
        .send(post(
            "/webhooks/magento",
            &[ct, ("x-unific-hmac", &hex_sig)],
            MAGENTO_ORDER,
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.envelopes().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_adobe_rsa_over_base64_body() {
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::EncodePublicKey;
    use rsa::signature::{SignatureEncoding, Signer};

    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = private
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let indented: String = pem.lines().map(|l| format!("          {l}\n")).collect();
    let pipeline = magento_pipeline("\n        scheme: adobe\n        publicKey: |\n") + "";
    let pipeline = pipeline.replace("publicKey: |\n\n", &format!("publicKey: |\n{indented}"));
    let h = Harness::new(&pipeline, secrets(&[]));
    let signer = SigningKey::<sha2::Sha256>::new(private);
    let body =
        format!(r#"{{"eventName":"observer.sales_order_save_after","data":{MAGENTO_ORDER}}}"#);
    let sign = |msg: &[u8]| STANDARD.encode(signer.sign(msg).to_bytes());
    let good = sign(STANDARD.encode(&body).as_bytes());
    let ct = ("content-type", "application/json");
    let header = "x-adobe-commerce-webhook-signature";
    for (sig, want) in [
        (sign(body.as_bytes()), StatusCode::UNAUTHORIZED), // over the raw body: not Adobe's way
        (good[..good.len() / 2].to_owned(), StatusCode::UNAUTHORIZED),
        (
            sign(STANDARD.encode("{}").as_bytes()),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, _, json) = h
            .send(post(
                "/webhooks/magento",
                &[ct, (header, &sig)],
                body.clone(),
            ))
            .await;
        assert_eq!(status, want, "{json}");
    }
    assert_eq!(h.stored_keys(), 0);
    let (status, _, json) = h
        .send(post(
            "/webhooks/magento",
            &[ct, (header, &good)],
            body.clone(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json, serde_json::json!([{"op": "success"}]));
    let envelopes = h.envelopes();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0].scheme, "magento-adobe");
    assert_eq!(envelopes[0].topic, "observer.sales_order_save_after");
    assert_eq!(envelopes[0].body, body);
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_OLD: &str = "whsec_c2VjcmV0LWZvci10aGUtbWFnZW50by1leHRlbnNpb24=";

fn std_request(
    path: &str,
    id: &str,
    ts: i64,
    signature: &str,
    body: &str,
) -> axum::http::Request<axum::body::Body> {
    let ts = ts.to_string();
    post(
        path,
        &[
            ("content-type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", signature),
        ],
        body.to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_webhooks_on_magento_with_tolerance_and_rotation() {
    let h = Harness::new(
        &magento_pipeline("{scheme: standard}"),
        secrets(&[
            ("webhookSecret", WHSEC),
            ("webhookSecretPrevious", WHSEC_OLD),
        ]),
    );
    let body = format!(
        r#"{{"type":"orders/create","timestamp":"2026-11-20T15:03:10Z","data":{MAGENTO_ORDER}}}"#
    );
    let t = now();
    let path = "/webhooks/magento";
    let refused = [
        (
            "stale",
            std_request(
                path,
                "msg_1",
                t - 301,
                &sign_standard(WHSEC, "msg_1", t - 301, body.as_bytes()),
                &body,
            ),
            "stale_timestamp",
        ),
        (
            "future",
            std_request(
                path,
                "msg_1",
                t + 301,
                &sign_standard(WHSEC, "msg_1", t + 301, body.as_bytes()),
                &body,
            ),
            "stale_timestamp",
        ),
        (
            "replayed with new timestamp",
            std_request(
                path,
                "msg_1",
                t,
                &sign_standard(WHSEC, "msg_1", t - 1000, body.as_bytes()),
                &body,
            ),
            "invalid_signature",
        ),
        (
            "other id",
            std_request(
                path,
                "msg_2",
                t,
                &sign_standard(WHSEC, "msg_1", t, body.as_bytes()),
                &body,
            ),
            "invalid_signature",
        ),
        (
            "wrong key",
            std_request(
                path,
                "msg_1",
                t,
                &sign_standard("whsec_d3Jvbmc=", "msg_1", t, body.as_bytes()),
                &body,
            ),
            "invalid_signature",
        ),
        (
            "truncated",
            std_request(
                path,
                "msg_1",
                t,
                &sign_standard(WHSEC, "msg_1", t, body.as_bytes())[..20],
                &body,
            ),
            "invalid_signature",
        ),
        (
            "no signature",
            std_request(path, "msg_1", t, "", &body),
            "missing_signature",
        ),
    ];
    for (name, req, code) in refused {
        let (status, _, json) = h.send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {json}");
        assert_eq!(json["error"], code, "{name}: {json}");
    }
    assert_eq!(h.stored_keys(), 0);

    // Within tolerance, one entry signed with the previous secret among others.
    let sig = format!(
        "v1,Zm9yZ2Vk {}",
        sign_standard(WHSEC_OLD, "msg_1", t - 240, body.as_bytes())
    );
    let (status, _, json) = h
        .send(std_request(path, "msg_1", t - 240, &sig, &body))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let sig = sign_standard(WHSEC, "msg_3", t + 200, body.as_bytes());
    assert_eq!(
        h.send(std_request(path, "msg_3", t + 200, &sig, &body))
            .await
            .0,
        StatusCode::OK
    );
    let envelopes = h.envelopes();
    assert_eq!(envelopes.len(), 2);
    let e = &envelopes[0];
    assert_eq!(
        (e.delivery_id.as_str(), e.scheme.as_str(), e.topic.as_str()),
        ("msg_1", "standard", "orders/create")
    );
    assert_eq!(e.platform, "magento");
    assert_eq!(e.object_kind.as_deref(), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("42"));
    let expected_ts = jiff::Timestamp::from_second(t - 240).unwrap().to_string();
    assert_eq!(e.triggered_at.as_deref(), Some(expected_ts.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_route_serves_a_shopify_pipeline_too() {
    let h = Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", WHSEC)]),
    );
    let body = r#"{"type":"customers/update","data":{"id":207119551,"email":"bob.norman@hostmail.com","updated_at":"2015-05-27T18:11:24-04:00"}}"#;
    let t = now();
    let sig = sign_standard(WHSEC, "msg_s", t, body.as_bytes());
    let (status, _, json) = h
        .send(std_request("/webhooks/standard", "msg_s", t, &sig, body))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let e = &h.envelopes()[0];
    assert_eq!(
        (e.platform.as_str(), e.scheme.as_str()),
        ("shopify", "standard")
    );
    assert_eq!(e.object_kind.as_deref(), Some("customers"));
    assert_eq!(e.object_id.as_deref(), Some("207119551"));
}
