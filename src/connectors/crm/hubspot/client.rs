//! The HubSpot API client: idempotent property bootstrap, batch upsert with per-input
//! failures (207), v4 default associations; every failure classified by `errors::classify`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{CrmError, classify};
use super::limits::RateHeaders;
use super::mapping::{GROUP, HubspotObject, PropertySpec, Upsert};

/// Most inputs HubSpot takes in one batch call.
pub const MAX_BATCH: usize = 100;

/// A HubSpot API client for one account. The token is never printed.
#[derive(Clone)]
pub struct HubspotClient {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The rate-limit headers of the newest answer that carried any.
    stated: Arc<Mutex<Option<RateHeaders>>>,
}

impl std::fmt::Debug for HubspotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubspotClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// An input HubSpot refused in a batch (207), by its unique key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFailure {
    pub key: String,
    pub category: String,
    pub message: String,
}

/// What a batch upsert did: HubSpot ids by unique key, and the refused inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub ids: BTreeMap<String, String>,
    pub failures: Vec<InputFailure>,
}

#[derive(Debug, Deserialize)]
struct BatchResponse {
    #[serde(default)]
    results: Vec<ResultItem>,
    #[serde(default)]
    errors: Vec<BatchError>,
}

/// A batch answer whose results are not needed (associations): only the errors.
#[derive(Debug, Deserialize)]
struct ErrorsOnly {
    #[serde(default)]
    errors: Vec<BatchError>,
}

#[derive(Debug, Deserialize)]
struct ResultItem {
    id: String,
    #[serde(default)]
    properties: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Deserialize)]
struct BatchError {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    context: BTreeMap<String, Vec<String>>,
    /// Details such as `Property "x" does not exist`.
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

impl BatchError {
    /// HubSpot's message with its details, e.g. `Property values were not valid: Email
    /// address x is invalid`.
    fn full_message(&self) -> String {
        let mut text = self.message.clone().unwrap_or_default();
        let details: Vec<&str> = self
            .errors
            .iter()
            .filter_map(|d| d.message.as_deref())
            .collect();
        if !details.is_empty() {
            text = format!("{text}: {}", details.join("; "));
        }
        text
    }
}

impl HubspotClient {
    /// A client for `base` (e.g. `https://api.hubapi.com`) with a per-request `timeout`.
    pub fn new(
        base: impl Into<String>,
        token: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, CrmError> {
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| CrmError::Connection(e.to_string()))?;
        Ok(Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            token: token.into(),
            stated: Arc::default(),
        })
    }

