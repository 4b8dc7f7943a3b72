//! The xroom request signature and webhook validation handshake (seed 003, PROTOCOLS.md):
//! lowercase hex HMAC-SHA256 with the key and message taken as UTF-8 text.
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Fewest bytes a salt (`x-random`) may have, per the seed.
pub const MIN_SALT_BYTES: usize = 32;
/// Longest salt accepted; nothing legitimate sends more.
pub const MAX_SALT_BYTES: usize = 256;

pub fn sign(key: &str, message: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a hex signature; upper-case hex is accepted too.
pub fn verify(key: &str, message: &str, signature: &str) -> bool {
    let expected = sign(key, message);
    let given = signature.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The validation handshake vector from the xroom manual.
    #[test]
    fn seed_vector() {
        assert_eq!(
            sign(
                "54ed8ea9722c38499ea8dbbeca19762e",
                "c9002b50c6911daa18854e1ec25d5b47"
            ),
            "b31ecd741c86f3abe01d93ebceb19b73cc2595bb5f5f3d4ba8328b3c37e6698b"
        );
        assert!(verify(
            "54ed8ea9722c38499ea8dbbeca19762e",
            "c9002b50c6911daa18854e1ec25d5b47",
            "B31ECD741C86F3ABE01D93EBCEB19B73CC2595BB5F5F3D4BA8328B3C37E6698B"
        ));
        assert!(!verify("other", "c9002b50c6911daa18854e1ec25d5b47", "b31e"));
    }
}
