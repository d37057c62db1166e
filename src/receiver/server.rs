//! The HTTP server around the handlers: routes per platform, operational endpoints, a
//! per-request deadline, the pipeline's tracing span, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::error::json_error;
use super::handlers;
use super::{ReceiverError, ReceiverSettings, ReceiverState, Rejection};
use crate::api::StorePlatform;
use crate::config::PipelineConfig;

/// The receiver's routes. Only the pipeline platform's webhook route exists (plus
/// /webhooks/standard); any other path answers a JSON 404.
pub fn router(state: Arc<ReceiverState>) -> Router {
    let own_route = match state.platform {
        StorePlatform::Shopify => ("/webhooks/shopify", post(handlers::shopify)),
        StorePlatform::WooCommerce => ("/webhooks/woocommerce", post(handlers::woocommerce)),
        StorePlatform::Magento => ("/webhooks/magento", post(handlers::magento)),
    };
    Router::new()
        .route(own_route.0, own_route.1)
        .route("/webhooks/standard", post(handlers::standard))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Every request runs inside the pipeline's span and under the request deadline, so a slow
/// client or a stuck dependency cannot hold a connection (or a concurrency permit) forever.
async fn guard(State(state): State<Arc<ReceiverState>>, req: Request, next: Next) -> Response {
    let deadline = state.settings.request_timeout;
    let span = state.span.clone();
    match tokio::time::timeout(deadline, next.run(req))
        .instrument(span)
        .await
    {
        Ok(response) => response,
        Err(_) => {
            state.metrics.observe(
                "unknown",
                "unknown",
                Rejection::Timeout.code(),
                deadline.as_secs_f64(),
            );
            Rejection::Timeout.into_response()
        }
    }
}

async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

async fn readyz(State(state): State<Arc<ReceiverState>>) -> Response {
    match state.queue.ping().await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ready"}"#,
        )
            .into_response(),
        Err(err) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "redis_unreachable",
            &err.to_string(),
        ),
    }
}

async fn metrics(State(state): State<Arc<ReceiverState>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> Response {
    Rejection::NotFound.into_response()
}

/// Connection-level limits, enforced before any request handler runs.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; a connection beyond it is closed at once, so idle or
    /// slow clients cannot exhaust file descriptors.
    pub max_connections: usize,
    /// Longest time to receive a request's headers (slowloris protection); the request
    /// deadline only starts once headers are in.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting (the
/// listener is closed) and gives in-flight requests up to `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    limits: ConnectionLimits,
) -> Result<(), ReceiverError> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "shutting down: no new connections, finishing in-flight requests"
    );
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over with requests still in flight; stopping anyway");
    }
    Ok(())
}

/// `syncline receiver`: serve one pipeline until SIGTERM.
pub async fn run(config: PipelineConfig, settings: ReceiverSettings) -> Result<(), ReceiverError> {
    let state = ReceiverState::new(&config, settings.clone())?;
    let span = state.span.clone();
    async move {
        if let Err(err) = state.queue.ensure_group().await {
            // Not fatal: the enqueue script recreates the group, and /readyz reports Redis.
            tracing::warn!(error = %err, "Redis not reachable at start; will retry per request");
        }
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ReceiverError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let local = listener.local_addr().map_err(ReceiverError::Serve)?;
        tracing::info!(listen = %local, platform = state.platform.as_str(), "receiver listening");
        serve(
            listener,
            router(state),
            crate::shutdown::signal(),
            settings.shutdown_grace,
            settings.connections,
        )
        .await
    }
    .instrument(span)
    .await
}
