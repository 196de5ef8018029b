//! Descriptors and threads do not grow with partitions: `herald serve` with 1,200
//! partitions keeps its open files and threads bounded; under a low open-file limit it
//! still starts with more partitions on disk than it would create, refuses new topics
//! with a clear error before it runs out, keeps answering, and starts again.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::registry_support::temp_dir;
use crate::serve::try_http;

const JSON_V2: &str = "application/vnd.kafka.json.v2+json";
const TOPICS: usize = 300;
const PARTITIONS: usize = 4;

/// A `herald serve` child, optionally under an open-file limit it cannot raise.
struct Herald {
    child: Child,
    address: String,
}

impl Herald {
    fn start(data_dir: &Path, open_files: Option<u64>) -> Herald {
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(crate::serve::kafka_listen_args("off"))
            .env_remove("HERALD_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(limit) = open_files {
            // SAFETY: only setrlimit, async-signal-safe, runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let both = libc::rlimit {
                        rlim_cur: limit as libc::rlim_t,
                        rlim_max: limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &both) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("start herald serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if let Some(at) = line.find("listening on http://") {
                let address = line[at + "listening on http://".len()..].trim().to_string();
                // Keep draining the log so the server never blocks on a full pipe.
                std::thread::spawn(move || while lines.recv().is_ok() {});
                return Herald { child, address };
            }
            seen.push(line);
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("herald serve did not start; its log:\n{}", seen.join("\n"));
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        try_http(&self.address, method, path, "application/json", body).expect("an HTTP exchange")
    }

    fn open_files(&self) -> usize {
        count_entries(&format!("/proc/{}/fd", self.child.id()))
    }

    fn threads(&self) -> usize {
        count_entries(&format!("/proc/{}/task", self.child.id()))
    }

    /// `/health` answers 200 within a second.
    fn assert_healthy(&self) {
        let started = Instant::now();
        let (status, body) = self.call("GET", "/health", None);
        assert_eq!(status, 200, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/health took {:?}",
            started.elapsed()
        );
    }

    /// SIGTERM, and the clean exit that follows.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait for herald") {
                assert!(status.success(), "herald exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("herald serve did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).expect("read /proc").count()
}

fn create_topics(herald: &Herald, prefix: &str, topics: usize) {
    for t in 0..topics {
        let (status, body) = herald.call(
            "POST",
            "/topics",
            Some(&json!({"name": format!("{prefix}{t}"), "partitions": PARTITIONS})),
        );
        assert_eq!(status, 201, "{body}");
    }
}

/// Produces one record to, then reads it back from, every partition of every topic, from
/// four client threads.
fn produce_and_read_all(address: &str, prefix: &str, topics: usize) {
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let address = address.to_string();
            let prefix = prefix.to_string();
            std::thread::spawn(move || {
                for t in (client..topics).step_by(4) {
                    for p in 0..PARTITIONS {
                        let path = format!("/topics/{prefix}{t}/partitions/{p}");
                        let body = json!({"records": [{"value": {"topic": t, "partition": p}}]});
                        let (status, answer) = try_http(&address, "POST", &path, JSON_V2, Some(&body)).unwrap();
                        assert_eq!(status, 200, "{answer}");
                        let path = format!("/topics/{prefix}{t}/partitions/{p}/records?offset=0");
                        let (status, records) = try_http(&address, "GET", &path, JSON_V2, None).unwrap();
                        assert_eq!(status, 200, "{records}");
                        let values: Vec<&Value> = records.as_array().unwrap().iter().map(|r| &r["value"]).collect();
                        assert!(values.contains(&&json!({"topic": t, "partition": p})), "{records}");
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client thread");
    }
}

#[test]
fn open_files_and_threads_stay_bounded_with_1200_partitions() {
    let dir = temp_dir("herald-descriptors");
    // A limit of its own, so the bounds below do not depend on the machine's: 4,096 open
    // files leave room for 1,408 partitions (two descriptors each) and 256 cached segment files.
    let herald = Herald::start(&dir, Some(4096));
    let (files_at_start, threads_at_start) = (herald.open_files(), herald.threads());
    create_topics(&herald, "t", TOPICS);
    let partitions = TOPICS * PARTITIONS;
    let (files, threads) = (herald.open_files(), herald.threads());
    eprintln!("at start {files_at_start} files, {threads_at_start} threads; after {partitions} partitions {files} files, {threads} threads");
    assert!(
        files < files_at_start + 100,
        "{files} open files for {partitions} idle partitions"
    );
    assert!(
        threads < threads_at_start + 16,
        "{threads} threads for {partitions} partitions"
    );

    produce_and_read_all(&herald.address, "t", TOPICS);
    let (files, threads) = (herald.open_files(), herald.threads());
    eprintln!("after producing to and reading all: {files} files, {threads} threads");
    assert!(
        files < files_at_start + 256 + 64,
        "{files} open files for {partitions} partitions"
    );
    assert!(threads < 64, "{threads} threads for {partitions} partitions");
    herald.assert_healthy();
}

#[test]
fn a_low_open_file_limit_refuses_new_topics_but_never_a_start() {
    let dir = temp_dir("herald-descriptors-low");
    // More partitions on disk than the low limit has descriptors.
    let topics = 75;
    let herald = Herald::start(&dir, None);
    create_topics(&herald, "old", topics);
    produce_and_read_all(&herald.address, "old", topics);
    herald.stop();

    let herald = Herald::start(&dir, Some(256));
    herald.assert_healthy();
    produce_and_read_all(&herald.address, "old", topics);
    let (status, body) = herald.call("POST", "/topics", Some(&json!({"name": "new", "partitions": 1})));
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error_code"], 50701, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("open-file limit of 256") && message.contains("RLIMIT_NOFILE"),
        "{message}"
    );
    herald.assert_healthy();
    assert!(herald.open_files() < 200, "{} open files", herald.open_files());
    herald.stop();

    let herald = Herald::start(&dir, Some(256));
    herald.assert_healthy();
    let (status, topics_listed) = herald.call("GET", "/topics", None);
    assert_eq!(status, 200);
    assert_eq!(topics_listed.as_array().unwrap().len(), topics, "{topics_listed}");
    produce_and_read_all(&herald.address, "old", topics);
}
