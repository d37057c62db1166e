//! The `SyncPipeline` custom resource: Rust types are the source of truth for the CRD YAML
//! in `crds/`, its schema, CEL rules and printer columns.

mod crd;
mod crm;
pub mod duration;
#[cfg(test)]
pub(crate) mod examples;
mod object_kind;
pub mod reference;
mod spec;
mod status;
mod store;
mod workers;

pub use crd::{CRD_PATH, CrdRenderError, crd, crd_yaml};
pub use crm::*;
pub use object_kind::ObjectKind;
pub use reference::{REFERENCE_COMMAND, REFERENCE_PATH, ReferenceError, crd_reference};
pub use spec::*;
pub use status::*;
pub use store::*;
pub use workers::*;
