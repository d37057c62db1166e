//! Dedupe under concurrency, Redis outages and slowness, the no-marker-without-event rule,
//! operational endpoints and graceful shutdown.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

fn shopify() -> Harness {
    Harness::new(
        &shopify_pipeline("acme.myshopify.com"),
        secrets(&[("webhookSecret", SECRET)]),
    )
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_copies_store_exactly_one_entry() {
    let h = shopify();
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-race");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = h.app.clone();
        let req = post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER);
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            app.oneshot(req).await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(h.envelopes().len(), 1);
    let metrics = h.state.metrics().render();
    assert!(
        metrics.contains(r#"syncline_receiver_duplicates_total{platform="shopify"} 49"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_then_recovers_without_restart() {
    let mut h = shopify();
    let first = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-before");
    assert_eq!(
        h.status("/webhooks/shopify", &first, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(h.send(get("/readyz")).await.0, StatusCode::OK);

    h.redis.stop();
    let during = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-during");
    for _ in 0..3 {
        let started = Instant::now();
        let (status, headers, json) = h
            .send(post_owned("/webhooks/shopify", &during, SHOPIFY_ORDER))
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
        assert_eq!(json["error"], "queue_unavailable");
        assert!(headers.contains_key("retry-after"));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "answer took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        h.send(get("/readyz")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    h.redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut accepted = false;
    while Instant::now() < deadline {
        let (status, _, _) = h
            .send(post_owned("/webhooks/shopify", &during, SHOPIFY_ORDER))
            .await;
        if status == StatusCode::OK {
            accepted = true;
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        accepted,
        "the receiver did not recover after Redis came back"
    );
    let ids: Vec<String> = h.envelopes().into_iter().map(|e| e.delivery_id).collect();
    assert_eq!(
        ids,
        vec!["evt-during:orders/create".to_owned()],
        "fresh Redis holds just the retried delivery"
    );
    assert_eq!(h.send(get("/readyz")).await.0, StatusCode::OK);
    let metrics = h.state.metrics().render();
    assert!(
        metrics.contains("syncline_receiver_enqueue_failures_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redis_past_the_deadline_is_503() {
    let h = shopify();
    let url = h.redis.url();
    let pause = std::thread::spawn(move || {
        let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(1500)
            .arg("ALL")
            .query::<()>(&mut conn)
            .unwrap();
    });
    pause.join().unwrap();
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-slow");
    let started = Instant::now();
    let (status, resp_headers, _) = h
        .send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp_headers.contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_xadd_leaves_no_dedupe_marker() {
    let h = shopify();
    // A stream key of the wrong type makes XADD fail inside the script.
    h.redis.command(&["SET", STREAM, "not-a-stream"]);
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-wrongtype");
    let (status, _, _) = h
        .send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.redis.keys("sl:{shops/acme}:seen:*").is_empty());
    // Once the stream is usable again, the provider's retry is stored (not taken for a duplicate).
    h.redis.command(&["DEL", STREAM]);
    assert_eq!(
        h.status("/webhooks/shopify", &headers, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(h.envelopes().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let h = shopify();
    assert_eq!(h.send(get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(h.send(get("/readyz")).await.0, StatusCode::OK);
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-m");
    h.send(post_owned("/webhooks/shopify", &headers, SHOPIFY_ORDER))
        .await;
    let bad = with_header(&headers, "x-shopify-topic", Some("made/up-topic"));
    let bad = with_header(&bad, "x-shopify-hmac-sha256", Some("AAAA"));
    h.send(post_owned("/webhooks/shopify", &bad, SHOPIFY_ORDER))
        .await;
    let resp = tower::ServiceExt::oneshot(h.app.clone(), get("/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(r#"syncline_receiver_requests_total{outcome="accepted",platform="shopify",topic="orders/create"} 1"#), "{text}");
    // A refused delivery's claimed topic is never trusted as a label.
    assert!(text.contains(r#"outcome="invalid_signature""#), "{text}");
    assert!(!text.contains("made/up-topic"), "{text}");
    assert!(
        text.contains("syncline_receiver_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let h = shopify();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(syncline::receiver::serve(
        listener,
        h.app.clone(),
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(10),
        syncline::receiver::ConnectionLimits::default(),
    ));
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-inflight");
    let mut head = String::from("POST /webhooks/shopify HTTP/1.1\r\nhost: x\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", SHOPIFY_ORDER.len()));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (first_half, second_half) = SHOPIFY_ORDER.split_at(SHOPIFY_ORDER.len() / 2);
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first_half.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are no longer served.
    let refused = match tokio::net::TcpStream::connect(addr).await {
        Err(_) => true,
        Ok(mut c) => {
            let _ = c
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
                .await;
            let mut buf = Vec::new();
            matches!(
                tokio::time::timeout(Duration::from_secs(2), c.read_to_end(&mut buf)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        }
    };
    assert!(refused, "a new connection was served after shutdown began");

    // The in-flight request completes and is stored.
    conn.write_all(second_half.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(conn);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(h.envelopes().len(), 1);
}

/// A request whose body arrives only when `release` fires (or never, if it is dropped).
fn stalled_request(
    headers: &[(String, String)],
    release: tokio::sync::oneshot::Receiver<()>,
) -> Request<Body> {
    let stream = futures_util::stream::unfold(Some(release), |state| async move {
        let release = state?;
        release.await.ok()?;
        Some((
            Ok::<_, std::io::Error>(SHOPIFY_ORDER.as_bytes().to_vec()),
            None,
        ))
    });
    let mut builder = Request::post("/webhooks/shopify");
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::from_stream(stream)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_with_an_immediate_503() {
    let settings = syncline::receiver::ReceiverSettings {
        max_concurrency: 1,
        ..test_settings()
    };
    let h = Harness::shopify_with(settings);
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-slow-body");
    let (release, wait) = tokio::sync::oneshot::channel();
    let app = h.app.clone();
    let slow = tokio::spawn(tower::ServiceExt::oneshot(
        app,
        stalled_request(&headers, wait),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-other");
    let started = Instant::now();
    let (status, resp_headers, json) = h
        .send(post_owned("/webhooks/shopify", &other, SHOPIFY_ORDER))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(json["error"], "overloaded");
    assert!(resp_headers.contains_key("retry-after"));
    assert!(started.elapsed() < Duration::from_millis(500));
    // Health stays outside the webhook limit.
    assert_eq!(h.send(get("/healthz")).await.0, StatusCode::OK);
    release.send(()).unwrap();
    assert_eq!(slow.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(
        h.status("/webhooks/shopify", &other, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
    assert_eq!(h.envelopes().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_times_out_with_503() {
    let settings = syncline::receiver::ReceiverSettings {
        request_timeout: Duration::from_millis(300),
        ..test_settings()
    };
    let h = Harness::shopify_with(settings);
    let headers = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-never");
    let (_keep_open, wait) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let (status, resp_headers, json) = h.send(stalled_request(&headers, wait)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(json["error"], "timeout");
    assert!(resp_headers.contains_key("retry-after"));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(h.stored_keys(), 0);
    let metrics = h.state.metrics().render();
    assert!(
        metrics.contains("syncline_receiver_in_flight_requests 0"),
        "{metrics}"
    );
    // The permit of the timed-out request was released.
    let ok = shopify_headers(SECRET, SHOPIFY_ORDER, "evt-after");
    assert_eq!(
        h.status("/webhooks/shopify", &ok, SHOPIFY_ORDER).await,
        StatusCode::OK
    );
}

/// Whether the server closes `conn` (EOF or reset) within `within`.
async fn closed_by_server(conn: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(within, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 before closing
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    let h = shopify();
    let limits = syncline::receiver::ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let addr = serve_with(&h, limits).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /webhooks/shopify HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(3)).await,
        "a slowloris connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed() {
    let h = shopify();
    let limits = syncline::receiver::ConnectionLimits {
        max_connections: 2,
        ..Default::default()
    };
    let addr = serve_with(&h, limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(c); // kept alive, holding a slot
    }
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    assert!(
        closed_by_server(&mut third, Duration::from_secs(3)).await,
        "a third connection was served"
    );
    drop(held.pop());
    // The freed slot is usable again (the release happens once the server sees the close).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = c
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await;
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), c.read(&mut buf)).await
            && buf[..n].starts_with(b"HTTP/1.1 200")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed connection slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
