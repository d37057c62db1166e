//! A steady pipeline costs the API server nothing: over several resyncs the API server's own
//! `apiserver_request_total` shows no read and no write of the kinds the operator handles
//! (watches excepted, which stay open). KWOK, so the Deployments are really available and
//! no pod needs listing; the operator runs as the service account deploy/rbac.yaml binds.
//! Redis sees no new connection either: queue samples share one connection per Redis.

mod support;

use std::collections::BTreeMap;

use support::operator::OperatorProcess;
use support::pipelines::{NS, condition_of, create_with_secret, pipeline, setup};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::{SyncPipeline, condition};

/// The resources the operator reads or writes for a pipeline.
const OURS: [&str; 8] = [
    "syncpipelines",
    "deployments",
    "services",
    "configmaps",
    "poddisruptionbudgets",
    "secrets",
    "pods",
    "events",
];

fn label<'a>(labels: &'a str, key: &str) -> &'a str {
    labels
        .split(',')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix("=\"")?.strip_suffix('"'))
        .unwrap_or("")
}

/// Requests the API server has served, by (verb, resource/subresource), for OURS, without
/// WATCH (a watch is one long request, opened once).
fn requests(cp: &ControlPlane) -> BTreeMap<(String, String), f64> {
    let (ok, text, err) = cp.kubectl(&["get", "--raw", "/metrics"]);
    assert!(ok, "reading the API server's /metrics: {err}");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let (verb, resource) = (label(labels, "verb"), label(labels, "resource"));
        if verb == "WATCH" || !OURS.contains(&resource) {
            continue;
        }
        let sub = label(labels, "subresource");
        let what = if sub.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}/{sub}")
        };
        *out.entry((verb.to_string(), what)).or_default() += value.parse::<f64>().unwrap();
    }
    out
}

fn delta(
    before: &BTreeMap<(String, String), f64>,
    after: &BTreeMap<(String, String), f64>,
) -> BTreeMap<(String, String), f64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0.0);
            (d > 0.0).then(|| (k.clone(), d))
        })
        .collect()
}

/// Connections redis-server has accepted since it started, counting the redis-cli asking.
fn redis_connections(redis: &RedisServer) -> u64 {
    let info = redis.cli(&["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total_connections_received in {info}"))
}

#[tokio::test]
async fn a_steady_pipeline_costs_the_api_server_no_reads_and_no_writes() {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let kubeconfig = cp.service_account_kubeconfig("syncline-system", "syncline-operator");
    let op = OperatorProcess::start(&kubeconfig, "op-reads", &["--resync", "1s"]);
    create_with_secret(
        &client,
        "creds",
        &pipeline("steady", "creds", &redis.url(), "Retain"),
    )
    .await;
    let pipelines = kube::Api::<SyncPipeline>::namespaced(client.clone(), NS);
    eventually(90, "every pod available and Ready=True", || async {
        let (ready, _, _) = condition_of(&pipelines, "steady", condition::READY).await?;
        let (_, _, receiver) =
            condition_of(&pipelines, "steady", condition::RECEIVER_AVAILABLE).await?;
        (ready == "True" && receiver == "2 of 2 receiver pods available").then_some(())
    })
    .await;
    // Settled: five reconciles in a row that wrote nothing.
    eventually(60, "five reconciles without a write", || async {
        let writes = op.metric("syncline_operator_writes_total").await;
        let reconciles = op.metric("syncline_operator_reconciles_total").await;
        while op.metric("syncline_operator_reconciles_total").await < reconciles + 5.0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        (op.metric("syncline_operator_writes_total").await == writes).then_some(())
    })
    .await;

    let before = requests(&cp);
    let connections = redis_connections(&redis);
    let reconciles = op.metric("syncline_operator_reconciles_total").await;
    eventually(60, "ten more reconciles", || async {
        (op.metric("syncline_operator_reconciles_total").await >= reconciles + 10.0).then_some(())
    })
    .await;
    let served = delta(&before, &requests(&cp));
    let ran = op.metric("syncline_operator_reconciles_total").await - reconciles;
    eprintln!("{ran} steady reconciles; API requests served meanwhile: {served:?}");
    assert_eq!(
        redis_connections(&redis),
        connections + 1,
        "(the one new connection is the redis-cli asking) queue samples must reuse one connection (one round trip each), not dial every time"
    );
    assert!(
        served.is_empty(),
        "a steady pipeline cost the API server requests over {ran} reconciles: {served:?}"
    );
}
