//! The valid example manifests (`examples/valid/`), for the tests of every layer: they are
//! what users start from, so the tests read them rather than private fixtures.

use super::SyncPipeline;

/// Every valid example, one per platform and Magento signature scheme.
pub const FILES: [&str; 4] = [
    "shopify.yaml",
    "woocommerce.yaml",
    "magento.yaml",
    "magento-adobe.yaml",
];

/// The SyncPipeline of `examples/valid/<file>` (the document after its Secret).
pub fn pipeline(file: &str) -> SyncPipeline {
    let text = std::fs::read_to_string(format!(
        "{}/examples/valid/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let doc = text.split("\n---\n").nth(1).unwrap();
    serde_yaml::from_str(doc).unwrap()
}
