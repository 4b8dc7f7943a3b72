//! Random secrets and the one-way digests under which bearer secrets are stored.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// `prefix` + 32 random bytes in base64url. Prefixes (`mpsk_`, `mprt_`, `mppt_`) let secret
/// scanners and humans recognise what leaked.
pub fn token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// `len` random lowercase hex characters.
pub fn hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = hex::encode(bytes);
    s.truncate(len);
    s
}

/// `len` random characters from `[A-Za-z0-9]`.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Hex SHA-256, for looking up high-entropy bearer secrets (refresh and peer tokens) by
/// digest without storing them. A slow hash is unnecessary: they are 256-bit random values.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let t = super::token("mprt_");
        assert!(t.starts_with("mprt_") && t.len() == 5 + 43);
        assert_ne!(t, super::token("mprt_"));
        assert_eq!(super::hex(32).len(), 32);
        assert!(
            super::alphanumeric(24)
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(super::digest("abc").len(), 64);
    }
}
