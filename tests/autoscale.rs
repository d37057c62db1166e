//! Budget-aware autoscaling end to end. The real operator (against a KWOK API server, as the
//! shipped service account) decides the worker replicas from what Redis holds; a stand-in
//! for the kubelet runs exactly that many real `syncline worker` processes against a real
//! redis-server and the HubSpot simulator (100 requests per 10 s), so the scaler reads the
//! load reports of real workers draining a real backlog.
//!
//! - A fast CRM: one worker already waits on the shared budget, so the lag grows but the
//!   replicas stay at one (`RateLimited`).
//! - A CRM answering in 400 ms: one worker cannot fill the budget, the replicas rise, and
//!   the backlog drains measurably faster than with one fixed worker.
//! - `minReplicas: 0`: an idle pipeline runs no worker, one event wakes one, and a due
//!   reconciliation poll wakes one too.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use support::hubspot::{HubspotSim, TOKEN};
use support::operator::{EVERY_SECOND, OperatorProcess, SHORT_LEASE};
use support::orders::order;
use support::pipelines::{NS, condition_of, pipeline, secret, setup, wait_condition};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::{ObjectKind, PendingScaleDown, StorePlatform, SyncPipeline, condition};
use syncline::queue::{EventEnvelope, Queue, QueueKeys, QueueSettings, Scheme};
use syncline::sim::hubspot::FaultConfig;

/// Worker processes following a Deployment's `spec.replicas`, as a kubelet would.
struct Kubelet {
    manifest: PathBuf,
    pods: Vec<Child>,
    /// The most workers that ran at once.
    most: usize,
}

impl Kubelet {
    fn new(manifest: PathBuf) -> Self {
        Self {
            manifest,
            pods: Vec::new(),
            most: 0,
        }
    }

    /// Starts or stops workers (newest first, with SIGTERM, as a scale-down does) until
    /// `replicas` run.
    fn follow(&mut self, replicas: usize) {
        while self.pods.len() < replicas {
            let child = Command::new(env!("CARGO_BIN_EXE_syncline"))
                .args(["worker", "-f"])
                .arg(&self.manifest)
                .args(["--listen", "127.0.0.1:0"])
                .env("SYNCLINE_CRM_TOKEN", TOKEN)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log())
                .spawn()
                .unwrap();
            self.pods.push(child);
        }
        while self.pods.len() > replicas {
            let mut child = self.pods.pop().unwrap();
            stop(&mut child);
        }
        self.most = self.most.max(self.pods.len());
    }
}

/// The workers' log (appended; kept for a failed run).
fn log() -> std::fs::File {
    let path = std::env::temp_dir().join(format!(
        "syncline-test-autoscale-{}.log",
        std::process::id()
    ));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// SIGTERM, then SIGKILL after the worker's 15 s grace (it finishes its batch first).
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        for child in &mut self.pods {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Scene {
    // Dropped in this order: the operator before the cluster it talks to.
    op: OperatorProcess,
    kubeconfig: PathBuf,
    pipelines: Api<SyncPipeline>,
    deployments: Api<Deployment>,
    redis: RedisServer,
    crm: HubspotSim,
    dir: tempfile::TempDir,
    _cp: ControlPlane,
}

/// The operator's flags in these tests: everything every second, and a short lease for
/// the failover test.
fn operator_flags() -> Vec<&'static str> {
    [&EVERY_SECOND[..], &SHORT_LEASE[..]].concat()
}

async fn scene(name: &str) -> Scene {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let crm = HubspotSim::with_limit(100).await;
    let kubeconfig = cp.service_account_kubeconfig("syncline-system", "syncline-operator");
    let op = OperatorProcess::start(&kubeconfig, name, &operator_flags());
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret("creds", "s"))
        .await
        .unwrap();
    Scene {
        op,
        kubeconfig,
        pipelines: Api::namespaced(client.clone(), NS),
        deployments: Api::namespaced(client, NS),
        redis,
        crm,
        dir: tempfile::tempdir().unwrap(),
        _cp: cp,
    }
}

