//! Sealing secrets at rest with XChaCha20-Poly1305 under the server's master key.
//!
//! API-client secrets, webhook keys, room passwords and host keys must be readable again (to
//! check HMACs and HS256 links, or to show them to their owner), so they are encrypted rather
//! than hashed. Each sealed value is bound to its purpose (table, column, row id) as associated
//! data, so a sealed value copied into another row does not open.
use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore;

const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

/// The 32-byte master key. Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Parse 64 hex characters or base64 of 32 bytes. The error never repeats the input.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| "is not valid hex".to_string())?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| "must be 64 hex characters or base64 of 32 bytes".to_string())?
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must decode to exactly 32 bytes".to_string())?;
        Ok(Self(key))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Read the key file, or create it (mode 0600) when it does not exist yet. Creation uses
    /// `create_new`, so two processes starting at once end up with the same key.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<(Self, KeyFileStatus)> {
        let path = key_file_path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                let key = Self::parse(&text).map_err(|reason| {
                    anyhow::anyhow!("master key file {} {reason}", path.display())
                })?;
                return Ok((key, KeyFileStatus::Loaded(path)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot read master key file {}: {e}",
                    path.display()
                ));
            }
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", dir.display()))?;
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
                file.sync_all()?;
                Ok((key, KeyFileStatus::Created(path)))
            }
            // Another process won the race: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(dir),
            Err(e) => Err(anyhow::anyhow!(
                "cannot create master key file {}: {e}",
                path.display()
            )),
        }
    }
}

pub fn key_file_path(dir: &Path) -> PathBuf {
    dir.join("master.key")
}

#[derive(Debug)]
pub enum KeyFileStatus {
    Created(PathBuf),
    Loaded(PathBuf),
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "master key file is readable by other users; run chmod 600 on it"
            );
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value does not open under this master key (wrong key or tampered data)")]
pub struct OpenError;

/// Seals and opens values under the master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn new(key: &MasterKey) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.0.into()),
        }
    }

    /// Encrypt `plaintext` for `purpose` (e.g. `api_clients.secret:<id>`).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    pub fn seal_str(&self, purpose: &str, plaintext: &str) -> String {
        self.seal(purpose, plaintext.as_bytes())
    }

    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }

    pub fn open_str(&self, purpose: &str, sealed: &str) -> Result<String, OpenError> {
        String::from_utf8(self.open(purpose, sealed)?).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_purpose_binding() {
        let sealer = Sealer::new(&MasterKey::generate());
        let sealed = sealer.seal_str("api_clients.secret:1", "s3cret");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            sealer.open_str("api_clients.secret:1", &sealed).unwrap(),
            "s3cret"
        );
        assert!(sealer.open_str("api_clients.secret:2", &sealed).is_err());
        // Two seals of one value differ (fresh nonce each time).
        assert_ne!(sealed, sealer.seal_str("api_clients.secret:1", "s3cret"));
    }

    #[test]
    fn another_key_or_tampering_does_not_open() {
        let a = Sealer::new(&MasterKey::generate());
        let b = Sealer::new(&MasterKey::generate());
        let sealed = a.seal_str("p", "value");
        assert!(b.open("p", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open("p", &tampered).is_err());
        assert!(a.open("p", "garbage").is_err());
        assert!(a.open("p", "v1.").is_err());
    }

    #[test]
    fn master_key_parses_hex_and_base64() {
        let key = MasterKey::generate();
        let hex = key.to_hex();
        assert_eq!(MasterKey::parse(&hex).unwrap().0, key.0);
        assert_eq!(MasterKey::parse(&STANDARD.encode(key.0)).unwrap().0, key.0);
        assert!(MasterKey::parse("abcd").is_err());
        assert!(format!("{key:?}").contains("redacted"));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, status) = MasterKey::load_or_create(dir.path()).unwrap();
        assert!(matches!(status, KeyFileStatus::Created(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, status) = MasterKey::load_or_create(dir.path()).unwrap();
        assert!(matches!(status, KeyFileStatus::Loaded(_)));
        assert_eq!(first.0, second.0);
    }
}
