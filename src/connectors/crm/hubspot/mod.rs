//! HubSpot: canonical records into HubSpot inputs (`mapping`, pure), failure
//! classification (`errors`, pure), and the API client (`client`).

pub mod client;
pub mod errors;
pub mod limits;
pub mod mapping;

pub use client::{HubspotClient, InputFailure, MAX_BATCH, UpsertOutcome};
pub use errors::CrmError;
