use syncline::receiver::{ReceiverSettings, ReceiverState};

/// Every valid example is not only accepted by the API server (tests/crd_apiserver.rs) but
/// also runnable: its pipeline and Secret load and a receiver can be built from them (keys,
/// schemes, secrets all usable), without any network.
#[tokio::test]
async fn every_valid_example_builds_a_receiver() {
    let dir = crate::support::repo().join("examples/valid");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let config = syncline::config::load(&path, None, std::iter::empty())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(e) = ReceiverState::new(&config, ReceiverSettings::default()) {
            panic!("{}: {e}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} examples");
}
