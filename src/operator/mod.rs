//! The operator: a kube-rs Controller that turns each SyncPipeline into a ConfigMap, a
//! receiver Deployment + Service (+ PodDisruptionBudget) and a worker Deployment, watches the
//! referenced Secret, and reports what it finds in the pipeline's status. It reads what it
//! owns from its own watches (see caches), so a steady pipeline costs the API server nothing.

pub mod api_requests;
mod apply;
pub mod caches;
mod children;
mod cleanup;
pub mod context;
pub mod error;
pub mod failure;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod rbac;
pub mod reconcile;
pub mod redis_pool;
pub mod replay;
pub mod report;
pub mod resources;
pub mod sampler;
pub mod scaler;
pub mod secret;
pub mod status;
mod triggers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::ResourceExt;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use tracing::{error, info};

use crate::api::SyncPipeline;
use caches::Caches;
use context::{Context, Settings};
use http::Phase;
use leader::LeaseConfig;
use metrics::Metrics;

/// How the operator runs, from its flags.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    pub settings: Settings,
    pub listen: SocketAddr,
    /// `None` runs without leader election (a single replica).
    pub lease: Option<LeaseConfig>,
    /// Only the pipelines this label selector picks (a shard); `None`: all of them.
    pub pipeline_selector: Option<String>,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("cannot create metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot serve HTTP on the metrics address: {0}")]
    Http(#[from] std::io::Error),
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[from] kube::Error),
    #[error("lost the leader lease; exiting so a standby can lead")]
    LostLease,
    #[error("--pipeline-selector `{selector}` was refused by the API server: {message}")]
    Selector { selector: String, message: String },
}

const MANAGED: &str = "app.kubernetes.io/managed-by=syncline-operator";

/// Runs the operator until SIGTERM/SIGINT (clean exit) or until it loses the lease.
pub async fn run(config: kube::Config, cfg: OperatorConfig) -> Result<(), OperatorError> {
    let metrics = Metrics::new()?;
    let client = api_requests::counting_client(config, metrics.api_requests.clone())?;
    if let Some(selector) = &cfg.pipeline_selector {
        check_selector(&client, selector).await?;
    }
    let phase = Arc::new(Phase::default());
    let http = tokio::spawn(http::serve(cfg.listen, metrics.clone(), phase.clone()));
    info!(listen = %cfg.listen, "serving /metrics, /healthz and /readyz");

    let leases = cfg.lease.as_ref().map(|l| {
        (
            Api::<Lease>::namespaced(client.clone(), &l.namespace),
            l.clone(),
        )
    });
    if let Some((api, lease)) = &leases {
        tokio::select! {
            _ = leader::acquire(api, lease) => {}
            _ = crate::shutdown::signal() => return Ok(()),
        }
    }
    metrics.leader.set(1);
    phase.set(Phase::SYNCING);

    let identity = cfg
        .lease
        .as_ref()
        .map(|l| l.identity.clone())
        .unwrap_or_else(|| "syncline-operator".into());
    let (controller, caches) = controller(&client, cfg.pipeline_selector.as_deref());
    let (sampler, wanted) = sampler::Sampler::new();
    let controller = controller.reconcile_on(wanted);
    let ctx = Arc::new(Context::new(
        client.clone(),
        cfg.settings.clone(),
        metrics.clone(),
        identity,
        caches,
        sampler,
    ));
    let sampling = tokio::spawn(sampler::run(ctx.clone()));
    tokio::spawn(ready_once_synced(controller.store(), phase.clone()));

    let running = controller.with_config(
        kube::runtime::controller::Config::default().concurrency(cfg.settings.concurrency),
    );
    let outcome = lead(running, ctx, leases.as_ref(), http).await;
    sampling.abort();
    if outcome.is_ok()
        && let Some((api, lease)) = &leases
    {
        leader::release(api, lease).await;
    }
    if let Err(e) = &outcome {
        error!(error = %e, "operator stopped");
    }
    outcome
}

/// Runs the controller while this process leads: until a signal (in-flight reconciles
/// get 20 s to finish), the lease is lost, or the HTTP server fails.
async fn lead(
    controller: Controller<SyncPipeline>,
    ctx: Arc<Context>,
    leases: Option<&(Api<Lease>, LeaseConfig)>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
) -> Result<(), OperatorError> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = controller
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::pin!(running);

    let lost = async {
        match leases {
            Some((api, lease)) => leader::hold(api, lease).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = &mut running => Ok(()),
        _ = crate::shutdown::signal() => {
            info!("shutting down: finishing in-flight reconciles");
            let _ = stop_tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), &mut running).await;
            Ok(())
        }
        _ = lost => Err(OperatorError::LostLease),
        res = http => match res {
            Ok(Err(e)) => Err(OperatorError::Http(e)),
            _ => Ok(()),
        },
    }
}

