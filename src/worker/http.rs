//! The worker's probe and metrics endpoint: `/healthz` (process alive), `/readyz` (start-up
//! done and Redis answering), `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::WorkerMetrics;
use crate::queue::Queue;

/// What the endpoints read.
#[derive(Clone, Debug)]
pub struct HealthState {
    pub queue: Queue,
    pub metrics: WorkerMetrics,
    /// Set once the consumer group and the CRM schema are in place.
    pub ready: Arc<AtomicBool>,
}

fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
    if !state.ready.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: CRM schema or Redis not ready",
        );
    }
    match state.queue.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "Redis unreachable"),
    }
}

async fn metrics(State(state): State<HealthState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Serves until `stopped` turns true.
pub async fn serve(listener: TcpListener, state: HealthState, mut stopped: watch::Receiver<bool>) {
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(error = %e, "health endpoint stopped");
    }
}
