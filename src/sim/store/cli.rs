//! The flags of `syncline sim shopify|woocommerce|magento` (data, faults and webhook knobs
//! are set at run time through `/_sim/*`).

use std::net::SocketAddr;

use super::{SimError, StoreSimSettings, run};
use crate::model::StorePlatform;

/// Flags of the store simulators.
#[derive(clap::Args, Debug)]
pub struct StoreSimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,
    /// Shopify access token or Magento bearer token requests must carry.
    #[arg(long, env = "SYNCLINE_SIM_STORE_TOKEN", default_value = "store-token")]
    pub token: String,
    /// WooCommerce consumer key (OAuth 1.0a over http; HTTP Basic user behind --https).
    #[arg(long, default_value = "ck_test")]
    pub consumer_key: String,
    /// WooCommerce consumer secret (the OAuth signing key; HTTP Basic password behind --https).
    #[arg(long, env = "SYNCLINE_SIM_CONSUMER_SECRET", default_value = "cs_test")]
    pub consumer_secret: String,
    /// Secret webhooks are signed with (a whsec_… secret for Magento's Standard Webhooks).
    #[arg(
        long,
        env = "SYNCLINE_SIM_WEBHOOK_SECRET",
        default_value = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    )]
    pub webhook_secret: String,
    /// Shopify's leaky bucket size (standard plans 40, Plus 400).
    #[arg(long, default_value_t = 40)]
    pub bucket_size: u32,
    /// Shopify's bucket drain rate per second (standard plans 2, Plus 20).
    #[arg(long, default_value_t = 2.0)]
    pub leak_per_second: f64,
    /// WooCommerce: act as if behind a TLS-terminating proxy (requests count as HTTPS, so
    /// HTTP Basic is accepted as well as OAuth 1.0a).
    #[arg(long)]
    pub https: bool,
}

impl StoreSimArgs {
    /// The simulator settings these flags describe for `platform`.
    pub fn settings(self, platform: StorePlatform) -> StoreSimSettings {
        StoreSimSettings {
            token: self.token,
            consumer_key: self.consumer_key,
            consumer_secret: self.consumer_secret,
            webhook_secret: self.webhook_secret,
            bucket_size: self.bucket_size,
            leak_per_second: self.leak_per_second,
            https: self.https,
            ..StoreSimSettings::new(platform)
        }
    }

    /// Serves a `platform` simulator until SIGTERM or Ctrl-C.
    pub async fn run(self, platform: StorePlatform) -> Result<(), SimError> {
        let listen = self.listen;
        run(listen, self.settings(platform)).await
    }
}
