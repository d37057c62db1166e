//! The operator's Redis side against a KWOK cluster and a real redis-server, as the
//! service account deploy/rbac.yaml binds: status.queue from the pipeline's stream, the
//! CrmUnauthorized condition from the workers' flag, and dead-letter replay by annotation.

mod support;

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::operator::{EVERY_SECOND, OperatorProcess};
use support::pipelines::{
    NS, condition_of, pipeline, pipeline_events, secret, setup, wait_condition,
};
use support::redis::RedisServer;
use support::{ControlPlane, Mode, eventually};
use syncline::api::{DeadLetterReplayStatus, QueueStatus, SyncPipeline, condition};
use syncline::queue::{DeadLetter, Entry, Queue, QueueKeys, QueueSettings};

async fn queue_status(api: &Api<SyncPipeline>) -> Option<QueueStatus> {
    api.get("shop").await.ok()?.status?.queue
}

/// Dead-letters every entry of the events stream the way a worker does.
async fn dead_letter_all(redis: &RedisServer, queue: &Queue) -> usize {
    let entries = redis.stream(&queue.keys().events());
    for (id, fields) in &entries {
        let entry = Entry {
            id: id.clone(),
            fields: fields.clone(),
        };
        let why = DeadLetter {
            reason: "crm_rejected",
            attempts: 3,
            last_error: "400 INVALID_EMAIL",
        };
        queue.dead_letter(&entry, why).await.unwrap();
    }
    entries.len()
}

async fn wait_ready(api: &Api<SyncPipeline>) {
    wait_condition(api, "shop", condition::READY, "True", "PipelineRunning").await;
}

/// Annotates the pipeline with a replay token and waits until status records it.
async fn replay_with(api: &Api<SyncPipeline>, token: &str) -> DeadLetterReplayStatus {
    let patch = json!({"metadata": {"annotations": {"syncline.dev/replay-dead-letters": token}}});
    api.patch("shop", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually(30, &format!("replay {token} recorded"), || async {
        let r = api.get("shop").await.ok()?.status?.dead_letter_replay?;
        (r.token == token).then_some(r)
    })
    .await
}

/// A KWOK cluster, a redis-server and an operator (as the shipped service account) with one
/// pipeline `shop` created, adjusted by `tweak`, and Ready.
struct Scene {
    // Dropped in this order: the operator before the cluster it talks to.
    op: OperatorProcess,
    pipelines: Api<SyncPipeline>,
    client: kube::Client,
    redis: RedisServer,
    cp: ControlPlane,
}

async fn scene(operator: &str, tweak: impl FnOnce(&mut SyncPipeline)) -> Scene {
    scene_with(operator, &EVERY_SECOND, tweak).await
}

async fn scene_with(operator: &str, args: &[&str], tweak: impl FnOnce(&mut SyncPipeline)) -> Scene {
    let cp = ControlPlane::start(Mode::Kwok);
    let client = setup(&cp).await;
    let redis = RedisServer::start();
    let kubeconfig = cp.service_account_kubeconfig("syncline-system", "syncline-operator");
    let op = OperatorProcess::start(&kubeconfig, operator, args);
    let pipelines: Api<SyncPipeline> = Api::namespaced(client.clone(), NS);
    Api::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret("shop-creds", "s"))
        .await
        .unwrap();
    let mut p = pipeline("shop", "shop-creds", &redis.url(), "Retain");
    tweak(&mut p);
    pipelines.create(&PostParams::default(), &p).await.unwrap();
    wait_ready(&pipelines).await;
    Scene {
        op,
        pipelines,
        client,
        redis,
        cp,
    }
}

