//! The data-plane roles of one pipeline: `syncline receiver`, `worker` and `run`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::duration;

/// The inputs every data-plane role reads ("One manifest everywhere").
#[derive(Args)]
pub struct PipelineArgs {
    /// The SyncPipeline manifest (may also hold the Secret).
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// A Secret manifest (data or stringData); SYNCLINE_<KEY> env vars win over it.
    #[arg(long)]
    secrets: Option<PathBuf>,
}

impl PipelineArgs {
    /// The pipeline manifest, its Secret manifest and `SYNCLINE_*` env.
    fn load(&self) -> anyhow::Result<syncline::config::PipelineConfig> {
        syncline::config::load(&self.file, self.secrets.as_deref(), std::env::vars())
            .context("loading the pipeline")
    }
}

#[derive(Args)]
pub struct ReceiverArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Largest accepted webhook body in bytes.
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    max_body_bytes: usize,
    /// How long a delivery id is remembered for dedupe.
    #[arg(long, default_value = "24h", value_parser = duration)]
    dedupe_ttl: Duration,
    /// Longest wait for Redis before answering 503.
    #[arg(long, default_value = "2s", value_parser = duration)]
    redis_timeout: Duration,
    /// Longest time for one request.
    #[arg(long, default_value = "4s", value_parser = duration)]
    request_timeout: Duration,
    /// Deliveries processed at once before answering 503.
    #[arg(long, default_value_t = 1024)]
    max_concurrency: usize,
    /// Open connections at most; more are closed at once.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Longest time to receive a request's headers.
    #[arg(long, default_value = "10s", value_parser = duration)]
    header_read_timeout: Duration,
    /// How long in-flight requests may finish after SIGTERM.
    #[arg(long, default_value = "25s", value_parser = duration)]
    shutdown_grace: Duration,
}

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Consumer name in the group (default: $HOSTNAME plus a random suffix).
    #[arg(long)]
    consumer: Option<String>,
    /// Pending entries idle this long are taken over from a crashed worker.
    #[arg(long, default_value = "60s", value_parser = duration)]
    visibility_timeout: Duration,
    /// Longest wait for one Redis call.
    #[arg(long, default_value = "5s", value_parser = duration)]
    redis_timeout: Duration,
    /// Longest wait for one HubSpot call.
    #[arg(long, default_value = "30s", value_parser = duration)]
    crm_timeout: Duration,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Address of the webhook receiver.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Address of the worker's /healthz, /readyz and /metrics.
    #[arg(long, default_value = "127.0.0.1:8081")]
    worker_listen: SocketAddr,
}

impl ReceiverArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = self.pipeline.load()?;
        let settings = syncline::receiver::ReceiverSettings {
            listen: self.listen,
            max_body_bytes: self.max_body_bytes,
            dedupe_ttl: self.dedupe_ttl,
            redis_deadline: self.redis_timeout,
            request_timeout: self.request_timeout,
            max_concurrency: self.max_concurrency,
            shutdown_grace: self.shutdown_grace,
            connections: syncline::receiver::ConnectionLimits {
                max_connections: self.max_connections,
                header_read_timeout: self.header_read_timeout,
            },
            ..Default::default()
        };
        syncline::receiver::run(config, settings)
            .await
            .context("running the receiver")
    }
}

impl WorkerArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = self.pipeline.load()?;
        let settings = syncline::worker::WorkerSettings {
            listen: self.listen,
            consumer: self.consumer,
            visibility_timeout: self.visibility_timeout,
            redis_timeout: self.redis_timeout,
            crm_timeout: self.crm_timeout,
            ..Default::default()
        };
        syncline::worker::run(config, settings)
            .await
            .context("running the worker")
    }
}

impl RunArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let config = self.pipeline.load()?;
        let receiver = syncline::receiver::ReceiverSettings {
            listen: self.listen,
            ..Default::default()
        };
        let worker = syncline::worker::WorkerSettings {
            listen: self.worker_listen,
            ..Default::default()
        };
        // Both stop on the same SIGTERM/Ctrl-C (the worker finishes its batch first);
        // either failing stops the process.
        tokio::try_join!(
            async {
                syncline::receiver::run(config.clone(), receiver)
                    .await
                    .context("running the receiver")
            },
            async {
                syncline::worker::run(config.clone(), worker)
                    .await
                    .context("running the worker")
            }
        )?;
        Ok(())
    }
}
