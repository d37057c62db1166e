//! The HubSpot simulator over real HTTP: auth, property bootstrap, batch upsert with 200 and
//! 207, validation errors, search, associations, rate limits, fault injection, inspection,
//! and the `syncline sim hubspot` binary.

#[path = "../support/mod.rs"]
mod support;

mod api;
mod binary;
mod client;
mod limits;
