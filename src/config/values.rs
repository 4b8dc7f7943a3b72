//! Parsers of setting values (durations, switches, numbers) that name the setting in their
//! errors.
use std::time::Duration;

use super::{ConfigError, invalid};

pub(crate) fn parse_duration(
    name: &str,
    v: Option<&str>,
    default: Duration,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let v = v.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(v)
            .map_err(|e| invalid(name, format!("{v:?} is not a duration like 15m or 1h: {e}")))?,
    };
    if !range.contains(&d) {
        return Err(invalid(
            name,
            format!(
                "{v:?} is outside {}..={}",
                humantime::format_duration(*range.start()),
                humantime::format_duration(*range.end())
            ),
        ));
    }
    Ok(d)
}

pub(crate) fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, ConfigError> {
    match v.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(invalid(
            name,
            format!("{other:?} is neither true nor false"),
        )),
    }
}

pub(crate) fn parse_number(
    name: &str,
    v: Option<&str>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let n: u32 = v
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("{v:?} is not a whole number")))?;
    if !range.contains(&n) {
        return Err(invalid(
            name,
            format!("{n} is outside {}..={}", range.start(), range.end()),
        ));
    }
    Ok(n)
}
