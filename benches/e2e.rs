//! End to end on this machine, every part real: `syncline sim storm` signs Shopify order
//! webhooks into a `syncline run` process (receiver and worker) over loopback HTTP, through a
//! real redis-server, into the HubSpot simulator at HubSpot's free-tier budget (100 requests
//! per 10 s) answering in 100 ms plus up to 60 ms of jitter. The profile is steady, then a
//! 10× spike, then steady again.
//!
//! Figures: end-to-end latency (webhook sent → deal written) per phase (p50/p95/p99/max),
//! the drain time after the spike, the CRM budget used while the queue was backlogged,
//! requests per synced order, 429s, and the `syncline run` process's CPU seconds and peak
//! RSS. Aims (issue 16): steady p99 under 1 s, drain at ≥ 97 % of the budget, zero 429s.
//!
//! Run: `cargo bench --bench e2e` (about 2 minutes); it prints the figures and writes them
//! into BENCHMARKS.md. Knobs: BENCH_STEADY (orders/s, default 20), BENCH_SPIKE (orders/s,
//! default 200), BENCH_PHASE (seconds of each phase, default 20).

#[path = "../tests/support/procfs.rs"]
mod procfs;
#[path = "../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis_support;
#[path = "support/report.rs"]
mod report;
#[path = "../tests/support/run.rs"]
mod run_support;
use procfs::cpu_and_peak_rss;
use report::env_or;
use run_support::SynclineRun;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use syncline::sim::hubspot::{FaultConfig, Sim, SimSettings};

const TOKEN: &str = "pat-bench";
const SECRET: &str = "bench-webhook-secret";

