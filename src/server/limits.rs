//! Limits that keep one bad client from taking the server down: the size of
//! a push (bytes after decompression, series), the length of label names and
//! values, the size of the grouping key, the bytes of push bodies in memory
//! at once, and the size of the store (groups, series). Each limit has a
//! flag, a default sized well above honest use, and its own answer: 413 for a
//! push that is too big, 400 for a label that is too long or a grouping key
//! with too many labels, 503 with `Retry-After` when too many bodies are being
//! read at once, 429 for a store that is full (retrying later can succeed
//! once groups are deleted or expire).
//!
//! The series and label limits of a body are enforced by the parsers as they
//! read ([`Limits::parse_limits`]), so a hostile body costs no more memory
//! than the limits allow. The grouping key is checked here, before the
//! store's lock; the store-wide limits run under the lock in `Store::push`,
//! so concurrent pushes cannot overshoot them.

use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::http::StatusCode;

use crate::exposition::validate::{Exceeded, OverLimit, ParseLimits};
use crate::grouping::GroupingKey;

pub(crate) const DEFAULT_MAX_SERIES_PER_PUSH: usize = 100_000;
pub(crate) const DEFAULT_MAX_LABEL_NAME_LENGTH: usize = 1024;
pub(crate) const DEFAULT_MAX_LABEL_VALUE_LENGTH: usize = 16 * 1024;
pub(crate) const DEFAULT_MAX_GROUPS: usize = 100_000;
pub(crate) const DEFAULT_MAX_SERIES: usize = 20_000_000;
/// Real grouping keys have a handful of labels (job, instance, a few
/// more); a path of thousands is an attack or a bug.
pub(crate) const DEFAULT_MAX_GROUPING_KEY_LABELS: usize = 64;
/// The floor of the default in-flight budget: four bodies of the default
/// `--push.max-body-size` at once.
pub(crate) const DEFAULT_MAX_INFLIGHT_BYTES: usize = 256 << 20;

/// Every limit; 0 means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_series_per_push: usize,
    pub(crate) max_label_name_length: usize,
    pub(crate) max_label_value_length: usize,
    pub(crate) max_groups: usize,
    pub(crate) max_series: usize,
    pub(crate) max_grouping_key_labels: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_series_per_push: DEFAULT_MAX_SERIES_PER_PUSH,
            max_label_name_length: DEFAULT_MAX_LABEL_NAME_LENGTH,
            max_label_value_length: DEFAULT_MAX_LABEL_VALUE_LENGTH,
            max_groups: DEFAULT_MAX_GROUPS,
            max_series: DEFAULT_MAX_SERIES,
            max_grouping_key_labels: DEFAULT_MAX_GROUPING_KEY_LABELS,
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
        max_grouping_key_labels: 0,
    };

    /// The limits the parsers enforce while they read a push body.
    pub(crate) fn parse_limits(&self) -> ParseLimits {
        ParseLimits {
            max_series: self.max_series_per_push,
            max_label_name_length: self.max_label_name_length,
            max_label_value_length: self.max_label_value_length,
            utf8_names: false,
        }
    }
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
    GroupingKeyLabels,
    InflightBytes,
}

