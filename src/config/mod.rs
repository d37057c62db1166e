//! Loading one pipeline's inputs the same way in a pod and on a laptop: a SyncPipeline
//! manifest, a Kubernetes Secret manifest, and `SYNCLINE_<KEY>` environment variables that
//! win over the file (see "One manifest everywhere" in docs/design.md).
//!
//! The parsing functions are pure (text and an environment list in, values out) so they can
//! be unit-tested without touching the file system or the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::api::SyncPipeline;

mod secret_key;

pub use secret_key::{Role, SecretKey};

/// Why a pipeline's inputs could not be loaded. Messages name files and keys, never values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{what} is not valid YAML: {source}")]
    Yaml {
        what: &'static str,
        source: serde_yaml::Error,
    },
    #[error("{what} holds no {kind} document")]
    MissingDocument {
        what: &'static str,
        kind: &'static str,
    },
    #[error("Secret key {key} is not valid base64 in data")]
    SecretEncoding { key: String },
    #[error("the SyncPipeline has no metadata.name")]
    MissingName,
    #[error("Secret key {key} is not UTF-8 text")]
    SecretText { key: String },
}

/// The values of a pipeline's Secret. Debug shows only which keys are present, so a stray
/// `{:?}` can never print a credential.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<String, String>);

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

impl SecretValues {
    /// A value by its Secret key; empty values count as absent because an unset env var
    /// rendered by a template is usually an empty string.
    pub fn get(&self, key: SecretKey) -> Option<&str> {
        self.value(key.name())
    }

    /// A value by its name in the manifest, known key or not.
    fn value(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Sets a value; used by tests and by callers that build secrets in code.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// The secrets that verify webhook signatures, newest first, so rotation works by adding
    /// the new one as webhookSecret and keeping the old one as webhookSecretPrevious.
    pub fn webhook_secrets(&self) -> Vec<String> {
        [SecretKey::WebhookSecret, SecretKey::WebhookSecretPrevious]
            .into_iter()
            .filter_map(|k| self.get(k).map(str::to_owned))
            .collect()
    }
}

/// A pipeline and its secrets, ready for a data-plane role.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub pipeline: SyncPipeline,
    pub secrets: SecretValues,
}

impl PipelineConfig {
    /// `<namespace or "default">/<name>`: how logs and metrics name the pipeline.
    pub fn qualified_name(&self) -> String {
        qualified_name(&self.pipeline)
    }

    /// The Redis URL: the Secret's redisUrl (which may carry a password) wins over
    /// spec.redis.url.
    pub fn redis_url(&self) -> String {
        self.secrets
            .get(SecretKey::RedisUrl)
            .map(str::to_owned)
            .unwrap_or_else(|| self.pipeline.spec.redis.url.clone())
    }

    /// Queue settings for this pipeline's Redis: the Secret's `redisCaCert` (PEM) is the CA
    /// a `rediss://` server is verified against, when it is not a public one.
    pub fn queue_settings(&self, deadline: std::time::Duration) -> crate::queue::QueueSettings {
        crate::queue::QueueSettings {
            deadline,
            tls_ca: self.secrets.get(SecretKey::RedisCaCert).map(str::to_owned),
            ..crate::queue::QueueSettings::default()
        }
    }
}

/// `<namespace or "default">/<name>` of a pipeline.
pub fn qualified_name(pipeline: &SyncPipeline) -> String {
    let ns = pipeline.metadata.namespace.as_deref().unwrap_or("default");
    let name = pipeline.metadata.name.as_deref().unwrap_or_default();
    format!("{ns}/{name}")
}

