//! Notices that credentials may have ended (a client or token family revoked, an admin signed
//! out, a widget's key rotated): published on the bus, and on Postgres carried between nodes
//! by the credential triggers' NOTIFY. `domain::socket_access` decides what they close.
use uuid::Uuid;

/// The Postgres channel the credential triggers notify (see the migration
/// `credential_notices`), with payloads `client:<id>`, `family:<id>`, `admin:<id>`,
/// `widget:<id>`.
pub const NOTICE_CHANNEL: &str = "meetplane_credentials";
/// A change that may have ended the credentials it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Client(Uuid),
    Family(Uuid),
    Admin(Uuid),
    Widget(String),
    /// Notices may have been missed: every socket checks its credential again.
    All,
}

impl Notice {
    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, id) = payload.split_once(':')?;
        let uuid = || Uuid::parse_str(id).ok();
        match kind {
            "client" => uuid().map(Notice::Client),
            "family" => uuid().map(Notice::Family),
            "admin" => uuid().map(Notice::Admin),
            "widget" => Some(Notice::Widget(id.to_string())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_parse_as_the_triggers_write_them() {
        let id = Uuid::new_v4();
        assert_eq!(
            Notice::parse(&format!("client:{id}")),
            Some(Notice::Client(id))
        );
        assert_eq!(
            Notice::parse(&format!("family:{id}")),
            Some(Notice::Family(id))
        );
        assert_eq!(
            Notice::parse(&format!("admin:{id}")),
            Some(Notice::Admin(id))
        );
        assert_eq!(
            Notice::parse("widget:site_1"),
            Some(Notice::Widget("site_1".into()))
        );
        assert_eq!(Notice::parse("client:nope"), None);
        assert_eq!(Notice::parse("other:1"), None);
        assert_eq!(Notice::parse("plain"), None);
    }
}
