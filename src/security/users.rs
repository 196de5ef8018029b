//! The users file: users (password hashes), bearer tokens (their SHA-256 only) and grants.
//! It is read at start and again whenever it changes; an edit that does not parse keeps the
//! rules in force.
//!
//! ```toml
//! [[users]]
//! name = "ci"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."   # or "$2y$..." from htpasswd -B
//! roles = ["developer"]
//!
//! [[tokens]]
//! name = "payments-svc"
//! sha256 = "9f86d0..."
//! roles = ["readonly"]
//! expires = 2027-03-01T00:00:00Z  # optional: refused from then on
//!
//! [[certificates]]                  # client certificates (mTLS): roles of the name they give
//! name = "billing.internal.example"
//! roles = ["developer"]
//!
//! [[grants]]
//! principal = "payments-svc"      # or role = "..."
//! resource = "subject"            # subject | registry | topic | group | cluster
//! name = "payments-"
//! match = "prefix"                # literal (default) | prefix | any
//! allow = ["write"]
//! deny = ["delete"]
//! ```

use std::collections::HashMap;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::grants::{Grant, Grantee, Grants, Match, Operation, Principal, ResourceKind};
use super::scram::{ScramCredentials, ScramHash, ITERATIONS};
use super::AuthError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserEntry>,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    #[serde(default)]
    certificates: Vec<CertificateEntry>,
    #[serde(default)]
    grants: Vec<GrantEntry>,
}

/// The roles of a client certificate's principal. A certificate the TLS handshake verified
/// authenticates whatever its name; without an entry it has only the grants naming it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    name: String,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password_hash: String,
    #[serde(default)]
    roles: Vec<String>,
    /// SCRAM credentials for the Kafka listener (`herald users add` writes them).
    scram_sha256: Option<String>,
    scram_sha512: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
    #[serde(default)]
    roles: Vec<String>,
    expires: Option<toml::value::Datetime>,
}

/// A bearer token's principal and the instant (seconds since the epoch) it stops working.
#[derive(Debug, Clone)]
struct Token {
    principal: Principal,
    expires: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantEntry {
    principal: Option<String>,
    role: Option<String>,
    resource: ResourceKind,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "match")]
    matching: Match,
    #[serde(default)]
    allow: Vec<Operation>,
    #[serde(default)]
    deny: Vec<Operation>,
}

/// How a stored password is checked.
#[derive(Debug, Clone)]
enum PasswordCheck {
    /// A PHC string (`$argon2id$...`).
    Argon2(String),
    /// `$2a$`, `$2b$`, `$2x$` or `$2y$` (what `htpasswd -B` writes).
    Bcrypt(String),
}

#[derive(Debug, Clone)]
struct User {
    check: PasswordCheck,
    roles: Vec<String>,
    scram_sha256: Option<ScramCredentials>,
    scram_sha512: Option<ScramCredentials>,
}

/// The users, tokens and grants in force.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    users: HashMap<String, User>,
    /// Tokens by their SHA-256.
    tokens: HashMap<[u8; 32], Token>,
    /// Client certificates' principals by name.
    certificates: HashMap<String, Principal>,
    pub grants: Grants,
}

