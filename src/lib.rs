//! syncline: a Kubernetes operator that runs store-to-CRM sync pipelines.
//!
//! The crate is one library with one binary; `src/main.rs` only dispatches subcommands.
//! See docs/design.md for the architecture this layout follows.

/// Sent on every request to a store or CRM, so their operators can tell syncline's
/// traffic (and its version) apart in their logs.
pub const USER_AGENT: &str = concat!("syncline/", env!("CARGO_PKG_VERSION"));

pub mod api;
pub mod config;
pub mod connectors;
pub mod dlq;
pub mod model;
pub mod operator;
pub mod poller;
pub mod queue;
pub mod receiver;
pub mod shutdown;
pub mod sim;
pub mod telemetry;
pub mod tls;
pub mod worker;