impl Limit {
    pub(crate) const ALL: [Limit; 8] = [
        Limit::BodySize,
        Limit::SeriesPerPush,
        Limit::LabelNameLength,
        Limit::LabelValueLength,
        Limit::Groups,
        Limit::Series,
        Limit::GroupingKeyLabels,
        Limit::InflightBytes,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Limit::BodySize => "body_size",
            Limit::SeriesPerPush => "series_per_push",
            Limit::LabelNameLength => "label_name_length",
            Limit::LabelValueLength => "label_value_length",
            Limit::Groups => "groups",
            Limit::Series => "series",
            Limit::GroupingKeyLabels => "grouping_key_labels",
            Limit::InflightBytes => "inflight_bytes",
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
            Limit::GroupingKeyLabels => "--push.max-grouping-key-labels",
            Limit::InflightBytes => "--push.max-inflight-bytes",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Limit::BodySize | Limit::SeriesPerPush => StatusCode::PAYLOAD_TOO_LARGE,
            Limit::LabelNameLength | Limit::LabelValueLength | Limit::GroupingKeyLabels => {
                StatusCode::BAD_REQUEST
            }
            Limit::Groups | Limit::Series => StatusCode::TOO_MANY_REQUESTS,
            // Retrying soon succeeds once the bodies in flight are done.
            Limit::InflightBytes => StatusCode::SERVICE_UNAVAILABLE,
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

impl From<OverLimit> for LimitHit {
    fn from(over: OverLimit) -> LimitHit {
        LimitHit {
            limit: match over.exceeded {
                Exceeded::Series => Limit::SeriesPerPush,
                Exceeded::LabelNameLength => Limit::LabelNameLength,
                Exceeded::LabelValueLength => Limit::LabelValueLength,
            },
            max: over.max,
            message: over.message,
        }
    }
}

/// The checks of a push's grouping key: how many labels, how long each.
/// The body's series and labels were checked by the parser as it read.
/// Only pushes are checked: a DELETE must still reach a group made before
/// a limit was lowered.
pub(crate) fn check_key(limits: &Limits, key: &GroupingKey) -> Result<(), LimitHit> {
    let labels = key.labels();
    if limits.max_grouping_key_labels > 0 && labels.len() > limits.max_grouping_key_labels {
        return Err(LimitHit {
            limit: Limit::GroupingKeyLabels,
            max: limits.max_grouping_key_labels,
            message: format!("the grouping key has {} labels", labels.len()),
        });
    }
    let parse = limits.parse_limits();
    parse
        .check_labels(labels.iter().map(|(n, v)| (n.as_str(), v.as_str())), || {
            "the grouping key".to_owned()
        })
        .map_err(LimitHit::from)
}

/// The bytes of push bodies held in memory at once, server-wide, as they
/// are read and decompressed: the series limits bound what one body makes,
/// and this bounds how many bodies there are. A push that would go over it
/// is refused at once rather than queued, so nothing waits on anything and
/// a client sees 503 and retries.
#[derive(Debug)]
pub(crate) struct InflightBudget {
    /// 0: no budget.
    max: usize,
    used: AtomicUsize,
}

impl InflightBudget {
    pub(crate) fn new(max: usize) -> InflightBudget {
        InflightBudget {
            max,
            used: AtomicUsize::new(0),
        }
    }

    /// Bytes held now by requests.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Bytes still free; `usize::MAX` without a budget.
    pub(crate) fn room(&self) -> usize {
        if self.max == 0 {
            usize::MAX
        } else {
            self.max.saturating_sub(self.used())
        }
    }

    /// An empty share for one request, given back when it is dropped.
    pub(crate) fn lease(&self) -> Lease<'_> {
        Lease {
            budget: self,
            held: 0,
        }
    }
}

/// One request's share of the [`InflightBudget`].
#[derive(Debug)]
pub(crate) struct Lease<'a> {
    budget: &'a InflightBudget,
    held: usize,
}

