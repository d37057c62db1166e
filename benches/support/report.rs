//! BENCHMARKS.md: each bench owns one section between its markers.

/// Replaces this bench's section of BENCHMARKS.md (between its markers), keeping the rest.
pub fn write_section(name: &str, body: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(path)
        .unwrap_or_else(|_| "# Benchmarks\n\nMeasured on the project's 2-core machine; each section is rewritten by its `cargo bench --bench <name>`.\n".into());
    let section = format!("{start}\n## `cargo bench --bench {name}`\n\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &old[..a], &old[b + end.len()..]),
        _ => format!("{}\n{section}\n", old.trim_end()),
    };
    if let Err(e) = std::fs::write(path, new) {
        eprintln!("could not write {path}: {e}");
    }
}
