//! Spikes on the real node, through the receiver Service into real worker pods:
//! - webhooks lost on the way (`--dropped`, every version recorded in the store simulator
//!   pod first): the poller in the worker pod brings in what the webhooks did not, and every
//!   order lands once at its newest version;
//! - scaled to zero: an idle pipeline runs no worker pod, and one webhook starts one that
//!   writes it;
//! - a 10× spike against a fast and a slow CRM, with one fixed worker and autoscaled: how
//!   fast the operator reacts (spike → more workers desired → more Ready), how long the
//!   drain takes, and what each role's pods cost (CPU seconds, peak RSS). These are
//!   figures, not assertions; with `SYNCLINE_BENCH_WRITE=1` (scripts/bench.sh) they become
//!   the `node` section of BENCHMARKS.md.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use syncline::sim::hubspot::Stats;
use syncline::sim::storm::Summary;

use crate::inside::*;
use crate::install::patch_spec;
use crate::support::node::Node;

const STORE_URL: &str = "http://shopify-sim.shops.svc.cluster.local:8091";
/// The storm's profile: 5 s steady, a 10× spike for 10 s, 5 s steady.
const PROFILE: &str = "20x5,200x10,20x5";
const SPIKE_STARTS_AFTER: f64 = 5.0;

/// The storm's flags for the pipeline's live view and settling.
fn watching(settle: &str) -> Vec<String> {
    [
        "--crm",
        CRM_URL,
        "--redis",
        &format!("redis://{REDIS_HOST}:6379"),
        "--pipeline",
        &format!("{}/{PIPELINE}", crate::NS),
        "--settle",
        settle,
    ]
    .map(String::from)
    .to_vec()
}

fn storm_args(node: &Node, secret: &str, args: Vec<String>) -> Value {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    storm(node, secret, &refs)
}

/// Dropped webhooks: the store holds every version; the poll (every 10 s here) brings in
/// the ones whose webhook was lost.
pub fn dropped_webhooks_are_caught_by_the_poll(node: &Node, secret: &str) {
    patch_spec(node, json!({"polling": {"interval": "10s"}}));
    let mut args: Vec<String> = [
        "--profile",
        "20x5",
        "--orders",
        "100",
        "--first-id",
        "50000",
        "--seed",
        "9",
        "--duplicates",
        "0.1",
        "--out-of-order",
        "0.1",
        "--dropped",
        "0.15",
        "--store",
        STORE_URL,
    ]
    .map(String::from)
    .to_vec();
    args.extend(watching("120s"));
    let summary = storm_args(node, secret, args);
    all_acknowledged(&summary, "storm with dropped webhooks");
    assert_eq!(summary["storeErrors"], 0, "{summary}");
    let parsed: Summary = serde_json::from_value(summary.clone()).unwrap();
    let stored = &parsed.newest_stored;
    let only_polled = parsed.only_polled().len();
    assert!(
        only_polled > 0,
        "some newest versions were dropped: {summary}"
    );
    let took = wait_landed(node, stored, true, 60);
    let writes = deal_writes(node);
    let twice: Vec<_> = writes
        .iter()
        .filter(|((id, _), n)| stored.contains_key(id) && **n > 1)
        .collect();
    assert!(twice.is_empty(), "versions written twice: {twice:?}");
    println!(
        "storm with {} of {} deliveries dropped: {only_polled} orders' newest version came only from the poll; all {} orders landed once, synced {:.1} s after the last send (+{took:.1} s to check)",
        summary["dropped"],
        summary["planned"],
        stored.len(),
        summary["settled"]["seconds"].as_f64().unwrap_or(f64::NAN)
    );
    // Back to the default interval (the field removed).
    patch_spec(node, json!({"polling": null}));
}

/// One measured run: the worker Deployment sampled every half second during a storm.
struct Run {
    crm: &'static str,
    workers: &'static str,
    deliveries: u64,
    /// From the last send until every order was synced.
    drain: f64,
    /// Spike start → more replicas desired; → more replicas Ready.
    desired_after: Option<f64>,
    ready_after: Option<f64>,
    most_desired: u64,
    scale_changes: usize,
    crm_429s: u64,
    reasons: Vec<String>,
}

pub(crate) fn deployment_replicas(node: &Node) -> (u64, u64) {
    let d = kubectl_json(node, &["-n", crate::NS, "get", "deploy", "acme-worker"]);
    (
        d["spec"]["replicas"].as_u64().unwrap_or(0),
        d["status"]["readyReplicas"].as_u64().unwrap_or(0),
    )
}

fn crm_429s(node: &Node) -> u64 {
    let stats: Stats = serde_json::from_value(crm(node, "/_sim/stats")).unwrap();
    stats.answered_429()
}

