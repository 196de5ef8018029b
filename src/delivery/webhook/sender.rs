//! One keep-alive HTTP/1.1 connection to a subscription's endpoint, over TLS for `https`.
//!
//! Each delivery lane holds its own: requests on one lane go one at a time (that is what
//! keeps a partition's order), and a kept-alive connection saves a handshake per record.
//! Redirects are not followed (a 3xx is the endpoint's failure): a receiver that moved is
//! re-pointed by its operator, not by whoever answers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST, RETRY_AFTER, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::policy::Outcome;

/// How much of an answer's body is read (and thrown away) at most.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where requests go, read from the subscription's URL.
#[derive(Debug, Clone)]
pub struct Endpoint {
    host: String,
    port: u16,
    tls: bool,
    /// The `Host` header: the URL's authority as written.
    authority: HeaderValue,
    /// Path and query, what the request line carries.
    target: Uri,
}

impl Endpoint {
    /// The host as the URL names it (an IPv6 address without its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: Uri = url.parse().map_err(|e| format!("url {url:?}: {e}"))?;
        let authority = uri.authority().ok_or_else(|| format!("url {url:?} has no host"))?;
        let tls = uri.scheme_str() == Some("https");
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let target = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| format!("url {url:?}: {e}"))?;
        Ok(Endpoint {
            authority: HeaderValue::from_str(authority.as_str()).map_err(|e| format!("url {url:?}: {e}"))?,
            host,
            port,
            tls,
            target,
        })
    }
}

/// A lane's connection to its endpoint, opened when first needed and again after a failure.
pub struct Sender {
    endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
    /// Whether private and link-local addresses may be connected to (see [`super::address`]).
    private_endpoints: bool,
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl Sender {
    pub fn new(endpoint: Endpoint, tls: Arc<rustls::ClientConfig>, private_endpoints: bool) -> Sender {
        Sender {
            endpoint,
            tls,
            private_endpoints,
            connection: None,
        }
    }

    /// POSTs `body` with `headers`; the whole exchange (connecting included) within `timeout`.
    pub async fn post(
        &mut self,
        content_type: &'static str,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
        timeout: Duration,
    ) -> Outcome {
        match tokio::time::timeout(timeout, self.exchange(content_type, headers, body)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) => {
                self.connection = None;
                Outcome::Failed(error)
            }
            Err(_) => {
                self.connection = None;
                Outcome::Failed(format!("no answer within {} ms", timeout.as_millis()))
            }
        }
    }

    async fn exchange(
        &mut self,
        content_type: &'static str,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Bytes,
    ) -> Result<Outcome, String> {
        let mut connection = match self.connection.take() {
            Some(connection) if !connection.is_closed() => connection,
            _ => self.connect().await?,
        };
        connection
            .ready()
            .await
            .map_err(|e| format!("connection to {}:{} lost: {e}", self.endpoint.host, self.endpoint.port))?;
        let mut request = Request::post(self.endpoint.target.clone())
            .header(HOST, self.endpoint.authority.clone())
            .header(CONTENT_TYPE, content_type)
            .header(USER_AGENT, concat!("herald/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        request.headers_mut().extend(headers);
        let response = connection
            .send_request(request)
            .await
            .map_err(|e| format!("request to {}:{} failed: {e}", self.endpoint.host, self.endpoint.port))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read the answer to its end so the connection can carry the next request; one
        // past the cap is not worth keeping the connection for.
        let complete = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .is_ok();
        if complete {
            self.connection = Some(connection);
        }
        Ok(if (200..300).contains(&status) {
            Outcome::Delivered
        } else {
            Outcome::Status { status, retry_after }
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let Endpoint { host, port, tls, .. } = &self.endpoint;
        let tcp = self.connect_checked(host, *port).await?;
        let _ = tcp.set_nodelay(true);
        if *tls {
            let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
            let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))?;
            handshake(stream).await
        } else {
            handshake(tcp).await
        }
    }
}

impl Sender {
    /// A connection to the first address `host` resolves to that deliveries may reach,
    /// made to that very address (see [`super::address`]).
    async fn connect_checked(&self, host: &str, port: u16) -> Result<TcpStream, String> {
        let addresses = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        let mut refused = Vec::new();
        let mut failed = None;
        for address in addresses {
            if let Err(why) = super::address::permitted(address.ip(), self.private_endpoints) {
                refused.push(why);
                continue;
            }
            match TcpStream::connect(address).await {
                Ok(tcp) => return Ok(tcp),
                Err(e) => failed = Some(format!("cannot connect to {host}:{port} ({address}): {e}")),
            }
        }
        Err(match (failed, refused.first()) {
            (Some(failed), _) => failed,
            (None, Some(why)) => format!("not delivering to {host}: {why}"),
            (None, None) => format!("{host} resolves to no address"),
        })
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// The TLS client settings every endpoint shares: the public web's CAs, plus those of
/// `extra_ca_file` (a PEM file; `webhook_ca_file`) for endpoints behind a private CA.
pub fn client_config(extra_ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca_file {
        use rustls::pki_types::pem::PemObject;
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("webhook_ca_file {}: {e}", path.display()))?;
        let mut added = 0;
        for certificate in certificates {
            let certificate = certificate.map_err(|e| format!("webhook_ca_file {}: {e}", path.display()))?;
            roots
                .add(certificate)
                .map_err(|e| format!("webhook_ca_file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "webhook_ca_file {}: no certificate in the file",
                path.display()
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_read_host_port_and_target() {
        let e = Endpoint::parse("https://hooks.example/in?x=1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls, e.target.to_string().as_str()),
            ("hooks.example", 443, true, "/in?x=1")
        );
        let e = Endpoint::parse("http://[::1]:9000").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls, e.target.to_string().as_str()),
            ("::1", 9000, false, "/")
        );
        assert_eq!(e.authority, "[::1]:9000");
    }

    #[tokio::test]
    async fn addresses_deliveries_may_not_reach_are_never_connected_to() {
        let tls = client_config(None).unwrap();
        let post = |url: &str, private: bool| {
            let mut sender = Sender::new(Endpoint::parse(url).unwrap(), tls.clone(), private);
            async move {
                sender
                    .post("application/json", Vec::new(), Bytes::new(), Duration::from_secs(5))
                    .await
            }
        };
        let Outcome::Failed(why) = post("https://169.254.169.254/latest/meta-data", false).await else {
            panic!("a link-local address is refused");
        };
        assert!(why.contains("not delivering to 169.254.169.254"), "{why}");
        assert!(why.contains("webhook_private_endpoints"), "{why}");
        let Outcome::Failed(why) = post("https://[::ffff:10.0.0.1]/", false).await else {
            panic!("a mapped private address is refused");
        };
        assert!(why.contains("not delivering"), "{why}");
        // Allowed, it is tried (nothing listens on this port of the loopback interface).
        let Outcome::Failed(why) = post("http://127.0.0.1:9/", false).await else {
            panic!("nothing listens on port 9");
        };
        assert!(why.contains("cannot connect to 127.0.0.1:9"), "{why}");
    }
}
