//! The blocking HTTP client of the client commands (ureq, with rustls): JSON bodies,
//! `http://` and `https://` servers, the credentials of `--user` or `HERALD_TOKEN`, a CA
//! file for servers whose certificates the public web's CAs did not sign, and a client
//! certificate for servers that take them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use super::CliError;

/// How long a request may take, all told: the slowest is a large static-site download.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest answer read (pages and files of a static site included).
const MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// `--ca-cert`, `--client-cert` and `--client-key`.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    pub ca_cert: Option<PathBuf>,
    /// The certificate chain and its key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

static TLS: OnceLock<ClientTls> = OnceLock::new();

/// Sets the TLS options of every client made after, once, at start; the files are read
/// when a client is made, so that an unreadable one is reported by the command using it.
pub fn set_client_tls(tls: ClientTls) -> Result<(), CliError> {
    let _ = TLS.set(tls);
    Ok(())
}

pub struct Client {
    /// The URL as given, without a trailing slash: paths are appended to it.
    url: String,
    agent: ureq::Agent,
    /// For answers that stream until stopped (a live tail): no overall timeout.
    streaming: ureq::Agent,
}

/// A response: status and JSON body (`Null` when empty or not JSON).
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Response {
    /// The server's error message, or the body.
    pub fn message(&self) -> String {
        match (&self.body["message"], &self.body) {
            (Value::String(message), _) => message.clone(),
            (_, Value::Null) => "(an answer that is not JSON)".to_string(),
            (_, body) => body.to_string(),
        }
    }
}

impl Client {
    pub fn new(server: &str) -> Result<Client, CliError> {
        let rest = server
            .strip_prefix("http://")
            .or_else(|| server.strip_prefix("https://"))
            .ok_or_else(|| CliError(format!("--server {server:?}: use an http:// or https:// URL")))?;
        if rest.split('/').next().unwrap_or_default().is_empty() {
            return Err(CliError(format!("--server {server:?} names no host")));
        }
        let tls = tls_config(&TLS.get().cloned().unwrap_or_default())?;
        let agent = |timeout: Option<Duration>| {
            ureq::Agent::config_builder()
                .timeout_global(timeout)
                .timeout_connect(Some(REQUEST_TIMEOUT))
                // Error statuses are answers to report, with the server's message.
                .http_status_as_error(false)
                // The server's address is the one given; a redirect elsewhere is not
                // followed with the credentials.
                .max_redirects(0)
                .tls_config(tls.clone())
                .build()
                .into()
        };
        Ok(Client {
            url: server.trim_end_matches('/').to_string(),
            agent: agent(Some(REQUEST_TIMEOUT)),
            streaming: agent(None),
        })
    }

    /// The server's URL, as messages name it.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn get(&self, path: &str) -> Result<Response, CliError> {
        self.send("GET", path, None, "application/json")
    }

    pub fn delete(&self, path: &str) -> Result<Response, CliError> {
        self.send("DELETE", path, None, "application/json")
    }

    pub fn post(&self, path: &str, body: &Value, content_type: &str) -> Result<Response, CliError> {
        self.send("POST", path, Some(body), content_type)
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Response, CliError> {
        self.send("PATCH", path, Some(body), "application/json")
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Response, CliError> {
        self.send("PUT", path, Some(body), "application/vnd.schemaregistry.v1+json")
    }

    /// A GET whose body is kept as bytes (pages, files), with the response's status.
    pub fn get_bytes(&self, path: &str) -> Result<(u16, Vec<u8>), CliError> {
        self.exchange("GET", path, None, "application/json")
    }

    /// A GET whose answer streams (Server-Sent Events): each line goes to `on_line` as it
    /// arrives, which says whether to read on. Returns when the server ends the answer or
    /// `on_line` says stop; an error status is an error with the server's message.
    pub fn stream_lines(
        &self,
        path: &str,
        headers: &[(&str, String)],
        mut on_line: impl FnMut(&str) -> Result<bool, CliError>,
    ) -> Result<(), CliError> {
        let mut request = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.url))
            .header("Accept", "text/event-stream");
        if let Some(authorization) = super::access::authorization() {
            request = request.header("Authorization", authorization);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(())
            .map_err(|e| CliError(format!("cannot make a request for {}{path}: {e}", self.url)))?;
        let mut response = self
            .streaming
            .run(request)
            .map_err(|e| CliError(format!("cannot reach the server at {}: {e}", self.url)))?;
        let status = response.status().as_u16();
        if status != 200 {
            let payload = response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec()
                .unwrap_or_default();
            let answer = Response {
                status,
                body: serde_json::from_slice(&payload).unwrap_or(Value::Null),
            };
            return Err(CliError(format!(
                "the server answered {status} for GET {path}: {}",
                answer.message()
            )));
        }
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        for line in std::io::BufRead::lines(reader) {
            let line = line.map_err(|e| CliError(format!("the stream from {} broke off: {e}", self.url)))?;
            if !on_line(&line)? {
                break;
            }
        }
        Ok(())
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>, content_type: &str) -> Result<Response, CliError> {
        let (status, payload) = self.exchange(method, path, body, content_type)?;
        Ok(Response {
            status,
            body: serde_json::from_slice(&payload).unwrap_or(Value::Null),
        })
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<(u16, Vec<u8>), CliError> {
        let unreachable = |e: ureq::Error| match e {
            // Something listens there but does not speak HTTP back.
            ureq::Error::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                CliError(format!(
                    "the server at {} closed the connection without an HTTP answer; is --server the registry's URL?",
                    self.url
                ))
            }
            other => CliError(format!("cannot reach the server at {}: {other}", self.url)),
        };
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("Accept", "application/json, */*")
            .header("Content-Type", content_type);
        if let Some(authorization) = super::access::authorization() {
            request = request.header("Authorization", authorization);
        }
        let invalid = |e: ureq::http::Error| CliError(format!("cannot make a request for {}{path}: {e}", self.url));
        // Without a body, none is sent (a GET with one is refused by some servers).
        let answered = match body {
            Some(body) => self.agent.run(request.body(body.to_string()).map_err(invalid)?),
            None => self.agent.run(request.body(()).map_err(invalid)?),
        };
        let mut response = answered.map_err(unreachable)?;
        let status = response.status().as_u16();
        let payload = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(unreachable)?;
        Ok((status, payload))
    }
}

/// The TLS settings of a client: the public web's CAs unless `--ca-cert` names others.
fn tls_config(tls: &ClientTls) -> Result<TlsConfig, CliError> {
    let mut config = TlsConfig::builder();
    if let Some(path) = &tls.ca_cert {
        let certificates = read_certificates(path, "--ca-cert")?;
        config = config.root_certs(RootCerts::new_with_certs(&certificates));
    }
    if let Some((cert, key)) = &tls.client_cert {
        let chain = read_certificates(cert, "--client-cert")?;
        let pem = read(key, "--client-key")?;
        let key = PrivateKey::from_pem(&pem).map_err(|e| CliError(format!("--client-key {}: {e}", key.display())))?;
        config = config.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(config.build())
}

fn read(path: &Path, option: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError(format!("{option} {}: {e}", path.display())))
}

fn read_certificates(path: &Path, option: &str) -> Result<Vec<Certificate<'static>>, CliError> {
    let pem = read(path, option)?;
    let certificates: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(Ok(certificate)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| CliError(format!("{option} {}: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(CliError(format!(
            "{option} {}: no certificate in the file",
            path.display()
        )));
    }
    Ok(certificates)
}
