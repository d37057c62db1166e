//! Operator scale benchmark: N SyncPipelines (default 500; SYNCLINE_BENCH_PIPELINES) in a
//! KWOK cluster with a real redis-server. Prints the time until every pipeline is Ready,
//! the operator's peak RSS, and the writes it sends per minute once steady (goal: zero).
//!
//! Run: `cargo bench --bench operator_scale`

#[path = "support/report.rs"]
mod report;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use support::operator::OperatorProcess;
use support::redis::RedisServer;
use support::{ControlPlane, Mode, install_crd};
use syncline::api::SyncPipeline;

const NS: &str = "bench";

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn ready_count(api: &Api<SyncPipeline>) -> usize {
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items
        .iter()
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        })
        .count()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and then a small
    // smoke run keeps this file working without taking minutes.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let env = |key: &str, default: u64| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = env("SYNCLINE_BENCH_PIPELINES", if smoke { 5 } else { 500 }) as usize;
    let steady_secs = env("SYNCLINE_BENCH_STEADY_SECS", if smoke { 5 } else { 60 });
    let cp = ControlPlane::start(Mode::Kwok);
    let client = cp.client().await;
    install_crd(&client).await;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let redis = RedisServer::start();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"},
        "stringData": {"webhookSecret": "w", "storeConsumerKey": "ck", "storeConsumerSecret": "cs", "crmToken": "c"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();

    let op = OperatorProcess::start(&cp.kubeconfig, "op-bench", &["--resync", "10s"]);
    let pid = op.pid();
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    let started = Instant::now();
    for i in 0..n {
        let p: SyncPipeline = serde_json::from_value(json!({
            "apiVersion": "syncline.dev/v1alpha1", "kind": "SyncPipeline",
            "metadata": {"name": format!("shop-{i:04}")},
            "spec": {
                "store": {"platform": "woocommerce", "url": format!("https://shop{i}.example")},
                "crm": {"platform": "hubspot"},
                "secretRef": {"name": "creds"},
                "redis": {"url": redis.url()},
                "receiver": {"replicas": 1},
                "workers": {"minReplicas": 1, "maxReplicas": 4}
            }
        }))
        .unwrap();
        pipelines.create(&PostParams::default(), &p).await.unwrap();
    }
    let created = started.elapsed();
    let mut last_report = Instant::now();
    loop {
        let ready = ready_count(&pipelines).await;
        if ready == n {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "  {ready}/{n} Ready after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1200),
            "not all Ready within 20 minutes ({ready}/{n})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all_ready = started.elapsed();
    // Let the last status updates and Deployment status churn settle, then measure.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let writes0 = op.metric("syncline_operator_writes_total").await;
    let reconciles0 = op.metric("syncline_operator_reconciles_total").await;
    tokio::time::sleep(Duration::from_secs(steady_secs)).await;
    let writes = op.metric("syncline_operator_writes_total").await - writes0;
    let reconciles = op.metric("syncline_operator_reconciles_total").await - reconciles0;
    let per_minute = writes * 60.0 / steady_secs as f64;

    let body = format!(
        "{n} SyncPipelines in a KWOK cluster (a real kube-apiserver, fake nodes) with a real redis-server; the operator with `--resync 10s`.\n\n\
         | figure | value |\n|---|---:|\n\
         | created every pipeline in | {:.1} s |\n\
         | every pipeline Ready after | {:.1} s |\n\
         | operator peak RSS | {:.1} MiB |\n\
         | reconciles in {steady_secs} s once steady | {reconciles:.0} |\n\
         | API writes per minute once steady (goal: 0) | {per_minute:.1} |\n",
        created.as_secs_f64(),
        all_ready.as_secs_f64(),
        peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
    );
    println!("\n{body}");
    if !smoke {
        report::write_section("operator_scale", &body);
    }
}
