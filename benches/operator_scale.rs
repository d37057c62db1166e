//! Operator scale benchmark: N SyncPipelines (default 500; SYNCLINE_BENCH_PIPELINES) in a
//! KWOK cluster with a real redis-server. Prints the time until every pipeline is Ready,
//! the operator's peak RSS, and once steady (SYNCLINE_BENCH_STEADY_SECS, default 300) its
//! CPU, its API requests per minute by verb (its own `syncline_operator_api_requests_total`,
//! so the cluster's other clients do not blur it; goal: no writes, under 10 reads) and the
//! Redis commands per second its queue sampling costs.
//!
//! Run: `cargo bench --bench operator_scale` (SYNCLINE_BENCH_PIPELINES=5000 for the large
//! run); each N writes its own section of BENCHMARKS.md.

#[path = "support/report.rs"]
mod report;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
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

/// `syncline_operator_api_requests_total` summed per verb.
fn requests_by_verb(metrics: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("syncline_operator_api_requests_total{"))
    {
        let verb = line
            .split("verb=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("other");
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *out.entry(verb.to_string()).or_insert(0.0) += n;
    }
    out
}

/// How many pipelines are Ready. Served from the API server's watch cache (`match_any`):
/// a quorum read of thousands of pipelines every poll would load the API server more than
/// the operator does, and blur what is measured.
async fn ready_count(api: &Api<SyncPipeline>) -> usize {
    let list = api.list(&ListParams::default().match_any()).await.unwrap();
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
    let steady_secs = env("SYNCLINE_BENCH_STEADY_SECS", if smoke { 5 } else { 300 });
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

    // Production settings: the sampler, not a short resync, keeps every queue fresh.
    let op = OperatorProcess::start(&cp.kubeconfig, "op-bench", &[]);
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
                "  {ready}/{n} Ready after {:.0} s (operator peak RSS {:.0} MiB)",
                started.elapsed().as_secs_f64(),
                support::procfs::cpu_and_peak_rss(pid).1
            );
            last_report = Instant::now();
        }
        // On 2 cores the KWOK control plane itself (the API server and the controller
        // manager making ReplicaSets and pods) brings up about 2-3 pipelines a second.
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "not all Ready within an hour ({ready}/{n})"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let all_ready = started.elapsed();
    let bringup_reconciles = op.metric("syncline_operator_reconciles_total").await;
    // Let the last status updates and Deployment status churn settle, then measure.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let writes0 = op.metric("syncline_operator_writes_total").await;
    let reconciles0 = op.metric("syncline_operator_reconciles_total").await;
    let requests0 = requests_by_verb(&op.get("/metrics").await.1);
    let redis0 = redis.commands_processed() as f64;
    let (cpu0, _) = support::procfs::cpu_and_peak_rss(pid);
    tokio::time::sleep(Duration::from_secs(steady_secs)).await;
    let writes = op.metric("syncline_operator_writes_total").await - writes0;
    let reconciles = op.metric("syncline_operator_reconciles_total").await - reconciles0;
    let requests = requests_by_verb(&op.get("/metrics").await.1);
    let redis_per_s = (redis.commands_processed() as f64 - redis0) / steady_secs as f64;
    let (cpu1, _) = support::procfs::cpu_and_peak_rss(pid);
    let per_minute = writes * 60.0 / steady_secs as f64;
    let minute = 60.0 / steady_secs as f64;
    let verbs: Vec<String> = requests
        .iter()
        .map(|(verb, n)| {
            let d = n - requests0.get(verb).copied().unwrap_or(0.0);
            format!("{verb} {:.1}", d * minute)
        })
        .collect();
    let reads: f64 = ["get", "list"]
        .iter()
        .map(|v| requests.get(*v).unwrap_or(&0.0) - requests0.get(*v).unwrap_or(&0.0))
        .sum::<f64>()
        * minute;

    let body = format!(
        "{n} SyncPipelines in a KWOK cluster (a real kube-apiserver, fake nodes) with a real redis-server; the operator with its default flags (`--resync 5m`, `--queue-sample-interval 5s`).\n\n\
         | figure | value |\n|---|---:|\n\
         | created every pipeline in | {:.1} s |\n\
         | every pipeline Ready after | {:.1} s |\n\
         | reconciles until every pipeline was Ready | {bringup_reconciles:.0} ({:.1} per pipeline) |\n\
         | operator peak RSS | {:.1} MiB |\n\
         | reconciles in {steady_secs} s once steady | {reconciles:.0} |\n\
         | operator CPU once steady | {:.1} % of one core |\n\
         | API writes per minute once steady (goal: 0) | {per_minute:.1} |\n\
         | API reads (get + list) per minute once steady (goal: < 10) | {reads:.1} |\n\
         | API requests per minute once steady, by verb | {} |\n\
         | Redis commands per second once steady (queue samples) | {redis_per_s:.0} |\n",
        created.as_secs_f64(),
        all_ready.as_secs_f64(),
        bringup_reconciles / n as f64,
        peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
        (cpu1 - cpu0) / steady_secs as f64 * 100.0,
        if verbs.is_empty() {
            "none".to_string()
        } else {
            verbs.join(", ")
        },
    );
    println!("\n{body}");
    if !smoke {
        // One section per N, so the 500 and the 5,000 runs stand side by side.
        report::write_titled(
            &format!("operator_scale_{n}"),
            &format!("`cargo bench --bench operator_scale` with {n} pipelines"),
            &body,
        );
    }
}
