//! A too-large body over real TCP: a client that writes its whole body before reading (as
//! store webhook senders do) reads the 413, and the connection stays usable; a client that
//! waits for `100 Continue`, or declares a body past the drain bound, gets the 413 at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use syncline::receiver::{ConnectionLimits, ReceiverSettings};

use crate::common::*;

const BIG: usize = 8 * 1024 * 1024;

fn connect(addr: SocketAddr) -> TcpStream {
    let conn = TcpStream::connect(addr).unwrap();
    // Safety nets only: a hang fails the test instead of blocking it forever.
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn
}

/// Reads one response (head and a Content-Length body): the status code and the body.
fn read_response(conn: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).expect("reading the response head");
        assert_eq!(n, 1, "connection closed before a response; got {buf:?}");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn head(extra: &[(&str, String)]) -> String {
    let mut text = String::from(
        "POST /webhooks/shopify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n",
    );
    for (k, v) in extra {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text + "\r\n"
}

/// A signed delivery on an open connection: its status.
fn send_valid(conn: &mut TcpStream, event: &str) -> u16 {
    let mut extra: Vec<(&str, String)> = Vec::new();
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, event);
    for (k, v) in &headers {
        if k != "content-type" {
            extra.push((k.as_str(), v.clone()));
        }
    }
    extra.push(("content-length", SHOPIFY_ORDER.len().to_string()));
    conn.write_all(head(&extra).as_bytes()).unwrap();
    conn.write_all(SHOPIFY_ORDER.as_bytes()).unwrap();
    read_response(conn).0
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1024);
    for chunk in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_writing_its_whole_too_large_body_reads_the_413() {
    let h = Harness::shopify_with(test_settings());
    let addr = serve_with(&h, ConnectionLimits::default()).await;
    let result = tokio::task::spawn_blocking(move || {
        let body = vec![b'x'; BIG];
        let mut answers = Vec::new();
        // Declared length, then chunked without one: the whole body is written first.
        for (framing, payload) in [
            (("content-length", BIG.to_string()), body.clone()),
            (("transfer-encoding", "chunked".to_string()), chunked(&body)),
        ] {
            let mut conn = connect(addr);
            conn.write_all(head(&[framing]).as_bytes()).unwrap();
            conn.write_all(&payload)
                .expect("the server reset the connection while the body was written");
            answers.push(read_response(&mut conn));
            // The body was drained, not cut: the same connection serves the next delivery.
            answers.push((
                send_valid(&mut conn, &format!("evt-{}", answers.len())),
                String::new(),
            ));
        }
        answers
    })
    .await
    .unwrap();
    for (i, (status, body)) in result.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(*status, 413, "{body}");
            assert!(body.contains("payload_too_large"), "{body}");
        } else {
            assert_eq!(*status, 200, "the connection after a drained 413");
        }
    }
    assert_eq!(h.envelopes().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_answered_before_the_body_is_sent() {
    let settings = ReceiverSettings {
        max_drain_bytes: 1024 * 1024,
        ..test_settings()
    };
    let h = Harness::shopify_with(settings);
    let addr = serve_with(&h, ConnectionLimits::default()).await;
    let statuses = tokio::task::spawn_blocking(move || {
        let length = ("content-length", BIG.to_string());
        let expect = ("expect", "100-continue".to_string());
        // Waiting for 100 Continue; and a length past the drain bound: no body is sent.
        [vec![length.clone(), expect], vec![length]].map(|extra| {
            let mut conn = connect(addr);
            conn.write_all(head(&extra).as_bytes()).unwrap();
            read_response(&mut conn).0
        })
    })
    .await
    .unwrap();
    assert_eq!(statuses, [413, 413]);
    assert_eq!(h.stored_keys(), 0);
}
