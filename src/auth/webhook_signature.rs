//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): `webhook-signature` is
//! `v1,` + base64 HMAC-SHA256 of `"{webhook-id}.{webhook-timestamp}.{body}"`. The key is the
//! domain's webhook key taken as UTF-8 bytes, which receivers configure as
//! `whsec_` + base64 of those bytes.
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn signing_secret(webhook_key: &str) -> String {
    format!("whsec_{}", STANDARD.encode(webhook_key.as_bytes()))
}

pub fn sign(webhook_key: &str, message_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(webhook_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    /// Known answer computed independently (Python's hmac/base64) for the seed's key.
    #[test]
    fn known_answer() {
        let key = "54ed8ea9722c38499ea8dbbeca19762e";
        assert_eq!(
            super::sign(key, "msg_1", 1_700_000_000, r#"{"a":1}"#),
            "v1,eg5T/gbtVRZv1fbo4x5DSQ67v9NO1FG/ruu6JQ7KMdY="
        );
        assert_eq!(
            super::signing_secret(key),
            "whsec_NTRlZDhlYTk3MjJjMzg0OTllYThkYmJlY2ExOTc2MmU="
        );
    }
}
