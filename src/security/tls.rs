//! TLS for the HTTP listener (rustls, ring): a certificate chain and key read from PEM
//! files, read again when either file changes, so that a renewed certificate is served
//! without a restart. A renewal that does not load (unreadable, no key, a key that is not
//! the certificate's) keeps the certificate in force and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::ring;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// `[security.tls]`: PEM files, relative to the settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The leaf certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The certificate in force, answered to every handshake.
#[derive(Debug)]
struct Current {
    key: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

pub struct Tls {
    settings: TlsSettings,
    current: Arc<Current>,
    /// The files' modification times when last read.
    modified: RwLock<(Option<SystemTime>, Option<SystemTime>)>,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("settings", &self.settings).finish()
    }
}

impl Tls {
    pub fn open(settings: TlsSettings) -> Result<Tls, String> {
        let key = load(&settings.cert, &settings.key)?;
        let current = Arc::new(Current {
            key: RwLock::new(Arc::new(key)),
        });
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let modified = RwLock::new((modified(&settings.cert), modified(&settings.key)));
        Ok(Tls {
            settings,
            current,
            modified,
            config: Arc::new(config),
        })
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }

    /// Reads the files again if either changed; answers whether a new certificate is in force.
    pub fn reload_if_changed(&self) -> bool {
        let now = (modified(&self.settings.cert), modified(&self.settings.key));
        if now == *self.modified.read().unwrap_or_else(|e| e.into_inner()) {
            return false;
        }
        *self.modified.write().unwrap_or_else(|e| e.into_inner()) = now;
        match load(&self.settings.cert, &self.settings.key) {
            Ok(key) => {
                *self.current.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                tracing::info!(cert = %self.settings.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(why) => {
                tracing::error!(error = %why, "TLS certificate not reloaded; the previous one stays in force");
                false
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "TLS certificate {}: no certificate in the file",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    let signing = ring::sign::any_supported_type(&private).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| format!("TLS key {} is not the certificate's: {e}", key.display()))?;
    Ok(certified)
}
