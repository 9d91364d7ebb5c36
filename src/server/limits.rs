//! Limits that keep one bad client from taking the server down: the size of
//! a push (bytes after decompression, series), the length of label names and
//! values, and the size of the store (groups, series). Each limit has a flag,
//! a default sized well above honest use, and its own answer: 413 for a push
//! that is too big, 400 for a label that is too long, 429 for a store that is
//! full (retrying later can succeed once groups are deleted or expire).
//!
//! The per-push checks here are pure and run before the store's lock; the
//! store-wide ones run under the lock in `Store::push`, so concurrent pushes
//! cannot overshoot them.

use hyper::http::StatusCode;

use crate::exposition::Family;
use crate::grouping::GroupingKey;

pub(crate) const DEFAULT_MAX_SERIES_PER_PUSH: usize = 100_000;
pub(crate) const DEFAULT_MAX_LABEL_NAME_LENGTH: usize = 1024;
pub(crate) const DEFAULT_MAX_LABEL_VALUE_LENGTH: usize = 16 * 1024;
pub(crate) const DEFAULT_MAX_GROUPS: usize = 100_000;
pub(crate) const DEFAULT_MAX_SERIES: usize = 20_000_000;

/// Every limit; 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_series_per_push: usize,
    pub(crate) max_label_name_length: usize,
    pub(crate) max_label_value_length: usize,
    pub(crate) max_groups: usize,
    pub(crate) max_series: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_series_per_push: DEFAULT_MAX_SERIES_PER_PUSH,
            max_label_name_length: DEFAULT_MAX_LABEL_NAME_LENGTH,
            max_label_value_length: DEFAULT_MAX_LABEL_VALUE_LENGTH,
            max_groups: DEFAULT_MAX_GROUPS,
            max_series: DEFAULT_MAX_SERIES,
        }
    }
}

impl Limits {
    /// No limit at all, for restoring persisted state (what was accepted
    /// once is not refused at start-up because a flag changed).
    pub(crate) const NONE: Limits = Limits {
        max_series_per_push: 0,
        max_label_name_length: 0,
        max_label_value_length: 0,
        max_groups: 0,
        max_series: 0,
    };
}

/// Which limit a request hit; the label value of `pgw_limit_hits_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    BodySize,
    SeriesPerPush,
    LabelNameLength,
    LabelValueLength,
    Groups,
    Series,
}

impl Limit {
    pub(crate) const ALL: [Limit; 6] = [
        Limit::BodySize,
        Limit::SeriesPerPush,
        Limit::LabelNameLength,
        Limit::LabelValueLength,
        Limit::Groups,
        Limit::Series,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Limit::BodySize => "body_size",
            Limit::SeriesPerPush => "series_per_push",
            Limit::LabelNameLength => "label_name_length",
            Limit::LabelValueLength => "label_value_length",
            Limit::Groups => "groups",
            Limit::Series => "series",
        }
    }

    /// The flag that sets it, named in every refusal so the operator knows
    /// what to raise.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Limit::BodySize => "--push.max-body-size",
            Limit::SeriesPerPush => "--push.max-series",
            Limit::LabelNameLength => "--push.max-label-name-length",
            Limit::LabelValueLength => "--push.max-label-value-length",
            Limit::Groups => "--store.max-groups",
            Limit::Series => "--store.max-series",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Limit::BodySize | Limit::SeriesPerPush => StatusCode::PAYLOAD_TOO_LARGE,
            Limit::LabelNameLength | Limit::LabelValueLength => StatusCode::BAD_REQUEST,
            Limit::Groups | Limit::Series => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// A refusal because of a limit, with a message naming the limit, the
/// offending value and the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (limit {max}, set by {flag})", flag = self.limit.flag())]
pub struct LimitHit {
    pub(crate) limit: Limit,
    pub(crate) max: usize,
    pub(crate) message: String,
}

