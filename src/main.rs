//! The `syncline` command line: subcommands only, no logic.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use syncline::api::duration::parse_duration;
use syncline::model::StorePlatform;
use syncline::operator::{self, OperatorConfig, context::Settings, leader::LeaseConfig};
use syncline::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "syncline",
    version,
    about = "Store-to-CRM sync pipelines on Kubernetes"
)]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SYNCLINE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SyncPipeline CustomResourceDefinition as YAML (what crds/ holds).
    Crd {
        /// Print the field reference as Markdown instead (what
        /// docs/reference/syncpipeline.md holds).
        #[arg(long)]
        reference: bool,
    },
    /// Print the operator's ServiceAccount and RBAC as YAML (what deploy/rbac.yaml holds).
    Rbac {
        /// Namespace the operator runs in.
        #[arg(long, default_value = operator::rbac::DEFAULT_NAMESPACE)]
        namespace: String,
    },
    /// Run the operator: reconcile every SyncPipeline in the cluster.
    Operator(OperatorArgs),
    /// Serve one pipeline's store webhooks: verify, dedupe and enqueue them into Redis.
    Receiver(ReceiverArgs),
    /// Consume one pipeline's queue and write the records to the CRM.
    Worker(WorkerArgs),
    /// Every role of one pipeline in one process (receiver, worker, poller), without
    /// Kubernetes: local development, demos, small shops.
    Run(RunArgs),
    /// Inspect, replay or purge one pipeline's dead letters.
    #[command(subcommand)]
    Dlq(syncline::dlq::DlqCommand),
    /// Simulators of the external APIs, for tests, demos and benchmarks.
    #[command(subcommand)]
    Sim(SimCommand),
}

#[derive(Subcommand)]
enum SimCommand {
    /// Serve the HubSpot CRM API subset syncline uses (with /_sim/* inspection endpoints).
    Hubspot(HubspotSimArgs),
    /// Serve Shopify's Admin REST API over a mutable data set, with webhooks.
    Shopify(syncline::sim::store::StoreSimArgs),
    /// Serve WooCommerce's REST v3 API over a mutable data set, with webhooks.
    Woocommerce(syncline::sim::store::StoreSimArgs),
    /// Serve Magento 2's REST search API over a mutable data set, with webhooks.
    Magento(syncline::sim::store::StoreSimArgs),
    /// Send a storm of signed order webhooks to a receiver, following a rate profile;
    /// prints progress to stderr and a JSON summary to stdout.
    Storm(syncline::sim::storm::StormArgs),
}

#[derive(Args)]
struct HubspotSimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The bearer token requests must carry.
    #[arg(long, env = "SYNCLINE_SIM_HUBSPOT_TOKEN")]
    token: String,
    /// Requests admitted per rolling 10 seconds (100 free/starter, 190 professional).
    #[arg(long, default_value_t = 190)]
    requests_per_10s: u32,
    /// Requests admitted per day.
    #[arg(long, default_value_t = 1_000_000)]
    daily_limit: u64,
    /// Search requests admitted per second.
    #[arg(long, default_value_t = 5)]
    search_per_second: u32,
    /// Send Retry-After on rate-limit 429s (HubSpot does not document one).
    #[arg(long)]
    retry_after_on_429: bool,
    /// Fraction (0..=1) of admitted requests answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Latency added to every request.
    #[arg(long, default_value = "0s", value_parser = duration)]
    latency: Duration,
    /// Up to this much more latency, drawn uniformly per request.
    #[arg(long, default_value = "0s", value_parser = duration)]
    latency_jitter: Duration,
    /// Answer 503 to everything for this long from start.
    #[arg(long, default_value = "0s", value_parser = duration)]
    outage: Duration,
    /// Answer 429 to the first N authenticated requests.
    #[arg(long, default_value_t = 0)]
    burst_429: u32,
}

