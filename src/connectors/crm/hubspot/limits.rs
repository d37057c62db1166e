//! HubSpot's own word on the account's limits, from the `X-HubSpot-RateLimit-*` headers
//! every API answer carries (search excepted), and the pace that follows from it. Pure.
//!
//! A pipeline declares `spec.crmRateLimit`, but the account's real limit depends on its
//! tier and on other apps sharing it; when the headers state less, the declared figure
//! would run into a 429 every window. The pace is the slowest of the declared limit, the
//! stated one, and — once the day's remainder runs low — what is left of the day spread
//! over the hours until the daily reset.

use std::time::Duration;

use jiff::Timestamp;

use crate::queue::RateBudget;

/// Below this share of the daily limit left, the remainder is spread over the rest of the
/// day instead of being spent at the burst rate into a `DAILY` 429.
pub const DAILY_LOW_SHARE: f64 = 0.10;

/// The rate-limit headers of one answer; each is optional (HubSpot omits them on search).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-HubSpot-RateLimit-Max`: requests per interval.
    pub max: Option<u32>,
    /// `X-HubSpot-RateLimit-Interval-Milliseconds`.
    pub interval_ms: Option<u64>,
    /// `X-HubSpot-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `X-HubSpot-RateLimit-Daily`.
    pub daily: Option<u64>,
    /// `X-HubSpot-RateLimit-Daily-Remaining`.
    pub daily_remaining: Option<u64>,
}

impl RateHeaders {
    /// Reads the headers through `get` (a case-insensitive lookup of one header's text).
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        fn num<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
            text.and_then(|t| t.trim().parse().ok())
        }
        Self {
            max: num(get("x-hubspot-ratelimit-max")),
            interval_ms: num::<u64>(get("x-hubspot-ratelimit-interval-milliseconds"))
                .filter(|ms| *ms > 0),
            remaining: num(get("x-hubspot-ratelimit-remaining")),
            daily: num(get("x-hubspot-ratelimit-daily")),
            daily_remaining: num(get("x-hubspot-ratelimit-daily-remaining")),
        }
    }

    /// Whether the answer stated any limit at all.
    pub fn is_empty(&self) -> bool {
        self.max.is_none() && self.daily.is_none()
    }

    /// The stated per-interval limit as (requests, interval).
    pub fn interval_limit(&self) -> Option<(u32, Duration)> {
        Some((self.max?, Duration::from_millis(self.interval_ms?)))
    }
}

impl From<&crate::queue::StatedLimits> for RateHeaders {
    /// The headers as workers recorded them for the operator (no per-window remainder).
    fn from(s: &crate::queue::StatedLimits) -> Self {
        Self {
            max: s.max.and_then(|m| u32::try_from(m).ok()),
            interval_ms: s.interval_ms.filter(|ms| *ms > 0),
            remaining: None,
            daily: s.daily,
            daily_remaining: s.daily_remaining,
        }
    }
}

/// Requests per second of a budget, for comparing limits stated over different windows.
pub fn per_second(requests: u32, per: Duration) -> f64 {
    f64::from(requests) / per.as_secs_f64().max(0.001)
}

/// Time left until the next daily reset. HubSpot resets daily limits at midnight; the
/// account's time zone is not in the headers, so UTC midnight is taken.
fn until_daily_reset(now: Timestamp) -> Duration {
    const DAY: i64 = 86_400;
    let secs = now.as_second().rem_euclid(DAY);
    Duration::from_secs(u64::try_from(DAY - secs).unwrap_or(1).max(1))
}

/// The pace the workers of the account keep: the slowest of `declared`, the stated
/// interval limit, and the daily remainder spread over the day when it runs low.
pub fn pace(declared: RateBudget, stated: &RateHeaders, now: Timestamp) -> RateBudget {
    let mut pace = declared;
    if let Some((max, interval)) = stated.interval_limit() {
        let observed = RateBudget::new(max, interval);
        if observed.emission > pace.emission {
            pace = observed;
        }
    }
    if let (Some(daily), Some(left)) = (stated.daily, stated.daily_remaining) {
        let low = (daily as f64 * DAILY_LOW_SHARE) as u64;
        if daily > 0 && left <= low {
            let emission = until_daily_reset(now) / u32::try_from(left.max(1)).unwrap_or(u32::MAX);
            if emission > pace.emission {
                pace = RateBudget { emission, burst: 1 };
            }
        }
    }
    pace
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> RateHeaders {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RateHeaders::parse(|name| map.get(name).map(String::as_str))
    }

    #[test]
    fn parses_every_header_and_ignores_junk() {
        let h = headers(&[
            ("x-hubspot-ratelimit-max", "60"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-remaining", "59"),
            ("x-hubspot-ratelimit-daily", "250000"),
            ("x-hubspot-ratelimit-daily-remaining", "249000"),
        ]);
        assert_eq!(h.interval_limit(), Some((60, Duration::from_secs(10))));
        assert_eq!(h.remaining, Some(59));
        assert_eq!(h.daily_remaining, Some(249_000));
        let junk = headers(&[
            ("x-hubspot-ratelimit-max", "lots"),
            ("x-hubspot-ratelimit-interval-milliseconds", "0"),
        ]);
        assert_eq!(junk, RateHeaders::default());
        assert!(junk.is_empty());
    }

    #[test]
    fn pace_is_the_slowest_of_declared_stated_and_daily() {
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let declared = RateBudget::new(100, Duration::from_secs(10));
        let stated = |max: &str, daily: &str, left: &str| {
            headers(&[
                ("x-hubspot-ratelimit-max", max),
                ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
                ("x-hubspot-ratelimit-daily", daily),
                ("x-hubspot-ratelimit-daily-remaining", left),
            ])
        };
        let cases = [
            // (stated max, daily, daily left, expected pace)
            (
                "60",
                "250000",
                "200000",
                RateBudget::new(60, Duration::from_secs(10)),
            ),
            ("190", "250000", "200000", declared),
            ("100", "250000", "200000", declared),
            // 12 h to the reset, 4,320 left: one request every 10 s.
            (
                "100",
                "250000",
                "4320",
                RateBudget {
                    emission: Duration::from_secs(10),
                    burst: 1,
                },
            ),
        ];
        for (max, daily, left, want) in cases {
            assert_eq!(
                pace(declared, &stated(max, daily, left), now),
                want,
                "{max} {left}"
            );
        }
        assert_eq!(pace(declared, &RateHeaders::default(), now), declared);
        // Low, but the reset is a minute away: spreading the rest over it is faster than
        // the interval limit, which then holds.
        let late: Timestamp = "2026-12-01T23:59:00Z".parse().unwrap();
        assert_eq!(
            pace(declared, &stated("60", "250000", "20000"), late),
            RateBudget::new(60, Duration::from_secs(10))
        );
    }

    #[test]
    fn daily_reset_is_the_next_utc_midnight() {
        let t: Timestamp = "2026-12-01T23:59:30Z".parse().unwrap();
        assert_eq!(until_daily_reset(t), Duration::from_secs(30));
        let t: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        assert_eq!(until_daily_reset(t), Duration::from_secs(86_400));
    }
}