fn scaling_reason(node: &Node) -> String {
    let p = kubectl_json(node, &["-n", crate::NS, "get", "sp", PIPELINE]);
    p["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ScalingActive"))
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("-")
        .to_string()
}

/// Sets the worker bounds and waits until exactly one worker runs and the queue is empty.
fn one_worker(node: &Node, max: u64) {
    patch_spec(
        node,
        json!({"workers": {"minReplicas": 1, "maxReplicas": max, "scaleDownStabilizationSeconds": 10}}),
    );
    wait_for(120, "one worker, Ready, and an empty queue", || {
        let (desired, ready) = deployment_replicas(node);
        let pods = pods_of(node, crate::NS, &component("worker")).len();
        let lag = kubectl_json(node, &["-n", crate::NS, "get", "sp", PIPELINE])["status"]["queue"]
            ["lag"]
            .as_u64();
        (desired == 1 && ready == 1 && pods == 1 && lag == Some(0))
            .then_some(())
            .ok_or(format!(
                "desired {desired} ready {ready} pods {pods} lag {lag:?}"
            ))
    });
}

fn measure(node: &Node, secret: &str, crm: &'static str, max: u64, first_id: u64) -> Run {
    crm_faults(
        node,
        &json!({"latencyMs": if crm == "slow" { 300 } else { 0 }}),
    );
    one_worker(node, max);
    let before_429s = crm_429s(node);
    let mut args: Vec<String> = [
        "--profile",
        PROFILE,
        "--orders",
        "600",
        "--seed",
        "21",
        "--concurrency",
        "64",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--first-id".into(), first_id.to_string()]);
    args.extend(watching("240s"));
    let cp = node.cp_dir();
    let secret_owned = secret.to_string();
    let t0 = Instant::now();
    let storm = std::thread::spawn(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        storm_in(&cp, &secret_owned, &refs)
    });
    let mut samples: Vec<(f64, u64, u64)> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    while !storm.is_finished() && t0.elapsed() < Duration::from_secs(300) {
        let (desired, ready) = deployment_replicas(node);
        samples.push((t0.elapsed().as_secs_f64(), desired, ready));
        if samples.len().is_multiple_of(4) {
            let reason = scaling_reason(node);
            if reasons.last() != Some(&reason) {
                reasons.push(reason);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let summary = storm.join().unwrap();
    all_acknowledged(&summary, &format!("spike, {crm} CRM, up to {max} workers"));
    let settled = &summary["settled"];
    assert_eq!(
        settled["synced"], settled["expected"],
        "every order synced: {summary}"
    );
    let after = |pick: fn(&(f64, u64, u64)) -> u64| {
        samples
            .iter()
            .find(|s| pick(s) > 1)
            .map(|s| (s.0 - SPIKE_STARTS_AFTER).max(0.0))
    };
    let changes = samples.windows(2).filter(|w| w[0].1 != w[1].1).count();
    Run {
        crm,
        workers: if max == 1 { "1 fixed" } else { "autoscaled" },
        deliveries: summary["sent"].as_u64().unwrap_or(0),
        drain: settled["seconds"].as_f64().unwrap_or(f64::NAN),
        desired_after: after(|s| s.1),
        ready_after: after(|s| s.2),
        most_desired: samples.iter().map(|s| s.1).max().unwrap_or(0),
        scale_changes: changes,
        crm_429s: crm_429s(node) - before_429s,
        reasons,
    }
}

/// CPU seconds and peak RSS (MiB) of every container of `selector`'s pods, summed.
fn cost(node: &Node, ns: &str, selector: &str) -> (usize, f64, f64) {
    let pods = pods_of(node, ns, selector);
    let (mut cpu, mut rss) = (0.0, 0.0);
    for p in &pods {
        let pid = node.container_pid(
            p["status"]["containerStatuses"][0]["containerID"]
                .as_str()
                .unwrap_or(""),
        );
        let (c, r) = crate::support::procfs::cpu_and_peak_rss(pid);
        cpu += c;
        rss = f64::max(rss, r);
    }
    (pods.len(), cpu, rss)
}

fn cell(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.1} s"))
}

/// The four runs and each role's cost, as Markdown.
pub fn spikes_autoscale_on_real_pods(node: &Node, secret: &str) {
    let runs = [
        measure(node, secret, "fast", 1, 60_000),
        measure(node, secret, "fast", 4, 61_000),
        measure(node, secret, "slow", 1, 62_000),
        measure(node, secret, "slow", 4, 63_000),
    ];
    crm_faults(node, &json!({}));
    let receivers = pods_of(node, crate::NS, &component("receiver")).len();
    let mut body = format!(
        "The chart on the real node (`scripts/control-plane.sh node`); `syncline sim storm` from inside the node's network namespace through the receiver Service ({receivers} receiver pod(s)) into worker pods, the HubSpot simulator as a pod (190 requests/10 s; fast: no added latency, slow: 300 ms per answer); profile {PROFILE} (orders/s × seconds) over 600 orders; the worker Deployment sampled every 0.5 s. Reaction times count from the spike's start.\n\n\
         | CRM | workers | deliveries | spike → more desired | spike → more Ready | most desired | scale changes | drain after the last send | CRM 429s | ScalingActive reasons seen |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for r in &runs {
        body.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} | {} |\n",
            r.crm,
            r.workers,
            r.deliveries,
            cell(r.desired_after),
            cell(r.ready_after),
            r.most_desired,
            r.scale_changes,
            r.drain,
            r.crm_429s,
            r.reasons.join(" → ")
        ));
    }
    body.push_str("\nEach role's pods after the four runs (CPU seconds summed over the role's pods since they started; peak RSS of the largest):\n\n| role | pods | CPU s | peak RSS |\n|---|---:|---:|---:|\n");
    let system = "syncline-system";
    for (role, ns, selector) in [
        ("receiver", crate::NS, component("receiver")),
        ("worker", crate::NS, component("worker")),
        (
            "operator",
            system,
            "app.kubernetes.io/component=operator".to_string(),
        ),
        (
            "redis",
            system,
            "app.kubernetes.io/component=redis".to_string(),
        ),
    ] {
        let (pods, cpu, rss) = cost(node, ns, &selector);
        body.push_str(&format!("| {role} | {pods} | {cpu:.1} | {rss:.1} MiB |\n"));
    }
    println!("{body}");
    if std::env::var_os("SYNCLINE_BENCH_WRITE").is_some() {
        crate::report::write_titled(
            "node",
            "Spikes and autoscaling on the real node (`scripts/bench.sh`, as root)",
            &body,
        );
    }
}

