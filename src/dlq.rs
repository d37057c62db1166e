//! `syncline dlq list|replay|purge`: inspect and re-drive one pipeline's dead letters from
//! a laptop or a Job, reading the same pipeline manifest, Secret manifest and
//! `SYNCLINE_*` environment as the pods (so `redisUrl` may carry a password).
//!
//! Listing never prints event bodies in the table (they hold customer data); `--output
//! json` includes them for tooling. Usage errors (bad timestamps, an empty window, a purge
//! of everything without `--all`) exit with 2, like clap's own; failures exit with 1.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::api::duration::parse_duration;
use crate::config::{self, ConfigError};
use crate::queue::{DeadLetterFilter, Entry, Queue, QueueError, QueueKeys, dead_letter_count};

/// The `syncline dlq` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DlqCommand {
    /// List dead letters, oldest first (no bodies unless --output json).
    List(ListArgs),
    /// Move matching dead letters back into the events stream as first deliveries.
    Replay(TargetArgs),
    /// Delete matching dead letters.
    Purge(PurgeArgs),
}

/// Which pipeline, and which of its dead letters.
#[derive(clap::Args, Debug)]
pub struct TargetArgs {
    /// The SyncPipeline manifest (may also hold the Secret).
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// A Secret manifest (data or stringData); SYNCLINE_<KEY> env vars win over it.
    #[arg(long)]
    pub secrets: Option<PathBuf>,
    /// Only dead letters with this reason (e.g. crm_rejected, retries_exhausted).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only dead letters dead-lettered at or after this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub since: Option<Timestamp>,
    /// Only dead letters dead-lettered before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub until: Option<Timestamp>,
    /// Longest wait for each Redis answer.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub redis_timeout: Duration,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Show at most this many.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// table (for people) or json (with bodies, for tools).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(clap::Args, Debug)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Allow a purge without --reason, --since or --until (deletes every dead letter).
    #[arg(long)]
    pub all: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

/// Why a dlq command failed.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("{0}")]
    Usage(String),
    #[error("loading the pipeline: {0}")]
    Config(#[from] ConfigError),
    #[error("Redis of pipeline {pipeline}: {source}")]
    Queue {
        pipeline: String,
        source: QueueError,
    },
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl DlqError {
    /// 2 for usage errors (as clap exits for bad flags), 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            _ => 1,
        }
    }
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    text.parse::<Timestamp>().map_err(|e| {
        format!("not an RFC 3339 time with a UTC offset, such as 2026-11-20T15:00:00Z ({e})")
    })
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// The dead-letter filter the flags ask for.
pub fn filter(args: &TargetArgs) -> Result<DeadLetterFilter, DlqError> {
    if args.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(DlqError::Usage("--reason must not be empty".into()));
    }
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        return Err(DlqError::Usage(format!(
            "--since ({since}) must be before --until ({until})"
        )));
    }
    Ok(DeadLetterFilter {
        reason: args.reason.clone(),
        since_ms: args.since.map(|t| t.as_millisecond()),
        until_ms: args.until.map(|t| t.as_millisecond()),
    })
}

/// Runs one dlq command, writing its report to `out`.
pub async fn run(
    command: DlqCommand,
    env: impl IntoIterator<Item = (String, String)>,
    out: &mut dyn Write,
) -> Result<(), DlqError> {
    let target = match &command {
        DlqCommand::List(a) => &a.target,
        DlqCommand::Replay(a) => a,
        DlqCommand::Purge(a) => &a.target,
    };
    let filter = filter(target)?;
    if let DlqCommand::Purge(a) = &command
        && filter == DeadLetterFilter::default()
        && !a.all
    {
        return Err(DlqError::Usage(
            "purge without --reason, --since or --until deletes every dead letter: add --all to mean it".into(),
        ));
    }
    let cfg = config::load(&target.file, target.secrets.as_deref(), env)?;
    let pipeline = cfg.qualified_name();
    let (ns, name) = pipeline.split_once('/').unwrap_or(("default", &pipeline));
    let settings = cfg.queue_settings(target.redis_timeout);
    let failed = |source| DlqError::Queue {
        pipeline: pipeline.clone(),
        source,
    };
    let queue = Queue::new(&cfg.redis_url(), QueueKeys::new(ns, name), settings).map_err(failed)?;
    match command {
        DlqCommand::List(args) => {
            let limit = args.limit as usize;
            let entries = queue.dead_letters(&filter, limit).await.map_err(failed)?;
            let rows: Vec<Row> = entries.iter().map(Row::of).collect();
            match args.output {
                Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
                Output::Table if rows.is_empty() => writeln!(out, "No dead letters match.")?,
                Output::Table => out.write_all(table(&rows).as_bytes())?,
            }
            if rows.len() == limit {
                eprintln!("(showing the first {limit}; raise --limit to see more)");
            }
        }
        DlqCommand::Replay(_) => {
            let n = queue.replay_dead_letters(&filter).await.map_err(failed)?;
            writeln!(out, "Replayed {} of {pipeline}", dead_letter_count(n))?;
        }
        DlqCommand::Purge(_) => {
            let n = queue.purge_dead_letters(&filter).await.map_err(failed)?;
            writeln!(out, "Purged {} of {pipeline}", dead_letter_count(n))?;
        }
    }
    Ok(())
}

/// One dead letter as listed; `body` only reaches JSON output.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub id: String,
    pub dead_lettered_at: String,
    pub reason: String,
    pub attempts: u32,
    pub last_error: String,
    pub object_kind: String,
    pub object_id: String,
    pub topic: String,
    pub delivery_id: String,
    /// The entry's id in the events stream before it was dead-lettered.
    pub source_id: String,
    pub body: String,
}

impl Row {
    pub fn of(entry: &Entry) -> Self {
        let text = |name: &str| entry.text(name).unwrap_or_default();
        let dead_lettered_at = entry
            .stored_at_ms()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map(|t| t.to_string())
            .unwrap_or_default();
        Self {
            id: entry.id.clone(),
            dead_lettered_at,
            reason: text("reason"),
            attempts: entry.attempts(),
            last_error: text("last_error"),
            object_kind: text("object_kind"),
            object_id: text("object_id"),
            topic: text("topic"),
            delivery_id: text("delivery_id"),
            source_id: text("source_id"),
            body: text("body"),
        }
    }
}

/// Longest last error shown in a table cell; JSON has it whole.
const ERROR_WIDTH: usize = 60;

/// The rows as an aligned text table, without bodies.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "ID",
        "DEAD-LETTERED",
        "REASON",
        "ATTEMPTS",
        "OBJECT",
        "TOPIC",
        "DELIVERY",
        "LAST-ERROR",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let object = match (r.object_kind.as_str(), r.object_id.as_str()) {
                ("", "") => "-".to_string(),
                (kind, id) => format!("{kind}/{id}"),
            };
            let mut error: String = r.last_error.chars().take(ERROR_WIDTH).collect();
            if r.last_error.chars().count() > ERROR_WIDTH {
                error.push('…');
            }
            [
                r.id.clone(),
                r.dead_lettered_at.clone(),
                r.reason.clone(),
                r.attempts.to_string(),
                object,
                r.topic.clone(),
                r.delivery_id.clone(),
                error.replace(['\n', '\r', '\t'], " "),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests;
