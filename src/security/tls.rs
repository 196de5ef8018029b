//! TLS for the HTTP and Kafka listeners (rustls, ring): a certificate chain and key read
//! from PEM files, and optionally the CAs whose client certificates identify principals
//! (mTLS). The files are read again when one of them changes, so that a renewed
//! certificate or CA list is in force without a restart; a renewal that does not load
//! (unreadable, no key, a key that is not the certificate's) keeps the configuration in
//! force and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// `[security.tls]` (HTTP) and `[security.kafka_tls]` (Kafka): PEM files, relative to the
/// settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The CA certificates that sign client certificates. With it, a client may
    /// authenticate by its certificate alone.
    pub client_ca: Option<PathBuf>,
    /// Whether clients present a certificate [default: `optional` with `client_ca`, else
    /// `none`].
    pub client_auth: Option<ClientAuth>,
    /// Which name of a client certificate is its principal [default: `san`].
    #[serde(default)]
    pub principal_from: PrincipalFrom,
}

/// Whether clients present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Not asked for.
    None,
    /// Asked for; a client without one authenticates otherwise (a password, a token).
    Optional,
    /// A client without a certificate the CAs signed cannot connect.
    Required,
}

/// Which name of a client certificate is its principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalFrom {
    /// The first DNS name of the subject alternative names, else the first email address,
    /// else the first URI, else the subject's common name.
    #[default]
    San,
    /// The subject's common name.
    Cn,
}

impl TlsSettings {
    fn client_auth(&self) -> ClientAuth {
        match (self.client_auth, &self.client_ca) {
            (Some(auth), _) => auth,
            (None, Some(_)) => ClientAuth::Optional,
            (None, None) => ClientAuth::None,
        }
    }

    /// Whether clients can authenticate with a certificate.
    pub fn authenticates_clients(&self) -> bool {
        self.client_auth() != ClientAuth::None
    }

    /// The files whose changes are reloaded.
    fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.cert.as_path(), self.key.as_path()];
        files.extend(self.client_ca.as_deref());
        files
    }
}

pub struct Tls {
    settings: TlsSettings,
    /// Application protocols offered (ALPN): `http/1.1` on the HTTP listener, none on Kafka's.
    alpn: Vec<Vec<u8>>,
    config: RwLock<Arc<ServerConfig>>,
    /// The files' modification times when last read.
    modified: RwLock<Vec<Option<SystemTime>>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("settings", &self.settings).finish()
    }
}

impl Tls {
    /// Reads the files; errors name the file and what is wrong with it.
    pub fn open(settings: TlsSettings, alpn: &[&[u8]]) -> Result<Tls, String> {
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|p| p.to_vec()).collect();
        let config = server_config(&settings, &alpn)?;
        let modified = RwLock::new(modified(&settings.files()));
        Ok(Tls {
            settings,
            alpn,
            config: RwLock::new(Arc::new(config)),
            modified,
        })
    }

    /// An acceptor with the configuration in force, for one connection.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.read().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// The principal a connection's verified client certificate names, if it presented one.
    pub fn client_principal(&self, connection: &rustls::ServerConnection) -> Option<String> {
        if !self.settings.authenticates_clients() {
            return None;
        }
        let leaf = connection.peer_certificates()?.first()?;
        principal_of(leaf, self.settings.principal_from)
    }

    /// Reads the files again if one changed; answers whether a new configuration is in force.
    pub fn reload_if_changed(&self) -> bool {
        let now = modified(&self.settings.files());
        if now == *self.modified.read().unwrap_or_else(|e| e.into_inner()) {
            return false;
        }
        *self.modified.write().unwrap_or_else(|e| e.into_inner()) = now;
        match server_config(&self.settings, &self.alpn) {
            Ok(config) => {
                *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
                tracing::info!(cert = %self.settings.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(why) => {
                tracing::error!(error = %why, "TLS files not reloaded; the previous ones stay in force");
                false
            }
        }
    }

    /// Checks the files for changes every `every`, for as long as the process runs.
    pub fn watch(self: &Arc<Tls>, every: Duration) {
        let tls = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(tls) = tls.upgrade() else { return };
                tls.reload_if_changed();
            }
        });
    }
}

fn modified(paths: &[&Path]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .collect()
}

fn server_config(settings: &TlsSettings, alpn: &[Vec<u8>]) -> Result<ServerConfig, String> {
    let (chain, key) = load_certified_key(&settings.cert, &settings.key)?;
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match (settings.client_auth(), &settings.client_ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(
                "TLS: client_auth needs client_ca, the CA certificates that sign client certificates".to_string(),
            )
        }
        (auth, Some(ca)) => {
            let roots = load_roots(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match auth {
                ClientAuth::Optional => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            let verifier = verifier
                .build()
                .map_err(|e| format!("TLS client CA {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS key {} is not the certificate's: {e}", settings.key.display()))?;
    config.alpn_protocols = alpn.to_vec();
    Ok(config)
}

fn load_certified_key(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = load_certificates(cert, "certificate")?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    // Checked here rather than by rustls, whose message does not name the files.
    let signing = ring::sign::any_supported_type(&private).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    rustls::sign::CertifiedKey::new(chain.clone(), signing)
        .keys_match()
        .map_err(|e| format!("TLS key {} is not the certificate's: {e}", key.display()))?;
    Ok((chain, private))
}

fn load_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("TLS {what} {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("TLS {what} {}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("TLS {what} {}: no certificate in the file", path.display()));
    }
    Ok(certificates)
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in load_certificates(path, "client CA")? {
        roots
            .add(certificate)
            .map_err(|e| format!("TLS client CA {}: {e}", path.display()))?;
    }
    Ok(roots)
}

/// The principal a client certificate names: see [`PrincipalFrom`]. `None` for a
/// certificate that does not parse or names nothing usable.
pub fn principal_of(certificate: &CertificateDer<'_>, from: PrincipalFrom) -> Option<String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, parsed) = X509Certificate::from_der(certificate.as_ref()).ok()?;
    let common_name = || {
        let name = parsed.subject().iter_common_name().next()?.as_str().ok()?;
        Some(name.to_string())
    };
    let name = match from {
        PrincipalFrom::Cn => common_name(),
        PrincipalFrom::San => {
            let names = parsed
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|san| san.value.general_names.clone())
                .unwrap_or_default();
            let first = |wanted: fn(&GeneralName<'_>) -> Option<String>| names.iter().find_map(wanted);
            first(|n| match n {
                GeneralName::DNSName(name) => Some(name.to_string()),
                _ => None,
            })
            .or_else(|| {
                first(|n| match n {
                    GeneralName::RFC822Name(name) => Some(name.to_string()),
                    _ => None,
                })
            })
            .or_else(|| {
                first(|n| match n {
                    GeneralName::URI(name) => Some(name.to_string()),
                    _ => None,
                })
            })
            .or_else(common_name)
        }
    };
    // A name that holds control characters would forge log and audit lines.
    name.filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
}
