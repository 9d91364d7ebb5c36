//! Metric and label names beyond the legacy character set: the escaping
//! schemes a scraper can ask for with the `escaping=` parameter of its
//! `Accept` header, and what each does to a name that is not legacy-valid.

/// How names that are not legacy-valid are written on a scrape, as named by
/// the `escaping=` media-type parameter.
// Used by the scrape negotiation and the name escaping built on it.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Escaping {
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

#[cfg(test)]
mod tests {
    use super::*;

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
