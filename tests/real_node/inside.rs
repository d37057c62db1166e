//! Talking to what runs inside the node, always from inside its network namespace
//! (`Node::exec`): kubectl as JSON, redis-cli against the bundled Redis, the HubSpot
//! simulator's inspection endpoints, and `syncline sim storm` against the receiver Service.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use syncline::connectors::crm::hubspot::mapping::ORDER_KEY;
use syncline::model::StoreRef;

use crate::support::node::Node;

pub const SYSTEM_NS: &str = "syncline-system";
pub const PIPELINE: &str = "acme";
/// The receiver's Service, as a store inside the cluster would address it.
pub const RECEIVER_URL: &str = "http://acme-receiver.shops.svc.cluster.local:8080";
pub const CRM_URL: &str = "http://hubspot-sim.shops.svc.cluster.local:8090";
pub const REDIS_HOST: &str = "syncline-redis.syncline-system.svc.cluster.local";
pub const STREAM: &str = "sl:{shops/acme}:events";

/// Polls `check` every half second for up to `secs`; panics naming `what` (and the last
/// thing `check` saw) when it never answers.
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(secs) {
        match check() {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{what}: not within {secs} s; last seen: {last}");
}

/// `kubectl … -o json`, parsed.
pub fn kubectl_json(node: &Node, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let (ok, out, err) = node.kubectl(&all);
    assert!(ok, "kubectl {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

pub fn kubectl_ok(node: &Node, args: &[&str]) -> String {
    let (ok, out, err) = node.kubectl(args);
    assert!(ok, "kubectl {args:?}: {err}{out}");
    out
}

/// The pods of the pipeline's `component` (receiver, worker) that are not being deleted.
pub fn pods_of(node: &Node, ns: &str, selector: &str) -> Vec<Value> {
    kubectl_json(node, &["-n", ns, "get", "pods", "-l", selector])["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .cloned()
        .collect()
}

pub fn component(c: &str) -> String {
    format!("app.kubernetes.io/instance={PIPELINE},app.kubernetes.io/component={c}")
}

pub fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

pub fn name(obj: &Value) -> String {
    obj["metadata"]["name"].as_str().unwrap().to_string()
}

/// The sum of the containers' restart counts of every pod `selector` picks in `ns`.
pub fn restarts(node: &Node, ns: &str, selector: &str) -> u64 {
    pods_of(node, ns, selector)
        .iter()
        .flat_map(|p| p["status"]["containerStatuses"].as_array().cloned())
        .flatten()
        .map(|c| c["restartCount"].as_u64().unwrap_or(0))
        .sum()
}

pub fn redis(node: &Node, args: &[&str]) -> Result<String, String> {
    let mut cmd = vec!["redis-cli", "-h", REDIS_HOST, "--no-raw"];
    cmd.extend_from_slice(args);
    let out = node.exec(&cmd);
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() && !text.starts_with("(error)") && !text.contains("Could not connect") {
        Ok(text)
    } else {
        Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// `redis-cli` answering an integer (`(integer) 5`).
pub fn redis_int(node: &Node, args: &[&str]) -> Result<i64, String> {
    let text = redis(node, args)?;
    text.trim_start_matches("(integer) ")
        .parse()
        .map_err(|_| format!("{args:?} answered {text}"))
}

pub fn crm(node: &Node, path: &str) -> Value {
    let out = node.exec(&[
        "curl",
        "-sf",
        "--max-time",
        "10",
        &format!("{CRM_URL}{path}"),
    ]);
    assert!(
        out.status.success(),
        "GET {path} from the HubSpot simulator: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Sets the HubSpot simulator's faults (`POST /_sim/faults`), e.g. its latency.
pub fn crm_faults(node: &Node, faults: &Value) {
    let body = faults.to_string();
    let out = node.exec(&[
        "curl",
        "-sf",
        "--max-time",
        "10",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data",
        &body,
        &format!("{CRM_URL}/_sim/faults"),
    ]);
    assert!(out.status.success(), "POST /_sim/faults {body}");
}

/// The order id a deal (or a write of one) is keyed by: `syncline_order_key` ends `:<id>`.
fn order_id(properties: &Value) -> Option<u64> {
    StoreRef::suffix_of(properties[ORDER_KEY].as_str()?)?
        .parse()
        .ok()
}

/// Order id → the amounts of every deal the CRM holds for it (one, when nothing doubled).
pub fn deals(node: &Node) -> BTreeMap<u64, Vec<f64>> {
    let mut out: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for d in crm(node, "/_sim/objects/deals")["results"]
        .as_array()
        .unwrap()
    {
        if let Some(id) = order_id(&d["properties"]) {
            let amount = d["properties"]["amount"].as_str().unwrap_or("nan");
            out.entry(id)
                .or_default()
                .push(amount.parse().unwrap_or(f64::NAN));
        }
    }
    out
}

/// How many times each (order id, amount) was written to a deal.
pub fn deal_writes(node: &Node) -> BTreeMap<(u64, String), u32> {
    let mut out = BTreeMap::new();
    for w in crm(node, "/_sim/writes")["results"].as_array().unwrap() {
        if w["objectType"] != "deals" {
            continue;
        }
        let props = &w["properties"];
        if let (Some(id), Some(amount)) = (order_id(props), props["amount"].as_str()) {
            *out.entry((id, amount.to_string())).or_insert(0) += 1;
        }
    }
    out
}

/// Waits until every order of `newest` has exactly one deal, at least at that version
/// (`exact`: at exactly that version); returns how long it took.
pub fn wait_landed(node: &Node, newest: &BTreeMap<u64, u32>, exact: bool, secs: u64) -> f64 {
    let started = Instant::now();
    wait_for(secs, "every acknowledged order in the CRM", || {
        let deals = deals(node);
        let wrong: Vec<String> = newest
            .iter()
            .filter_map(|(id, v)| {
                let got = deals.get(id);
                let fine = got.is_some_and(|amounts| {
                    amounts.len() == 1
                        && (amounts[0] == f64::from(*v) || (!exact && amounts[0] > f64::from(*v)))
                });
                (!fine).then(|| format!("{id}: want v{v}, have {got:?}"))
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} wrong, e.g. {:?}",
                wrong.len(),
                &wrong[..wrong.len().min(5)]
            ))
        }
    });
    started.elapsed().as_secs_f64()
}

/// `syncline sim storm` against the receiver's Service, from inside the node; the summary.
pub fn storm(node: &Node, secret: &str, args: &[&str]) -> Value {
    storm_in(&node.cp_dir(), secret, args)
}

/// `storm` from another thread, for a stream that runs while the test does something else.
pub fn storm_in_background(
    node: &Node,
    secret: &'static str,
    args: &'static [&'static str],
) -> std::thread::JoinHandle<Value> {
    let cp = node.cp_dir();
    std::thread::spawn(move || storm_in(&cp, secret, args))
}

pub fn storm_in(cp_dir: &std::path::Path, secret: &str, args: &[&str]) -> Value {
    let bin = env!("CARGO_BIN_EXE_syncline");
    let mut cmd = vec![
        bin,
        "sim",
        "storm",
        "--target",
        RECEIVER_URL,
        "--secret",
        secret,
        "--max-time",
        "60s",
    ];
    cmd.extend_from_slice(args);
    let out = crate::support::node::exec_in(cp_dir, &cmd);
    assert!(
        out.status.success(),
        "storm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "storm summary: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `syncline_worker_events_total` summed over outcomes, from the pod's own /metrics (read
/// through the API server's pod proxy).
pub fn events_handled(node: &Node, pod: &str) -> f64 {
    let path = format!("/api/v1/namespaces/shops/pods/{pod}:8080/proxy/metrics");
    let (ok, text, err) = node.kubectl(&["get", "--raw", &path]);
    assert!(ok, "{pod} /metrics: {err}");
    text.lines()
        .filter(|l| l.starts_with("syncline_worker_events_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The summary's order id → newest acknowledged version.
pub fn newest(summary: &Value) -> BTreeMap<u64, u32> {
    summary["newestAcknowledged"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap() as u32))
        .collect()
}

/// Every request of the storm was answered 2xx.
pub fn all_acknowledged(summary: &Value, what: &str) {
    assert_eq!(
        summary["acknowledged"], summary["sent"],
        "{what}: every delivery acknowledged: {summary}"
    );
    assert!(summary["sent"].as_u64().unwrap() > 0, "{what}: {summary}");
}
