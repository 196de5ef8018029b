//! Standard Webhooks signatures: what lets a receiver know a request came from us and was
//! not replayed (<https://www.standardwebhooks.com>).
//!
//! A secret is `whsec_` followed by the base64 of its key bytes. A request carries
//! `webhook-id` (the same on every retry, so receivers can drop duplicates),
//! `webhook-timestamp` (Unix seconds when it was sent, so receivers can refuse old ones)
//! and `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`,
//! once per secret in use, separated by spaces. During a rotation both the new secret and
//! the previous one sign, so a receiver may switch at its own pace.

use base64_simd::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix every Standard Webhooks secret carries.
pub const SECRET_PREFIX: &str = "whsec_";

/// Key lengths the specification allows (24 to 64 bytes).
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A signing secret: the key bytes and its text form.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    /// Never prints the key: secrets do not reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A new random secret of 32 bytes.
    pub fn generate() -> Result<Secret, String> {
        let mut key = vec![0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| format!("no random bytes for a webhook secret: {e}"))?;
        Ok(Secret { key })
    }

    /// Reads `whsec_<base64>`; the error says what is wrong without repeating the secret.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let Some(encoded) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(format!("a webhook secret starts with {SECRET_PREFIX:?}"));
        };
        let key = BASE64
            .decode_to_vec(encoded.as_bytes())
            .map_err(|_| format!("a webhook secret is {SECRET_PREFIX:?} followed by base64"))?;
        if !KEY_BYTES.contains(&key.len()) {
            return Err(format!(
                "a webhook secret's key is {} to {} bytes, this one has {}",
                KEY_BYTES.start(),
                KEY_BYTES.end(),
                key.len()
            ));
        }
        Ok(Secret { key })
    }

    /// The text form, `whsec_<base64>`.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode_to_string(&self.key))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode_to_string(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header's value: one signature per secret, space-separated.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a Secret>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example the Standard Webhooks specification's libraries test with.
    #[test]
    fn signs_as_the_specification_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_explained() {
        let secret = Secret::generate().unwrap();
        assert_eq!(Secret::parse(&secret.expose()).unwrap(), secret);
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_err()
            .contains("starts with"));
        assert!(Secret::parse("whsec_!!!").unwrap_err().contains("base64"));
        assert!(Secret::parse("whsec_c2hvcnQ=")
            .unwrap_err()
            .contains("24 to 64 bytes, this one has 5"));
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }

    #[test]
    fn every_secret_in_use_signs() {
        let old = Secret::generate().unwrap();
        let new = Secret::generate().unwrap();
        let header = signature_header([&new, &old], "id", 5, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, vec![new.sign("id", 5, b"{}"), old.sign("id", 5, b"{}")]);
        assert_ne!(parts[0], parts[1]);
    }
}
