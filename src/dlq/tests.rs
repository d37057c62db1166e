use std::collections::HashMap;

use super::*;

fn target(reason: Option<&str>, since: Option<&str>, until: Option<&str>) -> TargetArgs {
    TargetArgs {
        file: PathBuf::from("p.yaml"),
        secrets: None,
        reason: reason.map(str::to_string),
        since: since.map(|s| parse_time(s).unwrap()),
        until: until.map(|s| parse_time(s).unwrap()),
        redis_timeout: Duration::from_secs(1),
    }
}

fn entry() -> Entry {
    let fields = [
        ("reason", "crm_rejected"),
        ("attempts", "3"),
        ("last_error", "400 INVALID_EMAIL\nline two"),
        ("object_kind", "customers"),
        ("object_id", "42"),
        ("topic", "customers/update"),
        ("delivery_id", "d-1"),
        ("source_id", "1799999999000-0"),
        ("body", "{\"email\":\"jane@example.com\"}"),
    ];
    Entry {
        id: "1800000000000-0".into(),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect::<HashMap<_, _>>(),
    }
}

#[test]
fn times_become_a_millisecond_window() {
    let f = filter(&target(
        Some("crm_rejected"),
        Some("2027-01-15T08:00:00Z"),
        Some("2027-01-15T11:00:00.5+02:00"),
    ))
    .unwrap();
    assert_eq!(f.reason.as_deref(), Some("crm_rejected"));
    assert_eq!(f.since_ms, Some(1_800_000_000_000));
    assert_eq!(f.until_ms, Some(1_800_003_600_500));
}

#[test]
fn bad_filters_are_usage_errors() {
    let err = parse_time("yesterday").unwrap_err();
    assert!(err.contains("RFC 3339"), "{err}");
    let backwards = filter(&target(
        None,
        Some("2026-11-20T15:00:00Z"),
        Some("2026-11-20T14:00:00Z"),
    ))
    .unwrap_err();
    assert_eq!(backwards.exit_code(), 2);
    assert!(backwards.to_string().contains("--since"), "{backwards}");
    assert_eq!(
        filter(&target(Some(" "), None, None))
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn rows_show_what_an_operator_needs_and_tables_never_show_bodies() {
    let row = Row::of(&entry());
    assert_eq!(row.dead_lettered_at, "2027-01-15T08:00:00Z");
    assert_eq!((row.reason.as_str(), row.attempts), ("crm_rejected", 3));
    let text = table(&[row]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("ID  ") && lines[0].contains("LAST-ERROR"),
        "{text}"
    );
    for needle in [
        "1800000000000-0",
        "customers/42",
        "customers/update",
        "d-1",
        "400 INVALID_EMAIL line two",
    ] {
        assert!(lines[1].contains(needle), "{needle} missing: {text}");
    }
    assert!(
        !text.contains("jane@example.com"),
        "a table leaked a body: {text}"
    );
}

#[test]
fn long_errors_are_cut_in_tables() {
    let mut e = entry();
    e.fields
        .insert("last_error".into(), "x".repeat(500).into_bytes());
    let text = table(&[Row::of(&e)]);
    assert!(text.lines().nth(1).unwrap().ends_with('…'), "{text}");
    assert!(text.len() < 300, "{text}");
}
