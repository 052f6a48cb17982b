//! The bounded load generator: `load ADDR REQUESTS CONCURRENCY`. Opens CONCURRENCY keep-alive
//! connections to ADDR (loopback only), sends REQUESTS requests in all, checks every reply
//! against the expected bytes, and prints "requests secs req_per_s p50_us p99_us". It stops by
//! itself after REQUESTS replies.

use engram_server_bench::{BODIES, order, reply_for};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: load ADDR REQUESTS CONCURRENCY");
        std::process::exit(2);
    }
    let addr: SocketAddr = args[1].parse().expect("ADDR");
    assert!(
        addr.ip().is_loopback(),
        "the load generator only targets loopback"
    );
    let requests: usize = args[2].parse().expect("REQUESTS");
    let concurrency: usize = args[3].parse().expect("CONCURRENCY");
    let bodies: Arc<Vec<(Bytes, Bytes)>> = Arc::new(
        (0..BODIES)
            .map(|k| {
                let body = order(k);
                let reply = reply_for(&body);
                (Bytes::from(body), Bytes::from(reply))
            })
            .collect(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut latencies: Vec<u32> = rt.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(connection(addr, requests, next.clone(), bodies.clone())))
            .collect();
        let mut all = Vec::with_capacity(requests);
        for t in tasks {
            all.extend(t.await.expect("connection task"));
        }
        all
    });
    let secs = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{} {secs:.3} {:.0} {} {}",
        latencies.len(),
        latencies.len() as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
}

/// One keep-alive connection sending requests until `requests` have been claimed in all.
async fn connection(
    addr: SocketAddr,
    requests: usize,
    next: Arc<AtomicUsize>,
    bodies: Arc<Vec<(Bytes, Bytes)>>,
) -> Vec<u32> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut latencies = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= requests {
            return latencies;
        }
        let (body, expected) = &bodies[k % bodies.len()];
        let req = Request::post("/")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .expect("request");
        let t = Instant::now();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("response");
        assert!(resp.status().is_success());
        let got = resp.into_body().collect().await.expect("body").to_bytes();
        latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        assert_eq!(got, *expected, "wrong reply to request {k}");
    }
}
