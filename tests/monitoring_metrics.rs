//! Every metric an alert of the chart's PrometheusRule or a panel of its Grafana dashboard
//! uses, and every metric the metrics reference (docs/metrics.md) documents, exists on a
//! live /metrics, and every `syncline_*` metric there is documented: a real pipeline (`syncline run`: receiver, worker and
//! poller against a real Redis, the HubSpot and Shopify simulators) that has stored, refused,
//! written, dead-lettered and polled, and the operator reconciling the same pipeline on a
//! real API server.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kube::api::Api;
use serde_json::json;
use support::hubspot::{HubspotSim, TOKEN};
use support::operator::{OperatorProcess, metric_value as value};
use support::pipelines::{NS, create_with_secret, pipeline, setup};
use support::redis::RedisServer;
use support::run::SynclineRun;
use support::stores::StoreSimServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::SyncPipeline;
use syncline::model::{ObjectKind, StorePlatform};
use syncline::sim::hubspot::FaultConfig;
use syncline::sim::store::StoreFaults;
use syncline::sim::store::sign::{Outgoing, Signer};

const SOURCES: [&str; 2] = [
    "charts/syncline/templates/prometheusrule.yaml",
    "charts/syncline/dashboards/syncline.json",
];

/// The metrics reference: one table row per metric, its name the row's first cell.
const REFERENCE: &str = "docs/metrics.md";

/// The metric names of the reference's tables: rows whose first cell is `syncline_…`.
fn documented(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter_map(|line| {
            let first = line.strip_prefix('|')?.split('|').next()?.trim();
            let name = first.strip_prefix('`')?.strip_suffix('`')?;
            name.starts_with("syncline_").then(|| name.to_owned())
        })
        .collect()
}

