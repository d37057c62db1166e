//! Per-object watermarks with short-lived write locks: a worker claims the objects of a
//! batch, writes the claimed ones to the CRM, then commits (watermark advances) or releases
//! them. An older version, or the same content again, is never written (guarantee 3), and
//! two workers never write one object at the same time.

use std::time::Duration;

use super::consume::script;
use super::{Queue, QueueError};

/// One object version a worker wants to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// e.g. `orders:820982911946154508`.
    pub object_key: String,
    /// The object's `updated_at`, Unix ms.
    pub version: i64,
    /// A digest of what would be written, so the same version with other content (two
    /// edits within one timestamp tick) is still written, and the same content is not.
    pub digest: String,
}

/// What claiming one object answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Locked for this worker: write it, then commit or release.
    Claimed,
    /// Older than the watermark, or this content was written already: drop it.
    Stale,
    /// Another worker is writing this object now: try again shortly.
    Busy,
}

impl Queue {
    fn watermark_invocation<'a>(
        &self,
        script: &'a redis::Script,
        claims: &[Claim],
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        for claim in claims {
            invocation
                .key(self.keys.watermark(&claim.object_key))
                .key(self.keys.object_lock(&claim.object_key));
        }
        invocation
    }

    fn push_versions(invocation: &mut redis::ScriptInvocation<'_>, claims: &[Claim]) {
        for claim in claims {
            invocation.arg(claim.version).arg(&claim.digest);
        }
    }

    /// Claims `claims` for the worker `token`; locks last `lock_ttl` unless committed or
    /// released first (a crashed worker's locks expire).
    pub async fn claim_objects(
        &self,
        token: &str,
        lock_ttl: Duration,
        claims: &[Claim],
    ) -> Result<Vec<ClaimOutcome>, QueueError> {
        let codes = self
            .lock_script(include_str!("lua/claim.lua"), token, lock_ttl, claims)
            .await?;
        Ok(codes
            .into_iter()
            .map(|code| match code {
                1 => ClaimOutcome::Claimed,
                2 => ClaimOutcome::Busy,
                _ => ClaimOutcome::Stale,
            })
            .collect())
    }

    /// Renews the locks of `claims` right before another CRM call on their behalf; answers
    /// per claim whether it is still held. A lock lapses while a batch waits (for budget,
    /// after a 429) longer than its ttl; once another worker took the object over, this
    /// worker's version may be the older one, so it must not be sent.
    pub async fn renew_objects(
        &self,
        token: &str,
        lock_ttl: Duration,
        claims: &[Claim],
    ) -> Result<Vec<bool>, QueueError> {
        let codes = self
            .lock_script(include_str!("lua/renew.lua"), token, lock_ttl, claims)
            .await?;
        Ok(codes.into_iter().map(|code| code == 1).collect())
    }

    /// Runs a script taking (token, ttl) and one (version, digest) pair per claim, which
    /// answers one code per claim.
    async fn lock_script(
        &self,
        source: &'static str,
        token: &str,
        lock_ttl: Duration,
        claims: &[Claim],
    ) -> Result<Vec<i64>, QueueError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let script = script(source);
        let mut invocation = self.watermark_invocation(&script, claims);
        invocation.arg(token).arg(lock_ttl.as_millis() as u64);
        Self::push_versions(&mut invocation, claims);
        let mut conn = self.conn.clone();
        let codes: Vec<i64> = self.bounded(invocation.invoke_async(&mut conn)).await?;
        if codes.len() != claims.len() {
            return Err(QueueError::UnexpectedReply);
        }
        Ok(codes)
    }

    /// After a successful write: advances the watermarks and releases the locks.
    pub async fn commit_objects(&self, token: &str, claims: &[Claim]) -> Result<(), QueueError> {
        self.finish(token, "commit", claims).await
    }

    /// After a failed write: releases the locks, watermarks unchanged.
    pub async fn release_objects(&self, token: &str, claims: &[Claim]) -> Result<(), QueueError> {
        self.finish(token, "release", claims).await
    }

    async fn finish(&self, token: &str, mode: &str, claims: &[Claim]) -> Result<(), QueueError> {
        if claims.is_empty() {
            return Ok(());
        }
        let script = script(include_str!("lua/commit.lua"));
        let mut invocation = self.watermark_invocation(&script, claims);
        invocation.arg(token).arg(mode);
        Self::push_versions(&mut invocation, claims);
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }
}
