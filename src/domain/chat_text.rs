//! The one rule for chat text, on every surface that stores it (room chat over the native API,
//! the widget's rooms, the chat bridge, widget dialogs): not blank, at most 4,000 characters,
//! and only characters XML 1.0 can carry. A bridged room's messages travel over XMPP, where a
//! control character cannot be written at all, so such text is refused where it comes in.
use crate::error::Error;

/// Longest message, in characters.
pub const MAX_CHARS: usize = 4000;

/// Text that passed the rule; the only way into a room's chat or a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatText(String);

/// Why a text breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong,
    /// A character XML 1.0 cannot carry, and its position (in characters, from 0).
    Unrepresentable {
        ch: char,
        at: usize,
    },
}

impl ChatText {
    pub fn new(text: &str) -> Result<Self, TextError> {
        if text.trim().is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > MAX_CHARS {
            return Err(TextError::TooLong);
        }
        if let Some((at, ch)) = first_unrepresentable(text) {
            return Err(TextError::Unrepresentable { ch, at });
        }
        Ok(Self(text.to_string()))
    }

    /// `new`, failing with the domain error for `field`.
    pub fn parse(field: &str, text: &str) -> crate::error::Result<Self> {
        Self::new(text).map_err(|e| e.into_error(field))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TextError {
    /// What is wrong, for the sender.
    pub fn describe(&self) -> String {
        match self {
            TextError::Empty => "must not be empty".into(),
            TextError::TooLong => format!("must be at most {MAX_CHARS} characters"),
            TextError::Unrepresentable { ch, at } => format!(
                "contains U+{:04X} at character {at}: control characters other than tab and line breaks (and U+FFFE, U+FFFF) cannot be sent",
                u32::from(*ch)
            ),
        }
    }

    /// The domain error for `field`.
    pub fn into_error(self, field: &str) -> Error {
        Error::invalid(field, self.describe())
    }
}

/// Whether XML 1.0 can carry `c` (its `Char` production; surrogates are not `char`s).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character XML 1.0 cannot carry, with its position in characters.
pub fn first_unrepresentable(text: &str) -> Option<(usize, char)> {
    text.chars().enumerate().find(|(_, c)| !is_xml_char(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_xml_carries() {
        for ok in [
            "hi",
            "tab\there",
            "two\nlines\r\n",
            "Zoë 😀",
            "\u{D7FF}\u{E000}\u{FFFD}",
        ] {
            assert!(ChatText::new(ok).is_ok(), "{ok:?}");
        }
        for (bad, ch, at) in [
            ("a\u{1}b", '\u{1}', 1),
            ("\u{1b}[31mred", '\u{1b}', 0),
            ("ding\u{7}", '\u{7}', 4),
            ("nul\u{0}", '\u{0}', 3),
            ("é\u{FFFE}", '\u{FFFE}', 1),
            ("\u{FFFF}", '\u{FFFF}', 0),
        ] {
            assert_eq!(
                ChatText::new(bad),
                Err(TextError::Unrepresentable { ch, at }),
                "{bad:?}"
            );
        }
        // DEL and C1 controls are legal XML 1.0 characters.
        assert!(ChatText::new("a\u{7f}\u{85}b").is_ok());
    }

    #[test]
    fn blank_and_long() {
        assert_eq!(ChatText::new(" \n\t"), Err(TextError::Empty));
        assert!(ChatText::new(&"é".repeat(MAX_CHARS)).is_ok());
        assert_eq!(
            ChatText::new(&"x".repeat(MAX_CHARS + 1)),
            Err(TextError::TooLong)
        );
        let e = TextError::Unrepresentable { ch: '\u{1}', at: 1 }.describe();
        assert!(e.contains("U+0001 at character 1"), "{e}");
    }
}