/// The checks that need only the push itself: series count and label
/// lengths, of the body's labels and of the grouping key's.
pub(crate) fn check_push(
    limits: &Limits,
    key: &GroupingKey,
    families: &[Family<'_>],
) -> Result<(), LimitHit> {
    if limits.max_series_per_push > 0 {
        let series: usize = families.iter().map(|f| f.metrics.len()).sum();
        if series > limits.max_series_per_push {
            return Err(LimitHit {
                limit: Limit::SeriesPerPush,
                max: limits.max_series_per_push,
                message: format!("the push has {series} series"),
            });
        }
    }
    let key_labels = key
        .labels()
        .iter()
        .map(|(n, v)| ("the grouping key", n.as_str(), v.as_str()));
    let body_labels = families.iter().flat_map(|f| {
        f.metrics.iter().flat_map(move |m| {
            m.labels
                .iter()
                .map(move |l| (f.name.as_ref(), l.name.as_ref(), l.value.as_ref()))
        })
    });
    for (whose, name, value) in key_labels.chain(body_labels) {
        if limits.max_label_name_length > 0 && name.len() > limits.max_label_name_length {
            return Err(LimitHit {
                limit: Limit::LabelNameLength,
                max: limits.max_label_name_length,
                message: format!(
                    "a label name of {whose} is {} bytes long ({}...)",
                    name.len(),
                    prefix(name)
                ),
            });
        }
        if limits.max_label_value_length > 0 && value.len() > limits.max_label_value_length {
            return Err(LimitHit {
                limit: Limit::LabelValueLength,
                max: limits.max_label_value_length,
                message: format!(
                    "the value of label {name} of {whose} is {} bytes long",
                    value.len()
                ),
            });
        }
    }
    Ok(())
}

/// The first characters of a long name, enough to recognise it.
fn prefix(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;

    fn key(pairs: &[(&str, &str)]) -> GroupingKey {
        GroupingKey::new(pairs.iter().copied())
    }

    #[test]
    fn series_per_push() {
        let body = "a 1\nb{x=\"1\"} 2\nb{x=\"2\"} 3\n";
        let families = text::parse(body).unwrap();
        let limits = Limits {
            max_series_per_push: 2,
            ..Limits::default()
        };
        let hit = check_push(&limits, &key(&[("job", "j")]), &families).unwrap_err();
        assert_eq!(hit.limit, Limit::SeriesPerPush);
        assert_eq!(
            hit.to_string(),
            "the push has 3 series (limit 2, set by --push.max-series)"
        );
        let limits = Limits {
            max_series_per_push: 3,
            ..Limits::default()
        };
        assert!(check_push(&limits, &key(&[("job", "j")]), &families).is_ok());
    }

    #[test]
    fn label_lengths_in_body_and_key() {
        let limits = Limits {
            max_label_name_length: 5,
            max_label_value_length: 3,
            ..Limits::default()
        };
        let families = text::parse("m{abcdef=\"1\"} 1\n").unwrap();
        let hit = check_push(&limits, &key(&[("job", "j")]), &families).unwrap_err();
        assert_eq!(hit.limit, Limit::LabelNameLength);
        assert!(hit.message.contains("abcdef") && hit.message.contains("of m"));
        let families = text::parse("m{a=\"1234\"} 1\n").unwrap();
        let hit = check_push(&limits, &key(&[("job", "j")]), &families).unwrap_err();
        assert_eq!(hit.limit, Limit::LabelValueLength);
        assert!(hit.message.contains("label a of m"), "{hit}");
        let hit = check_push(&limits, &key(&[("job", "long-job")]), &[]).unwrap_err();
        assert!(
            hit.message.contains("label job of the grouping key"),
            "{hit}"
        );
        assert_eq!(hit.limit.status(), StatusCode::BAD_REQUEST);
        assert!(check_push(&Limits::NONE, &key(&[("job", "long-job")]), &families).is_ok());
    }
}
