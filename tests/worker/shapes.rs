//! Every route × platform × body shape, end to end: a signed delivery through the real
//! receiver router into a real Redis, through a worker into the HubSpot simulator. What
//! the receiver acknowledges must reach the CRM; what it cannot map is refused with a 422
//! that names the problem, and nothing is stored for it.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::Sha256;
use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::receiver::{ReceiverSettings, ReceiverState, router};
use syncline::sim::hubspot::types::ObjectType;
use syncline::worker::WorkerSettings;
use tower::ServiceExt;

use crate::common::{SHOPIFY_ORDER, Worker, spawn_worker};
use crate::support::hubspot::{HubspotSim, TOKEN};
use crate::support::redis::RedisServer;

const SECRET: &str = "whsec_c3luY2xpbmUtc2hhcGVzLXRlc3Qtc2VjcmV0";

const WOO_ORDER: &str = r#"{"id":727,"number":"727","status":"processing","currency":"USD","total":"29.35","date_created_gmt":"2026-11-20T15:01:02","date_modified_gmt":"2026-11-20T15:03:10","customer_id":0,"billing":{"first_name":"John","last_name":"Doe","email":"john.doe@example.com","phone":"(555) 555-5555"},"line_items":[{"id":315,"name":"Woo Single #1","product_id":93,"variation_id":0,"quantity":2,"sku":"WOO-1","price":6.0,"total":"12.00"}]}"#;

