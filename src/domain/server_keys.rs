//! Keys the server keeps in its own database: a check value proving the master key is the
//! one the database was sealed with, and the access-token signing key shared by all nodes.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{access_token::SigningKey, random, seal::Sealer},
    store,
};

const CHECK_KEY: &str = "master_key_check";
const CHECK_PLAINTEXT: &str = "meetplane master key check";
const SIGNING_KEY: &str = "access_token_signing_key";

/// Fail start-up if this database was sealed under another master key: running on would
/// make every sealed secret unreadable and mix two keys in one database.
pub async fn check_master_key(
    db: &store::Db,
    sealer: &Sealer,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let stored = store::settings::get_or_insert(
        db,
        CHECK_KEY,
        sealer.seal_str(CHECK_KEY, CHECK_PLAINTEXT),
        now,
    )
    .await?;
    match sealer.open_str(CHECK_KEY, &stored) {
        Ok(text) if text == CHECK_PLAINTEXT => Ok(()),
        _ => Err(anyhow::anyhow!(
            "the master key does not match the one this database was created with; set \
             MEETPLANE_MASTER_KEY (or restore DATA_DIR/master.key) to the original key"
        )),
    }
}

#[derive(Serialize, Deserialize)]
struct StoredSigningKey {
    kid: String,
    sealed: String,
}

/// Load the access-token signing key, creating it on first start.
pub async fn signing_key(
    db: &store::Db,
    sealer: &Sealer,
    now: DateTime<Utc>,
) -> anyhow::Result<SigningKey> {
    let fresh = StoredSigningKey {
        kid: random::hex(16),
        sealed: sealer.seal_str(SIGNING_KEY, &random::hex(64)),
    };
    let stored =
        store::settings::get_or_insert(db, SIGNING_KEY, serde_json::to_string(&fresh)?, now)
            .await?;
    let stored: StoredSigningKey = serde_json::from_str(&stored)?;
    let secret = sealer
        .open(SIGNING_KEY, &stored.sealed)
        .map_err(|e| anyhow::anyhow!("access-token signing key: {e}"))?;
    Ok(SigningKey::new(stored.kid, &secret))
}