impl Scene {
    /// Creates pipeline `name` writing to the simulator, with `min..=max` workers, one per
    /// 100 events waiting, and returns the manifest its workers read.
    async fn pipeline(
        &self,
        name: &str,
        min: i32,
        max: i32,
        tweak: impl FnOnce(&mut SyncPipeline),
    ) -> PathBuf {
        let mut p = pipeline(name, "creds", &self.redis.url(), "Retain");
        p.spec.crm.url = self.crm.url("");
        p.spec.crm_rate_limit.requests = 100;
        p.spec.crm_rate_limit.per_seconds = 10;
        p.spec.workers.min_replicas = min;
        p.spec.workers.max_replicas = max;
        p.spec.workers.target_lag_per_worker = 100;
        p.spec.workers.scale_down_stabilization_seconds = 5;
        p.spec.workers.batch_size = 100;
        tweak(&mut p);
        self.pipelines
            .create(&PostParams::default(), &p)
            .await
            .unwrap();
        let manifest = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&manifest, serde_yaml::to_string(&p).unwrap()).unwrap();
        manifest
    }

    async fn replicas(&self, name: &str) -> Option<usize> {
        let d = self
            .deployments
            .get_opt(&format!("{name}-worker"))
            .await
            .ok()??;
        usize::try_from(d.spec?.replicas?).ok()
    }

    /// The scale-down waiting for its window, as status keeps it.
    async fn pending_scale_down(&self, name: &str) -> Option<PendingScaleDown> {
        let p = self.pipelines.get(name).await.unwrap();
        p.status?.workers?.pending_scale_down
    }

    fn queue(&self, name: &str) -> Queue {
        Queue::new(
            &self.redis.url(),
            QueueKeys::new(NS, name),
            QueueSettings::default(),
        )
        .unwrap()
    }

    /// Enqueues `orders/create` for orders `ids` the way the receiver does.
    async fn enqueue(&self, name: &str, ids: std::ops::Range<u64>) {
        let queue = self.queue(name);
        for id in ids {
            let body = order(id, 1, &format!("o{id}@example.com"));
            let envelope = EventEnvelope {
                delivery_id: format!("{name}-{id}"),
                platform: StorePlatform::Shopify,
                scheme: Scheme::Shopify,
                topic: "orders/create".into(),
                object_kind: Some(ObjectKind::Orders),
                object_id: Some(id.to_string()),
                received_at: "2026-12-01T10:00:00Z".into(),
                body: body.to_string(),
            };
            queue.enqueue(&envelope).await.unwrap();
        }
    }

    fn deals(&self) -> usize {
        self.crm
            .sim
            .stats()
            .objects
            .get("deals")
            .copied()
            .unwrap_or(0)
    }
}

/// What one drain showed.
struct Drain {
    seconds: f64,
    most_workers: usize,
    reasons: BTreeSet<String>,
}

/// Runs workers as the operator asks for pipeline `name` while `events` orders (ids from
/// `first`) drain into the CRM; answers when every deal landed and the queue is empty.
async fn drain(s: &Scene, name: &str, manifest: &Path, first: u64, events: u64) -> Drain {
    let mut kubelet = Kubelet::new(manifest.to_path_buf());
    let deals_before = s.deals();
    // One worker consuming (its first load report is in Redis) before the spike.
    kubelet.follow(s.replicas(name).await.unwrap_or(1).max(1));
    let load_key = QueueKeys::new(NS, name).load();
    eventually(30, "the first worker reports its load", || async {
        (s.redis.cli(&["HLEN", &load_key]).trim() != "0").then_some(())
    })
    .await;
    let started = Instant::now();
    s.enqueue(name, first..first + events).await;
    let events_key = QueueKeys::new(NS, name).events();
    let mut reasons = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(
            Instant::now() < deadline,
            "{name}: the backlog did not drain in 180 s"
        );
        if let Some(n) = s.replicas(name).await {
            kubelet.follow(n.max(1));
        }
        if let Some((_, reason, _)) =
            condition_of(&s.pipelines, name, condition::SCALING_ACTIVE).await
        {
            reasons.insert(reason);
        }
        let landed = s.deals() - deals_before;
        let lag: u64 = s
            .redis
            .cli(&["XLEN", &events_key])
            .trim()
            .parse()
            .unwrap_or(u64::MAX);
        if landed as u64 == events && lag == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = s.crm.sim.stats();
    assert!(
        stats.duplicates.is_empty(),
        "{name}: duplicates {:?}",
        stats.duplicates
    );
    assert_eq!(
        stats.rate_limited, 0,
        "{name}: the shared budget let a 429 through"
    );
    eprintln!(
        "{name}: {events} orders drained in {seconds:.1} s, at most {} worker(s), reasons {reasons:?}",
        kubelet.most
    );
    Drain {
        seconds,
        most_workers: kubelet.most,
        reasons,
    }
}

