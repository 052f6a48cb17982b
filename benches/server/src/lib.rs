//! A small JSON API on tokio + hyper, identical under every global allocator: each binary in
//! `src/bin/` installs one `#[global_allocator]` and calls [`serve`]; `load` is the bounded load
//! generator. Per request the server parses a JSON order (serde_json), aggregates it into maps
//! and builds a JSON reply: a burst of short-lived allocations, as in most request handlers.
//!
//! ```text
//! server_<allocator> [workers] [arena|connection]
//!                                         prints "listening on ADDR", serves until killed;
//!                                         `arena` wraps each handler in `in_global_arena`,
//!                                         `connection` each whole connection task
//! load ADDR REQUESTS CONCURRENCY          prints "requests secs req_per_s p50_us p99_us"
//! ```

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// The reply to an order: totals per tag, the most expensive items, and a normalised echo.
pub fn reply_for(body: &[u8]) -> Vec<u8> {
    let Ok(order) = serde_json::from_slice::<Value>(body) else {
        return br#"{"error":"invalid JSON"}"#.to_vec();
    };
    let items = order["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut by_tag: HashMap<String, (u64, f64)> = HashMap::new();
    let mut names: Vec<(f64, String)> = Vec::with_capacity(items.len());
    for item in items {
        let price = item["price"].as_f64().unwrap_or(0.0);
        let qty = item["qty"].as_u64().unwrap_or(1);
        for tag in item["tags"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let e = by_tag
                .entry(tag.as_str().unwrap_or("?").to_owned())
                .or_default();
            e.0 += qty;
            e.1 += price * qty as f64;
        }
        names.push((price, item["name"].as_str().unwrap_or("").to_uppercase()));
    }
    names.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let tags: BTreeMap<&str, Value> = by_tag
        .iter()
        .map(|(k, (n, sum))| {
            (
                k.as_str(),
                json!({"count": n, "sum": (sum * 100.0).round() / 100.0}),
            )
        })
        .collect();
    let mut summary = String::new();
    for (price, name) in names.iter().take(5) {
        let _ = write!(summary, "{name}={price:.2};");
    }
    let reply = json!({
        "customer": order["customer"],
        "items": items.len(),
        "tags": tags,
        "top": names.iter().take(5).map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        "summary": summary,
    });
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// The `k`-th request body of the load: an order of 10 to 40 items (about 1.5 to 6 KB).
pub fn order(k: usize) -> Vec<u8> {
    const TAGS: [&str; 8] = ["red", "green", "blue", "sale", "new", "bulk", "gift", "eco"];
    let n = 10 + (k * 7) % 31;
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let x = k * 131 + i * 17;
            json!({
                "id": x,
                "name": format!("item-{}-{}", TAGS[x % 8], x % 1000),
                "price": ((x % 10_000) as f64) / 100.0,
                "qty": 1 + x % 5,
                "tags": [TAGS[x % 8], TAGS[(x / 8) % 8]],
            })
        })
        .collect();
    serde_json::to_vec(&json!({"customer": format!("customer-{k}"), "items": items})).unwrap()
}

/// Number of distinct request bodies the load cycles through.
pub const BODIES: usize = 64;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = req.into_body().collect().await?.to_bytes();
    Ok(Response::new(Full::new(Bytes::from(reply_for(&body)))))
}

/// Where the global arena's scopes go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scopes {
    /// Nowhere: every allocation goes to the global allocator's inner allocator (or is the
    /// plain global allocator).
    None,
    /// Around each request's handler (`in_global_arena(handle(req))`).
    Handler,
    /// Around the whole connection task, so that hyper's own per-request allocations (request
    /// head, header map, response encoding) are arena memory too.
    Connection,
}

/// Serves on 127.0.0.1 (an OS-chosen port, printed) with `workers` runtime threads until the
/// process is killed, with the global arena's scopes where `scopes` says.
pub fn serve(workers: usize, scopes: Scopes) {
    use engram_kernels::global::ArenaFutureExt;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("listening on {}", listener.local_addr().expect("address"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = service_fn(move |req| async move {
                    if scopes == Scopes::Handler {
                        handle(req).in_global_arena().await
                    } else {
                        handle(req).await
                    }
                });
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                let _ = if scopes == Scopes::Connection {
                    conn.in_global_arena().await
                } else {
                    conn.await
                };
            });
        }
    });
}

/// `server_<allocator> [workers] [arena|connection]`.
pub fn server_main(has_arena: bool) {
    let args: Vec<String> = std::env::args().collect();
    let workers = args.get(1).and_then(|w| w.parse().ok()).unwrap_or(2);
    let scopes = match args.get(2).map(String::as_str) {
        None => Scopes::None,
        Some("arena") => Scopes::Handler,
        Some("connection") => Scopes::Connection,
        Some(other) => {
            eprintln!("unknown scope placement {other:?}: arena or connection");
            std::process::exit(2);
        }
    };
    if scopes != Scopes::None && !has_arena {
        eprintln!("this binary has no GlobalArena");
        std::process::exit(2);
    }
    serve(workers, scopes);
}
