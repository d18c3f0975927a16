//! Duration text (`90s`, `1h30m`, `1.5h`, `0`) read at generation time, so
//! the generator can check what the schema itself says in that syntax: an
//! `x-max-duration` bound, and duration defaults (they must parse and stay
//! within the bound). The generated code parses configurations with the
//! support module's own parser, which accepts the same text; the corpus tests
//! hold the two to the same values.

use std::time::Duration;

/// The value of duration text, or `None` if it is not a duration that fits a
/// `std::time::Duration`. All arithmetic is checked.
pub fn parse(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
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
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty() || (num.contains('.') && frac.is_empty()) || frac.contains('.') {
            return None;
        }
        let whole: u128 = whole.parse().ok()?;
        let mut value = whole.checked_mul(per)?;
        let mut scale = per;
        for d in frac.chars() {
            scale /= 10;
            value = value.checked_add(u128::from(d.to_digit(10)?) * scale)?;
        }
        total = total.checked_add(value)?;
        rest = tail;
    }
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (total % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn parses_the_schema_syntax() {
        assert_eq!(parse("168h"), Some(Duration::from_secs(168 * 3600)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "5", "5d", "1.h", ".5h", "1.2.3h"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn too_large_is_none_not_a_panic() {
        assert_eq!(
            parse("4000000000000000h"),
            Some(Duration::from_secs(4_000_000_000_000_000 * 3600))
        );
        assert_eq!(parse("5200000000000000h"), None);
        assert_eq!(parse(&format!("{}h", u128::MAX)), None);
        assert_eq!(parse(&format!("{}.9h", u128::MAX / 3_600_000_000_000)), None);
    }
}
