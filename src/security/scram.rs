//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server's side: the stored
//! credentials (`herald users add` writes them beside the argon2id hash) and the exchange of
//! four messages, of which a Kafka client sends two in SaslAuthenticate requests. Pure: no
//! I/O; the random nonce is the caller's.
//!
//! Unknown users get a made-up salt derived from their name and a secret, and fail only at
//! the end, as known ones with a wrong password do: the exchange tells nothing about who
//! exists.

use base64_simd::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The hash a mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_mechanism(name: &str) -> Option<ScramHash> {
        match name {
            "SCRAM-SHA-256" => Some(ScramHash::Sha256),
            "SCRAM-SHA-512" => Some(ScramHash::Sha512),
            _ => None,
        }
    }

    fn hmac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(bytes).to_vec(),
            ScramHash::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }

    fn salted_password(self, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// What the server keeps of a password for one hash: never the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// Iterations `herald users add` uses: Kafka's minimum for SCRAM-SHA-256 is 4096.
pub const ITERATIONS: u32 = 4096;

impl ScramCredentials {
    pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> ScramCredentials {
        let salted = hash.salted_password(password, salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramCredentials {
            iterations,
            salt: salt.to_vec(),
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }

    /// The users file's form: `ITERATIONS:SALT:STORED_KEY:SERVER_KEY`, base64.
    pub fn to_text(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.iterations,
            B64.encode_to_string(&self.salt),
            B64.encode_to_string(&self.stored_key),
            B64.encode_to_string(&self.server_key)
        )
    }

    pub fn parse(text: &str, hash: ScramHash) -> Result<ScramCredentials, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [iterations, salt, stored, server] = parts.as_slice() else {
            return Err("must be ITERATIONS:SALT:STORED_KEY:SERVER_KEY (`herald users add` writes it)".to_string());
        };
        let decode = |s: &str| {
            B64.decode_to_vec(s.as_bytes())
                .map_err(|_| format!("{s:?} is not base64"))
        };
        let credentials = ScramCredentials {
            iterations: iterations
                .parse()
                .map_err(|_| format!("iterations {iterations:?} is not a number"))?,
            salt: decode(salt)?,
            stored_key: decode(stored)?,
            server_key: decode(server)?,
        };
        let length = hash.hash(b"").len();
        if credentials.iterations < ITERATIONS
            || credentials.stored_key.len() != length
            || credentials.server_key.len() != length
        {
            return Err(format!(
                "keys must be {length} bytes for {} and iterations at least {ITERATIONS}",
                hash.mechanism()
            ));
        }
        Ok(credentials)
    }
}

/// Where an exchange stands after the client's first message.
#[derive(Debug)]
pub struct ServerFirst {
    hash: ScramHash,
    /// The user as the client named it.
    pub user: String,
    /// `None`: an unknown user, answered alike and refused at the end.
    credentials: Option<ScramCredentials>,
    client_first_bare: String,
    server_first: String,
    /// The client's nonce, and the combined one (the client's, then the server's).
    client_nonce: String,
    nonce: String,
    gs2_header: String,
}

/// Reads the client's first message and answers the server's (`r=…,s=…,i=…`).
/// `lookup` finds a user's credentials; `fake_salt` makes one for an unknown user.
pub fn server_first(
    hash: ScramHash,
    client_first: &[u8],
    server_nonce: &str,
    lookup: impl Fn(&str) -> Option<ScramCredentials>,
    fake_salt: impl Fn(&str) -> Vec<u8>,
) -> Result<(ServerFirst, String), String> {
    let text = std::str::from_utf8(client_first).map_err(|_| "the first message is not UTF-8".to_string())?;
    // gs2-header: "n,," or "y,," (no channel binding), optionally with "a=authzid".
    let mut parts = text.splitn(3, ',');
    let binding = parts.next().unwrap_or_default();
    let authzid = parts.next().ok_or("no GS2 header")?;
    let bare = parts.next().ok_or("no client-first-message-bare")?;
    if binding != "n" && binding != "y" {
        return Err("channel binding is not offered".to_string());
    }
    let mut user = None;
    let mut client_nonce = None;
    for attribute in bare.split(',') {
        match attribute.split_once('=') {
            Some(("n", value)) => user = Some(unescape(value)?),
            Some(("r", value)) => client_nonce = Some(value.to_string()),
            Some(("m", _)) => return Err("mandatory extensions are not offered".to_string()),
            _ => {}
        }
    }
    let user = user.ok_or("no user name (n=)")?;
    let client_nonce = client_nonce.filter(|n| !n.is_empty()).ok_or("no nonce (r=)")?;
    if let Some(authzid) = authzid.strip_prefix("a=") {
        if unescape(authzid)? != user {
            return Err("an authorization id other than the user's own".to_string());
        }
    }
    let credentials = lookup(&user);
    let (salt, iterations) = match &credentials {
        Some(c) => (c.salt.clone(), c.iterations),
        None => (fake_salt(&user), ITERATIONS),
    };
    let nonce = format!("{client_nonce}{server_nonce}");
    let server_first = format!("r={nonce},s={},i={iterations}", B64.encode_to_string(&salt));
    let gs2_header = text[..text.len() - bare.len()].to_string();
    Ok((
        ServerFirst {
            hash,
            user,
            credentials,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            client_nonce,
            nonce,
            gs2_header,
        },
        server_first,
    ))
}

impl ServerFirst {
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// Checks the client's final message; the server's final message (`v=…`) if the proof
    /// is right, else why not.
    pub fn server_final(&self, client_final: &[u8]) -> Result<String, String> {
        let text = std::str::from_utf8(client_final).map_err(|_| "the final message is not UTF-8".to_string())?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or("no proof (p=)")?;
        let mut binding = None;
        let mut nonce = None;
        for attribute in without_proof.split(',') {
            match attribute.split_once('=') {
                Some(("c", value)) => binding = Some(value),
                Some(("r", value)) => nonce = Some(value),
                _ => {}
            }
        }
        if binding != Some(B64.encode_to_string(self.gs2_header.as_bytes()).as_str()) {
            return Err("the channel binding does not match the first message".to_string());
        }
        // librdkafka 2.0 sends its own nonce again before the combined one; the server's
        // part, which makes the exchange fresh, is there either way.
        let doubled = format!("{}{}", self.client_nonce, self.nonce);
        if nonce != Some(self.nonce.as_str()) && nonce != Some(doubled.as_str()) {
            return Err("the nonce does not match".to_string());
        }
        let proof = B64
            .decode_to_vec(proof.as_bytes())
            .map_err(|_| "the proof is not base64".to_string())?;
        let Some(credentials) = &self.credentials else {
            return Err("invalid credentials".to_string());
        };
        let message = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        let signature = self.hash.hmac(&credentials.stored_key, message.as_bytes());
        if proof.len() != signature.len() {
            return Err("invalid credentials".to_string());
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let matches: bool = subtle::ConstantTimeEq::ct_eq(
            self.hash.hash(&client_key).as_slice(),
            credentials.stored_key.as_slice(),
        )
        .into();
        if !matches {
            return Err("invalid credentials".to_string());
        }
        let server_signature = self.hash.hmac(&credentials.server_key, message.as_bytes());
        Ok(format!("v={}", B64.encode_to_string(&server_signature)))
    }
}

/// SCRAM's escapes in names: `=2C` is `,` and `=3D` is `=`.
fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err("a badly escaped user name".to_string()),
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's side of RFC 5802, to drive the server.
    fn client_final(hash: ScramHash, password: &str, client_first_bare: &str, server_first: &str) -> (String, Vec<u8>) {
        let fields: Vec<&str> = server_first.split(',').collect();
        let nonce = &fields[0][2..];
        let salt = B64.decode_to_vec(&fields[1].as_bytes()[2..]).unwrap();
        let iterations: u32 = fields[2][2..].parse().unwrap();
        let salted = hash.salted_password(password, &salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored = hash.hash(&client_key);
        let without_proof = format!("c={},r={nonce}", B64.encode_to_string(b"n,,"));
        let message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hash.hmac(&stored, message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = hash.hmac(&salted, b"Server Key");
        (
            format!("{without_proof},p={}", B64.encode_to_string(&proof)),
            hash.hmac(&server_key, message.as_bytes()),
        )
    }

    fn exchange(hash: ScramHash, user: &str, password: &str) -> Result<(), String> {
        let stored = ScramCredentials::derive(hash, "pencil", b"salt-of-user", ITERATIONS);
        let lookup = |name: &str| (name == "user").then(|| stored.clone());
        let bare = format!("n={user},r=fyko+d2lbbFgONRv9qkxdawL");
        let (state, server_first) = server_first(
            hash,
            format!("n,,{bare}").as_bytes(),
            "3rfcNHYJY1ZVvWVs7j",
            lookup,
            |_| b"made-up".to_vec(),
        )?;
        let (final_message, expected) = client_final(hash, password, &bare, &server_first);
        let verifier = state.server_final(final_message.as_bytes())?;
        assert_eq!(verifier, format!("v={}", B64.encode_to_string(&expected)));
        Ok(())
    }

    #[test]
    fn the_right_password_is_proved_and_the_server_proves_itself() {
        for hash in [ScramHash::Sha256, ScramHash::Sha512] {
            exchange(hash, "user", "pencil").unwrap();
            assert_eq!(exchange(hash, "user", "crayon").unwrap_err(), "invalid credentials");
            assert_eq!(exchange(hash, "ghost", "pencil").unwrap_err(), "invalid credentials");
        }
    }

    #[test]
    fn credentials_round_trip_through_their_text() {
        let credentials = ScramCredentials::derive(ScramHash::Sha512, "pw", b"0123456789abcdef", ITERATIONS);
        let text = credentials.to_text();
        assert_eq!(ScramCredentials::parse(&text, ScramHash::Sha512).unwrap(), credentials);
        assert!(
            ScramCredentials::parse(&text, ScramHash::Sha256).is_err(),
            "512-bit keys are not SHA-256's"
        );
        assert!(ScramCredentials::parse("4096:x", ScramHash::Sha256).is_err());
    }

    #[test]
    fn malformed_first_messages_are_refused() {
        let none = |_: &str| None;
        let fake = |_: &str| vec![1u8; 16];
        for bad in [
            "",
            "p=tls-unique,,n=u,r=x",
            "n,,r=x",
            "n,,n=u",
            "n,a=other,n=u,r=x",
            "n,,n=u,r=x,m=ext",
            "n,,n=a=zz,r=x",
        ] {
            assert!(
                server_first(ScramHash::Sha256, bad.as_bytes(), "s", none, fake).is_err(),
                "{bad:?}"
            );
        }
        assert!(server_first(ScramHash::Sha256, b"n,a=u,n=u,r=x", "s", none, fake).is_ok());
        assert_eq!(unescape("a=2Cb=3Dc").unwrap(), "a,b=c");
    }
}
