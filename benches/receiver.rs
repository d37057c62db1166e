//! Receiver benchmark: signed Shopify-format deliveries over loopback HTTP/1.1 keep-alive
//! connections into the real `syncline receiver` binary, backed by a real redis-server
//! (AOF on, fsync every second, as docs/design.md asks for). Prints verified webhooks per second,
//! p50/p99 latency, receiver CPU per 1,000 requests and RSS, beside two baselines measured
//! in the same run: `redis-benchmark` XADD and a bare axum handler driven by the same client.
//!
//! Run: `cargo bench --bench receiver` (about 30 s). Knobs: BENCH_SECONDS (default 8),
//! BENCH_CONNECTIONS (default 16).

#[path = "support/report.rs"]
mod report;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use report::{env_or, free_port};

const SECRET: &str = "bench-webhook-secret";

const ORDER_TEMPLATE: &str = r##"{"id":ORDER_ID,"admin_graphql_api_id":"gid://shopify/Order/ORDER_ID","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2026-11-20T10:01:02-05:00","updated_at":"2026-11-20T10:01:02-05:00","currency":"USD","total_price":"403.00","subtotal_price":"398.00","financial_status":"paid","fulfillment_status":null,"cancelled_at":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","phone":null,"created_at":"2026-11-01T09:00:00-05:00","updated_at":"2026-11-20T10:01:02-05:00"},"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}"##;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while StdStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// utime + stime of a process in seconds, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// VmRSS and VmHWM (peak) in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One signed delivery as raw HTTP/1.1 bytes; `n` makes the ids unique, so every request
/// is a real enqueue and not a duplicate.
fn signed_request(n: u64) -> Vec<u8> {
    let body = ORDER_TEMPLATE.replace("ORDER_ID", &(820_982_911_946_154_508u64 + n).to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    format!(
        "POST /webhooks/shopify HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n\
         x-shopify-topic: orders/create\r\nx-shopify-hmac-sha256: {sig}\r\n\
         x-shopify-shop-domain: acme.myshopify.com\r\nx-shopify-api-version: 2025-07\r\n\
         x-shopify-webhook-id: wh-{n}\r\nx-shopify-event-id: evt-{n}\r\n\
         x-shopify-triggered-at: 2026-11-20T15:01:02.234647458Z\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn plain_request(_: u64) -> Vec<u8> {
    b"POST /hook HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        .to_vec()
}

/// Reads one response; returns its status code.
async fn read_response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

struct LoadResult {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl LoadResult {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[idx] as f64 / 1000.0
    }
}

/// `connections` keep-alive connections, each sending one request at a time for `duration`.
fn drive(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    make: fn(u64) -> Vec<u8>,
    start_id: u64,
) -> LoadResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let next = Arc::new(AtomicU64::new(start_id));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (next, stop) = (next.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = TcpStream::connect(addr).await.unwrap();
                conn.set_nodelay(true).unwrap();
                let mut buf = Vec::with_capacity(8192);
                let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::with_capacity(200_000));
                while !stop.load(Ordering::Relaxed) {
                    let req = make(next.fetch_add(1, Ordering::Relaxed));
                    let started = Instant::now();
                    conn.write_all(&req).await.unwrap();
                    match read_response(&mut conn, &mut buf).await {
                        Ok(200) => {
                            ok += 1;
                            lat.push(started.elapsed().as_micros() as u64);
                        }
                        Ok(_) => failed += 1,
                        Err(_) => {
                            failed += 1;
                            conn = TcpStream::connect(addr).await.unwrap();
                        }
                    }
                }
                (ok, failed, lat)
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut result = LoadResult {
            ok: 0,
            failed: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        };
        for t in tasks {
            let (ok, failed, lat) = t.await.unwrap();
            result.ok += ok;
            result.failed += failed;
            result.latencies_us.extend(lat);
        }
        result.elapsed = started.elapsed();
        result.latencies_us.sort_unstable();
        result
    })
}

/// `redis-benchmark` XADD of the same body: its requests per second and its figures line.
fn redis_benchmark(port: u16) -> Option<(f64, String)> {
    let body = ORDER_TEMPLATE.replace("ORDER_ID", "1");
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-c", "16", "-n", "100000", "-q"])
        .args(["XADD", "bench:xadd", "*", "body", &body])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(['\r', '\n'])
        .rfind(|l| l.contains("requests per second"))
        .map(|l| {
            // The line echoes the whole command first; keep only the figures.
            let figures = l.rsplit_once(": ").map_or(l, |(_, f)| f).trim();
            let rps = figures
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
            (rps, format!("XADD of the same body, 16 clients: {figures}"))
        })
}

