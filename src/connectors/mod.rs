//! Connectors: store payloads into the canonical model (`store/`), the canonical model into
//! the CRM (`crm/`).

pub mod crm;
pub mod store;
