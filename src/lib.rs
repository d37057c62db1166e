//! syncline: a Kubernetes operator that runs store-to-CRM sync pipelines.
//!
//! The crate is one library with one binary; `src/main.rs` only dispatches subcommands.
//! See DESIGN.md for the architecture this layout follows.

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
