//! The load benchmark's yardstick (bench/registry-load.sh): the smallest axum server, built
//! from the same axum, tokio and hyper as `herald serve`, answering every GET with a short
//! JSON body. Herald's read paths are measured as a fraction of its requests per second.
//!
//! Usage: cargo run --release --example hello -- 127.0.0.1:18090

use axum::routing::get;
use axum::Router;

fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18090".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let app = Router::new().fallback(get(|| async { "{\"hello\":\"world\"}" }));
        let listener = tokio::net::TcpListener::bind(&address).await.expect("bind");
        eprintln!("hello listening on http://{}", listener.local_addr().expect("address"));
        axum::serve(listener, app).await.expect("serve");
    });
}
