//! The real `syncline sim hubspot` binary with its flags.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::redis::free_port;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_with_its_token_and_limit() {
    let port = free_port();
    let _child = Killed(
        Command::new(env!("CARGO_BIN_EXE_syncline"))
            .args(["sim", "hubspot", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--token", "cli-token", "--requests-per-10s", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = syncline::tls::http_client();
    let url = format!("http://127.0.0.1:{port}/crm/v3/properties/contacts");
    let mut ready = false;
    for _ in 0..100 {
        if client.get(&url).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the simulator did not start");
    // The readiness probe above was unauthenticated: it does not count.
    let bad = client.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = client
            .get(&url)
            .bearer_auth("cli-token")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}
