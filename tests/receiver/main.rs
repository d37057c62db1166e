//! The webhook receiver against a real redis-server on loopback: every signature scheme,
//! dedupe under concurrency, Redis outages, HTTP error cases, fuzzing, and the real binary.

#[path = "../support/mod.rs"]
mod support;

mod binary;
mod common;
mod examples;
mod fuzz;
mod http_errors;
mod magento;
mod resilience;
mod shopify;
mod standard;
mod too_large;
mod woocommerce;
mod worker_agrees;
