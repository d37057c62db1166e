//! The CRM request budget shared by every worker pod of an account: one GCRA bucket in
//! Redis, on Redis' clock, so more workers never mean more requests per window.

use std::time::Duration;

use super::consume::script;
use super::{Queue, QueueError};

/// A budget of `requests` per `per` as GCRA parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBudget {
    /// Time between requests at the sustained rate.
    pub emission: Duration,
    /// Requests that may go back to back after an idle spell.
    pub burst: u32,
}

impl RateBudget {
    /// `requests` per `per`, with a burst of 2 % of the window's budget (at least 1), so
    /// a rolling window of length `per` never sees more than `requests`. 3 % of the budget
    /// (at least one request) is held back for network jitter: a request granted at the end
    /// of one window may reach the CRM a few milliseconds later than its peers.
    pub fn new(requests: u32, per: Duration) -> Self {
        let requests = requests.max(1);
        let requests = if requests > 1 {
            requests - (requests * 3 / 100).max(1)
        } else {
            requests
        };
        let burst = (requests / 50).max(1);
        // Spread the rest evenly so burst + refills within any window stays within budget.
        let spread = requests.saturating_sub(burst).max(1);
        Self {
            emission: per / spread,
            burst,
        }
    }
}

impl RateBudget {
    /// The budget a pipeline declares in `spec.crmRateLimit`.
    pub fn declared(limit: &crate::api::CrmRateLimit) -> Self {
        Self::new(
            u32::try_from(limit.requests).unwrap_or(1),
            Duration::from_secs(u64::try_from(limit.per_seconds).unwrap_or(1)),
        )
    }
}

/// The emission interval in fractional ms, as the script reads it.
fn emission_ms(budget: RateBudget) -> String {
    format!("{:.3}", (budget.emission.as_secs_f64() * 1000.0).max(0.001))
}

/// The account's pace key beside its bucket (same hash tag, so one script reads both).
fn pace_key(bucket: &str) -> String {
    format!("{bucket}:pace")
}

/// How long a published pace holds without a fresh observation: long enough to outlast
/// quiet spells, short enough that a raised limit is used within the hour.
pub const PACE_TTL: Duration = Duration::from_secs(3600);

/// The CRM limits a pipeline's workers saw stated, as kept in `QueueKeys::crm_limits`:
/// the operator compares them with `spec.crmRateLimit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatedLimits {
    /// Requests per interval (`X-HubSpot-RateLimit-Max`).
    pub max: Option<u64>,
    pub interval_ms: Option<u64>,
    pub daily: Option<u64>,
    pub daily_remaining: Option<u64>,
    /// When a worker last saw them (RFC 3339).
    pub observed_at: Option<String>,
}

impl StatedLimits {
    const FIELDS: [&'static str; 5] =
        ["max", "intervalMs", "daily", "dailyRemaining", "observedAt"];

    fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let values = [
            self.max.map(|v| v.to_string()),
            self.interval_ms.map(|v| v.to_string()),
            self.daily.map(|v| v.to_string()),
            self.daily_remaining.map(|v| v.to_string()),
            self.observed_at.clone(),
        ];
        Self::FIELDS
            .into_iter()
            .zip(values)
            .filter_map(|(k, v)| Some((k, v?)))
            .collect()
    }

    /// From the hash's fields (as HGETALL answers them); unknown or bad fields are ignored.
    pub fn from_hash(hash: &std::collections::BTreeMap<String, String>) -> Option<Self> {
        if hash.is_empty() {
            return None;
        }
        let num = |k: &str| hash.get(k).and_then(|v| v.parse().ok());
        Some(Self {
            max: num("max"),
            interval_ms: num("intervalMs"),
            daily: num("daily"),
            daily_remaining: num("dailyRemaining"),
            observed_at: hash.get("observedAt").cloned(),
        })
    }
}

impl Queue {
    /// Publishes the account's pace (slower than its declared budget) for every worker of
    /// the account, and records what the headers stated for this pipeline's status. A pace
    /// no slower than the declared budget removes the published one.
    pub async fn publish_crm_limits(
        &self,
        bucket: &str,
        declared: RateBudget,
        pace: RateBudget,
        stated: &StatedLimits,
    ) -> Result<(), QueueError> {
        let ttl = PACE_TTL.as_millis() as u64;
        let pace_cmd = if pace.emission > declared.emission {
            let mut cmd = redis::cmd("SET");
            cmd.arg(pace_key(bucket))
                .arg(format!("{} {}", emission_ms(pace), pace.burst.max(1)))
                .arg("PX")
                .arg(ttl);
            cmd
        } else {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(pace_key(bucket));
            cmd
        };
        let mut conn = self.conn.clone();
        let _: () = self.bounded(pace_cmd.query_async(&mut conn)).await?;
        let key = self.keys.crm_limits();
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("DEL").arg(&key).ignore();
        let pairs = stated.to_pairs();
        if !pairs.is_empty() {
            pipe.cmd("HSET").arg(&key).arg(pairs).ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(ttl).ignore();
        }
        let _: () = self.bounded(pipe.query_async(&mut conn)).await?;
        Ok(())
    }

    /// One GCRA step on the bucket `key`: `Ok(None)` when a request may go now, else how
    /// long to wait before asking again.
    pub async fn rate_take(
        &self,
        key: &str,
        budget: RateBudget,
    ) -> Result<Option<Duration>, QueueError> {
        let script = script(include_str!("lua/gcra.lua"));
        let mut invocation = script.key(key);
        invocation
            .key(pace_key(key))
            .arg(emission_ms(budget))
            .arg(budget.burst.max(1))
            .arg("take");
        let mut conn = self.conn.clone();
        let wait: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait as u64)))
    }

    /// Holds every worker of the account for `pause` (after a 429); the budget restarts
    /// without a burst.
    pub async fn rate_pause(
        &self,
        key: &str,
        budget: RateBudget,
        pause: Duration,
    ) -> Result<(), QueueError> {
        let script = script(include_str!("lua/gcra.lua"));
        let mut invocation = script.key(key);
        invocation
            .key(pace_key(key))
            .arg(emission_ms(budget))
            .arg(budget.burst.max(1))
            .arg("pause")
            .arg(pause.as_millis() as u64);
        let mut conn = self.conn.clone();
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_never_holds_more_than_the_budget() {
        for (requests, secs) in [(100u32, 10u64), (190, 10), (1, 1), (5, 1), (1000, 60)] {
            let per = Duration::from_secs(secs);
            let b = RateBudget::new(requests, per);
            // Worst case in one window [t, t + per): a full burst at t, then one request per
            // emission interval after it.
            let refills = (per.as_secs_f64() / b.emission.as_secs_f64()).ceil() as u32 - 1;
            assert!(
                b.burst + refills <= requests.max(1),
                "{requests}/{secs}s: burst {} + {refills}",
                b.burst
            );
            assert!(b.burst >= 1);
            // And close to it: the goal is at least 90 % of the budget.
            if requests >= 100 {
                assert!(f64::from(b.burst + refills) >= 0.9 * f64::from(requests));
                // The sustained rate too, which is what a busy queue sees.
                let sustained = per.as_secs_f64() / b.emission.as_secs_f64();
                assert!(
                    sustained >= 0.93 * f64::from(requests),
                    "{requests}: {sustained}"
                );
            }
        }
    }
}
