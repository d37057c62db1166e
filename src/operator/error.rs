//! Why a reconcile failed: its own module, so the parts of a reconcile (apply, cleanup,
//! report) and the failure classification share it without depending on `reconcile`.

use super::resources::BuildError;
use crate::queue::admin;

/// Why a reconcile failed. Variants are few and stable: they label the error metric.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),
    #[error("cannot build child objects: {0}")]
    Build(#[from] BuildError),
    #[error("cannot serialize an object: {0}")]
    Serialize(String),
    #[error("Redis cleanup failed: {0}")]
    Cleanup(#[from] admin::AdminError),
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl ReconcileError {
    /// Every value `metric_label` gives. The error counter starts each at zero, so the
    /// series exist (and `increase()` works) before the first failure, and the metrics
    /// reference can be checked against a live /metrics of a healthy operator.
    pub const LABELS: [&'static str; 5] = [
        "kube_api",
        "build",
        "serialize",
        "redis_cleanup",
        "finalizer",
    ];

    /// The low-cardinality label of `syncline_operator_reconcile_errors_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube(_) => "kube_api",
            Self::Build(_) => "build",
            Self::Serialize(_) => "serialize",
            Self::Cleanup(_) => "redis_cleanup",
            Self::Finalizer(_) => "finalizer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_label_is_listed() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": 403, "message": "no"
        }))
        .expect("a Status");
        let errors = [
            ReconcileError::Kube(kube::Error::Api(Box::new(status))),
            ReconcileError::Build(BuildError::MissingMetadata("uid")),
            ReconcileError::Serialize("x".into()),
            ReconcileError::Cleanup(admin::AdminError::Redis("x".into())),
            ReconcileError::Finalizer("x".into()),
        ];
        let labels: Vec<&str> = errors.iter().map(ReconcileError::metric_label).collect();
        assert_eq!(labels, ReconcileError::LABELS);
    }
}
