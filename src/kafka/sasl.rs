//! SASL on the Kafka listener: SaslHandshake (v1) then SaslAuthenticate with PLAIN (one
//! round, checked against the users file's password hashes as HTTP Basic is, through the
//! same cache of verified passwords) or SCRAM-SHA-256/512 (two rounds, against the SCRAM
//! credentials `herald users add` stores). Until a connection has authenticated it may only
//! ask ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes it, as Kafka
//! closes a SASL listener's unauthenticated connections.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};

use super::cluster::str;
use crate::security::scram::{self, ScramHash, ServerFirst};
use crate::security::{AuditEvent, Credentials, Principal, Security};

/// The mechanisms offered.
pub const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// Where a connection is in its authentication.
#[derive(Debug, Default)]
pub enum Session {
    /// No handshake yet.
    #[default]
    Start,
    /// A handshake chose PLAIN.
    Plain,
    /// A handshake chose SCRAM with this hash; its first message is next.
    Scram(ScramHash),
    /// The server's first SCRAM message was sent; the client's proof is next.
    ScramProof(Box<ServerFirst>),
}

/// What a handshake answers, and the session after it.
pub fn handshake(request: &SaslHandshakeRequest) -> (SaslHandshakeResponse, Session) {
    let asked = request.mechanism.as_str();
    let offered: Vec<_> = MECHANISMS.iter().map(|m| str(m)).collect();
    let session = match asked {
        "PLAIN" => Session::Plain,
        other => match ScramHash::from_mechanism(other) {
            Some(hash) => Session::Scram(hash),
            None => {
                return (
                    SaslHandshakeResponse::default()
                        .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                        .with_mechanisms(offered),
                    Session::Start,
                )
            }
        },
    };
    (SaslHandshakeResponse::default().with_mechanisms(offered), session)
}

/// What a SaslAuthenticate leads to.
pub enum Outcome {
    /// Answered; the exchange goes on (SCRAM's first round).
    Continue(SaslAuthenticateResponse),
    /// Authenticated as this principal.
    Done(Principal, SaslAuthenticateResponse),
    /// Refused: answered, then the connection is closed.
    Failed(SaslAuthenticateResponse),
}

fn failed(code: ResponseError, message: &str) -> Outcome {
    Outcome::Failed(
        SaslAuthenticateResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str(message))),
    )
}

const INVALID: &str = "Authentication failed: Invalid username or password";

/// One SaslAuthenticate of a connection in `session`, which it moves on.
pub async fn authenticate(
    security: &Arc<Security>,
    session: &mut Session,
    request: SaslAuthenticateRequest,
    peer: std::net::SocketAddr,
) -> Outcome {
    let address = peer.ip().to_string();
    let refuse = |user: &str| {
        security.login_failed(Some(user), Some(&address));
        security.record(AuditEvent::failed_login(
            Some(user),
            Some(peer.to_string()),
            "kafka SaslAuthenticate".to_string(),
        ));
        failed(ResponseError::SaslAuthenticationFailed, INVALID)
    };
    let blocked = |user: &str| security.login_blocked(Some(user), Some(&address)).is_some();
    let too_many = || {
        failed(
            ResponseError::SaslAuthenticationFailed,
            "Authentication failed: too many failed logins; try again later",
        )
    };
    match std::mem::take(session) {
        Session::Start => failed(ResponseError::IllegalSaslState, "SaslAuthenticate before SaslHandshake"),
        Session::Plain => {
            let Some((user, password)) = plain(&request.auth_bytes) else {
                return failed(
                    ResponseError::SaslAuthenticationFailed,
                    "Authentication failed: malformed PLAIN credentials",
                );
            };
            if blocked(&user) {
                return too_many();
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
                Ok(Ok(principal)) => Outcome::Done(principal, SaslAuthenticateResponse::default()),
                _ => refuse(&user),
            }
        }
        Session::Scram(hash) => {
            let first = scram::server_first(
                hash,
                &request.auth_bytes,
                &Security::nonce(),
                |user| security.scram(user, hash).map(|(credentials, _)| credentials),
                |user| security.made_up_salt(user),
            );
            match first {
                Ok((state, _)) if blocked(&state.user) => too_many(),
                Ok((state, answer)) => {
                    *session = Session::ScramProof(Box::new(state));
                    Outcome::Continue(SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(answer)))
                }
                Err(why) => failed(
                    ResponseError::SaslAuthenticationFailed,
                    &format!("Authentication failed: {why}"),
                ),
            }
        }
        Session::ScramProof(state) => match state.server_final(&request.auth_bytes) {
            Ok(answer) => {
                let hash = state.hash();
                match security.scram(&state.user, hash) {
                    Some((_, roles)) => Outcome::Done(
                        Principal {
                            name: state.user.as_str().into(),
                            roles: roles.into(),
                        },
                        SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(answer)),
                    ),
                    // Removed from the users file during the exchange.
                    None => refuse(&state.user),
                }
            }
            Err(why) => {
                tracing::debug!(user = %state.user, reason = %why, "kafka: SCRAM proof refused");
                refuse(&state.user)
            }
        },
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
        assert!(matches!(session, Session::Plain));
        let (_, session) = handshake(&SaslHandshakeRequest::default().with_mechanism(str("SCRAM-SHA-512")));
        assert!(matches!(session, Session::Scram(ScramHash::Sha512)));
        let (refused, session) = handshake(&SaslHandshakeRequest::default().with_mechanism(str("GSSAPI")));
        assert_eq!(refused.error_code, ResponseError::UnsupportedSaslMechanism.code());
        assert_eq!(refused.mechanisms.len(), 3);
        assert!(matches!(session, Session::Start));
    }
}
