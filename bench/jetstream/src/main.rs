//! Publishes records of SIZE bytes in batches of BATCH from PRODUCERS concurrent publishers
//! to a JetStream stream with file storage, each batch waiting for all its acks, for SECONDS;
//! prints records per second and MB/s of record data.
//!
//! Usage: jetstream-load [NATS_URL] [SECONDS] [PRODUCERS] [BATCH] [SIZE]

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".to_string());
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let producers: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4);
    let batch: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(100);
    let size: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1024);

    let client = async_nats::connect(&url).await?;
    let js = jetstream::new(client);
    let _ = js.delete_stream("HERALD_BENCH").await;
    js.create_stream(stream::Config {
        name: "HERALD_BENCH".to_string(),
        subjects: vec!["herald-bench.>".to_string()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;

    let payload: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let js = js.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let subject = format!("herald-bench.{p}");
            let mut sent = 0u64;
            while Instant::now() < deadline {
                let mut acks = Vec::with_capacity(batch);
                for _ in 0..batch {
                    acks.push(js.publish(subject.clone(), payload.clone().into()).await?);
                }
                for ack in acks {
                    ack.await?;
                }
                sent += batch as u64;
            }
            Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(sent)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = total as f64 / elapsed;
    println!(
        "{:.0} records/s, {:.1} MB/s of record data",
        rate,
        rate * size as f64 / 1e6
    );
    let _ = js.delete_stream("HERALD_BENCH").await;
    Ok(())
}
