//! Durations written as Go writes them: `90s`, `5m`, `1h30m`, `1.5h`,
//! `250ms`, `0`. The one parser of that text: the generated code reads
//! configurations with it, and the generator reads the schema's own duration
//! text (`x-max-duration`, defaults) with it at generation time.

use std::time::Duration;

/// Why duration text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit { unit: String, text: String },
    #[error("malformed number in duration {text:?}")]
    Malformed { text: String },
    /// Larger than `std::time::Duration` holds (some 584 billion years).
    #[error("duration {text:?} is too large")]
    TooLarge { text: String },
}

/// Parses duration text; the schema's pattern admits exactly what this
/// accepts, short of values too large to hold. All arithmetic is checked:
/// no text makes this panic.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let too_large = || DurationError::TooLarge { text: text.into() };
    let malformed = || DurationError::Malformed { text: text.into() };
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.into(),
                    text: text.into(),
                });
            }
        };
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty() || (num.contains('.') && frac.is_empty()) || frac.contains('.') {
            return Err(malformed());
        }
        // Only digits are left, so a failed parse means too many of them.
        let whole: u128 = whole.parse().map_err(|_| too_large())?;
        let mut value = whole.checked_mul(nanos_per).ok_or_else(too_large)?;
        let mut scale = nanos_per;
        for d in frac.chars() {
            scale /= 10;
            let digit = u128::from(d.to_digit(10).ok_or_else(malformed)?);
            value = value.checked_add(digit * scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(value).ok_or_else(too_large)?;
        rest = tail;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| too_large())?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// Formats as the shortest `1h30m`/`90s`/`250ms` text that parses back to `d`.
pub fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0".into();
    }
    if d.subsec_nanos() != 0 {
        return if d.subsec_nanos().is_multiple_of(1_000_000) {
            format!("{}ms", d.as_millis())
        } else {
            format!("{}ns", d.as_nanos())
        };
    }
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// `#[serde(with = "...::duration")]` on `Duration` fields.
pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// `#[serde(with = "...::duration")]` on `Duration` fields.
pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// The same for `Option<Duration>` fields.
pub mod option {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = <Option<String> as serde::Deserialize>::deserialize(d)?;
        text.map(|t| super::parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::{DurationError, format, parse};
    use std::time::Duration;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("168h"), Ok(Duration::from_secs(168 * 3600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2us"), Ok(Duration::from_micros(2)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "5d", "1.h", ".5h", "1.2.3h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_too_large_are_errors_not_panics() {
        let too_large = |t: &str| Err(DurationError::TooLarge { text: t.into() });
        // 4e15 hours still fits a Duration (it is what overflowed `* 2` downstream).
        assert_eq!(
            parse("4000000000000000h"),
            Ok(Duration::from_secs(4_000_000_000_000_000 * 3600))
        );
        for t in [
            "5200000000000000h".to_string(),
            "99999999999999999999999999999999999999999h".to_string(),
            format!("{}h", u128::MAX),
            format!("{}h", u128::MAX / 3_600_000_000_000),
            format!("{}.9h", u128::MAX / 3_600_000_000_000),
            format!("{}ns{}ns", u128::MAX, u128::MAX),
            format!("{}s1s", u64::MAX),
        ] {
            assert_eq!(parse(&t), too_large(&t), "{t}");
        }
        assert_eq!(parse(&format!("{}s", u64::MAX)), Ok(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn durations_format_round_trip() {
        for text in ["15m", "2m", "1h30m", "90s", "250ms", "0", "1h0m1s"] {
            let d = parse(text).unwrap();
            assert_eq!(parse(&format(d)), Ok(d), "{text}");
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(900)), "15m");
    }
}