#[tokio::test]
async fn queue_status_crm_refusal_and_replay_by_annotation() {
    let s = scene("op-queue", |_| {}).await;
    let (pipelines, client, redis, cp) = (&s.pipelines, &s.client, &s.redis, &s.cp);
    let crm = wait_condition(
        pipelines,
        "shop",
        condition::CRM_UNAUTHORIZED,
        "False",
        "CrmAuthorized",
    )
    .await;
    assert!(!crm.is_empty());

    // Lag and pending come from the stream and its consumer group.
    let keys = QueueKeys::new(NS, "shop");
    let events = keys.events();
    for i in 0..3 {
        redis.cli(&[
            "XADD",
            &events,
            "*",
            "v",
            "1",
            "delivery_id",
            &format!("d{i}"),
        ]);
    }
    redis.cli(&["XGROUP", "CREATE", &events, "workers", "0", "MKSTREAM"]);
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "COUNT",
        "2",
        "STREAMS",
        &events,
        ">",
    ]);
    let q = eventually(30, "status.queue: lag 3, pending 2", || async {
        let q = queue_status(pipelines).await?;
        (q.lag == 3 && q.pending == 2).then_some(q)
    })
    .await;
    assert!(q.sampled_at.is_some());
    let (ok, table, err) = cp.kubectl(&["get", "sp", "shop", "-n", NS]);
    assert!(ok, "{err}");
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    let lag = header.iter().position(|h| *h == "LAG").unwrap();
    assert_eq!(row[lag], "3", "{table}");

    // An idle queue costs no writes: the pipeline's resourceVersion stays.
    let rv = pipelines
        .get("shop")
        .await
        .unwrap()
        .metadata
        .resource_version;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        pipelines
            .get("shop")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv,
        "an unchanged queue must not be rewritten"
    );

    // The workers' refusal flag flips CrmUnauthorized and Ready; its message never shows
    // the token (the Secret's crmToken is "pat-test").
    let flag = keys.crm_unauthorized();
    redis.cli(&[
        "SET",
        &flag,
        "Authentication credentials not found for pat-test",
        "EX",
        "600",
    ]);
    let msg = wait_condition(
        pipelines,
        "shop",
        condition::CRM_UNAUTHORIZED,
        "True",
        "CrmUnauthorized",
    )
    .await;
    assert!(
        msg.contains("Authentication credentials not found"),
        "{msg}"
    );
    assert!(!msg.contains("pat-test"), "the token leaked: {msg}");
    wait_condition(
        pipelines,
        "shop",
        condition::READY,
        "False",
        "CrmUnauthorized",
    )
    .await;
    redis.cli(&["DEL", &flag]);
    wait_ready(pipelines).await;
    let (status, reason, _) = condition_of(pipelines, "shop", condition::CRM_UNAUTHORIZED)
        .await
        .unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "CrmAuthorized")
    );
    let refusals = pipeline_events(client, "shop")
        .await
        .into_iter()
        .filter(|(r, _)| r == "CrmUnauthorized")
        .count();
    assert!(refusals >= 1, "the refusal must be an Event");

    // What the workers saw HubSpot state: a lower limit than spec.crmRateLimit declares
    // (the default, 90 per 10 s) shows both figures in CrmRateLimitMismatch.
    let limits = keys.crm_limits();
    redis.cli(&[
        "HSET",
        &limits,
        "max",
        "60",
        "intervalMs",
        "10000",
        "daily",
        "250000",
        "dailyRemaining",
        "240000",
    ]);
    let msg = wait_condition(
        pipelines,
        "shop",
        condition::CRM_RATE_LIMIT_MISMATCH,
        "True",
        "StatedLimitLower",
    )
    .await;
    assert!(
        msg.contains("60 per 10s") && msg.contains("declares 90 per 10s"),
        "{msg}"
    );
    wait_ready(pipelines).await;
    redis.cli(&["HSET", &limits, "max", "190"]);
    wait_condition(
        pipelines,
        "shop",
        condition::CRM_RATE_LIMIT_MISMATCH,
        "False",
        "StatedLimitNotLower",
    )
    .await;

    // Replay by annotation: once per token, recorded in status, announced by an Event.
    let queue = Queue::new(&redis.url(), keys.clone(), QueueSettings::default()).unwrap();
    assert_eq!(dead_letter_all(redis, &queue).await, 3);
    eventually(30, "status.queue.deadLetters 3", || async {
        (queue_status(pipelines).await?.dead_letters == 3).then_some(())
    })
    .await;
    let replay = replay_with(pipelines, "t1").await;
    assert_eq!(replay.replayed, 3);
    assert!(replay.completed_at.is_some());
    assert_eq!(redis.cli(&["XLEN", &keys.dead()]).trim(), "0");
    assert_eq!(redis.cli(&["XLEN", &events]).trim(), "3");

    // New dead letters while the annotation still says t1: several reconciles later they
    // are still dead letters.
    assert_eq!(dead_letter_all(redis, &queue).await, 3);
    eventually(30, "status.queue.deadLetters 3 again", || async {
        (queue_status(pipelines).await?.dead_letters == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        redis.cli(&["XLEN", &keys.dead()]).trim(),
        "3",
        "a token must replay once"
    );
    let notes: Vec<String> = pipeline_events(client, "shop")
        .await
        .into_iter()
        .filter(|(r, _)| r == "DeadLettersReplayed")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(notes, ["Replayed 3 dead letters (token t1)"]);

    // A new token replays again.
    let replay = replay_with(pipelines, "t2").await;
    assert_eq!(replay.replayed, 3);
    assert_eq!(redis.cli(&["XLEN", &keys.dead()]).trim(), "0");
}

/// Workers follow the queue lag: a backlog scales the worker Deployment up at once (within
/// maxReplicas), a drained queue scales it back down after the stabilization window, and
/// ScalingActive says what was decided.
#[tokio::test]
async fn workers_scale_from_queue_lag() {
    let s = scene("op-scale", |p| {
        p.spec.workers.min_replicas = 1;
        p.spec.workers.max_replicas = 5;
        p.spec.workers.target_lag_per_worker = 10;
        p.spec.workers.scale_down_stabilization_seconds = 3;
    })
    .await;
    let (pipelines, client, redis) = (&s.pipelines, &s.client, &s.redis);
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), NS);
    let replicas = || async { deployments.get("shop-worker").await.ok()?.spec?.replicas };
    assert_eq!(replicas().await, Some(1));

    let stream = "sl:{shops/shop}:events";
    for i in 0..35 {
        redis.cli(&["XADD", stream, "*", "n", &i.to_string()]);
    }
    eventually(30, "4 workers for a lag of 35", || async {
        (replicas().await == Some(4)).then_some(())
    })
    .await;
    // Status is written after the Deployment: it follows within the reconcile.
    eventually(10, "status.workers.desiredReplicas 4", || async {
        let status = pipelines.get("shop").await.ok()?.status?;
        (status.workers?.desired_replicas == 4).then_some(())
    })
    .await;
    wait_condition(
        pipelines,
        "shop",
        condition::SCALING_ACTIVE,
        "True",
        "ScalingOnLag",
    )
    .await;

    for i in 35..200 {
        redis.cli(&["XADD", stream, "*", "n", &i.to_string()]);
    }
    eventually(30, "capped at maxReplicas", || async {
        (replicas().await == Some(5)).then_some(())
    })
    .await;
    wait_condition(
        pipelines,
        "shop",
        condition::SCALING_ACTIVE,
        "True",
        "MaxReplicasReached",
    )
    .await;

    redis.cli(&["DEL", stream]);
    eventually(30, "back to minReplicas once the queue drained", || async {
        (replicas().await == Some(1)).then_some(())
    })
    .await;
}

