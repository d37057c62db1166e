//! Standard Webhooks, on a Magento pipeline and on /webhooks/standard of any pipeline:
//! timestamp tolerance both ways, replays, forgeries, and rotation with two secrets.

use axum::http::StatusCode;

use crate::common::*;

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
    assert_eq!(e.platform.as_str(), "magento");
    assert_eq!(e.object_kind.map(|k| k.as_str()), Some("orders"));
    assert_eq!(e.object_id.as_deref(), Some("42"));
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
    assert_eq!(e.object_kind.map(|k| k.as_str()), Some("customers"));
    assert_eq!(e.object_id.as_deref(), Some("207119551"));
}
