//! Store simulators, store REST clients and the poller, against real HTTP and a real
//! redis-server: pagination that never skips ties, Retry-After back-off, webhooks lost and
//! caught, a poller killed mid-pagination, and a resumable backfill.

#[path = "../support/mod.rs"]
mod support;

mod backfill;
mod clients;
mod common;
mod cycles;
mod sim_admin;
mod sim_http;
mod storm;
mod webhooks;
mod worker_run;

/// The worker tests' harness: Redis, the HubSpot simulator and in-process workers.
#[path = "../worker/common.rs"]
#[allow(dead_code)]
mod worker_common;
