//! Metric and label names beyond the legacy character set: the escaping
//! schemes a scraper can ask for with the `escaping=` parameter of its
//! `Accept` header, and what each does to a name that is not legacy-valid;
//! the `U__` decoding of label names in push paths; and the quoting of such
//! names in the text format.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::validate::is_valid_metric_name;

/// How names that are not legacy-valid are written on a scrape, as named by
/// the `escaping=` media-type parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Escaping {
    /// `allow-utf-8`: names are written as they are, quoted in text.
    AllowUtf8,
    /// `underscores`, the default: each invalid character becomes `_`.
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, others `__`.
    Dots,
    /// `values`: `U__` prefix, `_` becomes `__`, others `_<hex>_`.
    Values,
}

// `parse` and `as_str` are for the scrape negotiation.
#[allow(dead_code)]
impl Escaping {
    /// The scheme named by an `escaping=` value; `None` for a value the
    /// official server ignores.
    pub(crate) fn parse(value: &str) -> Option<Escaping> {
        Some(match value {
            "allow-utf-8" => Escaping::AllowUtf8,
            "underscores" => Escaping::Underscores,
            "dots" => Escaping::Dots,
            "values" => Escaping::Values,
            _ => return None,
        })
    }

    /// The value written back in the `escaping=` parameter of the reply's
    /// Content-Type.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }
}

/// A name that every scheme leaves alone and the text format writes
/// unquoted: `[a-zA-Z_:][a-zA-Z0-9_:]*`. Label names are held to the same
/// test (Go's `EscapeMetricFamily` and `writeName` do so), so a label `a:b`
/// is neither escaped nor quoted.
pub(crate) fn is_legacy_name(name: &str) -> bool {
    is_valid_metric_name(name)
}

/// A character that may stand at byte `i` of a legacy name.
fn is_legacy_char(c: char, i: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c.is_ascii_digit() && i > 0)
}

