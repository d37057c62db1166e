//! The project's HubSpot simulator, served in-process on a free loopback port over real
//! HTTP, stopped on drop.

use std::net::SocketAddr;
use std::sync::Arc;

use syncline::sim::hubspot::{Sim, SimSettings};
use tokio::sync::oneshot;

pub const TOKEN: &str = "pat-na1-test-token";

pub struct HubspotSim {
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
}

impl HubspotSim {
    pub async fn start(settings: SimSettings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sim = Sim::new(settings);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = sim.clone();
        tokio::spawn(async move {
            let _ = syncline::sim::hubspot::serve(listener, served, async {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            addr,
            sim,
            stop: Some(stop),
        }
    }

    /// A simulator with the default token and `per_10s` requests per 10 seconds.
    pub async fn with_limit(per_10s: u32) -> Self {
        let mut settings = SimSettings::new(TOKEN);
        settings.limits.per_10s = per_10s;
        Self::start(settings).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for HubspotSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