const MAGENTO_ORDER: &str = r#"{"entity_id":42,"increment_id":"000000042","customer_id":7,"customer_email":"roni_cost@example.com","customer_firstname":"Veronica","customer_lastname":"Costello","status":"processing","state":"processing","created_at":"2026-11-20 15:01:02","updated_at":"2026-11-20 15:03:10","grand_total":36.39,"order_currency_code":"USD","items":[{"item_id":91,"product_id":1428,"sku":"WS03-XS-Red","name":"Iris Workout Top","qty_ordered":1,"price":29}]}"#;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// How one delivery is signed and addressed.
#[derive(Clone, Copy, Debug)]
enum Sender {
    Shopify,
    WooCommerce,
    /// Standard Webhooks, on `/webhooks/standard` or (Magento `scheme: standard`) the
    /// platform route.
    Standard(&'static str),
    /// HMAC hex in `x-magento-signature`, optionally a topic header.
    MagentoHmac(Option<&'static str>),
}

fn request(sender: Sender, id: &str, body: &str) -> Request<Body> {
    let mut req = Request::post("/").header("content-type", "application/json");
    let path;
    match sender {
        Sender::Shopify => {
            path = "/webhooks/shopify";
            req = req
                .header("x-shopify-topic", "orders/create")
                .header(
                    "x-shopify-hmac-sha256",
                    STANDARD.encode(hmac(SECRET.as_bytes(), &[body.as_bytes()])),
                )
                .header("x-shopify-shop-domain", "acme.myshopify.com")
                .header("x-shopify-webhook-id", id);
        }
        Sender::WooCommerce => {
            path = "/webhooks/woocommerce";
            req = req
                .header("x-wc-webhook-topic", "order.updated")
                .header(
                    "x-wc-webhook-signature",
                    STANDARD.encode(hmac(SECRET.as_bytes(), &[body.as_bytes()])),
                )
                .header("x-wc-webhook-source", "https://shop.example/")
                .header("x-wc-webhook-delivery-id", id);
        }
        Sender::Standard(route) => {
            path = route;
            let key = STANDARD
                .decode(SECRET.trim_start_matches("whsec_"))
                .unwrap();
            let ts = jiff::Timestamp::now().as_second().to_string();
            let sig = hmac(
                &key,
                &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
            );
            req = req
                .header("webhook-id", id)
                .header("webhook-timestamp", ts)
                .header("webhook-signature", format!("v1,{}", STANDARD.encode(sig)));
        }
        Sender::MagentoHmac(topic) => {
            path = "/webhooks/magento";
            req = req.header(
                "x-magento-signature",
                hex::encode(hmac(SECRET.as_bytes(), &[body.as_bytes()])),
            );
            if let Some(topic) = topic {
                req = req.header("x-magento-topic", topic);
            }
        }
    }
    let (mut parts, ()) = req.body(()).unwrap().into_parts();
    parts.uri = path.parse().unwrap();
    Request::from_parts(parts, Body::from(body.to_owned()))
}

fn pipeline(store: &str, crm: &str, redis: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: acme, namespace: shops}}\n\
         spec:\n  store: {store}\n  crm: {{platform: hubspot, url: \"{crm}\", account: shapes}}\n\
         \x20 secretRef: {{name: acme}}\n  redis: {{url: \"{redis}\"}}\n  workers: {{batchSize: 10}}\n"
    )
}

struct EndToEnd {
    _redis: RedisServer,
    sim: HubspotSim,
    app: axum::Router,
    worker: Worker,
}

impl EndToEnd {
    async fn start(store: &str) -> Self {
        let redis = RedisServer::start();
        let sim = HubspotSim::with_limit(100_000).await;
        let mut secrets = SecretValues::default();
        secrets.insert("crmToken", TOKEN);
        secrets.insert("webhookSecret", SECRET);
        let config = PipelineConfig {
            pipeline: parse_pipeline(&pipeline(store, &sim.url(""), &redis.url())).unwrap(),
            secrets,
        };
        let state = ReceiverState::new(&config, ReceiverSettings::default()).unwrap();
        let worker = spawn_worker(
            &config,
            WorkerSettings {
                consumer: Some("w".into()),
                block: Duration::from_millis(100),
                ..WorkerSettings::default()
            },
        );
        Self {
            _redis: redis,
            sim,
            app: router(state),
            worker,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn deals(&self, want: usize) -> Vec<String> {
        for _ in 0..200 {
            let deals: Vec<String> = self
                .sim
                .sim
                .store()
                .objects(ObjectType::Deals)
                .into_iter()
                .filter_map(|d| d.properties.get("syncline_order_key").cloned())
                .collect();
            if deals.len() >= want {
                return deals;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {want} deals reached the CRM");
    }

    async fn stop(self) {
        self.worker.stop().await;
    }
}

fn wrap(topic: &str, body: &str) -> String {
    let data: Value = serde_json::from_str(body).unwrap();
    json!({"type": topic, "timestamp": "2026-11-20T15:03:11Z", "data": data}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_platform_and_body_shape_reaches_the_crm() {
    let shopify = "{platform: shopify, url: \"https://acme.myshopify.com\", shopify: {shopDomain: acme.myshopify.com}}";
    let woo = "{platform: woocommerce, url: \"https://shop.example\"}";
    let magento = |scheme: &str| {
        format!(
            "{{platform: magento, url: \"https://shop.example\", magento: {{webhooks: {{scheme: {scheme}, topicHeader: x-magento-topic}}}}}}"
        )
    };
    let shopify_wrapped = wrap("orders/create", SHOPIFY_ORDER);
    let woo_wrapped = wrap("order.updated", WOO_ORDER);
    let magento_wrapped = wrap("orders/create", MAGENTO_ORDER);
    let magento_data_only =
        json!({"data": serde_json::from_str::<Value>(MAGENTO_ORDER).unwrap()}).to_string();
    let cases: Vec<(&str, String, Sender, String, &str)> = vec![
        (
            "shopify native",
            shopify.into(),
            Sender::Shopify,
            SHOPIFY_ORDER.into(),
            "shopify:acme.myshopify.com:820982911946154508",
        ),
        (
            "shopify standard {type,data}",
            shopify.into(),
            Sender::Standard("/webhooks/standard"),
            shopify_wrapped,
            "shopify:acme.myshopify.com:820982911946154508",
        ),
        (
            "shopify standard bare",
            shopify.into(),
            Sender::Standard("/webhooks/standard"),
            SHOPIFY_ORDER.into(),
            "shopify:acme.myshopify.com:820982911946154508",
        ),
        (
            "woocommerce native",
            woo.into(),
            Sender::WooCommerce,
            WOO_ORDER.into(),
            "woocommerce:shop.example:727",
        ),
        (
            "woocommerce standard {type,data}",
            woo.into(),
            Sender::Standard("/webhooks/standard"),
            woo_wrapped,
            "woocommerce:shop.example:727",
        ),
        (
            "magento standard bare",
            magento("standard"),
            Sender::Standard("/webhooks/magento"),
            MAGENTO_ORDER.into(),
            "magento:shop.example:42",
        ),
        (
            "magento standard {type,data}",
            magento("standard"),
            Sender::Standard("/webhooks/magento"),
            magento_wrapped.clone(),
            "magento:shop.example:42",
        ),
        (
            "magento hmac bare, no topic",
            magento("hmac"),
            Sender::MagentoHmac(None),
            MAGENTO_ORDER.into(),
            "magento:shop.example:42",
        ),
        (
            "magento hmac bare, topic header",
            magento("hmac"),
            Sender::MagentoHmac(Some("sales.order.created")),
            MAGENTO_ORDER.into(),
            "magento:shop.example:42",
        ),
        (
            "magento hmac {data}",
            magento("hmac"),
            Sender::MagentoHmac(None),
            magento_data_only,
            "magento:shop.example:42",
        ),
        (
            "magento hmac {type,data}",
            magento("hmac"),
            Sender::MagentoHmac(None),
            magento_wrapped,
            "magento:shop.example:42",
        ),
    ];
    for (name, store, sender, body, deal) in cases {
        let e2e = EndToEnd::start(&store).await;
        let (status, answer) = e2e.send(request(sender, "d-1", &body)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        assert_eq!(e2e.deals(1).await, vec![deal.to_string()], "{name}");
        e2e.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_synced_is_refused_with_a_422_naming_the_problem() {
    let magento = "{platform: magento, url: \"https://shop.example\", magento: {webhooks: {scheme: standard}}}";
    let e2e = EndToEnd::start(magento).await;
    let mut no_time: Value = serde_json::from_str(MAGENTO_ORDER).unwrap();
    no_time.as_object_mut().unwrap().remove("updated_at");
    let cases = [
        (json!({"hello": "world"}).to_string(), "no topic"),
        (wrap("shop/update", MAGENTO_ORDER), "shop/update"),
        (no_time.to_string(), "field `updated_at` is missing"),
    ];
    for (i, (body, says)) in cases.iter().enumerate() {
        let (status, answer) = e2e
            .send(request(
                Sender::Standard("/webhooks/magento"),
                &format!("bad-{i}"),
                body,
            ))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"], "unsyncable");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }
    // Nothing stored: a valid delivery afterwards is the only deal.
    let (status, _) = e2e
        .send(request(
            Sender::Standard("/webhooks/magento"),
            "good",
            MAGENTO_ORDER,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e2e.deals(1).await.len(), 1);
    e2e.stop().await;
}

/// Changing `spec.store.url` of a running pipeline (http → https, a `www.`, a trailing
/// slash) keeps the store's CRM keys: the next version updates the same HubSpot objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_store_url_writes_to_the_same_crm_objects() {
    let redis = RedisServer::start();
    let sim = HubspotSim::with_limit(100_000).await;
    let queue = syncline::queue::Queue::new(
        &redis.url(),
        syncline::queue::QueueKeys::new("shops", "acme"),
        syncline::queue::QueueSettings::default(),
    )
    .unwrap();
    queue.ensure_group().await.unwrap();
    let mut order: Value = serde_json::from_str(WOO_ORDER).unwrap();
    for (n, url) in ["http://shop.example", "https://www.shop.example/"]
        .iter()
        .enumerate()
    {
        let store = format!("{{platform: woocommerce, url: \"{url}\"}}");
        let mut secrets = SecretValues::default();
        secrets.insert("crmToken", TOKEN);
        let config = PipelineConfig {
            pipeline: parse_pipeline(&pipeline(&store, &sim.url(""), &redis.url())).unwrap(),
            secrets,
        };
        order["total"] = json!(format!("{}.00", n + 1));
        order["date_modified_gmt"] = json!(format!("2026-11-20T15:0{}:10", n + 3));
        queue
            .enqueue(&syncline::queue::EventEnvelope {
                delivery_id: format!("d{n}"),
                platform: syncline::api::StorePlatform::WooCommerce,
                scheme: syncline::queue::Scheme::WooCommerce,
                topic: "order.updated".into(),
                object_kind: Some(syncline::api::ObjectKind::Orders),
                object_id: Some("727".into()),
                received_at: "2026-11-20T15:01:03Z".into(),
                body: order.to_string(),
            })
            .await
            .unwrap();
        let worker = spawn_worker(
            &config,
            WorkerSettings {
                consumer: Some(format!("w{n}")),
                block: Duration::from_millis(100),
                ..WorkerSettings::default()
            },
        );
        for _ in 0..200 {
            if queue.depth().await.unwrap().lag == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worker.stop().await;
    }
    let store = sim.sim.store();
    let deals = store.objects(ObjectType::Deals);
    assert_eq!(deals.len(), 1, "{deals:?}");
    assert_eq!(
        deals[0].properties["syncline_order_key"],
        "woocommerce:shop.example:727"
    );
    assert_eq!(deals[0].properties["amount"], "2.00");
    assert_eq!(store.objects(ObjectType::LineItems).len(), 1);
    assert!(store.duplicates().is_empty());
}
