//! A scriptable webhook receiver for the delivery tests: an HTTP/1.1 server on a thread per
//! connection (keep-alive, as the sender uses it) that records every request and answers
//! what the test's script says: a status, a status after a delay, or a dropped connection.
//! It can go down (its port refuses connections) and come back on the same port.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status answered (0: the connection was dropped).
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// (partition, offset) from Herald's headers.
    pub fn position(&self) -> (u32, i64) {
        (
            self.header("herald-partition").parse().unwrap(),
            self.header("herald-offset").parse().unwrap(),
        )
    }

    /// Whether `webhook-signature` holds a valid Standard Webhooks signature by `secret`.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.header("webhook-id"), self.header("webhook-timestamp")).as_bytes());
        mac.update(&self.body);
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        self.header("webhook-signature").split(' ').any(|s| s == expected)
    }
}

/// What to answer a request with.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// The status after a pause (a slow receiver, or a timeout when longer than the
    /// subscription's).
    After(Duration, u16),
    /// Close the connection without answering.
    Drop,
}

type Script = Box<dyn FnMut(&Received) -> Answer + Send>;

struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<Script>,
    down: AtomicBool,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listening on a free loopback port, answering 204 to everything.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            script: Mutex::new(Box::new(|_| Answer::Status(204))),
            down: AtomicBool::new(false),
        });
        let mut receiver = Receiver {
            port,
            shared,
            acceptor: None,
        };
        receiver.listen(listener);
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers from now on with `script`.
    pub fn answer(&self, script: impl FnMut(&Received) -> Answer + Send + 'static) {
        *self.shared.script.lock().unwrap() = Box::new(script);
    }

    fn listen(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        self.shared.down.store(false, Ordering::SeqCst);
        let shared = self.shared.clone();
        self.acceptor = Some(std::thread::spawn(move || loop {
            if shared.down.load(Ordering::SeqCst) {
                return; // the listener closes: connections are refused
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    std::thread::spawn(move || serve(stream, shared));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }));
    }

    /// Stops listening and drops every connection: the endpoint is down.
    pub fn go_down(&mut self) {
        self.shared.down.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub fn come_back(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.port),
            }
        };
        self.listen(listener);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The requests answered 2xx.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until `done` holds of what was received, or panics after `within`.
    pub fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "the receiver did not see {what} within {within:?}; it got {} requests: {:?}",
                    received.len(),
                    received.iter().map(|r| (r.position(), r.answered)).collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `count` distinct records were answered 2xx.
    pub fn wait_delivered(&self, count: usize, within: Duration) -> Vec<Received> {
        self.wait_for(within, &format!("{count} records delivered"), |received| {
            let mut positions: Vec<(u32, i64)> = received
                .iter()
                .filter(|r| (200..300).contains(&r.answered))
                .map(Received::position)
                .collect();
            positions.sort();
            positions.dedup();
            positions.len() >= count
        });
        self.delivered()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.go_down();
    }
}

fn serve(stream: TcpStream, shared: Arc<Shared>) {
    stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let request = read_request(&mut reader, &shared.down);
        // A receiver that went down answers nothing more, even what arrived as it went.
        let (Some((headers, body)), false) = (request, shared.down.load(Ordering::SeqCst)) else {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        };
        let mut received = Received {
            headers,
            body,
            at: Instant::now(),
            answered: 0,
        };
        let answer = (shared.script.lock().unwrap())(&received);
        let status = match answer {
            Answer::Status(status) => status,
            Answer::After(pause, status) => {
                std::thread::sleep(pause);
                status
            }
            Answer::Drop => 0,
        };
        received.answered = status;
        shared.received.lock().unwrap().push(received);
        if status == 0 || shared.down.load(Ordering::SeqCst) {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
        let head = format!("HTTP/1.1 {status} Answer\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok");
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
    }
}

/// One request's headers and body; `None` when the connection ends or the receiver goes down.
fn read_request(reader: &mut BufReader<TcpStream>, down: &AtomicBool) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut line = String::new();
    loop {
        if down.load(Ordering::SeqCst) {
            return None;
        }
        // A read cut short by the timeout keeps its bytes in `line`; the next read goes on.
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) if line.ends_with('\n') => {
                if line == "\r\n" {
                    if !head.is_empty() {
                        break;
                    }
                } else {
                    head.push(line.trim_end().to_string());
                }
                line.clear();
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
    let headers: HashMap<String, String> = head
        .iter()
        .skip(1)
        .filter_map(|h| h.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    let mut read = 0;
    while read < length {
        match reader.read(&mut body[read..]) {
            Ok(0) => return None,
            Ok(n) => read += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
    Some((headers, body))
}
