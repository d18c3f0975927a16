//! Public names of backend tools: `<prefix>__<name>` (or the name itself
//! under an empty prefix), kept within what MCP clients accept — 1 to 64
//! characters of `[A-Za-z0-9_.-]`. A name that is longer or uses other
//! characters is shortened deterministically to a readable head plus a short
//! hash of the full name, so it is stable across restarts and unique in
//! practice; the router maps it back to the original.

/// Between a prefix and a backend's own name.
pub const SEPARATOR: &str = "__";

/// The longest public name clients reliably accept (SEP-986).
pub const MAX_LEN: usize = 64;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Whether `name` can be shown to clients as it is.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_LEN && name.chars().all(allowed)
}

/// FNV-1a, 64 bits: a tiny hash whose value never changes between builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The public name of backend item `name` under `prefix`, and whether it had
/// to be shortened or cleaned to fit.
pub fn public_name(prefix: &str, name: &str) -> (String, bool) {
    let full = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}{SEPARATOR}{name}")
    };
    if is_valid(&full) {
        return (full, false);
    }
    let hash = fnv1a(full.as_bytes());
    let tag = format!("{:08x}", (hash >> 32) as u32 ^ hash as u32);
    let head: String = full
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(MAX_LEN - 1 - tag.len())
        .collect();
    (format!("{head}_{tag}"), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_are_kept() {
        assert_eq!(
            public_name("github", "create_issue"),
            ("github__create_issue".into(), false)
        );
        assert_eq!(public_name("", "echo"), ("echo".into(), false));
        assert_eq!(public_name("a", "b.c-d_e"), ("a__b.c-d_e".into(), false));
    }

    #[test]
    fn long_or_odd_names_are_shortened_stably_and_distinctly() {
        let long = "x".repeat(80);
        let (a, shortened) = public_name("backend", &long);
        assert!(shortened && is_valid(&a) && a.len() == MAX_LEN, "{a}");
        assert!(a.starts_with("backend__xxxx"));
        assert_eq!(public_name("backend", &long).0, a, "deterministic");
        let (b, _) = public_name("backend", &format!("{long}y"));
        assert_ne!(a, b, "different names stay different");
        let (c, shortened) = public_name("svc", "read file");
        assert!(shortened && is_valid(&c) && c.starts_with("svc__read_file_"), "{c}");
        assert_ne!(c, public_name("svc", "read_file").0);
        let (d, _) = public_name("", "");
        assert!(is_valid(&d));
    }
}
