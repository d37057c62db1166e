//! `syncline operator`: its flags, checked, into the operator's settings.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use syncline::operator::{self, OperatorConfig, context::Settings, leader::LeaseConfig};

use super::duration;

#[derive(Args)]
pub struct OperatorArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8081", env = "SYNCLINE_OPERATOR_LISTEN")]
    listen: SocketAddr,
    /// Image of the receiver and worker pods.
    #[arg(long, env = "SYNCLINE_IMAGE")]
    image: Option<String>,
    /// Elect one leader among replicas through a Lease (use with more than one replica).
    #[arg(long)]
    leader_election: bool,
    /// Namespace of the leader Lease (the operator's own namespace).
    #[arg(long, env = "SYNCLINE_NAMESPACE", default_value = operator::rbac::DEFAULT_NAMESPACE)]
    lease_namespace: String,
    /// Name of the leader Lease.
    #[arg(long, default_value = "syncline-operator")]
    lease_name: String,
    /// This replica's identity in the Lease, used as given (default: the pod name from
    /// SYNCLINE_POD_NAME, else the host name, plus a suffix unique to this process).
    #[arg(long)]
    identity: Option<String>,
    /// How long a leader may go without renewing before another takes over.
    #[arg(long, default_value = "15s", value_parser = duration)]
    lease_duration: Duration,
    /// How often the leader renews.
    #[arg(long, default_value = "5s", value_parser = duration)]
    lease_renew: Duration,
    /// How long a deleting pipeline's Redis cleanup is retried before it is abandoned.
    #[arg(long, default_value = "2m", value_parser = duration)]
    cleanup_timeout: Duration,
    /// Deadline of each Redis call the operator makes.
    #[arg(long, default_value = "2s", value_parser = duration)]
    redis_timeout: Duration,
    /// How often a pipeline is reconciled when nothing changed (changes to it, its
    /// children, its Secret or its queue reconcile it at once).
    #[arg(long, default_value = "5m", value_parser = duration)]
    resync: Duration,
    /// How often each running pipeline's queue is sampled (one Redis round trip), which
    /// is how fast the worker scaler reacts to a spike; a sample that changes the workers
    /// or the status reconciles the pipeline.
    #[arg(long, default_value = "5s", value_parser = duration)]
    queue_sample_interval: Duration,
    /// Changed queue figures are written to status.queue (the Lag and Drain columns) at
    /// most this often.
    #[arg(long, default_value = "10s", value_parser = duration)]
    queue_status_interval: Duration,
    /// How many pipelines are reconciled at once (each at most one at a time).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Reconcile only the SyncPipelines this label selector picks (e.g. `shard=a`), so
    /// several operator deployments, each with its own --lease-name, can split a cluster's
    /// pipelines between them. Empty: every pipeline.
    #[arg(long, default_value = "")]
    pipeline_selector: String,
    /// Give each pipeline NetworkPolicies: its receivers reachable only on their port, its
    /// pods reaching only DNS, Redis, the CRM and the store. Acted on only by a CNI that
    /// enforces NetworkPolicy; `false` removes the ones made before.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    network_policies: bool,
}

impl OperatorArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.lease_renew < self.lease_duration,
            "--lease-renew must be shorter than --lease-duration"
        );
        anyhow::ensure!(
            self.queue_sample_interval >= Duration::from_secs(1),
            "--queue-sample-interval must be at least 1s"
        );
        let defaults = Settings::default();
        let settings = Settings {
            image: self.image.unwrap_or(defaults.image),
            redis_timeout: self.redis_timeout,
            cleanup_timeout: self.cleanup_timeout,
            resync: self.resync,
            queue_sample_interval: self.queue_sample_interval,
            queue_status_interval: self.queue_status_interval,
            concurrency: self.concurrency,
            network_policies: self.network_policies,
        };
        let identity = self.identity.unwrap_or_else(|| {
            operator::leader::process_identity(
                std::env::var("SYNCLINE_POD_NAME")
                    .or_else(|_| std::env::var("HOSTNAME"))
                    .ok(),
            )
        });
        let lease = self.leader_election.then_some(LeaseConfig {
            namespace: self.lease_namespace,
            name: self.lease_name,
            identity,
            duration: self.lease_duration,
            renew: self.lease_renew,
        });
        let config = kube::Config::infer()
            .await
            .context("finding the Kubernetes API (in-cluster or KUBECONFIG)")?;
        operator::run(
            config,
            OperatorConfig {
                settings,
                listen: self.listen,
                lease,
                pipeline_selector: Some(self.pipeline_selector).filter(|s| !s.is_empty()),
            },
        )
        .await?;
        Ok(())
    }
}