fn manifest(crm: &str, redis: &str) -> String {
    format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: bench, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: https://acme.myshopify.com\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: \"{crm}\"}}\n  secretRef: {{name: bench}}\n\
         \x20 redis: {{url: \"{redis}\"}}\n  crmRateLimit: {{requests: 100, perSeconds: 10}}\n\
         \x20 workers: {{batchSize: 100}}\n"
    )
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

struct Phase<'a> {
    name: &'a str,
    from_ms: u64,
    to_ms: u64,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo test --all-targets` runs this without --bench: a few seconds of smoke.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let (steady, spike, phase) = if smoke {
        (5, 20, 2)
    } else {
        (
            env_or("BENCH_STEADY", 20),
            env_or("BENCH_SPIKE", 200),
            env_or("BENCH_PHASE", 20),
        )
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = runtime.block_on(run(steady, spike, phase));
    println!("\n{body}");
    if !smoke {
        report::write_section("e2e", &body);
    }
}

async fn run(steady: u64, spike: u64, phase: u64) -> String {
    let redis = redis_support::RedisServer::start();
    let mut settings = SimSettings::new(TOKEN);
    settings.limits.per_10s = 100;
    settings.faults = FaultConfig {
        latency_ms: 100,
        latency_jitter_ms: 60,
        ..FaultConfig::default()
    };
    let sim = Sim::new(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let crm = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(syncline::sim::hubspot::serve(
        listener,
        Arc::clone(&sim),
        std::future::pending::<()>(),
    ));
    let env = [
        ("SYNCLINE_WEBHOOK_SECRET", SECRET),
        ("SYNCLINE_CRM_TOKEN", TOKEN),
    ];
    let syncline = SynclineRun::start(&manifest(&crm, &redis.url()), &env, false);
    syncline.ready().await;
    let target = syncline.receiver();
    let deliveries = (2 * steady + spike) * phase;
    let profile = format!("{steady}x{phase},{spike}x{phase},{steady}x{phase}");
    let requests_before = sim.stats().requests;
    let storm = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["sim", "storm", "--target", &target, "--secret", SECRET])
        .args(["--profile", &profile, "--orders", &deliveries.to_string()])
        .args(["--concurrency", "64", "--seed", "16"])
        .stderr(Stdio::null())
        .output();
    // The CRM's request counter over time, to tell the budget used while backlogged.
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let (counter, into) = (Arc::clone(&sim), Arc::clone(&samples));
    let sampler = tokio::spawn(async move {
        for _ in 0..20_000 {
            let now = (syncline::queue::unix_ms(), counter.stats().requests);
            into.lock().unwrap().push(now);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let storm = storm.await.unwrap();
    assert!(storm.status.success(), "the storm failed");
    let summary: Value = serde_json::from_slice(&storm.stdout).unwrap();
    let sent: BTreeMap<u64, u64> =
        serde_json::from_value(summary["newestSentAtMs"].clone()).unwrap();
    let orders = sent.len();
    // Wait until every acknowledged order's deal is written (bounded).
    let deadline = Instant::now() + Duration::from_secs(300);
    let written = loop {
        let written = deal_writes(&sim);
        if sent.keys().all(|id| written.contains_key(id)) || Instant::now() > deadline {
            break written;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    sampler.abort();
    let (cpu, rss) = cpu_and_peak_rss(syncline.pid());
    drop(syncline);
    let stats = sim.stats();

    let start = sent.values().copied().min().unwrap_or(0);
    let ms = phase * 1000;
    let phases = [
        Phase {
            name: "steady",
            from_ms: 0,
            to_ms: ms,
        },
        Phase {
            name: "spike (10×)",
            from_ms: ms,
            to_ms: 2 * ms,
        },
        Phase {
            name: "after",
            from_ms: 2 * ms,
            to_ms: u64::MAX,
        },
    ];
    let mut rows = String::new();
    for p in &phases {
        let mut lat: Vec<f64> = sent
            .iter()
            .filter(|(_, at)| (p.from_ms..p.to_ms).contains(&(**at - start)))
            .filter_map(|(id, at)| Some((*written.get(id)? - *at) as f64 / 1000.0))
            .collect();
        lat.sort_by(f64::total_cmp);
        rows.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            p.name,
            lat.len(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(0.0)
        ));
    }
    // The spike's backlog is gone when its last order's deal is written.
    let (spike_start, spike_end) = (start + ms, start + 2 * ms);
    let cleared = sent
        .iter()
        .filter(|(_, at)| (spike_start..spike_end).contains(at))
        .filter_map(|(id, _)| written.get(id).copied())
        .max()
        .unwrap_or(spike_end);
    let drain = cleared.saturating_sub(spike_end) as f64 / 1000.0;
    let samples = samples.lock().unwrap().clone();
    let requests_at = |t: u64| {
        samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map_or(0, |(_, n)| *n)
    };
    let backlog_secs = (cleared.saturating_sub(spike_start) as f64 / 1000.0).max(0.001);
    let backlog_requests = requests_at(cleared).saturating_sub(requests_at(spike_start));
    let requests = stats.requests - requests_before;
    let missing = orders - written.len().min(orders);
    format!(
        "`syncline sim storm` → `syncline run` (receiver + worker) → redis-server → HubSpot simulator \
         (100 requests/10 s, 100–160 ms per answer), Shopify orders, batches of 100; profile \
         {steady}/s for {phase} s, {spike}/s for {phase} s, {steady}/s for {phase} s ({} deliveries, {} acknowledged).\n\n\
         | phase | orders | p50 s | p95 s | p99 s | max s |\n|---|---:|---:|---:|---:|---:|\n{rows}\n\
         | figure | value |\n|---|---:|\n\
         | drain after the spike (the spike's last deal written − spike end) | {drain:.1} s |\n\
         | CRM budget used from the spike's start until its last deal | {:.1} % |\n\
         | CRM requests per synced order | {:.3} |\n\
         | 429s | {} |\n\
         | orders without a deal | {missing} |\n\
         | `syncline run` CPU | {cpu:.1} s |\n\
         | `syncline run` peak RSS | {rss:.1} MiB |\n",
        summary["sent"],
        summary["acknowledged"],
        100.0 * backlog_requests as f64 / (10.0 * backlog_secs),
        requests as f64 / written.len().max(1) as f64,
        stats.rate_limited,
    )
}

/// Order id → when its deal was first written (Unix ms).
fn deal_writes(sim: &Sim) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for w in sim.store().writes() {
        if w.object_type != syncline::sim::hubspot::types::ObjectType::Deals {
            continue;
        }
        if let Some(id) = w.key.rsplit(':').next().and_then(|v| v.parse().ok()) {
            out.entry(id).or_insert(w.at_ms);
        }
    }
    out
}
