//! The times a listing sends, in each platform's documented form, pure. Every one is
//! rounded *down* to the whole second: the listings are inclusive of their start, so an
//! earlier start can only re-read (the poll's dedupe makes that free), never skip.
//!
//! - Shopify `updated_at_min`: ISO 8601, whole seconds, with an offset, as the Order
//!   reference shows it (`2014-04-25T16:15:47-04:00`); sent in UTC as `+00:00`.
//! - WooCommerce `modified_after` (with `dates_are_gmt=true`): ISO 8601 without fraction or
//!   zone, `2026-11-20T15:00:00`. It is exclusive, so one second before the floor.
//! - Magento `searchCriteria` `updated_at`: `YYYY-MM-DD HH:MM:SS` in UTC.

use jiff::{RoundMode, SignedDuration, Timestamp, TimestampRound, Unit};

/// `t` rounded down to its whole second (also before 1970, where truncation would round up).
pub fn floor_second(t: Timestamp) -> Timestamp {
    let round = TimestampRound::new()
        .smallest(Unit::Second)
        .mode(RoundMode::Floor);
    t.round(round).unwrap_or(t)
}

/// Shopify's `updated_at_min`: `2026-11-20T15:00:00+00:00`.
pub fn shopify_min(since: Timestamp) -> String {
    floor_second(since)
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// WooCommerce's `modified_after`, exclusive with second resolution: one second before the
/// second `since` falls in makes the listing inclusive of `since`.
pub fn woo_modified_after(since: Timestamp) -> String {
    let floor = floor_second(since);
    let before = floor
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap_or(floor);
    before.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Magento's filter value, compared with `gteq`: the second `since` falls in.
pub fn magento_time(since: Timestamp) -> String {
    floor_second(since)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn every_platform_gets_whole_seconds_rounded_down() {
        // (since, Shopify, WooCommerce, Magento)
        let table = [
            (
                "2026-12-01T18:19:17.507664946Z",
                "2026-12-01T18:19:17+00:00",
                "2026-12-01T18:19:16",
                "2026-12-01 18:19:17",
            ),
            (
                "2026-11-20T15:00:00Z",
                "2026-11-20T15:00:00+00:00",
                "2026-11-20T14:59:59",
                "2026-11-20 15:00:00",
            ),
            (
                "2026-11-20T10:01:02.999-05:00",
                "2026-11-20T15:01:02+00:00",
                "2026-11-20T15:01:01",
                "2026-11-20 15:01:02",
            ),
            (
                "2027-01-01T00:00:00.001Z",
                "2027-01-01T00:00:00+00:00",
                "2026-12-31T23:59:59",
                "2027-01-01 00:00:00",
            ),
            (
                "1969-12-31T23:59:59.5Z",
                "1969-12-31T23:59:59+00:00",
                "1969-12-31T23:59:58",
                "1969-12-31 23:59:59",
            ),
        ];
        for (since, shopify, woo, magento) in table {
            let since = t(since);
            assert_eq!(shopify_min(since), shopify, "{since}");
            assert_eq!(woo_modified_after(since), woo, "{since}");
            assert_eq!(magento_time(since), magento, "{since}");
            // Never later than since: an inclusive filter can only re-read.
            assert!(floor_second(since) <= since);
            assert!(since.duration_since(floor_second(since)) < SignedDuration::from_secs(1));
        }
    }
}
