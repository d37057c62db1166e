//! The operator's HTTP endpoint: `/metrics`, `/healthz` (the process answers) and `/readyz`
//! (a standby is ready to take over; a leader only once its watches have synced).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::metrics::Metrics;

/// Where the operator is in its life, for `/readyz`.
#[derive(Default)]
pub struct Phase(AtomicU8);

impl Phase {
    pub const STANDBY: u8 = 0;
    pub const SYNCING: u8 = 1;
    pub const READY: u8 = 2;

    pub fn set(&self, phase: u8) {
        self.0.store(phase, Ordering::SeqCst);
    }
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    phase: Arc<Phase>,
}

pub fn router(metrics: Metrics, phase: Arc<Phase>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move { s.metrics.render() }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(s): State<AppState>| async move {
                match s.phase.get() {
                    Phase::READY => (StatusCode::OK, "ready: leader, watches synced"),
                    Phase::STANDBY => (StatusCode::OK, "ready: standby"),
                    _ => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "not ready: watches syncing",
                    ),
                }
            }),
        )
        .with_state(AppState { metrics, phase })
}

pub async fn serve(addr: SocketAddr, metrics: Metrics, phase: Arc<Phase>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(metrics, phase)).await
}
