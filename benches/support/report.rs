//! What every bench shares: its knobs from the environment, a free loopback port, and its
//! section of BENCHMARKS.md (each bench owns one, between its markers).
#![allow(dead_code)]

/// A numeric knob from the environment, or its default.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Replaces this bench's section of BENCHMARKS.md (between its markers), keeping the rest.
pub fn write_section(name: &str, body: &str) {
    write_titled(name, &format!("`cargo bench --bench {name}`"), body);
}

/// `write_section` under another heading, for figures that do not come from a cargo bench.
pub fn write_titled(name: &str, title: &str, body: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(path)
        .unwrap_or_else(|_| "# Benchmarks\n\nMeasured on the project's 2-core machine; each section is rewritten by its `cargo bench --bench <name>`.\n".into());
    let section = format!("{start}\n## {title}\n\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &old[..a], &old[b + end.len()..]),
        _ => format!("{}\n{section}\n", old.trim_end()),
    };
    if let Err(e) = std::fs::write(path, new) {
        eprintln!("could not write {path}: {e}");
    }
}
