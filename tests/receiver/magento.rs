//! Magento: extension HMAC (hex or base64 in a configured header) and Adobe Commerce
//! Webhooks (RSA over the base64 body).

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::common::*;

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
    assert_eq!(e.scheme.as_str(), "magento-hmac");
    assert_eq!(e.topic, "orders/updated");
    assert_eq!(e.object_id.as_deref(), Some("42"));
    assert_eq!(mapped_version(e).as_deref(), Some("2026-11-20T15:03:10Z"));
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
    assert_eq!(envelopes[0].scheme.as_str(), "magento-adobe");
    assert_eq!(envelopes[0].topic, "observer.sales_order_save_after");
    assert_eq!(envelopes[0].body, body);
}
