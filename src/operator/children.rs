//! Building and applying a pipeline's children: every object is built by the pure
//! builders in `resources`, applied through `apply` (skipped when unchanged), and the
//! Deployments are viewed for the conditions.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::apply::{apply, delete_if_present};
use super::context::Context;
use super::error::ReconcileError;
use super::resources::{self, BuildInputs};
use super::secret::{self, redis_target};
use super::status::{self, DeploymentView};
use crate::api::SyncPipeline;

/// Builds every child (pure) and applies it. Deployments only once the Secret resolves: a
/// pod whose secretKeyRef cannot resolve would sit in CreateContainerConfigError, so
/// until then the existing ones (if any) are only viewed and their pods keep running.
pub(super) async fn apply_children(
    p: &SyncPipeline,
    ctx: &Context,
    secret: Option<&Secret>,
    worker_replicas: i32,
) -> Result<(Option<DeploymentView>, Option<DeploymentView>), ReconcileError> {
    let ns = p.namespace().unwrap_or_default();
    let name = p.name_any();
    let (config_map, config_checksum) = resources::config_map(p)?;
    let service = resources::receiver_service(p)?;
    let pdb = resources::receiver_pdb(p)?;
    apply::<ConfigMap>(ctx, &config_map).await?;
    apply::<Service>(ctx, &service).await?;
    match &pdb {
        Some(pdb) => drop(apply::<PodDisruptionBudget>(ctx, pdb).await?),
        None => {
            delete_if_present::<PodDisruptionBudget>(ctx, &ns, &resources::receiver_name(&name))
                .await?
        }
    }
    let Some(secret) = secret else {
        return Ok((
            existing_view(ctx, &ns, &resources::receiver_name(&name)).await?,
            existing_view(ctx, &ns, &resources::worker_name(&name)).await?,
        ));
    };
    apply_network_policies(p, ctx, &redis_target(p, Some(secret)).url).await?;
    let inputs = BuildInputs {
        image: ctx.settings.image.clone(),
        secret_checksum: secret::checksum(&p.spec, &secret.data.clone().unwrap_or_default()),
        worker_replicas,
    };
    let receiver = apply::<Deployment>(
        ctx,
        &resources::receiver_deployment(p, &inputs, &config_checksum)?,
    )
    .await?;
    let workers = apply::<Deployment>(
        ctx,
        &resources::worker_deployment(p, &inputs, &config_checksum)?,
    )
    .await?;
    Ok((
        Some(viewed(ctx, &receiver).await),
        Some(viewed(ctx, &workers).await),
    ))
}

/// The pods' NetworkPolicies, applied before the pods so they start fenced in; removed
/// when the operator runs with `--network-policies=false`.
async fn apply_network_policies(
    p: &SyncPipeline,
    ctx: &Context,
    redis_url: &str,
) -> Result<(), ReconcileError> {
    let name = p.name_any();
    if ctx.settings.network_policies {
        apply::<NetworkPolicy>(ctx, &resources::receiver_network_policy(p, redis_url)?).await?;
        apply::<NetworkPolicy>(ctx, &resources::worker_network_policy(p, redis_url)?).await?;
        return Ok(());
    }
    let ns = p.namespace().unwrap_or_default();
    delete_if_present::<NetworkPolicy>(ctx, &ns, &resources::receiver_name(&name)).await?;
    delete_if_present::<NetworkPolicy>(ctx, &ns, &resources::worker_name(&name)).await
}

/// The Deployment as conditions see it; while it is unavailable without a reason of its
/// own, its pods are listed (only then: a healthy pipeline reads no pods) for theirs, at
/// most once per `POD_REASONS_EVERY` (or `NO_POD_REASON_EVERY`) per Deployment, from the
/// API server's cache. A pod
/// LIST by label reads every pod of the namespace: listed on each reconcile of thousands
/// of pipelines coming up at once, it was most of the API server's work.
async fn viewed(ctx: &Context, d: &Deployment) -> DeploymentView {
    let mut view = DeploymentView::of(d);
    let key = format!(
        "{}/{}",
        d.metadata.namespace.as_deref().unwrap_or_default(),
        d.metadata.name.as_deref().unwrap_or_default()
    );
    if !view.needs_pod_reasons() {
        ctx.pod_reasons.forget(&key);
        return view;
    }
    if let Some(trouble) = ctx.pod_reasons.recent(&key) {
        view.trouble = trouble;
        return view;
    }
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
    let (Some(ns), Some(selector)) = (d.metadata.namespace.as_deref(), selector) else {
        return view;
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    match api
        .list(&ListParams::default().labels(&selector).match_any())
        .await
    {
        Ok(pods) => {
            view.trouble = status::pods::pod_trouble(&pods.items);
            ctx.pod_reasons.remember(key, view.trouble.clone());
        }
        Err(e) => tracing::debug!(error = %e, "could not list the Deployment's pods"),
    }
    view
}

async fn existing_view(
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Option<DeploymentView>, ReconcileError> {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    Ok(ctx
        .caches
        .child(&api, ns, name)
        .await
        .map_err(ReconcileError::Kube)?
        .as_ref()
        .map(DeploymentView::of))
}