impl Rules {
    /// Reads a users file's text. Errors name the entry and what is wrong with it.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let file: UsersFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Rules::default();
        for user in file.users {
            if user.name.is_empty() || user.name.contains(':') {
                return Err(format!(
                    "user {:?}: a name must be non-empty and hold no colon (Basic credentials end the name at one)",
                    user.name
                ));
            }
            let check = password_check(&user.password_hash).map_err(|why| format!("user {:?}: {why}", user.name))?;
            let scram = |text: &Option<String>, hash: ScramHash| {
                text.as_deref()
                    .map(|t| ScramCredentials::parse(t, hash))
                    .transpose()
                    .map_err(|why| format!("user {:?}: {}: {why}", user.name, hash.mechanism()))
            };
            let entry = User {
                check,
                scram_sha256: scram(&user.scram_sha256, ScramHash::Sha256)?,
                scram_sha512: scram(&user.scram_sha512, ScramHash::Sha512)?,
                roles: user.roles,
            };
            if rules.users.insert(user.name.clone(), entry).is_some() {
                return Err(format!("user {:?} is listed twice", user.name));
            }
        }
        for token in file.tokens {
            let digest = parse_sha256(&token.sha256).map_err(|why| format!("token {:?}: {why}", token.name))?;
            let expires = token
                .expires
                .as_ref()
                .map(super::expiry::instant)
                .transpose()
                .map_err(|why| format!("token {:?}: expires: {why}", token.name))?;
            let principal = Principal {
                name: token.name.as_str().into(),
                roles: token.roles.into(),
            };
            if rules.tokens.insert(digest, Token { principal, expires }).is_some() {
                return Err(format!("token {:?}: another token has the same hash", token.name));
            }
        }
        for certificate in file.certificates {
            let principal = Principal {
                name: certificate.name.as_str().into(),
                roles: certificate.roles.into(),
            };
            if rules.certificates.insert(certificate.name.clone(), principal).is_some() {
                return Err(format!("certificate {:?} is listed twice", certificate.name));
            }
        }
        let mut grants = Vec::with_capacity(file.grants.len());
        for (index, grant) in file.grants.into_iter().enumerate() {
            let grantee = match (grant.principal, grant.role) {
                (Some(name), None) => Grantee::Principal(name),
                (None, Some(role)) => Grantee::Role(role),
                _ => return Err(format!("grant {}: give exactly one of principal and role", index + 1)),
            };
            if grant.name.is_empty() && grant.matching != Match::Any && has_names(grant.resource) {
                return Err(format!(
                    "grant {}: a {} grant needs a name, or match = \"any\"",
                    index + 1,
                    grant.resource.as_str().to_ascii_lowercase()
                ));
            }
            if grant.allow.is_empty() && grant.deny.is_empty() {
                return Err(format!("grant {}: allows and denies nothing", index + 1));
            }
            grants.push(Grant {
                grantee,
                kind: grant.resource,
                name: grant.name,
                matching: if has_names(grant.resource) {
                    grant.matching
                } else {
                    Match::Any
                },
                allow: grant.allow,
                deny: grant.deny,
            });
        }
        rules.grants = Grants::new(grants);
        Ok(rules)
    }

    /// Whether any user or token can authenticate.
    pub fn has_credentials(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }

    /// The principal a verified client certificate names, with the roles its entry gives.
    pub fn certificate_principal(&self, name: &str) -> Principal {
        match self.certificates.get(name) {
            Some(principal) => principal.clone(),
            None => Principal {
                name: name.into(),
                roles: Vec::new().into(),
            },
        }
    }

    /// The principal of a user whose password matches, checking the stored hash (slow by
    /// design: callers cache successes). An unknown user costs the same as a wrong password.
    pub fn verify_password(&self, name: &str, password: &str) -> Option<Principal> {
        let Some(user) = self.users.get(name) else {
            let _ = verify(&PasswordCheck::Argon2(UNKNOWN_USER_HASH.to_string()), password);
            return None;
        };
        verify(&user.check, password).then(|| Principal {
            name: name.into(),
            roles: user.roles.as_slice().into(),
        })
    }

    /// A user's SCRAM credentials for `hash`, and its roles.
    pub fn scram(&self, name: &str, hash: ScramHash) -> Option<(ScramCredentials, Vec<String>)> {
        let user = self.users.get(name)?;
        let credentials = match hash {
            ScramHash::Sha256 => user.scram_sha256.clone(),
            ScramHash::Sha512 => user.scram_sha512.clone(),
        }?;
        Some((credentials, user.roles.clone()))
    }

    /// The principal of a bearer token that has not expired at `now` (seconds since the
    /// epoch). Tokens are looked up by their SHA-256, so timing tells nothing about a
    /// token's bytes.
    pub fn verify_token(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        let token = self.tokens.get(&sha256(token.as_bytes())).ok_or(AuthError::Invalid)?;
        match token.expires {
            Some(expires) if now >= expires => Err(AuthError::Expired(token.principal.name.clone())),
            _ => Ok(token.principal.clone()),
        }
    }
}

/// Registry and cluster grants are about the one registry and the one cluster: no names.
fn has_names(kind: ResourceKind) -> bool {
    !matches!(kind, ResourceKind::Registry | ResourceKind::Cluster)
}

/// An argon2id hash of no one's password, checked for unknown users so that they take as
/// long to refuse as known ones (`herald` itself, hashed with the default parameters).
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$aGVyYWxkLXVua25vd24$J3ZPCSQ0XhNSz3zr9dXxAt4nZAvlsUQ0q84ukx7ZmQY";

fn password_check(hash: &str) -> Result<PasswordCheck, String> {
    if hash.starts_with("$argon2") {
        PasswordHash::new(hash).map_err(|e| format!("password_hash is not a valid argon2 hash: {e}"))?;
        Ok(PasswordCheck::Argon2(hash.to_string()))
    } else if ["$2a$", "$2b$", "$2x$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        hash.parse::<bcrypt::HashParts>()
            .map_err(|e| format!("password_hash is not a valid bcrypt hash: {e}"))?;
        Ok(PasswordCheck::Bcrypt(hash.to_string()))
    } else {
        Err(
            "password_hash must be an argon2id hash (`herald users add` writes one) or a bcrypt one \
             (`htpasswd -B`); plaintext and other schemes are refused"
                .to_string(),
        )
    }
}

fn verify(check: &PasswordCheck, password: &str) -> bool {
    match check {
        PasswordCheck::Argon2(hash) => PasswordHash::new(hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()),
        PasswordCheck::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err("sha256 must be 64 hexadecimal digits (`herald tokens create` prints the entry)".to_string());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| "sha256 must be 64 hexadecimal digits".to_string())?;
    }
    Ok(out)
}

