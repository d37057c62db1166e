//! The worker against a real redis-server and the HubSpot simulator over real HTTP:
//! exactly-once effect under duplicates and reordering, crash recovery, a CRM outage,
//! dead letters and replay, and the shared rate limit.

#[path = "../support/mod.rs"]
mod support;

mod common;
mod crash;
mod dead_letters;
mod exactly_once;
mod lease;
mod partial;
mod queue;
mod rate_limit;
mod run;
mod shapes;
mod stated_limit;
mod tls;
