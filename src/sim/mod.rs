//! Simulators of the external APIs syncline talks to, for tests, demos and benchmarks.

pub mod hubspot;
pub mod store;
