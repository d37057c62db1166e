//! Worker throughput into the HubSpot simulator (real HTTP) from a real redis-server, with
//! 1, 2 and 4 workers sharing one account budget: events per second, CRM requests per
//! second as a fraction of the configured limit, and 429s (goal: ≥ 90 % with zero 429s).
//! A last run with a limit far above what the workers can use shows the workers' own ceiling.
//!
//! A mismatched run declares 190 requests per 10 s against an account whose real limit is
//! 100: the workers must follow HubSpot's headers (goal: ≥ 95 % of the real limit, at most
//! one 429 for the misconfiguration, no rewrites).
//!
//! Run: `cargo bench --bench worker` (about 3 minutes); it prints the figures and writes
//! them into BENCHMARKS.md. Knobs: BENCH_SECONDS (measured window per run, default 20),
//! BENCH_LIMIT (requests per 10 s, default 190, HubSpot's professional tier).

#[path = "../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis_support;
#[path = "support/report.rs"]
mod report;
use report::{env_or, write_section};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use syncline::config::{PipelineConfig, SecretValues, parse_pipeline};
use syncline::queue::{EventEnvelope, Queue, QueueKeys, QueueSettings};
use syncline::sim::hubspot::{Sim, SimSettings};
use syncline::worker::{WorkerMetrics, WorkerSettings};
use tokio::sync::watch;

const TOKEN: &str = "pat-bench";

fn order(id: u64) -> Value {
    json!({"id": id, "name": format!("#{id}"), "email": format!("o{id}@example.com"),
        "created_at": "2026-11-20T10:01:02-05:00", "updated_at": "2026-11-20T10:01:02-05:00",
        "currency": "USD", "total_price": "403.00", "financial_status": "paid",
        "customer": {"id": id + 1_000_000, "email": format!("o{id}@example.com"),
                     "first_name": "Jon", "last_name": "Snow",
                     "updated_at": "2026-11-20T10:01:02-05:00"},
        "line_items": [{"id": id * 10, "product_id": 632910392, "variant_id": 808950810,
                        "sku": "IPOD2008PINK", "title": "IPod Nano", "quantity": 2, "price": "199.00"}]})
}

struct Run {
    workers: usize,
    /// The account's real limit (the simulator's), requests per 10 s.
    limit: u32,
    /// What the pipeline declares (`spec.crmRateLimit`).
    declared: u32,
    events_per_s: f64,
    requests_per_s: f64,
    fraction: f64,
    rate_limited: u64,
    /// 429s per minute over the whole run (warm-up included).
    rate_limited_per_min: f64,
    /// Deal writes beyond one per order, per order.
    rewrites: f64,
}

