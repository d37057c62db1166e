//! The subcommands' flags and how each starts its role; `main` only dispatches.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use syncline::api::duration::parse_duration;

pub mod operator;
pub mod roles;
pub mod sim;

/// A flag's duration (`500ms`, `5s`, `2m`, `24h`).
pub fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

pub fn print(text: &str) -> anyhow::Result<()> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")
}
