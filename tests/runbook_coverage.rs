//! Every condition reason the operator can write is explained in docs/status.md (what it
//! means and what to do), and the page explains no reason the code no longer has. The
//! reasons come from the library's own lists (`status::reason::ALL`,
//! `FailureReason::ALL`), not from grepping the source.

use std::collections::BTreeSet;

use syncline::api::condition;
use syncline::operator::failure::FailureReason;
use syncline::operator::status::reason;

const PAGE: &str = "docs/status.md";

/// The first cell of every table row under the heading `heading` (up to the next `## `),
/// when it is one code span: `| `Name` | … |` → `Name`.
fn table_keys(page: &str, heading: &str) -> BTreeSet<String> {
    let Some(start) = page.find(&format!("\n{heading}\n")) else {
        return BTreeSet::new();
    };
    let section = &page[start + heading.len() + 2..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    section
        .lines()
        .filter_map(|line| {
            let first = line.strip_prefix('|')?.split('|').next()?.trim();
            let name = first.strip_prefix('`')?.strip_suffix('`')?;
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

fn page() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn code_reasons() -> BTreeSet<String> {
    reason::ALL
        .iter()
        .map(|r| r.to_string())
        .chain(FailureReason::ALL.iter().map(|r| r.as_str().to_owned()))
        .collect()
}

#[test]
fn table_keys_reads_only_its_own_section() {
    let page = "intro\n## Reasons\n\n| reason | x |\n|---|---|\n| `A` | y |\n| `B` | z |\n\n## Other\n| `C` | w |\n";
    assert_eq!(
        table_keys(page, "## Reasons")
            .into_iter()
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert!(table_keys(page, "## Missing").is_empty());
}

#[test]
fn every_condition_reason_the_code_can_write_is_explained() {
    let documented = table_keys(&page(), "## Reasons");
    let code = code_reasons();
    let missing: Vec<&String> = code.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "reasons the operator can write that {PAGE} (## Reasons) does not explain: {missing:?}; \
         add a row `| `Reason` | condition | what it means | what to do |` for each"
    );
    let stale: Vec<&String> = documented.difference(&code).collect();
    assert!(
        stale.is_empty(),
        "{PAGE} (## Reasons) explains reasons the code no longer writes: {stale:?}"
    );
}

#[test]
fn every_condition_type_is_explained() {
    let documented = table_keys(&page(), "## Conditions");
    let code: BTreeSet<String> = condition::ALL.iter().map(|c| c.to_string()).collect();
    let missing: Vec<&String> = code.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "condition types {PAGE} (## Conditions) lacks: {missing:?}"
    );
    let stale: Vec<&String> = documented.difference(&code).collect();
    assert!(
        stale.is_empty(),
        "{PAGE} (## Conditions) names condition types the code no longer has: {stale:?}"
    );
}
