//! A small blocking HTTP/1.1 client for the client commands: one request per connection,
//! JSON bodies, `http://` servers (a TLS-terminating proxy in front of Herald is the way to
//! reach one over HTTPS).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::CliError;

pub struct Client {
    /// The URL as given, for messages.
    url: String,
    /// `host:port`.
    authority: String,
    /// Path prefix of the server's URL, without a trailing slash.
    base: String,
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
        let rest = server.strip_prefix("http://").ok_or_else(|| {
            CliError(format!(
                "--server {server:?}: use an http:// URL (for HTTPS, put a TLS proxy in front)"
            ))
        })?;
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(CliError(format!("--server {server:?} names no host")));
        }
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Client {
            url: server.trim_end_matches('/').to_string(),
            authority,
            base: base.to_string(),
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
        let unreachable = |e: std::io::Error| CliError(format!("cannot reach the server at {}: {e}", self.authority));
        let mut stream = TcpStream::connect(&self.authority).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(unreachable)?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let authorization = super::access::authorization()
            .map(|value| format!("Authorization: {value}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json, */*\r\n\
             {authorization}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.base,
            self.authority,
            body.len()
        )
        .map_err(unreachable)?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).map_err(unreachable)?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CliError(format!("the server answered {status_line:?}, not HTTP")))?;
        let mut chunked = false;
        let mut length: Option<usize> = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(unreachable)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                    "content-length" => length = value.trim().parse().ok(),
                    _ => {}
                }
            }
        }
        let mut payload = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).map_err(unreachable)?;
                let size = usize::from_str_radix(size.trim(), 16)
                    .map_err(|_| CliError("the server sent a malformed chunked body".to_string()))?;
                if size == 0 {
                    break;
                }
                let mut chunk = vec![0u8; size + 2];
                reader.read_exact(&mut chunk).map_err(unreachable)?;
                payload.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(length) = length {
            payload.resize(length, 0);
            reader.read_exact(&mut payload).map_err(unreachable)?;
        } else {
            reader.read_to_end(&mut payload).map_err(unreachable)?;
        }
        Ok((status, payload))
    }
}