/// `name` as the scheme writes it, as Go's `EscapeMetricFamily` applies
/// `EscapeName`: a legacy name (and the empty name) is left alone under every
/// scheme, so only names that need it change, and `dots` does not double the
/// underscores of a legacy name.
pub(crate) fn escape_name(name: &str, escaping: Escaping) -> Cow<'_, str> {
    if escaping == Escaping::AllowUtf8 || name.is_empty() || is_legacy_name(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    match escaping {
        Escaping::AllowUtf8 => unreachable!("returned above"),
        Escaping::Underscores => {
            for (i, c) in name.char_indices() {
                out.push(if is_legacy_char(c, i) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (i, c) in name.char_indices() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if is_legacy_char(c, i) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values => {
            out.push_str("U__");
            for (i, c) in name.char_indices() {
                match c {
                    '_' => out.push_str("__"),
                    c if is_legacy_char(c, i) => out.push(c),
                    // A &str holds no invalid UTF-8, so Go's `_FFFD_` for
                    // it cannot arise.
                    c => {
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
        }
    }
    Cow::Owned(out)
}

/// Decodes a `U__` name (the `values` scheme) as Go's `UnescapeName` does:
/// after the prefix, `__` is `_` and `_<hex>_` (1 to 6 hex digits, any case)
/// is that code point. A name without the prefix, or with any malformed
/// sequence (a lone `_` at the end, a non-hex digit, too many digits, a
/// number that is no character), is returned as it is.
pub(crate) fn unescape_values(name: &str) -> Cow<'_, str> {
    let Some(escaped) = name.strip_prefix("U__") else {
        return Cow::Borrowed(name);
    };
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => return Cow::Borrowed(name),
            Some('_') => out.push('_'),
            Some(first) => {
                let mut value = 0u32;
                let mut digits = 0;
                let mut next = Some(first);
                loop {
                    match next {
                        Some('_') => break,
                        Some(d) if d.is_ascii_hexdigit() && digits < 6 => {
                            value = value * 16 + d.to_digit(16).expect("hex digit");
                            digits += 1;
                        }
                        _ => return Cow::Borrowed(name),
                    }
                    next = chars.next();
                }
                match char::from_u32(value) {
                    Some(c) => out.push(c),
                    None => return Cow::Borrowed(name),
                }
            }
        }
    }
    Cow::Owned(out)
}

/// Appends `name` as the text format writes it: as it is when legacy,
/// otherwise in double quotes with `\\`, `\"` and newline escaped (Go's
/// `writeName`).
pub(crate) fn write_name(out: &mut Vec<u8>, name: &str) {
    if is_legacy_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        write_quoted(out, name);
    }
}

/// Appends `"name"` with `\\`, `\"` and newline escaped.
pub(crate) fn write_quoted(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    let bytes = name.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_schemes_as_the_official_server() {
        let name = "my.metric_x";
        assert_eq!(escape_name(name, Escaping::AllowUtf8), "my.metric_x");
        assert_eq!(escape_name(name, Escaping::Underscores), "my_metric_x");
        assert_eq!(escape_name(name, Escaping::Dots), "my_dot_metric__x");
        assert_eq!(escape_name(name, Escaping::Values), "U__my_2e_metric__x");
        // Other characters, and a digit first.
        assert_eq!(escape_name("1a-é", Escaping::Underscores), "_a__");
        assert_eq!(escape_name("1a-é", Escaping::Dots), "__a____");
        assert_eq!(escape_name("1a-é", Escaping::Values), "U___31_a_2d__e9_");
        assert_eq!(escape_name("a b", Escaping::Values), "U__a_20_b");
        assert_eq!(escape_name("🙂", Escaping::Values), "U___1f642_");
    }

    #[test]
    fn legacy_names_are_left_alone_by_every_scheme() {
        for e in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            for name in ["my_metric", "a:b", "U__x", "_", ""] {
                assert!(matches!(escape_name(name, e), Cow::Borrowed(n) if n == name));
            }
        }
    }

    #[test]
    fn values_escaping_round_trips() {
        for name in ["my.metric_x", "1a-é", "a b", "🙂", "x__y.", "\u{10ffff}"] {
            let escaped = escape_name(name, Escaping::Values);
            assert_eq!(unescape_values(&escaped), name, "{escaped}");
        }
    }

    #[test]
    fn unescaping_as_the_official_server() {
        assert_eq!(unescape_values("U__foo_2e_bar"), "foo.bar");
        assert_eq!(unescape_values("U___55_____"), "U__");
        assert_eq!(unescape_values("U__A_2E_b"), "A.b");
        assert_eq!(unescape_values("U__a.b"), "a.b");
        assert_eq!(unescape_values("U______foo"), "__foo");
        assert_eq!(unescape_values("U___10ffff_"), "\u{10ffff}");
        assert_eq!(unescape_values("U__"), "");
        // Malformed: the name as it is.
        for name in [
            "U__in_xxx_valid",
            "U__trailing_",
            "U___1234567_",
            "U___d800_",
            "U___110000_",
            "U___2e",
        ] {
            assert!(
                matches!(unescape_values(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
        }
        // No prefix: never decoded.
        assert_eq!(unescape_values("foo_2e_bar"), "foo_2e_bar");
        assert_eq!(unescape_values("u__foo_2e_bar"), "u__foo_2e_bar");
    }

    #[test]
    fn names_are_quoted_only_when_not_legacy() {
        let mut out = Vec::new();
        write_name(&mut out, "a:b_1");
        out.push(b' ');
        write_name(&mut out, "my.metric");
        out.push(b' ');
        write_name(&mut out, "q\"x\\y\nz");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"a:b_1 "my.metric" "q\"x\\y\nz""#
        );
    }

    #[test]
    fn every_scheme_reads_back_its_own_name() {
        for e in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert_eq!(Escaping::parse(e.as_str()), Some(e));
        }
        assert_eq!(Escaping::parse("Underscores"), None);
        assert_eq!(Escaping::default(), Escaping::Underscores);
    }
}
