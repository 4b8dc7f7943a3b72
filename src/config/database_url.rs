//! The database URL: which backend, the SQLite file, and a form safe to print.
use std::{fmt, path::PathBuf};

use url::Url;

use super::{ConfigError, invalid};

/// A database URL whose `Debug`/`Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    /// The URL with its password; only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
    /// The file an SQLite URL points at (None for `:memory:` and non-SQLite URLs).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
    pub fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            Err(_) => "<unparseable database url>".to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

pub(super) fn parse_database_url(v: &str) -> Result<DatabaseUrl, ConfigError> {
    const NAME: &str = "DATABASE_URL (--database-url)";
    let v = v.trim();
    if v.starts_with("sqlite:") {
        let url = DatabaseUrl::new(v);
        if url.sqlite_path().is_none() && !v.contains(":memory:") {
            return Err(invalid(NAME, "an sqlite URL needs a file path"));
        }
        return Ok(url);
    }
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        // Parse to catch typos early; the error text never includes the URL (it may hold a
        // password).
        let url = Url::parse(v).map_err(|e| invalid(NAME, format!("not a valid URL: {e}")))?;
        if url.host().is_none() {
            return Err(invalid(NAME, "a postgres URL needs a host"));
        }
        return Ok(DatabaseUrl::new(v));
    }
    Err(invalid(
        NAME,
        "must start with sqlite: or postgres:// (other databases are not supported)",
    ))
}
