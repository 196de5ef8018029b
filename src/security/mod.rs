//! Who may do what, for every door: authentication (users with password hashes, bearer
//! tokens), grants ([`grants`]), anonymous access, and the audit log. One [`Security`] per
//! process, shared by the HTTP and Kafka doors, so that a rule is written once.
//!
//! Without a `[security]` section Herald serves only on loopback addresses, open to all;
//! with one, every request needs a principal (or anonymous access explicitly allowed).

pub mod audit;
pub mod expiry;
pub mod grants;
pub mod scram;
pub mod throttle;
pub mod tls;
pub mod users;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

pub use audit::{Audit, AuditEvent};
pub use grants::{Operation, Principal, Resource, ResourceKind};
use users::Rules;

/// Who may act without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anonymous {
    /// Nobody: requests without credentials are 401.
    #[default]
    No,
    /// Every read and describe (the `readonly` role).
    Read,
    /// Everything (the `admin` role): an open server, chosen explicitly.
    All,
}

/// The `[security]` section of `herald.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    #[serde(default)]
    pub allow_anonymous: Anonymous,
    /// The users file (users, tokens, grants), reloaded when it changes.
    pub users_file: Option<PathBuf>,
    /// Credentials reach this server over TLS terminated by a proxy in front of it, so Basic
    /// and Bearer may be used on a non-loopback plaintext listener.
    #[serde(default)]
    pub trust_proxy_tls: bool,
    /// The audit log, relative to the data directory [default: audit.jsonl].
    pub audit_log: Option<PathBuf>,
    /// The realm named in `WWW-Authenticate` [default: herald].
    pub realm: Option<String>,
    /// TLS on the HTTP listener.
    pub tls: Option<tls::TlsSettings>,
    /// TLS on the Kafka listener (`SSL` and `SASL_SSL` in clients' terms).
    pub kafka_tls: Option<tls::TlsSettings>,
    /// Failed logins a user name may have in a minute (an address ten times as many); past
    /// them its logins are refused (429) until the minute is over, right or wrong
    /// [default: 10; 0: no limit].
    pub login_failures_per_minute: Option<u32>,
    /// Requests a principal may make per second, on average [default: no limit].
    pub requests_per_second: Option<f64>,
    /// Requests a principal may make at once, above the rate [default: requests_per_second].
    pub burst: Option<f64>,
    /// Origins whose web pages may call the API (CORS) [default: none].
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Field tags whose fields an HTTP reader sees only with `read` on the tag (a grant with
    /// `resource = "tag"`); others get them redacted [default: ["PII"]].
    pub sensitive_tags: Option<Vec<String>>,
}

/// Why a request has no principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No credentials, and anonymous access is not allowed.
    Missing,
    /// Credentials that match no user or token (or cannot be read).
    Invalid,
    /// A genuine token past its `expires` instant, with the principal it named.
    Expired(Arc<str>),
}

/// What a request presented.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    None,
    Basic {
        user: &'a str,
        password: &'a str,
    },
    Bearer(&'a str),
    /// The principal a client certificate names, verified by the TLS handshake.
    Certificate(&'a str),
}

/// Successful password checks are remembered this long, so that argon2's deliberate cost is
/// paid once per client, not per request.
const VERIFIED_FOR: Duration = Duration::from_secs(300);
const VERIFIED_ENTRIES: usize = 10_000;

struct LoadedRules {
    rules: Arc<Rules>,
    /// The users file's modification time when read.
    modified: Option<SystemTime>,
}

pub struct Security {
    settings: SecuritySettings,
    rules: RwLock<LoadedRules>,
    /// Successful password checks by a salted hash of user and password.
    verified: RwLock<HashMap<[u8; 32], (Principal, Instant)>>,
    /// A per-process salt for [`Security::verified`]'s keys: a memory dump does not hold a
    /// table of password hashes anyone can attack offline.
    salt: [u8; 32],
    audit: Option<Audit>,
    /// Failed logins by user name, and by address (where many users may share one: a NAT,
    /// a proxy, every client on this machine), which gets ten times the allowance.
    logins_by_user: throttle::LoginThrottle,
    logins_by_address: throttle::LoginThrottle,
    rates: Option<throttle::RateLimiter>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security").field("settings", &self.settings).finish()
    }
}

