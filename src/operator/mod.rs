//! The operator: a kube-rs Controller that turns each SyncPipeline into a ConfigMap, a
//! receiver Deployment + Service (+ PodDisruptionBudget) and a worker Deployment, watches the
//! referenced Secret, and reports what it finds in the pipeline's status.

mod apply;
mod cleanup;
pub mod context;
pub mod failure;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod rbac;
pub mod reconcile;
pub mod replay;
pub mod report;
pub mod resources;
pub mod scaler;
pub mod secret;
pub mod status;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use tracing::{error, info};

use crate::api::SyncPipeline;
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
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("cannot create metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot serve HTTP on the metrics address: {0}")]
    Http(#[from] std::io::Error),
    #[error("lost the leader lease; exiting so a standby can lead")]
    LostLease,
}

const MANAGED: &str = "app.kubernetes.io/managed-by=syncline-operator";

/// Runs the operator until SIGTERM/SIGINT (clean exit) or until it loses the lease.
pub async fn run(client: kube::Client, cfg: OperatorConfig) -> Result<(), OperatorError> {
    let metrics = Metrics::new()?;
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
    let ctx = Arc::new(Context::new(
        client.clone(),
        cfg.settings.clone(),
        metrics.clone(),
        identity,
    ));
    let controller = controller(&client);
    let store = controller.store();
    let ready_phase = phase.clone();
    tokio::spawn(async move {
        // The store's readiness signal wakes only its most recent waiter (the controller's
        // runner), so re-poll it rather than wait once.
        loop {
            match tokio::time::timeout(Duration::from_millis(500), store.wait_until_ready()).await {
                Ok(Ok(())) => {
                    ready_phase.set(Phase::READY);
                    info!("watches synced; reconciling");
                    return;
                }
                Ok(Err(_)) => return,
                Err(_) => continue,
            }
        }
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = controller
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    tokio::pin!(running);

    let lost = async {
        match &leases {
            Some((api, lease)) => leader::hold(api, lease).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
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
    };
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

fn controller(client: &kube::Client) -> Controller<SyncPipeline> {
    let owned = || watcher::Config::default().labels(MANAGED);
    let controller = Controller::new(
        Api::<SyncPipeline>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .owns(Api::<ConfigMap>::all(client.clone()), owned())
    .owns(Api::<Service>::all(client.clone()), owned())
    .owns(Api::<Deployment>::all(client.clone()), owned())
    .owns(Api::<PodDisruptionBudget>::all(client.clone()), owned());
    // A Secret change (created, rotated, deleted) reconciles the pipelines that use it.
    let store = controller.store();
    controller.watches(
        Api::<Secret>::all(client.clone()),
        watcher::Config::default(),
        move |secret: Secret| {
            let ns = secret.namespace();
            let name = secret.name_any();
            store
                .state()
                .into_iter()
                .filter(|p| p.namespace() == ns && p.spec.secret_ref.name == name)
                .map(|p| ObjectRef::from_obj(&*p))
                .collect::<Vec<_>>()
        },
    )
}
