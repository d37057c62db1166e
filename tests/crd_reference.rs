//! The checked-in CRD field reference (docs/reference/syncpipeline.md) is what
//! `syncline crd --reference` prints now: regenerated through the binary, so the command
//! the failure names is the one that was checked.

use std::process::Command;

use syncline::api::{REFERENCE_COMMAND, REFERENCE_PATH};

#[test]
fn the_checked_in_field_reference_matches_the_crd_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_syncline"))
        .args(["crd", "--reference"])
        .output()
        .expect("running syncline crd --reference");
    assert!(
        out.status.success(),
        "syncline crd --reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("UTF-8 Markdown");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE_PATH);
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{REFERENCE_PATH} unreadable ({e}); run `{REFERENCE_COMMAND}`"));
    assert!(
        on_disk == generated,
        "{REFERENCE_PATH} is out of date with the CRD schema (src/api): run `{REFERENCE_COMMAND}` and commit it"
    );
}
