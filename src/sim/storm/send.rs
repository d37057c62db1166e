//! The sending side of a storm: each planned delivery recorded in the store simulator
//! first (as a real store commits before it sends the webhook), then signed exactly as the
//! platform signs it and sent with its copies, within the storm's concurrency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use super::StormArgs;
use super::plan::{Copy, Planned};
use super::summary::{Tally, record, record_stored};
use crate::model::ObjectKind;
use crate::sim::store::data::StoredObject;
use crate::sim::store::render::render;
use crate::sim::store::sign::{Outgoing, SignedDelivery, Signer};

impl StormArgs {
    /// Sends the plan on its schedule: each delivery recorded in the store first (with
    /// `--store`), then sent with its copies unless it is dropped.
    pub(super) async fn send(
        &self,
        deliveries: &[Planned],
        client: &reqwest::Client,
        tally: &Arc<Mutex<Tally>>,
        started: Instant,
    ) {
        let base = jiff::Timestamp::now();
        let run_id = self
            .run_id
            .clone()
            .unwrap_or_else(|| base.as_second().to_string());
        let signer = Signer {
            platform: self.platform,
            secret: self.secret.clone(),
            shop_domain: self.shop_domain.clone(),
            api_version: "2025-07".into(),
            source_url: format!("https://{}", self.shop_domain),
        };
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for d in deliveries {
            if started.elapsed() >= self.max_time {
                break;
            }
            tokio::time::sleep_until((started + d.at).into()).await;
            let object = stored_object(d, base);
            let order = (d.order_id, d.version);
            let put = self
                .store
                .as_ref()
                .map(|url| store_put(client, url, &object));
            let requests: Vec<_> = if d.dropped {
                crate::sim::lock(tally).summary.dropped += 1;
                Vec::new()
            } else {
                let signed = sign(&signer, &object, d.seq, &run_id);
                copies(d.copy)
                    .into_iter()
                    .map(|delay| (delay, signed.request(client, &self.target)))
                    .collect()
            };
            let (tally, slots) = (tally.clone(), slots.clone());
            tasks.spawn(async move {
                if let Some(put) = put {
                    record_stored(&tally, order, put.await);
                }
                let sends = requests.into_iter().map(|(delay, request)| {
                    let (tally, slots) = (tally.clone(), slots.clone());
                    async move {
                        tokio::time::sleep(delay).await;
                        let Ok(_slot) = slots.acquire_owned().await else {
                            return;
                        };
                        let sent = Instant::now();
                        let sent_at = crate::queue::unix_ms();
                        let answer = request.send().await.map(|r| r.status().as_u16());
                        record(&tally, order, answer.ok(), (sent_at, sent.elapsed()));
                    }
                });
                futures::future::join_all(sends).await;
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// When each copy of a delivery goes, from its planned moment.
fn copies(copy: Copy) -> Vec<Duration> {
    match copy {
        Copy::None => vec![Duration::ZERO],
        Copy::Concurrent => vec![Duration::ZERO, Duration::ZERO],
        Copy::Later => vec![Duration::ZERO, Duration::from_millis(500)],
    }
}

/// The order as the store holds it at a planned version. Versions are a second apart in
/// `updated_at` (store times have second precision), from the storm's start.
fn stored_object(d: &Planned, base: jiff::Timestamp) -> StoredObject {
    let updated_at = base
        .saturating_add(jiff::SignedDuration::from_secs(i64::from(d.version)))
        .unwrap_or(base);
    StoredObject {
        kind: ObjectKind::Orders,
        id: d.order_id,
        version: d.version,
        created_at: base,
        updated_at,
    }
}

/// One planned delivery as the platform would send it.
fn sign(signer: &Signer, object: &StoredObject, seq: u64, run_id: &str) -> SignedDelivery {
    signer.sign(&Outgoing {
        kind: ObjectKind::Orders,
        created: object.version == 1,
        object: render(signer.platform, object),
        delivery_id: format!("storm-{run_id}-{seq}"),
        at_unix: object.updated_at.as_second(),
    })
}

/// Records `object` in the store simulator; whether the store answered 2xx.
fn store_put(
    client: &reqwest::Client,
    url: &str,
    object: &StoredObject,
) -> impl std::future::Future<Output = bool> + Send + 'static {
    let request = client
        .put(format!("{}/_sim/objects/orders", url.trim_end_matches('/')))
        .json(&json!({"objects": [{
            "id": object.id,
            "version": object.version,
            "createdAt": object.created_at.to_string(),
            "updatedAt": object.updated_at.to_string(),
        }]}));
    async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_stored_as_it_is_signed() {
        let base: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let d = Planned {
            seq: 4,
            order_id: 12,
            version: 3,
            at: Duration::ZERO,
            copy: Copy::None,
            dropped: false,
        };
        let o = stored_object(&d, base);
        assert_eq!((o.id, o.version), (12, 3));
        assert_eq!(o.updated_at.to_string(), "2026-12-01T10:00:03Z");
        assert_eq!(copies(Copy::Concurrent), vec![Duration::ZERO; 2]);
    }
}