#[tokio::test]
async fn workers_scale_only_while_the_crm_budget_has_room() {
    let s = scene("op-autoscale").await;

    // A fast CRM: one worker keeps the budget busy; more would only queue for it.
    s.crm.sim.set_faults(FaultConfig {
        latency_ms: 20,
        ..FaultConfig::default()
    });
    let fast = s.pipeline("fast", 1, 8, |_| {}).await;
    let d = drain(&s, "fast", &fast, 1, 1_500).await;
    assert!(d.reasons.contains("RateLimited"), "{:?}", d.reasons);
    assert!(
        d.most_workers <= 2,
        "a saturated budget still scaled to {}",
        d.most_workers
    );

    // A CRM answering in 400 ms: one worker with one batch in flight leaves most of the
    // budget unused. Both pipelines run one lane per pod, so this compares pods with pods
    // (a second lane would fill part of the gap inside the one pod).
    s.crm.sim.set_faults(FaultConfig {
        latency_ms: 400,
        ..FaultConfig::default()
    });
    let one_lane = |p: &mut SyncPipeline| p.spec.workers.concurrency = 1;
    let fixed = s.pipeline("fixed", 1, 1, one_lane).await;
    let one = drain(&s, "fixed", &fixed, 10_000, 1_200).await;
    assert_eq!(one.most_workers, 1);
    let auto = s.pipeline("auto", 1, 8, one_lane).await;
    let scaled = drain(&s, "auto", &auto, 20_000, 1_200).await;
    assert!(
        scaled.most_workers >= 3,
        "the slow CRM scaled only to {}",
        scaled.most_workers
    );
    assert!(
        scaled.seconds < one.seconds * 0.75,
        "autoscaled {:.1} s is not measurably faster than one worker's {:.1} s",
        scaled.seconds,
        one.seconds
    );
    eprintln!(
        "slow CRM: one worker {:.1} s, autoscaled ({} workers) {:.1} s",
        one.seconds, scaled.most_workers, scaled.seconds
    );
}

#[tokio::test]
async fn scaled_to_zero_the_first_event_wakes_a_worker() {
    let s = scene("op-zero").await;
    let manifest = s
        .pipeline("idle", 0, 4, |p| {
            // No store to poll: the poll record is what keeps a worker up, so the test writes
            // a recent one for this pipeline, as a finished cycle would.
            p.spec.polling.interval = "1h".into();
        })
        .await;
    let last_poll = QueueKeys::new(NS, "idle").last_poll();
    s.redis.cli(&[
        "SET",
        &last_poll,
        &k8s_openapi::jiff::Timestamp::now().to_string(),
    ]);
    eventually(30, "an idle pipeline scaled to zero", || async {
        (s.replicas("idle").await == Some(0)).then_some(())
    })
    .await;
    let mut kubelet = Kubelet::new(manifest);
    s.enqueue("idle", 1..2).await;
    let woke = Instant::now();
    eventually(10, "one event wakes one worker", || async {
        (s.replicas("idle").await == Some(1)).then_some(())
    })
    .await;
    eprintln!(
        "woken {:.1} s after the event",
        woke.elapsed().as_secs_f64()
    );
    kubelet.follow(1);
    eventually(60, "the event's deal landed", || async {
        (s.deals() == 1).then_some(())
    })
    .await;
    // Back to zero after the 5 s window, and a due poll wakes a worker again.
    eventually(60, "back to zero", || async {
        (s.replicas("idle").await == Some(0)).then_some(())
    })
    .await;
    kubelet.follow(0);
    s.redis.cli(&["DEL", &last_poll]);
    eventually(10, "a due poll wakes a worker", || async {
        (s.replicas("idle").await == Some(1)).then_some(())
    })
    .await;
    // The Deployment is applied before status is written: the reason follows at once.
    wait_condition(
        &s.pipelines,
        "idle",
        condition::SCALING_ACTIVE,
        "True",
        "PollDue",
    )
    .await;
}