/// What the poller records in Redis reaches status: `lastPollTime` after each cycle, and
/// the backfill's progress, complete once every object type is done.
#[tokio::test]
async fn poll_time_and_backfill_progress_reach_status() {
    let s = scene("op-poll", |p| {
        p.spec.polling.backfill_since = Some("2026-01-01T00:00:00Z".into());
        p.spec.objects = vec![
            syncline::api::ObjectKind::Orders,
            syncline::api::ObjectKind::Customers,
        ];
    })
    .await;
    let (pipelines, redis) = (&s.pipelines, &s.redis);
    redis.cli(&["SET", "sl:{shops/shop}:poller:last", "2026-11-23T10:00:00Z"]);
    let backfill = "sl:{shops/shop}:backfill";
    redis.cli(&[
        "HSET",
        backfill,
        "orders:count",
        "1200",
        "customers:count",
        "40",
    ]);
    let status = eventually(30, "lastPollTime and backfill progress", || async {
        let st = pipelines.get("shop").await.ok()?.status?;
        (st.last_poll_time.is_some() && st.backfill.as_ref()?.imported == 1240).then_some(st)
    })
    .await;
    assert_eq!(
        status.last_poll_time.unwrap().0.to_string(),
        "2026-11-23T10:00:00Z"
    );
    assert!(!status.backfill.unwrap().complete);
    redis.cli(&[
        "HSET",
        backfill,
        "orders:done",
        "1",
        "orders:finishedAt",
        "2026-11-23T10:01:00Z",
        "customers:done",
        "1",
        "customers:finishedAt",
        "2026-11-23T10:02:00Z",
    ]);
    let done = eventually(30, "backfill complete", || async {
        let b = pipelines.get("shop").await.ok()?.status?.backfill?;
        b.complete.then_some(b)
    })
    .await;
    assert_eq!(done.completed_objects, vec!["orders", "customers"]);
    assert_eq!(
        done.finished_at.unwrap().0.to_string(),
        "2026-11-23T10:02:00Z"
    );
}

/// The queue is sampled between reconciles, and only a sample that changes something is
/// reconciled: an idle pipeline costs Redis round trips and no reconcile (its resync is 10
/// minutes away), and the first events reach status within seconds.
#[tokio::test]
async fn an_idle_pipeline_is_sampled_and_reconciled_only_on_change() {
    let args = [
        "--resync",
        "10m",
        "--queue-sample-interval",
        "1s",
        "--queue-status-interval",
        "1s",
    ];
    let s = scene_with("op-idle", &args, |_| {}).await;
    let (op, redis) = (&s.op, &s.redis);
    let reconciles = || op.metric("syncline_operator_reconciles_total");
    // Pods coming up reconcile the pipeline a few times; then it is quiet.
    eventually(60, "3 s without a reconcile", || async {
        let before = reconciles().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        (reconciles().await == before).then_some(())
    })
    .await;
    let (before, commands) = (reconciles().await, redis.commands_processed());
    tokio::time::sleep(Duration::from_secs(8)).await;
    let sampled = redis.commands_processed() - commands;
    assert_eq!(
        reconciles().await,
        before,
        "an idle pipeline was reconciled"
    );
    assert!(
        sampled >= 5 * 9,
        "{sampled} Redis commands in 8 s: the queue is not sampled each second"
    );

    let stream = "sl:{shops/shop}:events";
    for i in 0..3 {
        redis.cli(&["XADD", stream, "*", "n", &i.to_string()]);
    }
    eventually(15, "status.queue.lag 3", || async {
        (queue_status(&s.pipelines).await?.lag == 3).then_some(())
    })
    .await;
    assert!(reconciles().await > before);
    let (_, metrics) = op.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("syncline_queue_lag{") && l.ends_with(" 3")),
        "the lag gauge did not follow the sample"
    );
}
