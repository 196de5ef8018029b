//! SASL on the Kafka listener: SaslHandshake (v1) then SaslAuthenticate with PLAIN, checked
//! against the users file's users, as the HTTP door checks Basic credentials (and through
//! the same cache of verified passwords). Until a connection has authenticated it may only
//! ask ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes it, as Kafka
//! closes a SASL listener's unauthenticated connections.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};

use super::cluster::str;
use crate::security::{AuditEvent, Credentials, Principal, Security};

/// The mechanisms offered.
pub const MECHANISMS: &[&str] = &["PLAIN"];

/// Where a connection is in its authentication.
#[derive(Debug, Default)]
pub enum Session {
    /// No handshake yet.
    #[default]
    Start,
    /// A handshake chose this mechanism.
    Mechanism(String),
}

/// What a handshake answers, and the session after it.
pub fn handshake(request: &SaslHandshakeRequest) -> (SaslHandshakeResponse, Session) {
    let asked = request.mechanism.as_str();
    let offered: Vec<_> = MECHANISMS.iter().map(|m| str(m)).collect();
    if MECHANISMS.contains(&asked) {
        (
            SaslHandshakeResponse::default().with_mechanisms(offered),
            Session::Mechanism(asked.to_string()),
        )
    } else {
        (
            SaslHandshakeResponse::default()
                .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                .with_mechanisms(offered),
            Session::Start,
        )
    }
}

/// The outcome of a SaslAuthenticate: the principal, or the failure to answer (after
/// which the connection is closed).
pub async fn authenticate(
    security: &Arc<Security>,
    session: &Session,
    request: SaslAuthenticateRequest,
    peer: std::net::SocketAddr,
) -> Result<(Principal, SaslAuthenticateResponse), SaslAuthenticateResponse> {
    let address = peer.ip().to_string();
    let failed = |code: ResponseError, message: &str| {
        SaslAuthenticateResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str(message)))
    };
    match session {
        Session::Start => Err(failed(
            ResponseError::IllegalSaslState,
            "SaslAuthenticate before SaslHandshake",
        )),
        Session::Mechanism(mechanism) if mechanism == "PLAIN" => {
            let Some((user, password)) = plain(&request.auth_bytes) else {
                return Err(failed(
                    ResponseError::SaslAuthenticationFailed,
                    "Authentication failed: malformed PLAIN credentials",
                ));
            };
            // Too many failures for this user or from this address: refused unchecked.
            if security.login_blocked(Some(&user), Some(&address)).is_some() {
                return Err(failed(
                    ResponseError::SaslAuthenticationFailed,
                    "Authentication failed: too many failed logins; try again later",
                ));
            }
            // Hashes are slow by design: off the async workers.
            let checked = {
                let security = security.clone();
                let user = user.clone();
                tokio::task::spawn_blocking(move || {
                    security.authenticate(Credentials::Basic {
                        user: &user,
                        password: &password,
                    })
                })
                .await
            };
            match checked {
                Ok(Ok(principal)) => Ok((principal, SaslAuthenticateResponse::default())),
                _ => {
                    security.login_failed(Some(&user), Some(&address));
                    security.record(AuditEvent::failed_login(
                        Some(&user),
                        Some(peer.to_string()),
                        "kafka SaslAuthenticate PLAIN".to_string(),
                    ));
                    Err(failed(
                        ResponseError::SaslAuthenticationFailed,
                        "Authentication failed: Invalid username or password",
                    ))
                }
            }
        }
        Session::Mechanism(other) => Err(failed(
            ResponseError::UnsupportedSaslMechanism,
            &format!("mechanism {other} is not offered"),
        )),
    }
}

/// PLAIN's message (RFC 4616): `[authzid] NUL authcid NUL passwd`. An authorization id
/// other than the user's own is refused: nobody may act as someone else.
fn plain(bytes: &Bytes) -> Option<(String, String)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || user.is_empty() || !(authzid.is_empty() || authzid == user) {
        return None;
    }
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_are_read_as_rfc_4616_says() {
        let read = |bytes: &[u8]| plain(&Bytes::copy_from_slice(bytes));
        assert_eq!(read(b"\0alice\0secret"), Some(("alice".into(), "secret".into())));
        assert_eq!(read(b"alice\0alice\0secret"), Some(("alice".into(), "secret".into())));
        assert_eq!(read(b"root\0alice\0secret"), None, "acting as another user");
        assert_eq!(read(b"\0\0secret"), None);
        assert_eq!(read(b"alice\0secret"), None);
        assert_eq!(read(b"\0a\0b\0c"), None);
        assert_eq!(read(b"\0a\0\xff"), None);
    }

    #[test]
    fn handshakes_offer_plain_and_refuse_the_rest() {
        let (ok, session) = handshake(&SaslHandshakeRequest::default().with_mechanism(str("PLAIN")));
        assert_eq!(ok.error_code, 0);
        assert!(matches!(session, Session::Mechanism(m) if m == "PLAIN"));
        let (refused, session) = handshake(&SaslHandshakeRequest::default().with_mechanism(str("GSSAPI")));
        assert_eq!(refused.error_code, ResponseError::UnsupportedSaslMechanism.code());
        assert_eq!(refused.mechanisms, vec![str("PLAIN")]);
        assert!(matches!(session, Session::Start));
    }
}