/// The metric families of a Prometheus text exposition (its `# TYPE` lines), without the
/// `_bucket`/`_sum`/`_count` samples a histogram adds.
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every `syncline_[a-z_]+` in `text` (not one followed by `*`).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("syncline_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        // `syncline_queue_*` in prose is a family of names, not one.
        if !tail[end..].starts_with('*') {
            names.insert(tail[..end].trim_end_matches('_').to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// The sample and family names of a Prometheus text exposition.
fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(t) => t.split_whitespace().next(),
            None if !l.starts_with('#') => l.split(['{', ' ']).next(),
            None => None,
        })
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

async fn get(url: &str) -> String {
    let response = syncline::tls::http_client().get(url).send().await;
    match response {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// One customer delivery, signed by `signer`, to the receiver at `base`: its HTTP status.
async fn deliver(signer: &Signer, base: &str, id: u64, email: &str) -> u16 {
    let customer = json!({"id": id, "email": email, "first_name": "A", "last_name": "B",
        "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-20T10:05:00-05:00"});
    let out = Outgoing {
        kind: ObjectKind::Customers,
        created: false,
        object: customer,
        delivery_id: format!("evt-{id}"),
        at_unix: jiff::Timestamp::now().as_second(),
    };
    signer
        .sign(&out)
        .request(&syncline::tls::http_client(), base)
        .send()
        .await
        .expect("the receiver answers")
        .status()
        .as_u16()
}

#[test]
fn the_names_are_read_from_both_files() {
    let names = metric_names(
        "rate(syncline_worker_events_total{x=\"y\"}[5m]) syncline_queue_lag) syncline_poller_*",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["syncline_queue_lag", "syncline_worker_events_total"]
    );
    for source in SOURCES {
        let text = std::fs::read_to_string(support::repo().join(source)).unwrap();
        assert!(metric_names(&text).len() >= 5, "{source}");
    }
}

#[test]
fn the_reference_and_the_page_are_read_by_name() {
    let page = "| metric | type |\n|---|---|\n| `syncline_queue_lag` | gauge |\n\
                | `other` | x |\ntext `syncline_not_a_row`\n| `syncline_worker_batch_size` | histogram |\n";
    assert_eq!(
        documented(page).into_iter().collect::<Vec<_>>(),
        ["syncline_queue_lag", "syncline_worker_batch_size"]
    );
    let text = "# HELP syncline_worker_batch_size x\n# TYPE syncline_worker_batch_size histogram\n\
                syncline_worker_batch_size_bucket{le=\"1\"} 0\nsyncline_worker_batch_size_sum 0\n";
    assert_eq!(
        families(text).into_iter().collect::<Vec<_>>(),
        ["syncline_worker_batch_size"]
    );
    let reference = std::fs::read_to_string(support::repo().join(REFERENCE)).unwrap();
    assert!(documented(&reference).len() >= 30, "{REFERENCE}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alerts_and_the_dashboard_use_is_on_a_live_metrics_page() {
    let redis = RedisServer::start();
    let crm = HubspotSim::with_limit(1_000).await;
    let store = StoreSimServer::of(StorePlatform::Shopify).await;
    let secret = "s";

    // The operator reconciles and samples the pipeline the data plane below runs.
    let cp = ControlPlane::start(Mode::ApiOnly);
    let client = setup(&cp).await;
    let operator = OperatorProcess::start(&cp.kubeconfig, "op", &["--queue-sample-interval", "1s"]);
    create_with_secret(
        &client,
        "shop-secret",
        &pipeline("shop", "shop-secret", &redis.url(), "Retain"),
    )
    .await;

    let yaml = format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: shop, namespace: {NS}}}\n\
         spec:\n  store:\n    platform: shopify\n    url: \"{}\"\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: \"{}\"}}\n  secretRef: {{name: shop-secret}}\n\
         \x20 redis: {{url: \"{}\"}}\n  polling: {{interval: 10s, lookback: 10m}}\n",
        store.url(""),
        crm.url(""),
        redis.url()
    );
    let env = [
        ("SYNCLINE_WEBHOOK_SECRET", secret),
        ("SYNCLINE_CRM_TOKEN", TOKEN),
        ("SYNCLINE_STORE_TOKEN", "store-token"),
    ];
    let run = SynclineRun::start(&yaml, &env, true);
    let receiver = run.receiver();
    let worker = run.worker("/metrics");
    eventually(30, "the worker's /metrics", || async {
        (!get(&worker).await.is_empty()).then_some(())
    })
    .await;

    // A customer HubSpot takes, one it refuses (a dead letter), and a forgery.
    let signer = |secret: &str| Signer {
        platform: StorePlatform::Shopify,
        secret: secret.into(),
        shop_domain: "acme.myshopify.com".into(),
        api_version: "2025-10".into(),
        source_url: store.url(""),
    };
    // The first customer twice: the second is a duplicate (answered 200, not stored).
    for (id, email, key) in [
        (7, "ok@example.com", secret),
        (7, "ok@example.com", secret),
        (8, "not-an-email", secret),
        (9, "x@example.com", "forged"),
    ] {
        let status = deliver(&signer(key), &receiver, id, email).await;
        assert_eq!(
            status,
            if key == secret { 200 } else { 401 },
            "customer {id}"
        );
    }
    let worker_page = eventually(60, "a write, a dead letter and a finished poll", || async {
        let page = get(&worker).await;
        let done = value(&page, "syncline_worker_dead_letters_total") >= 1.0
            && value(&page, "syncline_poller_last_poll_timestamp_seconds") > 0.0
            && page.contains("outcome=\"written\"");
        done.then_some(page)
    })
    .await;
    let now = jiff::Timestamp::now().as_second() as f64;
    let polled = value(&worker_page, "syncline_poller_last_poll_timestamp_seconds");
    assert!(
        (now - polled).abs() < 120.0,
        "the last poll's time is now-ish: {polled}"
    );

    let api: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    eventually(
        60,
        "the operator's queue sample with the dead letter",
        || async {
            let queue = api.get("shop").await.ok()?.status?.queue?;
            (queue.dead_letters >= 1).then_some(())
        },
    )
    .await;
    // The failure counters of the reference get their first series: a CRM that answers
    // 5xx until a retry sent an event's inputs again, a store that
    // keeps answering 429 past the poller's patience, and a Redis that holds writes
    // longer than the receiver waits (a 503).
    crm.sim.set_faults(FaultConfig {
        error_rate: 1.0,
        error_status: 500,
        only_path: "/contacts/batch/upsert".into(),
        ..FaultConfig::default()
    });
    assert_eq!(
        deliver(&signer(secret), &receiver, 10, "retry@example.com").await,
        200
    );
    // Only a 500 spends an attempt (a 502–504 is an outage, which backs the worker off
    // for up to 30 s), and only an event that spent one counts its inputs as sent again.
    let page = eventually(90, "a retried event's inputs sent again", || async {
        let page = get(&worker).await;
        (value(&page, "syncline_worker_retried_inputs_total") >= 1.0).then_some(page)
    })
    .await;
    assert!(value(&page, "syncline_worker_retries_total") >= 1.0);
    crm.sim.set_faults(FaultConfig::default());
    // One more than the 20 the poller waits out in a row (a short Retry-After each).
    store.sim.set_faults(StoreFaults {
        burst_429: 21,
        retry_after: 0.05,
    });
    eventually(60, "a failed poll", || async {
        (value(&get(&worker).await, "syncline_poller_errors_total") >= 1.0).then_some(())
    })
    .await;
    redis.cli(&["CLIENT", "PAUSE", "3000", "WRITE"]);
    assert_eq!(
        deliver(&signer(secret), &receiver, 11, "late@example.com").await,
        503
    );
    assert!(
        value(
            &get(&format!("{receiver}/metrics")).await,
            "syncline_receiver_enqueue_failures_total"
        ) >= 1.0
    );

    // Some series appear only after a worker's load report (every 5 s) reached the
    // operator's scaler: the pages are read until every name is there, for 30 s at most.
    let referenced: Vec<(String, &str)> = SOURCES
        .iter()
        .flat_map(|source| {
            let text = std::fs::read_to_string(support::repo().join(source)).unwrap();
            metric_names(&text).into_iter().map(move |n| (n, *source))
        })
        .collect();
    let reference_page = std::fs::read_to_string(support::repo().join(REFERENCE)).unwrap();
    let reference = documented(&reference_page);
    let referenced: Vec<(String, &str)> = referenced
        .into_iter()
        .chain(reference.iter().map(|n| (n.clone(), REFERENCE)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (missing, undocumented, live) = loop {
        let (_, operator_page) = operator.get("/metrics").await;
        let receiver_page = get(&format!("{receiver}/metrics")).await;
        let worker_page = get(&worker).await;
        let mut live = exposed(&operator_page);
        live.extend(exposed(&receiver_page));
        live.extend(exposed(&worker_page));
        let missing: Vec<String> = referenced
            .iter()
            .filter(|(name, _)| !live.contains(name))
            .map(|(name, source)| format!("{name} (in {source})"))
            .collect();
        let undocumented: Vec<String> = [&operator_page, &receiver_page, &worker_page]
            .into_iter()
            .flat_map(|page| families(page))
            .filter(|name| name.starts_with("syncline_") && !reference.contains(name))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if (missing.is_empty() && undocumented.is_empty()) || Instant::now() > deadline {
            break (missing, undocumented, live);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(
        missing.is_empty(),
        "used by the alerts or the dashboard, or documented in {REFERENCE}, on no live /metrics: {missing:#?}\n\
         live: {live:#?}"
    );
    assert!(
        undocumented.is_empty(),
        "on a live /metrics but not in {REFERENCE}: {undocumented:#?}; add a row for each"
    );
}