    /// The account's limits as HubSpot's newest answer stated them, if any did.
    pub fn stated_limits(&self) -> Option<RateHeaders> {
        *self.stated.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one request; a non-2xx answer becomes a classified `CrmError`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Vec<u8>), CrmError> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    CrmError::Timeout
                } else {
                    CrmError::Connection(without_url(&e))
                }
            })?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after");
        let interval = header("x-hubspot-ratelimit-interval-milliseconds");
        let stated =
            RateHeaders::parse(|name| response.headers().get(name).and_then(|v| v.to_str().ok()));
        if !stated.is_empty() {
            *self.stated.lock().unwrap_or_else(|e| e.into_inner()) = Some(stated);
        }
        let bytes = response.bytes().await.map_err(|e| {
            if e.is_timeout() {
                CrmError::Timeout
            } else {
                CrmError::Connection(without_url(&e))
            }
        })?;
        if status.is_success() {
            Ok((status, bytes.to_vec()))
        } else {
            Err(classify(
                status.as_u16(),
                retry_after.as_deref(),
                interval.as_deref(),
                &bytes,
            ))
        }
    }

    /// Creates syncline's property group on one object type; an existing one (409) is fine.
    pub async fn create_group(&self, object: HubspotObject) -> Result<(), CrmError> {
        let body = json!({"name": GROUP, "label": "syncline", "displayOrder": -1});
        let path = format!("/crm/v3/properties/{}/groups", object.path());
        ok_if_exists(self.send(Method::POST, &path, &body).await)
    }

    /// Creates one custom property; an existing one (409) is fine, so start-up can always
    /// call this.
    pub async fn create_property(&self, spec: &PropertySpec) -> Result<(), CrmError> {
        let body = json!({
            "name": spec.name, "label": spec.label, "type": "string",
            "fieldType": "text", "groupName": GROUP, "hasUniqueValue": spec.unique,
        });
        let path = format!("/crm/v3/properties/{}", spec.object.path());
        ok_if_exists(self.send(Method::POST, &path, &body).await)
    }

    /// Creates syncline's property group on each object type and the custom properties;
    /// existing ones (409) are fine, so this is safe on every start.
    pub async fn bootstrap(&self, specs: &[PropertySpec]) -> Result<(), CrmError> {
        for step in bootstrap_steps(specs) {
            self.bootstrap_step(&step).await?;
        }
        Ok(())
    }

    /// One request of the bootstrap (callers that pace requests run the steps one by one).
    pub async fn bootstrap_step(&self, step: &BootstrapStep) -> Result<(), CrmError> {
        match step {
            BootstrapStep::Group(object) => self.create_group(*object).await,
            BootstrapStep::Property(spec) => self.create_property(spec).await,
        }
    }

    /// One `batch/upsert` of inputs of one object type (at most [`MAX_BATCH`], keys unique).
    pub async fn batch_upsert(
        &self,
        object: HubspotObject,
        inputs: &[Upsert],
    ) -> Result<UpsertOutcome, CrmError> {
        if inputs.len() > MAX_BATCH {
            return Err(CrmError::BatchTooLarge(inputs.len()));
        }
        if inputs.is_empty() {
            return Ok(UpsertOutcome::default());
        }
        let id_property = object.id_property();
        let body = json!({"inputs": inputs.iter().map(|u| json!({
            "idProperty": id_property, "id": u.key, "properties": u.properties,
        })).collect::<Vec<_>>()});
        let path = format!("/crm/v3/objects/{}/batch/upsert", object.path());
        let (_, bytes) = self.send(Method::POST, &path, &body).await?;
        let response: BatchResponse =
            serde_json::from_slice(&bytes).map_err(|e| CrmError::Decode(e.to_string()))?;
        let mut outcome = UpsertOutcome::default();
        for item in response.results {
            if let Some(Some(key)) = item.properties.get(id_property) {
                outcome.ids.insert(key.clone(), item.id);
            }
        }
        for error in response.errors {
            for key in error.context.get("id").into_iter().flatten() {
                outcome.failures.push(InputFailure {
                    key: key.clone(),
                    category: error.category.clone().unwrap_or_else(|| "UNKNOWN".into()),
                    message: error.full_message(),
                });
            }
        }
        // Inputs neither answered nor refused would be silently lost: call them failed.
        for input in inputs {
            let answered = outcome.ids.contains_key(&input.key)
                || outcome.failures.iter().any(|f| f.key == input.key);
            if !answered {
                outcome.failures.push(InputFailure {
                    key: input.key.clone(),
                    category: "MISSING_RESULT".into(),
                    message: "HubSpot returned no result for this input".into(),
                });
            }
        }
        Ok(outcome)
    }

    /// HubSpot ids of objects of `object` by their unique keys (`batch/read` by the type's
    /// id property, at most [`MAX_BATCH`]); keys HubSpot does not have are left out.
    pub async fn ids_by_key(
        &self,
        object: HubspotObject,
        keys: &[String],
    ) -> Result<BTreeMap<String, String>, CrmError> {
        if keys.len() > MAX_BATCH {
            return Err(CrmError::BatchTooLarge(keys.len()));
        }
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let id_property = object.id_property();
        let body = json!({
            "idProperty": id_property,
            "properties": [id_property],
            "inputs": keys.iter().map(|k| json!({"id": k})).collect::<Vec<_>>(),
        });
        let path = format!("/crm/v3/objects/{}/batch/read", object.path());
        let (_, bytes) = self.send(Method::POST, &path, &body).await?;
        let response: BatchResponse =
            serde_json::from_slice(&bytes).map_err(|e| CrmError::Decode(e.to_string()))?;
        Ok(response
            .results
            .into_iter()
            .filter_map(|item| Some((item.properties.get(id_property)?.clone()?, item.id)))
            .collect())
    }

    /// Default (unlabelled) associations `from` → `to` by HubSpot ids; returns the pairs
    /// HubSpot refused (207), as (from id, to id).
    pub async fn associate(
        &self,
        from: HubspotObject,
        to: HubspotObject,
        pairs: &[(String, String)],
    ) -> Result<Vec<(String, String)>, CrmError> {
        if pairs.len() > MAX_BATCH {
            return Err(CrmError::BatchTooLarge(pairs.len()));
        }
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({"inputs": pairs.iter().map(|(f, t)| json!({
            "from": {"id": f}, "to": {"id": t},
        })).collect::<Vec<_>>()});
        let path = format!(
            "/crm/v4/associations/{}/{}/batch/associate/default",
            from.path(),
            to.path()
        );
        let (_, bytes) = self.send(Method::POST, &path, &body).await?;
        let response: ErrorsOnly =
            serde_json::from_slice(&bytes).map_err(|e| CrmError::Decode(e.to_string()))?;
        let refused = response
            .errors
            .iter()
            .filter_map(|e| {
                let from = e.context.get("fromObjectId")?.first()?;
                let to = e.context.get("toObjectId")?.first()?;
                Some((from.clone(), to.clone()))
            })
            .collect();
        Ok(refused)
    }
}

/// One request of the schema bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapStep {
    Group(HubspotObject),
    Property(PropertySpec),
}

/// The bootstrap's requests in order: the property group of each object type the specs
/// touch (properties need their group), then the properties.
pub fn bootstrap_steps(specs: &[PropertySpec]) -> Vec<BootstrapStep> {
    let objects: BTreeSet<HubspotObject> = specs.iter().map(|s| s.object).collect();
    objects
        .into_iter()
        .map(BootstrapStep::Group)
        .chain(specs.iter().cloned().map(BootstrapStep::Property))
        .collect()
}

/// A 409 CONFLICT on create means it already exists: success for a bootstrap.
fn ok_if_exists(result: Result<(StatusCode, Vec<u8>), CrmError>) -> Result<(), CrmError> {
    match result {
        Ok(_) => Ok(()),
        Err(CrmError::Rejected { status: 409, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A reqwest error's text without its URL (kept short and free of query strings).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}