/// A bursty store (a burst of orders every 3 s against a 400 ms CRM, with a 10 s
/// stabilization window): the workers scale up on the first burst and do not scale down
/// between the big bursts; as a tail of small bursts tapers off, each scale-down is a whole
/// window after the last.
///
/// Each burst alone asks for twice `maxReplicas` (400 orders at 50 per worker, at most 4
/// workers), so the sample after it asks for the most even when the workers drained some
/// of it first: the lag, not the timing of samples, is what holds the replicas up. (Smaller
/// bursts let the workers' growing pace lower each peak, and the scaler then rightly scales
/// down while they still come.)
#[tokio::test]
async fn a_bursty_store_scales_down_at_most_once_per_window() {
    let s = scene("op-bursty").await;
    s.crm.sim.set_faults(FaultConfig {
        latency_ms: 400,
        ..FaultConfig::default()
    });
    let window = Duration::from_secs(10);
    let manifest = s
        .pipeline("bursty", 1, 4, |p| {
            p.spec.workers.scale_down_stabilization_seconds = window.as_secs() as i32;
            p.spec.workers.target_lag_per_worker = 50;
        })
        .await;
    let mut kubelet = Kubelet::new(manifest);
    kubelet.follow(1);
    let load_key = QueueKeys::new(NS, "bursty").load();
    eventually(30, "the first worker reports its load", || async {
        (s.redis.cli(&["HLEN", &load_key]).trim() != "0").then_some(())
    })
    .await;
    let started = Instant::now();
    let mut changes: Vec<(Duration, usize)> = Vec::new();
    // (second, orders): four big bursts, then a tail of small ones that asks for fewer
    // workers, so the scale-down comes in steps.
    let schedule: Vec<(u64, u64)> = [(0, 400), (3, 400), (6, 400), (9, 400)]
        .into_iter()
        .chain((0..5).map(|i| (12 + 3 * i, 60)))
        .collect();
    let total: u64 = schedule.iter().map(|(_, n)| n).sum();
    let last_burst = Duration::from_secs(9);
    let (mut next_burst, mut first) = (0, 1u64);
    let deadline = started + Duration::from_secs(180);
    loop {
        assert!(
            Instant::now() < deadline,
            "the bursts did not settle in 180 s"
        );
        let now = started.elapsed();
        if let Some((at, size)) = schedule.get(next_burst).copied()
            && now >= Duration::from_secs(at)
        {
            s.enqueue("bursty", first..first + size).await;
            (next_burst, first) = (next_burst + 1, first + size);
        }
        if let Some(n) = s.replicas("bursty").await {
            if changes.last().map(|(_, r)| *r) != Some(n) {
                changes.push((now, n));
            }
            kubelet.follow(n.max(1));
            if next_burst == schedule.len() && n == 1 && s.deals() as u64 == total {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("bursty: replicas over time {changes:?}");
    let downs: Vec<Duration> = changes
        .windows(2)
        .filter(|w| w[1].1 < w[0].1)
        .map(|w| w[1].0)
        .collect();
    assert!(
        changes.iter().any(|(_, n)| *n > 1),
        "the bursts never scaled up: {changes:?}"
    );
    assert!(
        downs.iter().all(|t| *t > last_burst),
        "scaled down between the big bursts: {changes:?}"
    );
    for pair in downs.windows(2) {
        // A second of slack: the test samples the Deployment every 250 ms.
        assert!(
            pair[1] - pair[0] + Duration::from_secs(1) >= window,
            "two scale-downs within one window: {changes:?}"
        );
    }
}

/// The scale-down window is kept in status, so a new leader continues it: the leader is
/// SIGKILLed while a scale-down waits, another operator takes the lease, the window's start
/// stays what it was, and the workers go down no earlier than a whole window after it.
#[tokio::test]
async fn a_new_leader_continues_the_scale_down_window() {
    let mut s = scene("op-failover-a").await;
    s.crm.sim.set_faults(FaultConfig {
        latency_ms: 400,
        ..FaultConfig::default()
    });
    let window = 20;
    let manifest = s
        .pipeline("handover", 1, 4, |p| {
            p.spec.workers.scale_down_stabilization_seconds = window;
        })
        .await;
    let mut kubelet = Kubelet::new(manifest);
    kubelet.follow(1);
    let load_key = QueueKeys::new(NS, "handover").load();
    eventually(30, "the first worker reports its load", || async {
        (s.redis.cli(&["HLEN", &load_key]).trim() != "0").then_some(())
    })
    .await;
    s.enqueue("handover", 1..1_201).await;
    // Follow the replicas until the backlog is gone and a scale-down waits in status.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (most, pending) = loop {
        assert!(
            Instant::now() < deadline,
            "no scale-down waited within 120 s"
        );
        let replicas = s.replicas("handover").await.unwrap_or(1);
        kubelet.follow(replicas.max(1));
        let pending = s.pending_scale_down("handover").await;
        if let Some(pending) = pending.filter(|_| replicas > 1) {
            break (replicas, pending);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let since = pending.since.0;
    // The leader dies mid-window; another operator takes over after the 3 s lease.
    s.op.kill();
    s.op = OperatorProcess::start(&s.kubeconfig, "op-failover-b", &operator_flags());
    let mut seen_since = Vec::new();
    let down_at = loop {
        assert!(
            Instant::now() < deadline + Duration::from_secs(60),
            "the new leader never scaled down"
        );
        let replicas = s.replicas("handover").await.unwrap_or(most);
        kubelet.follow(replicas.max(1));
        if replicas < most {
            break k8s_openapi::jiff::Timestamp::now();
        }
        if let Some(pending) = s.pending_scale_down("handover").await {
            seen_since.push(pending.since.0);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        seen_since.iter().all(|t| *t == since),
        "the new leader restarted the window: {since} became {seen_since:?}"
    );
    let held = down_at.duration_since(since).as_secs_f64();
    // Status times have second precision: a second of slack below the window.
    assert!(
        held + 1.0 >= f64::from(window),
        "scaled down {held:.1} s into a {window} s window"
    );
    eprintln!(
        "handover: {most} workers; the window started {since}, the leader died, the new one scaled down {held:.1} s after the window's start"
    );
}
