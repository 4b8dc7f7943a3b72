//! Field rules shared by several models.
use crate::error::{Error, Result};

/// A room name: 1–128 characters from `[A-Za-z0-9._~-]`, starting with a letter or digit, so
/// that `domain/name` works unescaped in URLs and paths.
pub fn room_name(field: &str, name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::invalid(
            field,
            "must be 1-128 characters of ASCII letters (a-z, A-Z), digits, '.', '_', '~' or '-', starting with an ASCII letter or digit",
        ))
    }
}

/// A human-readable name (display names, client names): trimmed, 1–`max` characters, no
/// control characters, nothing XML cannot carry (names appear in bridged XMPP rooms).
pub fn display_text(field: &str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() || !super::chat_text::is_xml_char(c))
    {
        return Err(Error::invalid(
            field,
            "must not contain control characters (or U+FFFE, U+FFFF)",
        ));
    }
    Ok(text.to_string())
}

/// A secret chosen by a user (room password): 1–128 characters, kept exactly as given.
pub fn password(field: &str, text: &str) -> Result<String> {
    if text.is_empty() || text.chars().count() > 128 {
        return Err(Error::invalid(field, "must be 1-128 characters"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert!(room_name("name", "my-room").is_ok());
        assert!(room_name("name", "Room_1.a~b").is_ok());
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(129)] {
            assert!(room_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_texts() {
        assert_eq!(display_text("n", "  Ann  ", 10).unwrap(), "Ann");
        assert!(display_text("n", "   ", 10).is_err());
        assert!(display_text("n", "a\u{7}b", 10).is_err());
        assert!(display_text("n", "a\u{ffff}", 10).is_err());
        assert!(display_text("n", "Zoë Ødegård", 11).is_ok());
        assert!(display_text("n", "abcdefghijk", 10).is_err());
    }
}
