//! `syncline sim hubspot`: a simulator of the HubSpot CRM API subset syncline uses (see
//! `docs/api-contracts.md`, HubSpot section), served over real HTTP for tests, demos and
//! benchmarks. Bearer auth, batch upsert with unique-property semantics, search,
//! properties and groups, v4 default associations, the rolling 10-second and daily limits
//! with HubSpot's 429 body and headers, fault injection, and `/_sim/*` inspection and admin
//! endpoints (no auth; test-only).

mod gate;
mod http;
pub mod limits;
pub mod store;
pub mod types;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use super::lock;

pub use http::router;
pub use limits::{FaultConfig, LimitConfig};

/// Settings of one simulator.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// The bearer token requests must carry.
    pub token: String,
    pub limits: LimitConfig,
    pub faults: FaultConfig,
    /// Send `Retry-After` (seconds until a slot frees) on rate-limit 429s. HubSpot does not
    /// document one, so it is off by default.
    pub retry_after_on_429: bool,
}

impl SimSettings {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            limits: LimitConfig::default(),
            faults: FaultConfig::default(),
            retry_after_on_429: false,
        }
    }
}

/// Counters shown by `GET /_sim/stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub unauthorized: AtomicU64,
    pub rate_limited: AtomicU64,
    pub forced_429: AtomicU64,
    pub server_errors: AtomicU64,
    pub outage_rejections: AtomicU64,
    pub upsert_calls: AtomicU64,
}

/// Snapshot of the counters and the store, as JSON (`GET /_sim/stats`; tools read it back).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub requests: u64,
    pub unauthorized: u64,
    /// 429s from the real limits (TEN_SECONDLY_ROLLING, DAILY, SECONDLY).
    pub rate_limited: u64,
    /// 429s injected by a forced burst.
    pub forced_429: u64,
    pub server_errors: u64,
    pub outage_rejections: u64,
    pub upsert_calls: u64,
    /// Upsert inputs applied (one per written object version).
    pub writes: u64,
    pub objects: std::collections::BTreeMap<String, usize>,
    pub duplicates: Vec<store::Duplicate>,
    /// The distinct `User-Agent` headers of API requests (`-` for none).
    pub user_agents: Vec<String>,
}

impl Stats {
    /// Every 429 answered: the simulated limits' and the injected bursts' together, which
    /// is what a client saw.
    pub fn answered_429(&self) -> u64 {
        self.rate_limited + self.forced_429
    }
}

/// The shared state of a running simulator.
#[derive(Debug)]
pub struct Sim {
    settings: SimSettings,
    store: Mutex<store::Store>,
    limiter: Mutex<limits::RateLimiter>,
    faults: Mutex<limits::Faults>,
    counters: Counters,
    /// The distinct `User-Agent`s seen (a handful at most; capped).
    user_agents: Mutex<std::collections::BTreeSet<String>>,
}

impl Sim {
    pub fn new(settings: SimSettings) -> Arc<Self> {
        let mut faults = limits::Faults::default();
        faults.configure(settings.faults.clone(), Instant::now());
        Arc::new(Self {
            store: Mutex::new(store::Store::new()),
            limiter: Mutex::new(limits::RateLimiter::new(settings.limits)),
            faults: Mutex::new(faults),
            counters: Counters::default(),
            user_agents: Mutex::default(),
            settings,
        })
    }

    pub fn store(&self) -> MutexGuard<'_, store::Store> {
        lock(&self.store)
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let store = self.store();
        Stats {
            requests: get(&c.requests),
            unauthorized: get(&c.unauthorized),
            rate_limited: get(&c.rate_limited),
            forced_429: get(&c.forced_429),
            server_errors: get(&c.server_errors),
            outage_rejections: get(&c.outage_rejections),
            upsert_calls: get(&c.upsert_calls),
            writes: store.writes().len() as u64,
            objects: store
                .counts()
                .into_iter()
                .map(|(t, n)| (t.as_str().to_string(), n))
                .collect(),
            duplicates: store.duplicates(),
            user_agents: lock(&self.user_agents).iter().cloned().collect(),
        }
    }

    /// Notes a request's `User-Agent` (or `-` without one).
    pub(crate) fn saw_user_agent(&self, agent: Option<&str>) {
        let mut seen = lock(&self.user_agents);
        if seen.len() < 16 {
            seen.insert(agent.unwrap_or("-").to_owned());
        }
    }

    /// Replaces the fault settings, starting any outage now.
    pub fn set_faults(&self, config: FaultConfig) {
        lock(&self.faults).configure(config, Instant::now());
    }

    /// Forgets every object, property, association and counter (limits keep their window).
    pub fn reset(&self) {
        *self.store() = store::Store::new();
        let c = &self.counters;
        for a in [
            &c.requests,
            &c.unauthorized,
            &c.rate_limited,
            &c.forced_429,
            &c.server_errors,
            &c.outage_rejections,
            &c.upsert_calls,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// Why the simulator stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

/// Serves `sim` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    sim: Arc<Sim>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    axum::serve(listener, router(sim))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(SimError::Serve)
}

/// `syncline sim hubspot`: binds `addr` and serves until SIGTERM or Ctrl-C.
pub async fn run(addr: SocketAddr, settings: SimSettings) -> Result<(), SimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(SimError::Serve)?;
    tracing::info!(
        listen = %local,
        per_10s = settings.limits.per_10s,
        "HubSpot simulator listening"
    );
    serve(listener, Sim::new(settings), crate::shutdown::signal()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_read_back_from_json_and_count_every_429() {
        let sim = Sim::new(SimSettings::new("t"));
        sim.counters.rate_limited.store(3, Ordering::Relaxed);
        sim.counters.forced_429.store(2, Ordering::Relaxed);
        let stats = sim.stats();
        let back: Stats = serde_json::from_value(serde_json::to_value(&stats).unwrap()).unwrap();
        assert_eq!(back, stats);
        assert_eq!(back.answered_429(), 5);
    }
}
