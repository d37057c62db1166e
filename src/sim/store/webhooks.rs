//! The simulated store's webhook emitter: every mutation becomes a signed delivery to the
//! configured receiver, with knobs that make it as unreliable as real stores are (dropped,
//! duplicated, reordered, delayed deliveries), so tests can prove the poller catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::sign::{Outgoing, SignedDelivery, Signer};

/// How unreliable delivery is. Fractions are 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookKnobs {
    /// The receiver's base URL (e.g. `http://127.0.0.1:8080`); none sends nothing.
    pub url: Option<String>,
    pub drop: f64,
    pub duplicate: f64,
    /// Held back and sent after the next delivery.
    pub reorder: f64,
    /// Sent `delay_ms` late.
    pub delay: f64,
    pub delay_ms: u64,
    /// Seed of the knobs' random draws, so a failing test can be replayed.
    pub seed: u64,
}

/// What happens to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Drop,
    Send {
        copies: u8,
        hold: bool,
        delay: Duration,
    },
}

/// Decides a delivery's fate from four uniform draws in 0..1. Pure.
pub fn fate(k: &WebhookKnobs, draws: [f64; 4]) -> Fate {
    if draws[0] < k.drop {
        return Fate::Drop;
    }
    Fate::Send {
        copies: if draws[1] < k.duplicate { 2 } else { 1 },
        hold: draws[2] < k.reorder,
        delay: if draws[3] < k.delay {
            Duration::from_millis(k.delay_ms)
        } else {
            Duration::ZERO
        },
    }
}

/// Counters of the emitter, shown by `/_sim/stats`.
#[derive(Debug, Default, Serialize)]
pub struct WebhookStats {
    pub queued: AtomicU64,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    /// Deliveries decided but not yet finished (sent, failed or dropped).
    pub pending: AtomicU64,
}

/// Handle of the emitter task.
#[derive(Debug, Clone)]
pub struct Emitter {
    tx: mpsc::UnboundedSender<(Outgoing, WebhookKnobs)>,
    pub stats: Arc<WebhookStats>,
}

impl Emitter {
    /// Starts the task; it ends when every handle is dropped.
    pub fn start(signer: Signer) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(WebhookStats::default());
        tokio::spawn(run(rx, signer, stats.clone()));
        Self { tx, stats }
    }

    /// Queues one delivery under `knobs` (ignored when `knobs.url` is unset).
    pub fn emit(&self, out: Outgoing, knobs: &WebhookKnobs) {
        if knobs.url.is_none() {
            return;
        }
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.stats.pending.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send((out, knobs.clone()));
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<(Outgoing, WebhookKnobs)>,
    signer: Signer,
    stats: Arc<WebhookStats>,
) {
    crate::tls::ensure_crypto_provider();
    let client = reqwest::Client::new();
    let mut rng: Option<fastrand::Rng> = None;
    let mut held: Option<(SignedDelivery, String)> = None;
    loop {
        // A held-back delivery waits for the next one, but not forever.
        let next = match held {
            Some(_) => tokio::time::timeout(Duration::from_millis(200), rx.recv()).await,
            None => Ok(rx.recv().await),
        };
        let (out, knobs) = match next {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(_) => {
                if let Some((d, url)) = held.take() {
                    send(&client, &url, d, Duration::ZERO, &stats);
                }
                continue;
            }
        };
        let rng = rng.get_or_insert_with(|| fastrand::Rng::with_seed(knobs.seed));
        let url = knobs.url.clone().unwrap_or_default();
        let delivery = signer.sign(&out);
        match fate(&knobs, [rng.f64(), rng.f64(), rng.f64(), rng.f64()]) {
            Fate::Drop => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                stats.pending.fetch_sub(1, Ordering::Relaxed);
            }
            Fate::Send {
                copies,
                hold,
                delay,
            } => {
                if copies > 1 {
                    stats.pending.fetch_add(1, Ordering::Relaxed);
                    send(&client, &url, delivery.clone(), delay, &stats);
                }
                let previous = held.take();
                if hold {
                    held = Some((delivery, url));
                } else {
                    send(&client, &url, delivery, delay, &stats);
                }
                if let Some((d, url)) = previous {
                    send(&client, &url, d, Duration::ZERO, &stats);
                }
            }
        }
    }
    if let Some((d, url)) = held.take() {
        send(&client, &url, d, Duration::ZERO, &stats);
    }
}

fn send(
    client: &reqwest::Client,
    base: &str,
    d: SignedDelivery,
    delay: Duration,
    stats: &Arc<WebhookStats>,
) {
    let request = d.request(client, base).timeout(Duration::from_secs(5));
    let stats = stats.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
        let counter = if ok { &stats.sent } else { &stats.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        stats.pending.fetch_sub(1, Ordering::Relaxed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_follow_the_knobs() {
        let k = WebhookKnobs {
            drop: 0.2,
            duplicate: 0.1,
            reorder: 0.1,
            delay: 0.5,
            delay_ms: 300,
            ..WebhookKnobs::default()
        };
        assert_eq!(fate(&k, [0.1, 0.9, 0.9, 0.9]), Fate::Drop);
        assert_eq!(
            fate(&k, [0.5, 0.05, 0.05, 0.4]),
            Fate::Send {
                copies: 2,
                hold: true,
                delay: Duration::from_millis(300)
            }
        );
        assert_eq!(
            fate(&WebhookKnobs::default(), [0.0, 0.0, 0.0, 0.0]),
            Fate::Send {
                copies: 1,
                hold: false,
                delay: Duration::ZERO
            }
        );
    }
}
