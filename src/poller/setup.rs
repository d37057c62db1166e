//! Building a pipeline's poller from its manifest and Secret, and starting it in a worker.

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;

use super::{Poller, PollerError, PollerMetrics, PollerSettings};
use crate::api::duration::parse_duration;
use crate::api::{PipelineState, SyncPipelineSpec};
use crate::config::{PipelineConfig, SecretKey};
use crate::connectors::store::rest::{ClientSettings, Credentials, Endpoint, StoreClient};
use crate::model::StorePlatform;
use crate::queue::{Queue, QueueKeys, QueueSettings};

/// The store REST client of a pipeline, from its spec and Secret.
pub fn store_client(config: &PipelineConfig) -> Result<StoreClient, PollerError> {
    let spec = &config.pipeline.spec;
    let store = &spec.store;
    let base =
        reqwest::Url::parse(&store.url).map_err(|_| PollerError::StoreUrl(store.url.clone()))?;
    let secret = |key: SecretKey| {
        config
            .secrets
            .get(key)
            .map(str::to_owned)
            .ok_or(PollerError::MissingCredential(key))
    };
    let credentials = match store.platform {
        StorePlatform::Shopify => Credentials::ShopifyToken(secret(SecretKey::StoreToken)?),
        StorePlatform::WooCommerce => Credentials::ConsumerKey {
            key: secret(SecretKey::StoreConsumerKey)?,
            secret: secret(SecretKey::StoreConsumerSecret)?,
        },
        StorePlatform::Magento => Credentials::Bearer(secret(SecretKey::StoreToken)?),
    };
    let endpoint = Endpoint {
        platform: store.platform,
        base,
        api_version: store
            .shopify
            .as_ref()
            .map_or_else(|| "2025-07".into(), |s| s.api_version.clone()),
        api_path: store.woocommerce.clone().unwrap_or_default().api_path,
        store_code: store
            .magento
            .as_ref()
            .map_or_else(|| "default".into(), |m| m.store_code.clone()),
        page_size: u32::MAX,
    };
    Ok(StoreClient::new(
        endpoint,
        credentials,
        ClientSettings::default(),
    )?)
}

/// Interval, lookback and backfill start from `spec.polling`.
pub fn settings(spec: &SyncPipelineSpec, holder: &str) -> Result<PollerSettings, PollerError> {
    let polling = &spec.polling;
    let backfill_since = polling
        .backfill_since
        .as_deref()
        .map(|t| {
            t.parse::<Timestamp>()
                .map_err(|_| PollerError::BackfillSince(t.to_string()))
        })
        .transpose()?;
    Ok(PollerSettings {
        interval: parse_duration(&polling.interval)?,
        lookback: parse_duration(&polling.lookback)?,
        backfill_since,
        lease_ttl: Duration::from_secs(30),
        holder: holder.to_string(),
    })
}

impl Poller {
    /// The poller of a pipeline, its metrics registered into `registry`.
    pub fn from_config(
        config: &PipelineConfig,
        holder: &str,
        registry: &prometheus::Registry,
    ) -> Result<Self, PollerError> {
        let name = config.qualified_name();
        let (ns, short) = name.split_once('/').unwrap_or(("default", name.as_str()));
        let queue = Queue::new(
            &config.redis_url(),
            QueueKeys::new(ns, short),
            config.queue_settings(QueueSettings::default().deadline),
        )?;
        let metrics = PollerMetrics::new(registry)?;
        let spec = &config.pipeline.spec;
        Ok(Self::new(
            store_client(config)?,
            queue,
            &spec.objects,
            settings(spec, holder)?,
            metrics,
            &name,
        ))
    }
}

/// Starts the poller of a worker pod unless the pipeline is paused; a poller that cannot
/// be built (missing store credentials) is logged, and the worker keeps consuming webhooks.
pub fn spawn_for_worker(
    config: &PipelineConfig,
    holder: &str,
    registry: &prometheus::Registry,
    stopped: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if config.pipeline.spec.state == PipelineState::Paused {
        return None;
    }
    match Poller::from_config(config, holder, registry) {
        Ok(poller) => Some(tokio::spawn(poller.run(stopped))),
        Err(e) => {
            tracing::error!(pipeline = %config.qualified_name(), error = %e, "poller not started");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::examples;
    use crate::config::{Role, SecretValues};

    /// The store credentials the operator demands for a worker are the ones the poller
    /// authenticates with: with exactly those the client builds, and each one missing is
    /// named.
    #[test]
    fn the_poller_needs_what_the_worker_is_given() {
        for file in examples::FILES {
            let pipeline = examples::pipeline(file);
            let required: Vec<SecretKey> = SecretKey::read_by_role(Role::Worker, &pipeline.spec)
                .into_iter()
                .filter(|k| k.required_by(Role::Worker, &pipeline.spec))
                .collect();
            let config = |without: Option<SecretKey>| {
                let mut secrets = SecretValues::default();
                for key in required.iter().filter(|k| Some(**k) != without) {
                    secrets.insert(key.name(), "v");
                }
                PipelineConfig {
                    pipeline: pipeline.clone(),
                    secrets,
                }
            };
            assert!(store_client(&config(None)).is_ok(), "{file}");
            for key in SecretKey::store_credentials(pipeline.spec.store.platform) {
                assert!(required.contains(key), "{file}: {key}");
                assert!(
                    matches!(
                        store_client(&config(Some(*key))),
                        Err(PollerError::MissingCredential(k)) if k == *key
                    ),
                    "{file}: {key}"
                );
            }
        }
    }
}