/// `minReplicas: 0`: once idle (and its poll done), the pipeline runs no worker pod; one
/// webhook makes the operator start one, which writes the order.
pub fn scaled_to_zero_one_webhook_wakes_a_worker_pod(node: &Node, secret: &str) {
    patch_spec(
        node,
        json!({"workers": {"minReplicas": 0, "maxReplicas": 4, "scaleDownStabilizationSeconds": 5}}),
    );
    let t = Instant::now();
    wait_for(120, "no worker pod", || {
        let pods = pods_of(node, crate::NS, &component("worker")).len();
        let (desired, _) = deployment_replicas(node);
        (pods == 0 && desired == 0)
            .then_some(())
            .ok_or(format!("{pods} pods, {desired} desired"))
    });
    let idle_after = t.elapsed().as_secs_f64();
    let id: u64 = 70_000;
    let t = Instant::now();
    let summary = storm(
        node,
        secret,
        &[
            "--profile",
            "1x1",
            "--orders",
            "1",
            "--first-id",
            &id.to_string(),
        ],
    );
    all_acknowledged(&summary, "the one webhook");
    // A quick worker can write the order and be scaled away between two looks: the deal
    // counts as having seen the worker desired.
    let desired_after = wait_for(60, "a worker desired", || {
        let (desired, _) = deployment_replicas(node);
        (desired >= 1 || deals(node).contains_key(&id))
            .then(|| t.elapsed().as_secs_f64())
            .ok_or(format!("{desired} desired"))
    });
    // The woken worker consumes before its readiness probe (every 5 s) passes, and once
    // the lag is gone the 5 s window may take it away again before it is ever Ready: the
    // order landing is what proves the wake; Ready is reported when it was seen.
    let mut ready_after = None;
    let written_after = wait_for(120, "the woken worker wrote the order", || {
        let (desired, ready) = deployment_replicas(node);
        if ready >= 1 && ready_after.is_none() {
            ready_after = Some(t.elapsed().as_secs_f64());
        }
        let deals = deals(node);
        deals
            .contains_key(&id)
            .then(|| t.elapsed().as_secs_f64())
            .ok_or(format!(
                "{desired} desired, {ready} ready, no deal for order {id}"
            ))
    });
    wait_landed(node, &newest(&summary), true, 60);
    let ready = ready_after.map_or("not seen Ready (scaled down first)".to_string(), |s| {
        format!("its pod Ready at {s:.1} s")
    });
    println!(
        "scaled to zero {idle_after:.1} s after minReplicas 0; one webhook: a worker desired {desired_after:.1} s later, {ready}, the order written {written_after:.1} s after the webhook"
    );
}