/// Sets the READY phase once the pipeline watch has synced. The store's readiness signal
/// wakes only its most recent waiter (the controller's runner), so it is re-polled rather
/// than awaited once.
async fn ready_once_synced(store: Store<SyncPipeline>, phase: Arc<Phase>) {
    loop {
        match tokio::time::timeout(Duration::from_millis(500), store.wait_until_ready()).await {
            Ok(Ok(())) => {
                phase.set(Phase::READY);
                info!("watches synced; reconciling");
                return;
            }
            Ok(Err(_)) => return,
            Err(_) => continue,
        }
    }
}

/// A reflector over the children of one kind the operator owns (managed fields and what
/// else reconcile never reads dropped: `Cached::slim`), feeding the store reconcile reads from, and the controller with
/// the events whose `fingerprint` moved (see triggers).
fn owned_children<K>(
    client: &kube::Client,
    fingerprint: fn(&K) -> u64,
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    K: caches::Cached,
{
    let (store, writer) = reflector::store();
    let stream = watcher(
        Api::<K>::all(client.clone()),
        watcher::Config::default().labels(MANAGED),
    )
    .default_backoff()
    .modify(|k| {
        k.managed_fields_mut().clear();
        k.slim();
    })
    .reflect(writer);
    (store, triggers::changed(stream, fingerprint))
}

/// Lists one pipeline with the selector, so a malformed one stops the operator at once with
/// the API server's own words instead of failing every watch retry in the log.
async fn check_selector(client: &kube::Client, selector: &str) -> Result<(), OperatorError> {
    let api = Api::<SyncPipeline>::all(client.clone());
    let params = kube::api::ListParams::default().labels(selector).limit(1);
    match api.list_metadata(&params).await {
        Err(kube::Error::Api(e)) if e.code == 400 => Err(OperatorError::Selector {
            selector: selector.to_string(),
            message: e.message,
        }),
        // Anything else (the API server not reachable yet, RBAC) the watches report.
        _ => Ok(()),
    }
}

fn controller(
    client: &kube::Client,
    pipeline_selector: Option<&str>,
) -> (Controller<SyncPipeline>, Caches) {
    let (deployments, deployment_events) =
        owned_children::<Deployment>(client, triggers::deployment);
    let (services, service_events) = owned_children::<Service>(client, triggers::spec_version);
    let (config_maps, config_map_events) =
        owned_children::<ConfigMap>(client, triggers::spec_version);
    let (pdbs, pdb_events) = owned_children::<PodDisruptionBudget>(client, triggers::spec_version);
    let (policies, policy_events) = owned_children::<NetworkPolicy>(client, triggers::spec_version);
    // Secrets as metadata only: a change (created, rotated, deleted) reconciles the
    // pipelines that use it; the data is read once per resourceVersion (see caches).
    let (secrets, secret_writer) = reflector::store();
    let secret_events = watcher(
        Api::<PartialObjectMeta<Secret>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|s| s.managed_fields_mut().clear())
    .reflect(secret_writer)
    .touched_objects();

    let mut pipelines = watcher::Config::default().any_semantic();
    if let Some(selector) = pipeline_selector {
        pipelines = pipelines.labels(selector);
    }
    // A pipeline's own status writes come back as events; only what reconcile reads
    // from it (spec, annotations, labels, deletion) triggers it (see triggers).
    let (pipeline_store, pipeline_writer) = reflector::store();
    let pipeline_events = watcher(Api::<SyncPipeline>::all(client.clone()), pipelines)
        .default_backoff()
        .modify(|p| p.managed_fields_mut().clear())
        .reflect(pipeline_writer)
        .applied_objects()
        .predicate_filter(triggers::pipeline, Default::default());
    let controller = Controller::for_stream(pipeline_events, pipeline_store)
        .owns_stream(config_map_events)
        .owns_stream(service_events)
        .owns_stream(deployment_events)
        .owns_stream(pdb_events)
        .owns_stream(policy_events);
    let store = controller.store();
    let controller =
        controller.watches_stream(secret_events, move |secret: PartialObjectMeta<Secret>| {
            let ns = secret.namespace();
            let name = secret.name_any();
            store
                .state()
                .into_iter()
                .filter(|p| p.namespace() == ns && p.spec.secret_ref.name == name)
                .map(|p| ObjectRef::from_obj(&*p))
                .collect::<Vec<_>>()
        });
    let caches = Caches::new(deployments, services, config_maps, pdbs, policies, secrets);
    (controller, caches)
}
