//! The time parameters each simulated API accepts, pure: what the real API parses, and
//! nothing looser, so a client sending another form fails against the simulator too.
//!
//! - Shopify `updated_at_min`/`updated_at_max`: the documented form, ISO 8601 with whole
//!   seconds and an offset (`2014-04-25T16:15:47-04:00`, or `Z`). Shopify does not publish
//!   what else it tolerates; the simulator takes the documented form only.
//! - WooCommerce `modified_after`/`modified_before`: WordPress's `rest_parse_date` pattern
//!   `^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:\d{2})?)?$`; without a
//!   zone the time is GMT (`dates_are_gmt=true`; the simulated site's zone is UTC too).
//! - Magento `searchCriteria` `updated_at` values: `YYYY-MM-DD HH:MM:SS`, UTC.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// `YYYY-MM-DD<sep>HH:MM:SS` at the start of `text` (with `sep` one of `seps`): the civil
/// time and what follows it.
fn civil<'a>(text: &'a str, seps: &[u8]) -> Option<(DateTime, &'a str)> {
    let head = text.get(..19)?.as_bytes();
    let digits = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19];
    let shaped = digits
        .iter()
        .all(|r| head[r.clone()].iter().all(u8::is_ascii_digit))
        && head[4] == b'-'
        && head[7] == b'-'
        && seps.contains(&head[10])
        && head[13] == b':'
        && head[16] == b':';
    if !shaped {
        return None;
    }
    let iso = format!("{}T{}", &text[..10], &text[11..19]);
    Some((iso.parse().ok()?, &text[19..]))
}

/// `Z`, or `±HH:MM` (and `±HH` when `minutes_optional`): the offset in seconds.
fn offset(text: &str, minutes_optional: bool) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &text[1..];
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if minutes_optional => (rest, "00"),
        None => return None,
    };
    let (h, m) = (two_digits(hours)?, two_digits(minutes)?);
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

fn two_digits(s: &str) -> Option<i32> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn at_offset(civil: DateTime, seconds: i32) -> Option<Timestamp> {
    let zone = TimeZone::fixed(jiff::tz::Offset::from_seconds(seconds).ok()?);
    civil.to_zoned(zone).ok().map(|z| z.timestamp())
}

/// Shopify's documented form: whole seconds, `T`, and an offset.
pub fn shopify(text: &str) -> Option<Timestamp> {
    let (civil, rest) = civil(text, b"T")?;
    at_offset(civil, offset(rest, false)?)
}

/// WordPress's `rest_parse_date` pattern; no zone means GMT.
pub fn wordpress(text: &str) -> Option<Timestamp> {
    let (civil, rest) = civil(text, b"Tt ")?;
    let digits = rest
        .strip_prefix('.')
        .map(|r| r.bytes().take_while(u8::is_ascii_digit).count());
    let (fraction, zone) = match digits {
        Some(0) => return None,
        Some(n) => (&rest[1..=n], &rest[n + 1..]),
        None => ("", rest),
    };
    let seconds = if zone.is_empty() {
        0
    } else {
        offset(zone, true)?
    };
    let nanos: i64 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    at_offset(civil, seconds)?
        .checked_add(jiff::SignedDuration::from_nanos(nanos))
        .ok()
}

/// Magento's `YYYY-MM-DD HH:MM:SS`, UTC.
pub fn magento(text: &str) -> Option<Timestamp> {
    let (civil, rest) = civil(text, b" ")?;
    rest.is_empty().then_some(())?;
    at_offset(civil, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_takes_its_own_form_only() {
        // (text, Shopify, WordPress, Magento) as UTC, None = refused.
        let z = "2026-11-20T15:01:02Z";
        type Row = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        );
        let table: [Row; 12] = [
            (z, Some(z), Some(z), None),
            ("2026-11-20T10:01:02-05:00", Some(z), Some(z), None),
            ("2026-11-20T15:01:02+00:00", Some(z), Some(z), None),
            ("2026-11-20T15:01:02", None, Some(z), None),
            ("2026-11-20 15:01:02", None, Some(z), Some(z)),
            ("2026-11-20t15:01:02", None, Some(z), None),
            ("2026-11-20T17:01:02+02", None, Some(z), None),
            (
                "2026-12-01T18:19:17.507664946Z",
                None,
                Some("2026-12-01T18:19:17.507664946Z"),
                None,
            ),
            ("2026-11-20T15:01:02.Z", None, None, None),
            ("2026-13-20T15:01:02Z", None, None, None),
            ("2026-11-20", None, None, None),
            ("1795186862", None, None, None),
        ];
        for (text, shopify_ok, wp_ok, magento_ok) in table {
            let want = |w: Option<&str>| w.map(|w| w.parse::<Timestamp>().unwrap());
            assert_eq!(shopify(text), want(shopify_ok), "shopify {text}");
            assert_eq!(wordpress(text), want(wp_ok), "wordpress {text}");
            assert_eq!(magento(text), want(magento_ok), "magento {text}");
        }
    }
}
