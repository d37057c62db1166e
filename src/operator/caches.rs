//! What the operator reads comes from its watches, not from a GET per reconcile.
//!
//! The controller's own reflectors keep the children it owns (Deployments, Services,
//! ConfigMaps, PodDisruptionBudgets, NetworkPolicies, selected by the managed-by label) and the metadata of
//! every Secret (no data: a cluster's Secrets are not held in memory). A Secret's data is
//! read once per resourceVersion, and only for Secrets a pipeline refers to. Until a store
//! has synced (the first moments after start), reads fall back to the API server.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::de::DeserializeOwned;

/// The reflector stores reconcile reads from.
#[derive(Clone)]
pub struct Caches {
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub config_maps: Store<ConfigMap>,
    pub pdbs: Store<PodDisruptionBudget>,
    pub network_policies: Store<NetworkPolicy>,
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// Data of referenced Secrets, by namespace/name, with the resourceVersion read.
    secret_data: Arc<Mutex<HashMap<String, (String, Secret)>>>,
}

/// A child kind the operator owns and keeps in a store.
pub trait Cached:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static
{
    fn store(caches: &Caches) -> &Store<Self>;

    /// Drops what reconcile never reads from the live object before it is stored. Whether
    /// to re-apply is decided by version (see apply), and status by a Deployment's counts
    /// and selector, so a pod template, a ConfigMap's rendered pipeline or a policy's rules
    /// would only cost memory: at thousands of pipelines, most of the operator's.
    fn slim(&mut self) {}
}

macro_rules! cached {
    ($kind:ty, $field:ident) => {
        impl Cached for $kind {
            fn store(caches: &Caches) -> &Store<Self> {
                &caches.$field
            }
        }
    };
    ($kind:ty, $field:ident, |$obj:ident| $slim:block) => {
        impl Cached for $kind {
            fn store(caches: &Caches) -> &Store<Self> {
                &caches.$field
            }

            fn slim(&mut self) {
                let $obj = self;
                $slim
            }
        }
    };
}
cached!(Deployment, deployments, |d| {
    // Kept: spec.replicas and spec.selector (the view, the pod listing), and status.
    if let Some(spec) = d.spec.as_mut() {
        spec.template = Default::default();
    }
});
cached!(Service, services);
cached!(ConfigMap, config_maps, |cm| {
    cm.data = None;
    cm.binary_data = None;
});
cached!(PodDisruptionBudget, pdbs);
cached!(NetworkPolicy, network_policies, |policy| {
    policy.spec = None;
});

/// Whether a store has received its first complete listing.
fn synced<K: Resource + Clone>(store: &Store<K>) -> bool
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
}

impl Caches {
    pub fn new(
        deployments: Store<Deployment>,
        services: Store<Service>,
        config_maps: Store<ConfigMap>,
        pdbs: Store<PodDisruptionBudget>,
        network_policies: Store<NetworkPolicy>,
        secrets: Store<PartialObjectMeta<Secret>>,
    ) -> Self {
        Self {
            deployments,
            services,
            config_maps,
            pdbs,
            network_policies,
            secrets,
            secret_data: Arc::default(),
        }
    }

    /// The child `ns/name` as last watched (from the API server until the store synced).
    pub async fn child<K>(
        &self,
        api: &Api<K>,
        ns: &str,
        name: &str,
    ) -> Result<Option<K>, kube::Error>
    where
        K: Cached + Resource<Scope = kube::core::NamespaceResourceScope>,
    {
        let store = K::store(self);
        if !synced(store) {
            return api.get_opt(name).await;
        }
        Ok(store
            .get(&ObjectRef::new(name).within(ns))
            .map(|k| K::clone(&k)))
    }

    /// The Secret `ns/name` with its data: read from the API server only when its
    /// resourceVersion differs from the one read last.
    pub async fn secret(
        &self,
        api: &Api<Secret>,
        ns: &str,
        name: &str,
    ) -> Result<Option<Secret>, kube::Error> {
        let key = format!("{ns}/{name}");
        if synced(&self.secrets) {
            let Some(meta) = self.secrets.get(&ObjectRef::new(name).within(ns)) else {
                self.forget_secret(&key);
                return Ok(None);
            };
            if let Some(secret) =
                self.cached_secret(&key, meta.metadata.resource_version.as_deref())
            {
                return Ok(Some(secret));
            }
        }
        let secret = api.get_opt(name).await?;
        match &secret {
            Some(s) => self.remember_secret(key, s),
            None => self.forget_secret(&key),
        }
        Ok(secret)
    }

    fn cached_secret(&self, key: &str, rv: Option<&str>) -> Option<Secret> {
        let data = self.secret_data.lock().unwrap_or_else(|e| e.into_inner());
        match (data.get(key), rv) {
            (Some((seen, secret)), Some(rv)) if seen == rv => Some(secret.clone()),
            _ => None,
        }
    }

    fn remember_secret(&self, key: String, secret: &Secret) {
        if let Some(rv) = secret.metadata.resource_version.clone() {
            self.secret_data
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, (rv, secret.clone()));
        }
    }

    fn forget_secret(&self, key: &str) {
        self.secret_data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}