fn minimal_axum(connections: usize, duration: Duration) -> LoadResult {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(|_: bytes::Bytes| async { "ok" }),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    drive(addr, connections, duration, plain_request, 0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and then a short
    // smoke run (no figures worth reading) keeps this file from rotting.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let seconds = if smoke { 1 } else { env_or("BENCH_SECONDS", 8) };
    let connections = env_or("BENCH_CONNECTIONS", 16) as usize;
    let dir = tempfile::tempdir().unwrap();

    let redis_port = free_port();
    let redis = Killed(
        Command::new("/usr/bin/redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is required for the benchmark"),
    );
    wait_for_port(redis_port);

    let pipeline = format!(
        "apiVersion: syncline.dev/v1alpha1\nkind: SyncPipeline\nmetadata: {{name: bench, namespace: shops}}\n\
         spec:\n  store:\n    platform: shopify\n    url: https://acme.myshopify.com\n    shopify: {{shopDomain: acme.myshopify.com}}\n\
         \x20 crm: {{platform: hubspot}}\n  secretRef: {{name: bench}}\n  redis: {{url: 'redis://127.0.0.1:{redis_port}'}}\n"
    );
    let pipeline_path = dir.path().join("pipeline.yaml");
    std::fs::write(&pipeline_path, pipeline).unwrap();
    let port = free_port();
    let receiver = Killed(
        Command::new(env!("CARGO_BIN_EXE_syncline"))
            .arg("receiver")
            .arg("-f")
            .arg(&pipeline_path)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("SYNCLINE_WEBHOOK_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the syncline binary"),
    );
    wait_for_port(port);
    let pid = receiver.0.id();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    // Warm-up: connections, script cache, allocator.
    drive(
        addr,
        connections,
        Duration::from_secs(1),
        signed_request,
        10_000_000,
    );
    let (cpu0, redis_cpu0) = (cpu_seconds(pid), cpu_seconds(redis.0.id()));
    let run = drive(
        addr,
        connections,
        Duration::from_secs(seconds),
        signed_request,
        0,
    );
    let (cpu1, redis_cpu1) = (cpu_seconds(pid), cpu_seconds(redis.0.id()));
    let (rss, peak) = rss_mib(pid);
    let stream_len = stream_length(redis_port);

    if smoke {
        assert!(
            run.ok > 0 && run.failed == 0,
            "smoke run: ok {} failed {}",
            run.ok,
            run.failed
        );
        println!(
            "receiver bench smoke run: {} deliveries accepted (run `cargo bench --bench receiver` for figures)",
            run.ok
        );
        return;
    }
    let xadd = redis_benchmark(redis_port);
    let bare = minimal_axum(connections, Duration::from_secs(4));

    let per_k = |cpu: f64| cpu / run.ok.max(1) as f64 * 1000.0 * 1000.0;
    let (xadd_rps, xadd) =
        xadd.unwrap_or_else(|| (0.0, "not available (install redis-tools)".into()));
    let body = format!(
        "Signed Shopify deliveries over {connections} loopback keep-alive connections for {seconds} s into the `syncline receiver` binary (verify + dedupe + XADD) on a real redis-server (AOF, fsync every second), beside a bare axum handler driven by the same client and `redis-benchmark` XADD on the same Redis.\n\n\
         | figure | value |\n|---|---:|\n\
         | verified webhooks/s | {:.0} |\n\
         | p50 / p99 | {:.2} ms / {:.2} ms |\n\
         | accepted / failed | {} / {} |\n\
         | receiver CPU per 1,000 requests | {:.1} ms |\n\
         | redis-server CPU per 1,000 requests | {:.1} ms |\n\
         | receiver RSS (peak) | {rss:.1} MiB ({peak:.1} MiB) |\n\
         | stream entries after the run | {stream_len} |\n\
         | bare axum handler | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms |\n\
         | receiver / bare handler throughput | {:.2} |\n\
         | `redis-benchmark` XADD | {xadd} |\n\
         | receiver / bare XADD throughput | {:.2} |\n",
        run.rate(),
        run.percentile_ms(0.50),
        run.percentile_ms(0.99),
        run.ok,
        run.failed,
        per_k(cpu1 - cpu0),
        per_k(redis_cpu1 - redis_cpu0),
        bare.rate(),
        bare.percentile_ms(0.50),
        bare.percentile_ms(0.99),
        run.rate() / bare.rate().max(1e-9),
        run.rate() / xadd_rps.max(1e-9),
    );
    println!("\n{body}");
    report::write_section("receiver", &body);
}

fn stream_length(port: u16) -> String {
    let mut conn = StdStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"XLEN sl:{shops/bench}:events\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .trim()
        .trim_start_matches(':')
        .to_owned()
}