impl Lease<'_> {
    /// Bytes the budget has left now.
    pub(crate) fn room(&self) -> usize {
        self.budget.room()
    }

    /// The refusal of a request the budget has no room for.
    pub(crate) fn refusal(&self) -> LimitHit {
        LimitHit {
            limit: Limit::InflightBytes,
            max: self.budget.max,
            message: "too many push bodies are being read at once: this one would take \
                      the bytes in flight over the server's budget; retry later"
                .into(),
        }
    }

    /// Takes `n` more bytes, or refuses when that would go over the budget.
    pub(crate) fn take(&mut self, n: usize) -> Result<(), LimitHit> {
        let max = self.budget.max;
        let taken = self
            .budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                let after = used.saturating_add(n);
                (max == 0 || after <= max).then_some(after)
            });
        match taken {
            Ok(_) => {
                self.held += n;
                Ok(())
            }
            Err(_) => Err(self.refusal()),
        }
    }

    /// Gives `n` of the held bytes back, as a buffer is freed.
    pub(crate) fn give_back(&mut self, n: usize) {
        let n = n.min(self.held);
        self.held -= n;
        self.budget.used.fetch_sub(n, Ordering::AcqRel);
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.give_back(self.held);
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
    fn series_per_push_stops_the_parser() {
        let limits = Limits {
            max_series_per_push: 2,
            ..Limits::default()
        };
        let body = "a 1\nb{x=\"1\"} 2\nb{x=\"2\"} 3\nthis is not a line\n";
        let over = match text::parse_with(body, &limits.parse_limits()) {
            Err(crate::exposition::validate::ParseFailure::OverLimit(over)) => over,
            other => panic!("{other:?}"),
        };
        let hit = LimitHit::from(over);
        assert_eq!(hit.limit, Limit::SeriesPerPush);
        assert_eq!(
            hit.to_string(),
            "the push has more than 2 series; parsing stopped at line 3 \
             (limit 2, set by --push.max-series)"
        );
        let limits = Limits {
            max_series_per_push: 3,
            ..Limits::default()
        };
        assert!(text::parse_with("a 1\nb 2\nc 3\n", &limits.parse_limits()).is_ok());
    }

    #[test]
    fn label_lengths_in_body_and_key() {
        let limits = Limits {
            max_label_name_length: 5,
            max_label_value_length: 3,
            ..Limits::default()
        };
        let parse = |body| match text::parse_with(body, &limits.parse_limits()) {
            Err(crate::exposition::validate::ParseFailure::OverLimit(over)) => LimitHit::from(over),
            other => panic!("{other:?}"),
        };
        let hit = parse("m{abcdef=\"1\"} 1\n");
        assert_eq!(hit.limit, Limit::LabelNameLength);
        assert!(hit.message.contains("abcdef") && hit.message.contains("of metric m"));
        let hit = parse("m 1\nm{a=\"1234\"} 1\n");
        assert_eq!(hit.limit, Limit::LabelValueLength);
        assert!(
            hit.message.contains("label a of metric m at line 2"),
            "{hit}"
        );
        let hit = check_key(&limits, &key(&[("job", "long-job")])).unwrap_err();
        assert!(
            hit.message.contains("label job of the grouping key"),
            "{hit}"
        );
        assert_eq!(hit.limit.status(), StatusCode::BAD_REQUEST);
        assert!(check_key(&Limits::NONE, &key(&[("job", "long-job")])).is_ok());
    }

    #[test]
    fn grouping_key_labels() {
        let limits = Limits {
            max_grouping_key_labels: 2,
            ..Limits::default()
        };
        assert!(check_key(&limits, &key(&[("job", "j"), ("a", "1")])).is_ok());
        let hit = check_key(&limits, &key(&[("job", "j"), ("a", "1"), ("b", "2")])).unwrap_err();
        assert_eq!(hit.limit, Limit::GroupingKeyLabels);
        assert_eq!(
            hit.to_string(),
            "the grouping key has 3 labels (limit 2, set by --push.max-grouping-key-labels)"
        );
    }

    #[test]
    fn budget_refuses_beyond_its_size_and_gets_its_bytes_back() {
        let budget = InflightBudget::new(100);
        let mut a = budget.lease();
        a.take(60).unwrap();
        let mut b = budget.lease();
        let hit = b.take(41).unwrap_err();
        assert_eq!(hit.limit, Limit::InflightBytes);
        assert_eq!(hit.limit.status(), StatusCode::SERVICE_UNAVAILABLE);
        b.take(40).unwrap();
        assert_eq!(budget.used(), 100);
        a.give_back(10);
        assert_eq!(budget.room(), 10);
        drop(a);
        drop(b);
        assert_eq!(budget.used(), 0);
        let none = InflightBudget::new(0);
        none.lease().take(usize::MAX / 2).unwrap();
        assert_eq!(none.room(), usize::MAX);
    }
}
