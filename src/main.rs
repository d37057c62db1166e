//! The `syncline` command line: the subcommands, each dispatched to its module in `cli/`.

mod cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cli::operator::OperatorArgs;
use cli::print;
use cli::roles::{ReceiverArgs, RunArgs, WorkerArgs};
use cli::sim::SimCommand;
use syncline::operator;
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
        Command::Sim(command) => command.run(cli.log_format).await,
        Command::Receiver(args) => {
            telemetry::init(cli.log_format);
            args.run().await
        }
        Command::Worker(args) => {
            telemetry::init(cli.log_format);
            args.run().await
        }
        Command::Run(args) => {
            telemetry::init(cli.log_format);
            args.run().await
        }
        Command::Operator(args) => {
            telemetry::init(cli.log_format);
            args.run().await
        }
    }
}
