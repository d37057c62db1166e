//! CRM connectors.

pub mod hubspot;
