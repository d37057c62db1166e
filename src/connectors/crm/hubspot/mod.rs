//! HubSpot: model → HubSpot inputs (mapping), and the API client.

pub mod mapping;