impl Security {
    /// Reads the users file (if any) and opens the audit log in `data_dir`.
    pub fn open(settings: SecuritySettings, data_dir: &Path) -> Result<Security, String> {
        let (rules, modified) = match &settings.users_file {
            Some(path) => read_rules(path)?,
            None => (Rules::default(), None),
        };
        let audit_path = data_dir.join(
            settings
                .audit_log
                .clone()
                .unwrap_or_else(|| PathBuf::from("audit.jsonl")),
        );
        let audit = Audit::open(&audit_path)?;
        let mut salt = [0u8; 32];
        getrandom::getrandom(&mut salt).map_err(|e| format!("no random bytes: {e}"))?;
        let failures = settings.login_failures_per_minute.unwrap_or(10);
        let logins_by_user = throttle::LoginThrottle::new(failures, Duration::from_secs(60));
        let logins_by_address = throttle::LoginThrottle::new(failures.saturating_mul(10), Duration::from_secs(60));
        let rates = match settings.requests_per_second {
            Some(rate) if rate > 0.0 => Some(throttle::RateLimiter::new(rate, settings.burst.unwrap_or(rate))),
            Some(rate) if rate < 0.0 || rate.is_nan() => {
                return Err(format!("security.requests_per_second must be positive, not {rate}"))
            }
            _ => None,
        };
        Ok(Security {
            logins_by_user,
            logins_by_address,
            rates,
            settings,
            rules: RwLock::new(LoadedRules {
                rules: Arc::new(rules),
                modified,
            }),
            verified: RwLock::new(HashMap::new()),
            salt,
            audit: Some(audit),
        })
    }

    pub fn settings(&self) -> &SecuritySettings {
        &self.settings
    }

    pub fn realm(&self) -> &str {
        self.settings.realm.as_deref().unwrap_or("herald")
    }

