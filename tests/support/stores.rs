//! The project's store simulators, served in-process on a free loopback port over real
//! HTTP; dropping the handle drops the stop sender, which ends the server.

use std::net::SocketAddr;
use std::sync::Arc;

use syncline::model::StorePlatform;
use syncline::sim::store::{StoreSim, StoreSimSettings};
use tokio::sync::oneshot;

pub struct StoreSimServer {
    pub addr: SocketAddr,
    pub sim: Arc<StoreSim>,
    _stop: oneshot::Sender<()>,
}

impl StoreSimServer {
    pub async fn start(settings: StoreSimSettings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (_stop, stopped) = oneshot::channel::<()>();
        let sim = StoreSim::new(settings);
        let shutdown = async move {
            let _ = stopped.await;
        };
        let addr = listener.local_addr().unwrap();
        tokio::spawn(syncline::sim::store::serve(listener, sim.clone(), shutdown));
        Self { addr, sim, _stop }
    }

    /// A simulator of `platform` with default credentials.
    pub async fn of(platform: StorePlatform) -> Self {
        Self::start(StoreSimSettings::new(platform)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
