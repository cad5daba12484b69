//! Deterministic slugs.

/// The longest slug [`slugify`] makes, so that file names stay well under file system limits.
pub const MAX_SLUG_LEN: usize = 96;

/// Whether `text` matches `^[a-z0-9-]+$`.
pub fn is_valid_slug(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Turns any text into a slug: transliterated to ASCII, lowercased, with every run of other
/// characters turned into one hyphen, trimmed of hyphens and cut at [`MAX_SLUG_LEN`].
///
/// The same text always gives the same slug. Text with no letters or digits gives `item`.
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_hyphen = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(c.to_ascii_lowercase());
            if slug.len() >= MAX_SLUG_LEN {
                break;
            }
        } else {
            pending_hyphen = true;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "item".to_string()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_deterministic_and_valid() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("Crème Brûlée 2026.md"), "creme-brulee-2026-md");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(slugify("ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
        assert_eq!(slugify("///"), "item");
        assert_eq!(slugify("日本語"), "ri-ben-yu");
        for s in ["Hello, World!", "Ünïcödé", "a\0b", "C:\\x"] {
            assert!(is_valid_slug(&slugify(s)), "{s}");
        }
        assert!(slugify(&"x".repeat(500)).len() <= MAX_SLUG_LEN);
        assert!(!is_valid_slug("Abc"));
        assert!(!is_valid_slug(""));
    }
}