/// Reads the manifests from disk and merges the given environment (pass
/// `std::env::vars()` in a binary). Without `--secrets`, a Secret document in the pipeline
/// file itself is used, as the examples ship both in one file.
pub fn load(
    pipeline_path: &Path,
    secrets_path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<PipelineConfig, ConfigError> {
    let pipeline_text = read(pipeline_path)?;
    let pipeline = parse_pipeline(&pipeline_text)?;
    let mut secrets = match secrets_path {
        Some(path) => parse_secret(&read(path)?)?,
        None => match parse_secret(&pipeline_text) {
            Err(ConfigError::MissingDocument { .. }) => SecretValues::default(),
            other => other?,
        },
    };
    merge_env(&mut secrets, env);
    Ok(PipelineConfig { pipeline, secrets })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Each YAML document of a (possibly multi-document) manifest, skipping empty ones.
fn documents(text: &str, what: &'static str) -> Result<Vec<serde_yaml::Value>, ConfigError> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc)
            .map_err(|source| ConfigError::Yaml { what, source })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The first document of `kind` in a manifest, deserialized.
fn first_of_kind<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
    kind: &'static str,
) -> Result<T, ConfigError> {
    let doc = documents(text, what)?
        .into_iter()
        .find(|d| d.get("kind").and_then(serde_yaml::Value::as_str) == Some(kind))
        .ok_or(ConfigError::MissingDocument { what, kind })?;
    serde_yaml::from_value(doc).map_err(|source| ConfigError::Yaml { what, source })
}

/// The first SyncPipeline document of a manifest.
pub fn parse_pipeline(text: &str) -> Result<SyncPipeline, ConfigError> {
    let pipeline: SyncPipeline = first_of_kind(text, "the pipeline manifest", "SyncPipeline")?;
    if pipeline
        .metadata
        .name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return Err(ConfigError::MissingName);
    }
    Ok(pipeline)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretManifest {
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    string_data: BTreeMap<String, String>,
}

/// The first Secret document of a manifest; `stringData` wins over `data`, as the API
/// server merges them.
pub fn parse_secret(text: &str) -> Result<SecretValues, ConfigError> {
    let manifest: SecretManifest = first_of_kind(text, "the Secret manifest", "Secret")?;
    let mut values = BTreeMap::new();
    for (key, encoded) in manifest.data {
        let compact: String = encoded.split_whitespace().collect();
        let bytes = STANDARD
            .decode(compact)
            .map_err(|_| ConfigError::SecretEncoding { key: key.clone() })?;
        let text =
            String::from_utf8(bytes).map_err(|_| ConfigError::SecretText { key: key.clone() })?;
        values.insert(key, text);
    }
    values.extend(manifest.string_data);
    Ok(SecretValues(values))
}

/// Environment values for the known Secret keys replace the file's.
pub fn merge_env(secrets: &mut SecretValues, env: impl IntoIterator<Item = (String, String)>) {
    let env: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("SYNCLINE_"))
        .collect();
    for key in SecretKey::ALL {
        if let Some(value) = env.get(&key.env_var()) {
            secrets.insert(key.name(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "\
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {webhookSecret: from-pipeline-file}
---
apiVersion: syncline.dev/v1alpha1
kind: SyncPipeline
metadata: {name: acme, namespace: shops}
spec:
  store: {platform: woocommerce, url: https://a.example}
  crm: {platform: hubspot}
  secretRef: {name: s}
  redis: {url: redis://spec:6379}
";

    #[test]
    fn finds_the_pipeline_among_documents() {
        let p = parse_pipeline(PIPELINE).unwrap();
        assert_eq!(qualified_name(&p), "shops/acme");
        assert_eq!(p.spec.redis.url, "redis://spec:6379");
    }

    #[test]
    fn namespace_defaults_to_default() {
        let text = PIPELINE.replace(", namespace: shops", "");
        assert_eq!(
            qualified_name(&parse_pipeline(&text).unwrap()),
            "default/acme"
        );
    }

    #[test]
    fn pipeline_without_a_name_is_an_error() {
        let text = PIPELINE.replace("{name: acme, namespace: shops}", "{namespace: shops}");
        assert!(matches!(
            parse_pipeline(&text),
            Err(ConfigError::MissingName)
        ));
    }

    #[test]
    fn load_uses_the_pipeline_files_secret_and_reports_its_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, PIPELINE).unwrap();
        let cfg = load(&path, None, Vec::new()).unwrap();
        assert_eq!(
            cfg.secrets.get(SecretKey::WebhookSecret),
            Some("from-pipeline-file")
        );
        assert_eq!(cfg.qualified_name(), "shops/acme");
        let broken = PIPELINE.replace(
            "stringData: {webhookSecret: from-pipeline-file}",
            "data: {webhookSecret: '%%'}",
        );
        std::fs::write(&path, broken).unwrap();
        assert!(matches!(
            load(&path, None, Vec::new()),
            Err(ConfigError::SecretEncoding { .. })
        ));
        let missing = dir.path().join("absent.yaml");
        assert!(matches!(
            load(&missing, None, Vec::new()),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn missing_pipeline_is_an_error() {
        let err = parse_pipeline("kind: Secret\nmetadata: {name: s}\n").unwrap_err();
        assert!(matches!(err, ConfigError::MissingDocument { .. }), "{err}");
    }

    #[test]
    fn secret_data_is_base64_and_string_data_wins() {
        let text = "kind: Secret\ndata:\n  webhookSecret: b2xk\n  crmToken: dG9r\nstringData:\n  webhookSecret: new\n";
        let s = parse_secret(text).unwrap();
        assert_eq!(s.get(SecretKey::WebhookSecret), Some("new"));
        assert_eq!(s.get(SecretKey::CrmToken), Some("tok"));
    }

    #[test]
    fn bad_base64_names_the_key_not_the_value() {
        let err = parse_secret("kind: Secret\ndata: {redisUrl: '!!!notbase64'}\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("redisUrl") && !msg.contains("notbase64"),
            "{msg}"
        );
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(
            SecretKey::WebhookSecret.env_var(),
            "SYNCLINE_WEBHOOK_SECRET"
        );
        assert_eq!(
            SecretKey::WebhookSecretPrevious.env_var(),
            "SYNCLINE_WEBHOOK_SECRET_PREVIOUS"
        );
        assert_eq!(SecretKey::RedisUrl.env_var(), "SYNCLINE_REDIS_URL");
    }

    #[test]
    fn every_key_is_merged_from_its_env_var() {
        for key in SecretKey::ALL {
            let mut s = SecretValues::default();
            merge_env(&mut s, [(key.env_var(), "from-env".to_owned())]);
            assert_eq!(s.get(key), Some("from-env"), "{key}");
        }
    }

    #[test]
    fn env_wins_over_file_and_ignores_unknown_vars() {
        let mut s = parse_secret(PIPELINE).unwrap();
        merge_env(
            &mut s,
            [
                ("SYNCLINE_WEBHOOK_SECRET".to_owned(), "from-env".to_owned()),
                ("SYNCLINE_REDIS_URL".to_owned(), "redis://env:1".to_owned()),
                ("SYNCLINE_SOMETHING".to_owned(), "x".to_owned()),
                ("HOME".to_owned(), "/root".to_owned()),
            ],
        );
        assert_eq!(s.get(SecretKey::WebhookSecret), Some("from-env"));
        assert_eq!(s.get(SecretKey::RedisUrl), Some("redis://env:1"));
        assert_eq!(s.value("SOMETHING"), None);
    }

    #[test]
    fn redis_url_from_secret_overrides_spec() {
        let pipeline = parse_pipeline(PIPELINE).unwrap();
        let mut cfg = PipelineConfig {
            pipeline,
            secrets: SecretValues::default(),
        };
        assert_eq!(cfg.redis_url(), "redis://spec:6379");
        cfg.secrets.insert("redisUrl", "redis://:pw@secret:6379");
        assert_eq!(cfg.redis_url(), "redis://:pw@secret:6379");
    }

    #[test]
    fn webhook_secrets_newest_first_and_debug_redacts() {
        let mut s = SecretValues::default();
        s.insert("webhookSecretPrevious", "old-value");
        s.insert("webhookSecret", "new-value");
        assert_eq!(s.webhook_secrets(), vec!["new-value", "old-value"]);
        let debug = format!("{s:?}");
        assert!(!debug.contains("value"), "{debug}");
        assert!(debug.contains("webhookSecret"), "{debug}");
    }
}
