use serde_json::json;

use super::*;

#[test]
fn type_names_read_as_a_reader_writes_them() {
    let cases = [
        (json!({"type": "string"}), "string"),
        (
            json!({"type": "integer", "format": "int32"}),
            "integer (int32)",
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            "string (date-time)",
        ),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            "[]string",
        ),
        (
            json!({"type": "array", "items": {"type": "object", "properties": {}}}),
            "[]object",
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            "map[string]string",
        ),
        (
            json!({"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": true}}),
            "map[string]int-or-string",
        ),
        (json!({"type": "object", "properties": {}}), "object"),
        (json!({}), "any"),
    ];
    for (schema, want) in cases {
        assert_eq!(type_name(&schema), want, "{schema}");
    }
}

#[test]
fn constraints_say_every_bound_in_words() {
    let cases: [(Value, &[&str]); 7] = [
        (
            json!({"enum": ["Running", "Paused"]}),
            &["one of `Running`, `Paused`"],
        ),
        (json!({"pattern": "^a|b$"}), &["pattern `^a|b$`"]),
        (
            json!({"minLength": 1, "maxLength": 2048}),
            &["length 1–2048"],
        ),
        (
            json!({"minimum": 1.0, "maximum": 86400.0}),
            &["value 1–86400"],
        ),
        (json!({"minimum": 1.0}), &["value ≥ 1"]),
        (
            json!({"maxItems": 4, "x-kubernetes-list-type": "set"}),
            &["items ≤ 4", "unique items"],
        ),
        (
            json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
            &["one item per `type`"],
        ),
    ];
    for (schema, want) in cases {
        assert_eq!(constraints(&schema), want, "{schema}");
    }
}

#[test]
fn cells_escape_pipes_everywhere_and_tags_outside_code() {
    let cases = [
        ("a | b", "a \\| b"),
        ("`x|y` and <name>", "`x\\|y` and &lt;name&gt;"),
        ("`<key>` stays", "`<key>` stays"),
        ("plain", "plain"),
    ];
    for (text, want) in cases {
        assert_eq!(cell(text), want, "{text}");
    }
}

#[test]
fn rows_carry_defaults_requirements_and_rules_on_the_field_they_name() {
    let schema = json!({
        "description": "The store.",
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "Base URL.", "maxLength": 10},
            "mode": {"type": "string", "default": "fast", "enum": ["fast", "slow"],
                     "description": "How.\n\nLong upstream notes."},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a"]}, "default": ["a"]},
            "conds": {"type": "array", "items": {"type": "object", "required": ["type"],
                      "properties": {"type": {"type": "string", "description": "Kind."}}}}
        },
        "x-kubernetes-validations": [
            {"rule": "isURL(self.url)", "message": "url must be a URL", "fieldPath": ".url"},
            {"rule": "self.mode != 'slow' || has(self.url)"}
        ]
    });
    let rows = field_rows("spec.store", &schema, true);
    let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.store",
            "spec.store.conds",
            "spec.store.conds[].type",
            "spec.store.mode",
            "spec.store.tags",
            "spec.store.url"
        ]
    );
    let row = |p: &str| rows.iter().find(|r| r.path == p).unwrap();
    assert_eq!(
        row("spec.store").validation,
        ["required", "rule: `self.mode != 'slow' || has(self.url)`"]
    );
    assert_eq!(
        row("spec.store.url").validation,
        ["required", "length ≤ 10", "rule: url must be a URL"]
    );
    assert_eq!(row("spec.store.mode").default, "`fast`");
    assert_eq!(
        row("spec.store.mode").description,
        "How. (more in `kubectl explain`)"
    );
    assert_eq!(row("spec.store.tags").default, "`[\"a\"]`");
    assert_eq!(row("spec.store.tags").validation, ["each: one of `a`"]);
    assert_eq!(row("spec.store.conds[].type").validation, ["required"]);
}

#[test]
fn the_reference_covers_every_field_of_the_generated_crd() {
    let text = crd_reference().unwrap();
    for needle in [
        "| `spec.store.platform` | string |  | required; one of `shopify`, `woocommerce`, `magento`; rule: spec.store.platform is immutable",
        "| `spec.polling.interval` | string | `5m` |",
        "| `spec.workers.minReplicas` | integer (int32) | `1` | value 0–100; rule: spec.workers.minReplicas must be less than or equal to spec.workers.maxReplicas |",
        "| `status.conditions[].reason` | string |",
        "## Rules on the whole object",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_crd_without_a_schema_is_an_error_not_a_panic() {
    let err = reference_markdown(&json!({"spec": {"group": "g", "names": {"kind": "K"},
        "versions": [{"name": "v1"}]}}))
    .unwrap_err();
    assert_eq!(err.to_string(), "the CRD has no openAPIV3Schema");
}