/// An argon2id hash of `password` with a fresh salt and the default (OWASP) parameters.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no random bytes for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The SCRAM-SHA-256 and SCRAM-SHA-512 credentials of `password`, each with a fresh salt,
/// as the users file writes them.
pub fn scram_credentials(password: &str) -> Result<(String, String), String> {
    let mut salts = [[0u8; 16]; 2];
    for salt in &mut salts {
        getrandom::getrandom(salt).map_err(|e| format!("no random bytes for a salt: {e}"))?;
    }
    Ok((
        ScramCredentials::derive(ScramHash::Sha256, password, &salts[0], ITERATIONS).to_text(),
        ScramCredentials::derive(ScramHash::Sha512, password, &salts[1], ITERATIONS).to_text(),
    ))
}

/// A new bearer token: 32 random bytes, hex. Only its SHA-256 is ever stored.
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no random bytes for a token: {e}"))?;
    Ok(format!("hrld_{}", to_hex(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_and_bcrypt_hashes_verify_and_plaintext_is_refused() {
        let argon = hash_password("s3cret").unwrap();
        let bcrypt_hash = bcrypt::hash("htpass", 4).unwrap().replacen("$2b$", "$2y$", 1);
        let text = format!(
            "[[users]]\nname = \"ci\"\npassword_hash = \"{argon}\"\nroles = [\"developer\"]\n\
             [[users]]\nname = \"web\"\npassword_hash = \"{bcrypt_hash}\"\n"
        );
        let rules = Rules::parse(&text).unwrap();
        assert_eq!(
            rules.verify_password("ci", "s3cret").unwrap().roles.to_vec(),
            ["developer"]
        );
        assert!(rules.verify_password("ci", "wrong").is_none());
        assert!(rules.verify_password("web", "htpass").is_some());
        assert!(rules.verify_password("nobody", "s3cret").is_none());
        let plain = Rules::parse("[[users]]\nname = \"x\"\npassword_hash = \"hunter2\"\n").unwrap_err();
        assert!(plain.contains("user \"x\"") && plain.contains("plaintext"), "{plain}");
    }

    #[test]
    fn tokens_are_found_by_their_hash_only() {
        let token = new_token().unwrap();
        let text = format!(
            "[[tokens]]\nname = \"svc\"\nsha256 = \"{}\"\nroles = [\"readonly\"]\n",
            to_hex(&sha256(token.as_bytes()))
        );
        let rules = Rules::parse(&text).unwrap();
        assert_eq!(rules.verify_token(&token, 0).unwrap().name.as_ref(), "svc");
        assert_eq!(rules.verify_token("hrld_guess", 0).unwrap_err(), AuthError::Invalid);
        assert!(Rules::parse("[[tokens]]\nname = \"svc\"\nsha256 = \"abc\"\n")
            .unwrap_err()
            .contains("64"));
    }

    #[test]
    fn tokens_stop_working_when_they_expire() {
        let token = new_token().unwrap();
        let text = format!(
            "[[tokens]]\nname = \"svc\"\nsha256 = \"{}\"\nexpires = 2027-01-31T00:00:00Z\n",
            to_hex(&sha256(token.as_bytes()))
        );
        let rules = Rules::parse(&text).unwrap();
        assert!(rules.verify_token(&token, 1_801_353_599).is_ok());
        assert_eq!(
            rules.verify_token(&token, 1_801_353_600).unwrap_err(),
            AuthError::Expired("svc".into())
        );
        // A wrong token is wrong whenever it is tried; only a known one can be expired.
        assert_eq!(
            rules.verify_token("hrld_guess", 1_801_353_600).unwrap_err(),
            AuthError::Invalid
        );
        let local = Rules::parse(&text.replace("00:00:00Z", "00:00:00")).unwrap_err();
        assert!(
            local.contains("token \"svc\": expires") && local.contains("offset"),
            "{local}"
        );
        let quoted = Rules::parse(&text.replace("2027-01-31T00:00:00Z", "\"soon\"")).unwrap_err();
        assert!(quoted.contains("expires"), "{quoted}");
    }

    #[test]
    fn bad_grants_say_which_and_why() {
        for (text, expected) in [
            (
                "[[grants]]\nresource = \"subject\"\nname = \"a\"\nallow = [\"read\"]\n",
                "exactly one of principal and role",
            ),
            (
                "[[grants]]\nrole = \"r\"\nresource = \"topic\"\nallow = [\"produce\"]\n",
                "needs a name",
            ),
            (
                "[[grants]]\nrole = \"r\"\nresource = \"topic\"\nname = \"t\"\n",
                "allows and denies nothing",
            ),
            (
                "[[grants]]\nrole = \"r\"\nresource = \"table\"\nname = \"t\"\nallow = [\"read\"]\n",
                "table",
            ),
            (
                "[[grants]]\nrole = \"r\"\nresource = \"topic\"\nname = \"t\"\nallow = [\"fly\"]\n",
                "fly",
            ),
        ] {
            let err = Rules::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
