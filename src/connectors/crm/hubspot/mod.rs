//! HubSpot: canonical records into HubSpot inputs (`mapping`, pure), errors from HubSpot's
//! answers (`errors`, pure) and how each is handled (`failure`, pure), and the API client
//! (`client`).

pub mod client;
pub mod errors;
pub mod failure;
pub mod limits;
pub mod mapping;

pub use client::{HubspotClient, InputFailure, MAX_BATCH, UpsertOutcome};
pub use errors::CrmError;
pub use failure::FailureClass;
