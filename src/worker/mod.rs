//! `syncline worker`: consumes one pipeline's stream through the consumer group `workers`
//! and writes to HubSpot. Batches are planned (decode, map, coalesce), claimed against
//! per-object watermarks, written within the account's shared request budget, then acked,
//! retried or dead-lettered. Crashed workers' entries are reclaimed by the others.

pub mod batch;
mod consume;
mod http;
pub mod landed;
mod lease;
pub mod load;
pub mod metrics;
mod pace;
pub mod plan;
mod products;
pub mod retry;
pub mod write;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

use crate::api::SyncPipelineSpec;
use crate::api::duration::parse_duration;
use crate::config::{PipelineConfig, SecretKey};
use crate::connectors::crm::hubspot::HubspotClient;
use crate::connectors::crm::hubspot::mapping::MappingConfig;
use crate::model::{OrderStatus, StoreRef};
use crate::queue::{Queue, QueueKeys, RateBudget, rate_limit_key};

pub use batch::{BatchHandler, BatchReport};
pub use consume::{Lanes, consume};
pub use metrics::WorkerMetrics;
pub use plan::PlanContext;

/// Tunables of a worker process (flags of `syncline worker`).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub listen: SocketAddr,
    /// Consumer name; defaults to `$HOSTNAME-<random>`.
    pub consumer: Option<String>,
    /// Pending entries idle this long belong to a crashed worker and are taken over.
    pub visibility_timeout: Duration,
    /// Longest wait for new entries before looking at retries and stale entries again.
    pub block: Duration,
    pub redis_timeout: Duration,
    pub crm_timeout: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            consumer: None,
            visibility_timeout: Duration::from_secs(60),
            block: Duration::from_secs(1),
            redis_timeout: Duration::from_secs(5),
            crm_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a worker could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "the Secret has no {} (env {})",
        SecretKey::CrmToken,
        SecretKey::CrmToken.env_var()
    )]
    MissingCrmToken,
    #[error("spec.crm.hubspot.abandonedAfter: {0}")]
    InvalidDuration(#[from] crate::api::duration::DurationError),
    #[error("spec.crm.hubspot.dealStages: unknown order status {0:?}")]
    UnknownOrderStatus(String),
    #[error("spec.store.url has no host: {0:?}")]
    StoreUrl(String),
    #[error("queue: {0}")]
    Queue(#[from] crate::queue::QueueError),
    #[error("HubSpot client: {0}")]
    Crm(#[from] crate::connectors::crm::hubspot::CrmError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The store half of every CRM unique key: platform plus the store's stable identity
/// (`StoreSpec::identity`), so keys stay the same when a pipeline is renamed or its URL
/// changes scheme, and differ between two stores of one platform.
pub fn store_ref(spec: &SyncPipelineSpec) -> Result<StoreRef, WorkerError> {
    let identity = spec
        .store
        .identity()
        .ok_or_else(|| WorkerError::StoreUrl(spec.store.url.clone()))?;
    Ok(StoreRef::new(spec.store.platform, identity))
}

/// The deal mapping from `spec.crm.hubspot`, over the defaults.
pub fn mapping_config(spec: &SyncPipelineSpec) -> Result<MappingConfig, WorkerError> {
    let options = &spec.crm.hubspot;
    let mut config = MappingConfig {
        pipeline: options.deal_pipeline.clone(),
        abandoned_stage: options.abandoned_stage.clone(),
        abandoned_after: parse_duration(&options.abandoned_after)?,
        link_products: spec.objects.contains(&crate::api::ObjectKind::Products),
        ..MappingConfig::default()
    };
    for (status, stage) in &options.deal_stages {
        let status = match status.as_str() {
            "pending" => OrderStatus::Pending,
            "authorized" => OrderStatus::Authorized,
            "paid" => OrderStatus::Paid,
            "processing" => OrderStatus::Processing,
            "onHold" => OrderStatus::OnHold,
            "completed" => OrderStatus::Completed,
            "cancelled" => OrderStatus::Cancelled,
            "refunded" => OrderStatus::Refunded,
            "failed" => OrderStatus::Failed,
            other => return Err(WorkerError::UnknownOrderStatus(other.to_string())),
        };
        config.stages.insert(status, stage.clone());
    }
    Ok(config)
}

/// The CRM account whose budget this pipeline draws on.
pub fn crm_account(config: &PipelineConfig) -> String {
    config
        .pipeline
        .spec
        .crm
        .account
        .clone()
        .unwrap_or_else(|| config.qualified_name())
}

/// Builds the batch handler of a pipeline (no I/O: connections open lazily).
pub fn handler(
    config: &PipelineConfig,
    settings: &WorkerSettings,
    metrics: WorkerMetrics,
) -> Result<BatchHandler, WorkerError> {
    let spec = &config.pipeline.spec;
    let (ns, name) = config
        .qualified_name()
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let queue = Queue::new(
        &config.redis_url(),
        QueueKeys::new(&ns, &name),
        config.queue_settings(
            settings
                .redis_timeout
                .max(settings.block + Duration::from_secs(1)),
        ),
    )?;
    let token = config
        .secrets
        .get(SecretKey::CrmToken)
        .ok_or(WorkerError::MissingCrmToken)?;
    let client = HubspotClient::new(&spec.crm.url, token, settings.crm_timeout)?;
    let budget = RateBudget::declared(&spec.crm_rate_limit);
    let consumer = settings.consumer.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        format!("{host}-{:08x}", fastrand::u32(..))
    });
    Ok(BatchHandler {
        writer: write::CrmWriter {
            client,
            queue: queue.clone(),
            bucket: rate_limit_key(&crm_account(config)),
            budget,
            metrics,
            published: Default::default(),
            products: Default::default(),
            load: Default::default(),
        },
        queue,
        plan: PlanContext {
            store: store_ref(spec)?,
            objects: spec.objects.clone(),
            mapping: mapping_config(spec)?,
        },
        consumer,
        max_attempts: u32::try_from(spec.workers.max_attempts).unwrap_or(1).max(1),
        lock_ttl: settings.visibility_timeout,
    })
}

/// Runs a worker until SIGTERM/Ctrl-C, finishing the batch in hand first.
pub async fn run(config: PipelineConfig, settings: WorkerSettings) -> Result<(), WorkerError> {
    let metrics = WorkerMetrics::new()?;
    let handler = handler(&config, &settings, metrics.clone())?;
    let span = tracing::info_span!("worker", pipeline = %config.qualified_name(), consumer = %handler.consumer);
    if settings.crm_timeout >= settings.visibility_timeout {
        // A lease is renewed before each CRM call; one call outliving it could land after
        // another worker's newer version.
        tracing::warn!(parent: &span, crm_timeout = ?settings.crm_timeout, visibility_timeout = ?settings.visibility_timeout,
            "--crm-timeout should be below --visibility-timeout: a CRM call slower than the object lock could land after a newer version");
    }
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        let _ = stop.send(true);
    });
    // The reconciliation poller: every worker pod competes for the pipeline's lease.
    let poller = crate::poller::spawn_for_worker(
        &config,
        &handler.consumer,
        metrics.registry(),
        stopped.clone(),
    );
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| WorkerError::Bind {
            addr: settings.listen,
            source,
        })?;
    let server = http::serve(
        listener,
        http::HealthState {
            queue: handler.queue.clone(),
            metrics,
            ready: ready.clone(),
        },
        stopped.clone(),
    );
    let server = tokio::spawn(server.instrument(span.clone()));
    let lanes = Lanes::of(&config.pipeline.spec.workers);
    consume(handler, lanes, &settings, ready, stopped)
        .instrument(span)
        .await;
    if let Some(poller) = poller {
        let _ = poller.await;
    }
    let _ = server.await;
    Ok(())
}
