//! The `syncline` command line: subcommands only, no logic.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "syncline",
    version,
    about = "Store-to-CRM sync pipelines on Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the SyncPipeline CustomResourceDefinition as YAML (what crds/ holds).
    Crd,
    /// Serve one pipeline's store webhooks: verify, dedupe and enqueue them into Redis.
    Receiver(ReceiverArgs),
}

#[derive(Args)]
struct ReceiverArgs {
    /// The SyncPipeline manifest (may also hold the Secret).
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    /// A Secret manifest (data or stringData); SYNCLINE_<KEY> env vars win over it.
    #[arg(long)]
    secrets: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Largest accepted webhook body in bytes.
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    max_body_bytes: usize,
    /// How long a delivery id is remembered for dedupe, in seconds.
    #[arg(long, default_value_t = 24 * 3600)]
    dedupe_ttl_seconds: u64,
    /// Longest wait for Redis before answering 503, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    redis_timeout_ms: u64,
    /// Longest time for one request, in milliseconds.
    #[arg(long, default_value_t = 4000)]
    request_timeout_ms: u64,
    /// Deliveries processed at once before answering 503.
    #[arg(long, default_value_t = 1024)]
    max_concurrency: usize,
    /// Open connections at most; more are closed at once.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Longest time to receive a request's headers, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    header_read_timeout_ms: u64,
    /// Seconds in-flight requests may finish after SIGTERM.
    #[arg(long, default_value_t = 25)]
    shutdown_grace_seconds: u64,
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = syncline::api::crd_yaml().context("rendering the CRD")?;
            std::io::stdout()
                .write_all(yaml.as_bytes())
                .context("writing the CRD to stdout")?;
        }
        Command::Receiver(args) => {
            init_tracing();
            let config =
                syncline::config::load(&args.file, args.secrets.as_deref(), std::env::vars())
                    .context("loading the pipeline")?;
            let settings = syncline::receiver::ReceiverSettings {
                listen: args.listen,
                max_body_bytes: args.max_body_bytes,
                dedupe_ttl: Duration::from_secs(args.dedupe_ttl_seconds),
                redis_deadline: Duration::from_millis(args.redis_timeout_ms),
                request_timeout: Duration::from_millis(args.request_timeout_ms),
                max_concurrency: args.max_concurrency,
                shutdown_grace: Duration::from_secs(args.shutdown_grace_seconds),
                connections: syncline::receiver::ConnectionLimits {
                    max_connections: args.max_connections,
                    header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
                },
                ..Default::default()
            };
            tokio::runtime::Runtime::new()
                .context("starting the async runtime")?
                .block_on(syncline::receiver::run(config, settings))
                .context("running the receiver")?;
        }
    }
    Ok(())
}
