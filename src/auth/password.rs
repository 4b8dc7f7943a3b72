//! Admin passwords, hashed with argon2id (the crate's default algorithm and parameters).
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Hash on a blocking thread: argon2 is deliberately slow and would stall the runtime.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
    })
    .await?
}

/// True when `password` matches the stored PHC string. A malformed hash never matches.
pub async fn verify(password: String, hash: String) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await?)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn argon2id_round_trip() {
        let h = super::hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            super::verify("correct horse".into(), h.clone())
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong".into(), h).await.unwrap());
        assert!(
            !super::verify("x".into(), "not a hash".into())
                .await
                .unwrap()
        );
    }
}