    fn rules(&self) -> Arc<Rules> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).rules.clone()
    }

    /// Whether any user or token can authenticate.
    pub fn has_credentials(&self) -> bool {
        self.rules().has_credentials()
    }

    /// The principal of a request's credentials, or the anonymous one where allowed.
    pub fn authenticate(&self, credentials: Credentials<'_>) -> Result<Principal, AuthError> {
        match credentials {
            Credentials::None => match self.settings.allow_anonymous {
                Anonymous::No => Err(AuthError::Missing),
                Anonymous::Read => Ok(Principal::anonymous(vec![grants::READONLY.to_string()])),
                Anonymous::All => Ok(Principal::anonymous(vec![grants::ADMIN.to_string()])),
            },
            Credentials::Bearer(token) => self.rules().verify_token(token, expiry::now()),
            Credentials::Certificate(name) => Ok(self.rules().certificate_principal(name)),
            Credentials::Basic { user, password } => self.verify_password(user, password),
        }
    }

    /// The principal of credentials that need no slow check: none, a token, or a password
    /// verified recently. `None`: a password to check with [`Security::authenticate`], best
    /// off the async workers.
    pub fn authenticate_quickly(&self, credentials: Credentials<'_>) -> Option<Result<Principal, AuthError>> {
        match credentials {
            Credentials::Basic { user, password } => self.remembered(user, password).map(Ok),
            other => Some(self.authenticate(other)),
        }
    }

    fn verified_key(&self, user: &str, password: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(user.as_bytes());
        hasher.update([0]);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    fn remembered(&self, user: &str, password: &str) -> Option<Principal> {
        let key = self.verified_key(user, password);
        let verified = self.verified.read().unwrap_or_else(|e| e.into_inner());
        let (principal, at) = verified.get(&key)?;
        (at.elapsed() < VERIFIED_FOR).then(|| principal.clone())
    }

    fn verify_password(&self, user: &str, password: &str) -> Result<Principal, AuthError> {
        if let Some(principal) = self.remembered(user, password) {
            return Ok(principal);
        }
        let key = self.verified_key(user, password);
        let principal = self.rules().verify_password(user, password).ok_or(AuthError::Invalid)?;
        let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_ENTRIES {
            verified.retain(|_, (_, at)| at.elapsed() < VERIFIED_FOR);
            if verified.len() >= VERIFIED_ENTRIES {
                verified.clear();
            }
        }
        verified.insert(key, (principal.clone(), Instant::now()));
        Ok(principal)
    }

    /// A user's SCRAM credentials for `hash`, with its roles.
    pub fn scram(&self, user: &str, hash: scram::ScramHash) -> Option<(scram::ScramCredentials, Vec<String>)> {
        self.rules().scram(user, hash)
    }

    /// A salt for a user without SCRAM credentials, the same on every attempt (as a real
    /// one would be) and unguessable, so that the exchange does not tell who exists.
    pub fn made_up_salt(&self, user: &str) -> Vec<u8> {
        let mut material = self.salt.to_vec();
        material.extend_from_slice(b"scram-salt");
        material.extend_from_slice(user.as_bytes());
        users::sha256(&material)[..16].to_vec()
    }

    /// A fresh nonce for a SCRAM exchange: hex digits only, since some clients (librdkafka
    /// 2.0) mangle a nonce holding base64's `+` or `/`.
    pub fn nonce() -> String {
        let mut bytes = [0u8; 18];
        // Without randomness no exchange can be safe; an empty nonce fails the client.
        if getrandom::getrandom(&mut bytes).is_err() {
            return String::new();
        }
        users::to_hex(&bytes)
    }

    /// Whether any login has failed since the start: until one does, nothing is throttled
    /// and a request need not ask.
    pub fn any_failed_login(&self) -> bool {
        self.logins_by_user.any() || self.logins_by_address.any()
    }

    /// How long logins for `user` from `address` must wait after too many failures.
    pub fn login_blocked(&self, user: Option<&str>, address: Option<&str>) -> Option<Duration> {
        let by_user = user.and_then(|u| self.logins_by_user.blocked(&[u]));
        let by_address = address.and_then(|a| self.logins_by_address.blocked(&[a]));
        by_user.max(by_address)
    }

    /// Counts a failed login for `user` and `address`.
    pub fn login_failed(&self, user: Option<&str>, address: Option<&str>) {
        if let Some(user) = user {
            self.logins_by_user.failed(&[user]);
        }
        if let Some(address) = address {
            self.logins_by_address.failed(&[address]);
        }
    }

    /// Takes one request from the principal's allowance, or says how long to wait.
    pub fn admit_request(&self, principal: &Principal) -> Result<(), Duration> {
        match &self.rates {
            Some(rates) => rates.admit(&principal.name),
            None => Ok(()),
        }
    }

    /// May `principal` do `operation` on `resource`?
    pub fn permits(&self, principal: &Principal, operation: Operation, resource: &Resource) -> bool {
        self.rules().grants.permits(principal, operation, resource)
    }

    /// The sensitive tags `principal` may not read: the fields they mark are redacted in
    /// what it reads over HTTP.
    pub fn hidden_tags(&self, principal: &Principal) -> Vec<String> {
        let default = [String::from("PII")];
        let sensitive = self.settings.sensitive_tags.as_deref().unwrap_or(&default);
        sensitive
            .iter()
            .filter(|tag| !self.permits(principal, Operation::Read, &Resource::tag(tag.as_str())))
            .cloned()
            .collect()
    }

    /// May `principal` do `operation` on every resource of `kind`?
    pub fn permits_every(&self, principal: &Principal, operation: Operation, kind: ResourceKind) -> bool {
        self.rules().grants.permits_every(principal, operation, kind)
    }

    /// Reads the users file again if it changed since it was read. A file that no longer
    /// parses keeps the rules in force, and says why in the log. Answers whether new rules
    /// took effect.
    pub fn reload_if_changed(&self) -> bool {
        let Some(path) = &self.settings.users_file else {
            return false;
        };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified == self.rules.read().unwrap_or_else(|e| e.into_inner()).modified {
            return false;
        }
        match read_rules(path) {
            Ok((rules, modified)) => {
                *self.rules.write().unwrap_or_else(|e| e.into_inner()) = LoadedRules {
                    rules: Arc::new(rules),
                    modified,
                };
                // Remembered passwords may have been changed or removed.
                self.verified.write().unwrap_or_else(|e| e.into_inner()).clear();
                tracing::info!(file = %path.display(), "users file reloaded");
                self.record(AuditEvent::reload(true, None));
                true
            }
            Err(why) => {
                // Remember the bad edit's time, so that it is reported once, not every poll.
                self.rules.write().unwrap_or_else(|e| e.into_inner()).modified = modified;
                tracing::error!(file = %path.display(), error = %why, "users file not reloaded; the previous rules stay in force");
                self.record(AuditEvent::reload(false, Some(why)));
                false
            }
        }
    }

    /// Checks the users file for changes every `every`, for as long as the process runs.
    pub fn watch(self: &Arc<Security>, every: Duration) {
        if self.settings.users_file.is_none() {
            return;
        }
        let security = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(security) = security.upgrade() else { return };
                // A small file, read rarely: not worth a blocking thread.
                security.reload_if_changed();
            }
        });
    }

    /// Writes one audit line.
    pub fn record(&self, event: AuditEvent) {
        if let Some(audit) = &self.audit {
            audit.write(&event);
        }
    }
}

fn read_rules(path: &Path) -> Result<(Rules, Option<SystemTime>), String> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the users file {}: {e}", path.display()))?;
    let rules = Rules::parse(&text).map_err(|why| format!("users file {}: {why}", path.display()))?;
    Ok((rules, modified))
}

/// Whether an address only this machine can reach: 127.0.0.0/8, ::1, `localhost`.
pub fn is_loopback(listen: &str) -> bool {
    if let Ok(address) = listen.parse::<SocketAddr>() {
        return address.ip().is_loopback();
    }
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    host.eq_ignore_ascii_case("localhost")
}