async fn run(workers: usize, limit: u32, declared: u32, seconds: u64, events: u64) -> Run {
    let redis = redis_support::RedisServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = SimSettings::new(TOKEN);
    settings.limits.per_10s = limit;
    settings.limits.daily = u64::MAX / 2;
    let sim = Sim::new(settings);
    let served = sim.clone();
    let (stop_sim, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = syncline::sim::hubspot::serve(listener, served, async {
            let _ = sim_stopped.await;
        })
        .await;
    });
    let yaml = format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: bench, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: https://bench.myshopify.com\n    shopify: {{shopDomain: bench.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot, url: 'http://{addr}', account: bench}}\n  secretRef: {{name: bench}}\n\
         \x20 redis: {{url: '{}'}}\n  crmRateLimit: {{requests: {declared}, perSeconds: 10}}\n  workers: {{batchSize: 100}}\n",
        redis.url()
    );
    let mut secrets = SecretValues::default();
    secrets.insert("crmToken", TOKEN);
    let config = PipelineConfig {
        pipeline: parse_pipeline(&yaml).unwrap(),
        secrets,
    };
    let queue = Queue::new(
        &redis.url(),
        QueueKeys::new("shops", "bench"),
        QueueSettings::default(),
    )
    .unwrap();
    queue.ensure_group().await.unwrap();
    for id in 1..=events {
        let body = order(id);
        queue
            .enqueue(&EventEnvelope {
                delivery_id: format!("d{id}"),
                platform: syncline::api::StorePlatform::Shopify,
                scheme: syncline::queue::Scheme::Shopify,
                topic: "orders/create".into(),
                object_kind: Some(syncline::api::ObjectKind::Orders),
                object_id: Some(id.to_string()),
                received_at: "2026-11-20T15:01:03Z".into(),
                body: body.to_string(),
            })
            .await
            .unwrap();
    }
    let (stop, stopped) = watch::channel(false);
    let run_started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..workers {
        let settings = WorkerSettings {
            consumer: Some(format!("w{n}")),
            ..WorkerSettings::default()
        };
        let handler =
            syncline::worker::handler(&config, &settings, WorkerMetrics::new().unwrap()).unwrap();
        let stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            syncline::worker::consume(
                handler,
                syncline::worker::Lanes {
                    batch_size: 100,
                    count: 1,
                },
                &settings,
                Arc::new(AtomicBool::new(false)),
                stopped,
            )
            .await;
        }));
    }
    // Warm-up (bootstrap, the first burst), then the measured window.
    // An unlimited run measures the workers' own ceiling from the start instead.
    let unlimited = limit >= 100_000;
    let warmup = Duration::from_secs(if seconds > 2 && !unlimited { 5 } else { 0 });
    tokio::time::sleep(warmup).await;
    let (lag0, r0) = (queue.depth().await.unwrap().lag, sim.stats().requests);
    let started = Instant::now();
    // The window ends early if the queue runs dry, so figures count only busy time.
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if queue.depth().await.unwrap().lag == 0 {
            break;
        }
    }
    let took = started.elapsed().as_secs_f64();
    let (lag1, r1) = (queue.depth().await.unwrap().lag, sim.stats().requests);
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let rate_limited = sim.stats().rate_limited;
    let minutes = run_started.elapsed().as_secs_f64() / 60.0;
    let (deal_writes, deals) = {
        let store = sim.store();
        let writes = store
            .writes()
            .iter()
            .filter(|w| w.properties.contains_key("dealname"))
            .count();
        (
            writes,
            store
                .objects(syncline::sim::hubspot::types::ObjectType::Deals)
                .len(),
        )
    };
    let _ = stop_sim.send(());
    let requests_per_s = (r1 - r0) as f64 / took;
    Run {
        workers,
        limit,
        declared,
        events_per_s: (lag0 - lag1) as f64 / took,
        requests_per_s,
        fraction: requests_per_s / (f64::from(limit) / 10.0),
        rate_limited,
        rate_limited_per_min: rate_limited as f64 / minutes.max(1e-9),
        rewrites: deal_writes.saturating_sub(deals) as f64 / (deals.max(1) as f64),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and then a short
    // smoke run keeps this file from rotting.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let seconds = if smoke {
        1
    } else {
        env_or("BENCH_SECONDS", 20)
    };
    let limit = u32::try_from(env_or("BENCH_LIMIT", 190)).unwrap_or(190);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // (workers, real limit, declared limit, events)
    let plans: Vec<(usize, u32, u32, u64)> = if smoke {
        vec![(2, limit, limit, 300), (2, 100, 190, 300)]
    } else {
        // Enough events that the queue never runs dry within the window.
        let limited = (u64::from(limit) * (seconds + 10) * 3).max(5_000);
        vec![
            (1, limit, limit, limited),
            (2, limit, limit, limited),
            (4, limit, limit, limited),
            (2, 100, 190, limited),
            (4, 1_000_000, 1_000_000, 30_000),
        ]
    };
    let mut runs = Vec::new();
    for (workers, limit, declared, events) in plans {
        let r = runtime.block_on(run(workers, limit, declared, seconds, events));
        eprintln!(
            "  {} worker(s), {} req/10s real, {} declared: {:.0} events/s, {:.1} % of the real limit, {} 429s",
            r.workers,
            r.limit,
            r.declared,
            r.events_per_s,
            r.fraction * 100.0,
            r.rate_limited
        );
        runs.push(r);
    }
    if smoke {
        println!("worker bench smoke run ok (run `cargo bench --bench worker` for figures)");
        return;
    }
    let mut table = format!(
        "worker → HubSpot simulator, Shopify orders (deal + contact + line item + 2 associations), batches of 100, {seconds} s window:\n\n\
         | workers | real limit/10s | declared/10s | events/s | CRM req/s | of real limit | 429s | 429s/min | rewrites/order |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in &runs {
        table.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} % | {} | {:.2} | {:.3} |\n",
            r.workers,
            r.limit,
            r.declared,
            r.events_per_s,
            r.requests_per_s,
            r.fraction * 100.0,
            r.rate_limited,
            r.rate_limited_per_min,
            r.rewrites
        ));
    }
    println!("\n{table}");
    write_section("worker", &table);
}
