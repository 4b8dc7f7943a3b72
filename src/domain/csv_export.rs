//! CSV exports (session entries, the audit log). Every cell passes through [`cell`], so text
//! that a spreadsheet would run as a formula (`=HYPERLINK(…)`, `@SUM(…)`) arrives as text.
use crate::error::{Error, Result};

/// A cell as written: one that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
/// gets a leading `'`, which spreadsheets read as "this is text" (OWASP's advice on CSV
/// injection). Everything else is kept as is.
pub fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// A header row and the rows under it, as CSV text with every cell neutralised.
pub fn table<R, C>(header: &[&str], rows: R) -> Result<String>
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let io = |e: csv::Error| Error::Internal(anyhow::anyhow!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header.iter().map(|h| cell(h).into_owned()))
        .map_err(io)?;
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| cell(&c).into_owned()).collect();
        out.write_record(&cells).map_err(io)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Error::Internal(anyhow::anyhow!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(cell(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["Ada", "", "2026-01-01T00:00:00+00:00", "a=b", "{\"a\":1}"] {
            assert_eq!(cell(fine), fine);
        }
    }

    #[test]
    fn a_table_quotes_and_neutralises() {
        let text = table(
            &["name", "note"],
            [vec!["=1+1".to_string(), "a,b".to_string()]],
        )
        .unwrap();
        assert_eq!(text, "name,note\n'=1+1,\"a,b\"\n");
    }
}