/// Refuses settings that would put an unauthenticated or credential-leaking listener on the
/// network; the message says what to configure.
pub fn check_exposure(
    security: Option<&SecuritySettings>,
    has_credentials: bool,
    listen: &str,
    kafka_listen: Option<&str>,
) -> Result<(), String> {
    let anonymous = security.map_or(Anonymous::No, |s| s.allow_anonymous);
    if !is_loopback(listen) {
        match security {
            None => {
                return Err(format!(
                    "refusing to serve {listen} without authentication: add a [security] section with a users \
                     file, or set security.allow_anonymous = \"read\" (or \"all\") to serve it open"
                ))
            }
            Some(settings) => {
                let certificates = settings.tls.as_ref().is_some_and(|tls| tls.authenticates_clients());
                if !has_credentials && !certificates && anonymous == Anonymous::No {
                    return Err(format!(
                        "refusing to serve {listen}: security is on but the users file holds no users or tokens \
                         and no client certificates are taken, so nobody could authenticate; add users \
                         (`herald users add`), set security.tls.client_ca, or set security.allow_anonymous"
                    ));
                }
                if has_credentials && !settings.trust_proxy_tls && settings.tls.is_none() {
                    return Err(format!(
                        "refusing to take passwords and tokens in plaintext on {listen}: configure [security.tls], or put \
                         a TLS-terminating proxy in front and set security.trust_proxy_tls = true, or listen on a loopback \
                         address"
                    ));
                }
            }
        }
    }
    if let Some(kafka) = kafka_listen {
        match security {
            // No security: open to all, so only where only this machine reaches it.
            None if !is_loopback(kafka) => {
                return Err(format!(
                    "refusing to serve Kafka on {kafka} without authentication: add a [security] section with a \
                     users file, or set kafka_listen to a loopback address or \"off\""
                ))
            }
            // SASL PLAIN sends passwords as they are: without TLS, only on loopback.
            Some(settings) if !is_loopback(kafka) && !settings.trust_proxy_tls && settings.kafka_tls.is_none() => {
                return Err(format!(
                    "refusing to take SASL passwords in plaintext on {kafka}: configure [security.kafka_tls], listen \
                     on a loopback address, put a TLS-terminating proxy in front and set security.trust_proxy_tls = \
                     true, or set kafka_listen = \"off\""
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_recognised() {
        for (address, loopback) in [
            ("127.0.0.1:8081", true),
            ("127.5.0.1:0", true),
            ("[::1]:8081", true),
            ("localhost:8081", true),
            ("0.0.0.0:8081", false),
            ("10.0.0.5:8081", false),
            ("[::]:8081", false),
            ("herald.example.com:8081", false),
        ] {
            assert_eq!(is_loopback(address), loopback, "{address}");
        }
    }

    #[test]
    fn exposure_needs_security_credentials_and_tls() {
        let open = SecuritySettings {
            allow_anonymous: Anonymous::Read,
            ..SecuritySettings::default()
        };
        let with_users = SecuritySettings::default();
        let behind_proxy = SecuritySettings {
            trust_proxy_tls: true,
            ..SecuritySettings::default()
        };
        assert!(check_exposure(None, false, "127.0.0.1:8081", Some("127.0.0.1:9092")).is_ok());
        let err = check_exposure(None, false, "0.0.0.0:8081", None).unwrap_err();
        assert!(
            err.contains("without authentication") && err.contains("allow_anonymous"),
            "{err}"
        );
        assert!(check_exposure(Some(&open), false, "0.0.0.0:8081", None).is_ok());
        assert!(check_exposure(Some(&with_users), false, "0.0.0.0:8081", None)
            .unwrap_err()
            .contains("no users"));
        assert!(check_exposure(Some(&with_users), true, "0.0.0.0:8081", None)
            .unwrap_err()
            .contains("plaintext"));
        assert!(check_exposure(Some(&behind_proxy), true, "0.0.0.0:8081", None).is_ok());
        // The Kafka listener authenticates with SASL PLAIN: plaintext passwords stay on
        // loopback unless a TLS proxy is declared.
        assert!(check_exposure(Some(&with_users), true, "127.0.0.1:8081", Some("127.0.0.1:9092")).is_ok());
        assert!(
            check_exposure(Some(&with_users), true, "127.0.0.1:8081", Some("0.0.0.0:9092"))
                .unwrap_err()
                .contains("SASL passwords in plaintext")
        );
        assert!(check_exposure(Some(&behind_proxy), true, "0.0.0.0:8081", Some("0.0.0.0:9092")).is_ok());
        assert!(check_exposure(None, false, "127.0.0.1:8081", Some("0.0.0.0:9092"))
            .unwrap_err()
            .contains("Kafka on 0.0.0.0:9092"));
    }
}