/// The inputs every data-plane role reads ("One manifest everywhere").
#[derive(Args)]
struct PipelineArgs {
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
struct ReceiverArgs {
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
struct WorkerArgs {
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
struct RunArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Address of the webhook receiver.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Address of the worker's /healthz, /readyz and /metrics.
    #[arg(long, default_value = "127.0.0.1:8081")]
    worker_listen: SocketAddr,
}

#[derive(Args)]
struct OperatorArgs {
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
    /// How often a healthy pipeline is re-checked (Redis reachability).
    #[arg(long, default_value = "5m", value_parser = duration)]
    resync: Duration,
    /// How often each running pipeline's queue is sampled (one Redis round trip), which
    /// is how fast the worker scaler reacts to a spike.
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
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

fn print(text: &str) -> anyhow::Result<()> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd { reference: false } => {
            print(&syncline::api::crd_yaml().context("rendering the CRD")?)
        }
        Command::Crd { reference: true } => {
            print(&syncline::api::crd_reference().context("rendering the CRD field reference")?)
        }
        Command::Rbac { namespace } => {
            print(&operator::rbac::render(&namespace).context("rendering RBAC")?)
        }
        Command::Dlq(command) => {
            let mut out = std::io::stdout();
            if let Err(e) = syncline::dlq::run(command, std::env::vars(), &mut out).await {
                eprintln!("error: {e}");
                std::process::exit(e.exit_code());
            }
            Ok(())
        }
        Command::Receiver(args) => {
            telemetry::init(cli.log_format);
            let config = args.pipeline.load()?;
            let settings = syncline::receiver::ReceiverSettings {
                listen: args.listen,
                max_body_bytes: args.max_body_bytes,
                dedupe_ttl: args.dedupe_ttl,
                redis_deadline: args.redis_timeout,
                request_timeout: args.request_timeout,
                max_concurrency: args.max_concurrency,
                shutdown_grace: args.shutdown_grace,
                connections: syncline::receiver::ConnectionLimits {
                    max_connections: args.max_connections,
                    header_read_timeout: args.header_read_timeout,
                },
                ..Default::default()
            };
            syncline::receiver::run(config, settings)
                .await
                .context("running the receiver")?;
            Ok(())
        }
        Command::Run(args) => {
            telemetry::init(cli.log_format);
            let config = args.pipeline.load()?;
            let receiver = syncline::receiver::ReceiverSettings {
                listen: args.listen,
                ..Default::default()
            };
            let worker = syncline::worker::WorkerSettings {
                listen: args.worker_listen,
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
        Command::Worker(args) => {
            telemetry::init(cli.log_format);
            let config = args.pipeline.load()?;
            let settings = syncline::worker::WorkerSettings {
                listen: args.listen,
                consumer: args.consumer,
                visibility_timeout: args.visibility_timeout,
                redis_timeout: args.redis_timeout,
                crm_timeout: args.crm_timeout,
                ..Default::default()
            };
            syncline::worker::run(config, settings)
                .await
                .context("running the worker")?;
            Ok(())
        }
        Command::Sim(SimCommand::Shopify(args)) => {
            telemetry::init(cli.log_format);
            args.run(StorePlatform::Shopify)
                .await
                .context("running the store simulator")
        }
        Command::Sim(SimCommand::Woocommerce(args)) => {
            telemetry::init(cli.log_format);
            args.run(StorePlatform::WooCommerce)
                .await
                .context("running the store simulator")
        }
        Command::Sim(SimCommand::Magento(args)) => {
            telemetry::init(cli.log_format);
            args.run(StorePlatform::Magento)
                .await
                .context("running the store simulator")
        }
        Command::Sim(SimCommand::Storm(args)) => {
            let summary = args.run().await.context("running the storm")?;
            print(&format!("{}\n", serde_json::to_string(&summary)?))
        }
        Command::Sim(SimCommand::Hubspot(args)) => {
            telemetry::init(cli.log_format);
            anyhow::ensure!(
                (0.0..=1.0).contains(&args.error_rate),
                "--error-rate must be within 0..=1"
            );
            let hubspot = syncline::sim::hubspot::SimSettings {
                token: args.token,
                limits: syncline::sim::hubspot::LimitConfig {
                    per_10s: args.requests_per_10s,
                    daily: args.daily_limit,
                    search_per_second: args.search_per_second,
                },
                faults: syncline::sim::hubspot::FaultConfig {
                    error_rate: args.error_rate,
                    latency_ms: u64::try_from(args.latency.as_millis()).unwrap_or(u64::MAX),
                    latency_jitter_ms: u64::try_from(args.latency_jitter.as_millis())
                        .unwrap_or(u64::MAX),
                    outage_ms: u64::try_from(args.outage.as_millis()).unwrap_or(u64::MAX),
                    burst_429: args.burst_429,
                    retry_after_secs: 0,
                    only_path: String::new(),
                },
                retry_after_on_429: args.retry_after_on_429,
            };
            syncline::sim::hubspot::run(args.listen, hubspot)
                .await
                .context("running the HubSpot simulator")?;
            Ok(())
        }
        Command::Operator(args) => {
            telemetry::init(cli.log_format);
            anyhow::ensure!(
                args.lease_renew < args.lease_duration,
                "--lease-renew must be shorter than --lease-duration"
            );
            anyhow::ensure!(
                args.queue_sample_interval >= Duration::from_secs(1),
                "--queue-sample-interval must be at least 1s"
            );
            let defaults = Settings::default();
            let settings = Settings {
                image: args.image.unwrap_or(defaults.image),
                redis_timeout: args.redis_timeout,
                cleanup_timeout: args.cleanup_timeout,
                resync: args.resync,
                queue_sample_interval: args.queue_sample_interval,
                queue_status_interval: args.queue_status_interval,
                concurrency: args.concurrency,
            };
            let identity = args.identity.unwrap_or_else(|| {
                operator::leader::process_identity(
                    std::env::var("SYNCLINE_POD_NAME")
                        .or_else(|_| std::env::var("HOSTNAME"))
                        .ok(),
                )
            });
            let lease = args.leader_election.then_some(LeaseConfig {
                namespace: args.lease_namespace,
                name: args.lease_name,
                identity,
                duration: args.lease_duration,
                renew: args.lease_renew,
            });
            let config = kube::Config::infer()
                .await
                .context("finding the Kubernetes API (in-cluster or KUBECONFIG)")?;
            operator::run(
                config,
                OperatorConfig {
                    settings,
                    listen: args.listen,
                    lease,
                    pipeline_selector: Some(args.pipeline_selector).filter(|s| !s.is_empty()),
                },
            )
            .await?;
            Ok(())
        }
    }
}
