//! Grouping keys: the labels that name a group, and their two spellings, the
//! push URL path (`/metrics/job/<JOB>{/<LABEL>/<VALUE>}` with `@base64`
//! values) and the canonical byte key that orders and indexes groups; and the
//! names of the two families the gateway keeps in every group. Pure.
//!
//! With UTF-8 names (`--push.enable-utf8-names`) a label name in a path may be
//! any UTF-8, percent-encoded or in the `U__` form of the `values` escaping
//! scheme, as upstream; without them it must be a legacy label name, and
//! `U__...` is an ordinary name.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};

use crate::exposition::names::{escape_name, unescape_values, Escaping};
use crate::exposition::validate::is_valid_label_name;

/// The two families a Pushgateway keeps in every group itself, official and
/// pgw alike: when the group last changed, and when a change last failed.
/// Clients do not push them and do not count them as a group's metrics.
pub(crate) const PUSH_TIME: &str = "push_time_seconds";
pub(crate) const PUSH_FAILURE_TIME: &str = "push_failure_time_seconds";

/// The labels of a group, `job` included, sorted by name, names unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupingKey {
    labels: Vec<(String, String)>,
}

/// Why a push path does not name a group. The message is sent as the body of
/// a 400 answer, so it says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("job name is required")]
    EmptyJob,
    #[error("odd number of components in label string {0:?}")]
    OddComponents(String),
    #[error("improper label name {0:?}")]
    BadLabelName(String),
    /// Upstream checks the reserved prefix before it unescapes, and then
    /// stores a group whose `__` label breaks every scrape.
    #[error("improper label name {raw:?}: it unescapes to {name:?}, and names starting with __ are reserved")]
    ReservedAfterUnescape { raw: String, name: String },
    #[error("invalid base64 encoding in job name {job:?}: {reason}")]
    BadBase64Job { job: String, reason: String },
    #[error("invalid base64 encoding for label {name}={value:?}: {reason}")]
    BadBase64Label {
        name: String,
        value: String,
        reason: String,
    },
    #[error("the URL path is not valid UTF-8 after percent-decoding")]
    BadUtf8Path,
}

impl GroupingKey {
    /// Builds a key from label pairs; later pairs win over earlier ones with the
    /// same name, as in the official server.
    pub fn new<I, N, V>(pairs: I) -> GroupingKey
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut labels: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            match labels.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => labels.push((name, value)),
            }
        }
        labels.sort();
        GroupingKey { labels }
    }

    /// The labels, sorted by name.
    pub(crate) fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The canonical key: `name 0xFF value 0xFF name 0xFF value`, names sorted,
    /// the same bytes the official server uses. 0xFF never occurs in UTF-8, so
    /// the encoding is unambiguous, and groups sort in the order the official UI
    /// shows them.
    pub(crate) fn canonical(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                out.push(0xFF);
            }
            out.extend_from_slice(name.as_bytes());
            out.push(0xFF);
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    /// The key whose [`canonical`](GroupingKey::canonical) form is `bytes`,
    /// or `None` when they are not one (odd parts, not UTF-8).
    pub(crate) fn from_canonical(bytes: &[u8]) -> Option<GroupingKey> {
        let parts: Vec<&str> = bytes
            .split(|b| *b == 0xFF)
            .map(std::str::from_utf8)
            .collect::<Result<_, _>>()
            .ok()?;
        if bytes.is_empty() || !parts.len().is_multiple_of(2) {
            return None;
        }
        Some(GroupingKey::new(
            parts.chunks(2).map(|pair| (pair[0], pair[1])),
        ))
    }

    /// Parses the part of a push path after `/metrics/job`, already
    /// percent-decoded: `/<JOB>{/<LABEL>/<VALUE>}` or `@base64/<B64JOB>...`.
    /// Returns `None` when it is not a push path at all (the caller answers 404).
    pub(crate) fn from_path(rest: &str) -> Option<Result<GroupingKey, KeyError>> {
        GroupingKey::from_path_with(rest, false)
    }

    /// As [`GroupingKey::from_path`], with UTF-8 label names when `utf8`.
    pub(crate) fn from_path_with(rest: &str, utf8: bool) -> Option<Result<GroupingKey, KeyError>> {
        let (job_b64, rest) = if let Some(r) = rest.strip_prefix("@base64/") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix('/') {
            (false, r)
        } else {
            return None;
        };
        Some(parse_job_and_tail(job_b64, rest, utf8))
    }

    /// The push path for this key, lossless: `job` first, then every other
    /// label; a value that is empty or holds anything outside the URL-safe
    /// characters is sent `@base64` (URL-safe alphabet, `=` for empty). A
    /// label name that is not legacy-valid is written in its `U__` form,
    /// which only a gateway with UTF-8 names holds and reads.
    pub(crate) fn to_path(&self) -> String {
        // Room for every label as it is, so the path is not copied as it grows.
        let room: usize = self.labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        let mut out = String::with_capacity("/metrics/job".len() + room + 16);
        out.push_str("/metrics/job");
        let job = self.get("job").unwrap_or("");
        push_component(&mut out, "", job);
        for (name, value) in &self.labels {
            if name != "job" {
                out.push('/');
                out.push_str(&escape_name(name, Escaping::Values));
                push_component(&mut out, name, value);
            }
        }
        out
    }
}

fn push_component(out: &mut String, _name: &str, value: &str) {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if plain {
        out.push('/');
        out.push_str(value);
    } else if value.is_empty() {
        out.push_str("@base64/=");
    } else {
        out.push_str("@base64/");
        out.push_str(&URL_SAFE_NO_PAD.encode(value));
    }
}

impl fmt::Display for GroupingKey {
    /// `{job="x",instance="y"}`, for messages and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

/// A label name of a push path. Without `utf8`, a legacy label name not
/// starting with `__`. With it, upstream's order: the reserved prefix is
/// checked, the `U__` form decoded (a malformed one is kept as it is), and
/// the name must be non-empty; pgw also refuses a name that decodes to the
/// reserved prefix.
fn path_label_name(raw: &str, utf8: bool) -> Result<Cow<'_, str>, KeyError> {
    let bad = || KeyError::BadLabelName(raw.to_string());
    if !utf8 {
        if !is_valid_label_name(raw) || raw.starts_with("__") {
            return Err(bad());
        }
        return Ok(Cow::Borrowed(raw));
    }
    if raw.starts_with("__") {
        return Err(bad());
    }
    let name = unescape_values(raw);
    if name.is_empty() {
        return Err(bad());
    }
    if name.starts_with("__") {
        return Err(KeyError::ReservedAfterUnescape {
            raw: raw.to_string(),
            name: name.into_owned(),
        });
    }
    Ok(name)
}

fn parse_job_and_tail(job_b64: bool, rest: &str, utf8: bool) -> Result<GroupingKey, KeyError> {
    let (job, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let job = if job_b64 {
        decode_base64(job).map_err(|reason| KeyError::BadBase64Job {
            job: job.to_string(),
            reason,
        })?
    } else {
        job.to_string()
    };
    if job.is_empty() {
        return Err(KeyError::EmptyJob);
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    // Upstream ignores a tail of a single character, so `/metrics/job/x/` is the
    // group `{job="x"}`; a longer tail is split into name/value pairs, and
    // `/metrics/job/x/a/` gives `a=""`.
    if tail.len() > 1 {
        let parts: Vec<&str> = tail[1..].split('/').collect();
        if !parts.len().is_multiple_of(2) {
            return Err(KeyError::OddComponents(tail.to_string()));
        }
        for pair in parts.chunks(2) {
            let (raw_name, raw_value) = (pair[0], pair[1]);
            let (name, b64) = match raw_name.strip_suffix("@base64") {
                Some(n) => (n, true),
                None => (raw_name, false),
            };
            let name = path_label_name(name, utf8)?;
            let value = if b64 {
                decode_base64(raw_value).map_err(|reason| KeyError::BadBase64Label {
                    name: name.to_string(),
                    value: raw_value.to_string(),
                    reason,
                })?
            } else {
                raw_value.to_string()
            };
            pairs.push((name.to_string(), value));
        }
    }
    // The `job` segment wins over a `job` pair in the tail, as upstream.
    pairs.push(("job".to_string(), job));
    Ok(GroupingKey::new(pairs))
}

/// Go's `base64.RawURLEncoding` ignores set bits after the last full byte
/// (`Zm9v-_` decodes), so the decoder here does too.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// URL-safe base64 with optional padding (any number of trailing `=`, and `=`
/// alone for the empty string). The result must be UTF-8: upstream accepts
/// other bytes and then every scrape fails; pgw refuses them here.
fn decode_base64(value: &str) -> Result<String, String> {
    let trimmed = value.trim_end_matches('=');
    let bytes = LENIENT_URL_SAFE.decode(trimmed).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        base64::DecodeError::InvalidLength(at) => format!("illegal base64 data at input byte {at}"),
        base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        base64::DecodeError::InvalidPadding => "illegal base64 padding".to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| "the decoded value is not valid UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(rest: &str) -> Result<GroupingKey, KeyError> {
        GroupingKey::from_path(rest).expect("a push path")
    }

    fn labels(k: &GroupingKey) -> Vec<(&str, &str)> {
        k.labels()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn plain_job_and_labels() {
        let k = key("/backup/instance/db1/zone/eu").unwrap();
        assert_eq!(
            labels(&k),
            vec![("instance", "db1"), ("job", "backup"), ("zone", "eu")]
        );
    }

    #[test]
    fn readme_examples_decode() {
        assert_eq!(
            key("/directory_cleaner/path@base64/L3Zhci90bXA")
                .unwrap()
                .get("path"),
            Some("/var/tmp")
        );
        let k = key("/example/first_label@base64/=/second_label/foobar").unwrap();
        assert_eq!(k.get("first_label"), Some(""));
        assert_eq!(k.get("second_label"), Some("foobar"));
        assert_eq!(
            key("/titan/name@base64/zqDPgc6_zrzOt864zrXPjc-C")
                .unwrap()
                .get("name"),
            Some("Προμηθεύς")
        );
        assert_eq!(
            key("@base64/dGVzdC9qb2I").unwrap().get("job"),
            Some("test/job")
        );
    }

    #[test]
    fn padding_is_optional_and_repeatable() {
        assert_eq!(key("/j/a@base64/Zm9v====").unwrap().get("a"), Some("foo"));
        assert_eq!(key("/j/a@base64/Zm8").unwrap().get("a"), Some("fo"));
        assert_eq!(key("/j/a@base64/Zm8=").unwrap().get("a"), Some("fo"));
    }

    #[test]
    fn standard_alphabet_is_refused() {
        let err = key("/j/a@base64/a+b").unwrap_err();
        assert!(matches!(err, KeyError::BadBase64Label { .. }), "{err}");
        assert!(err.to_string().contains("input byte 1"), "{err}");
    }

    #[test]
    fn invalid_utf8_after_base64_is_refused() {
        let err = key("/x/a@base64/Zm9v-_").unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn trailing_slash_rules() {
        assert_eq!(labels(&key("/x/").unwrap()), vec![("job", "x")]);
        assert_eq!(
            labels(&key("/y/instance/").unwrap()),
            vec![("instance", ""), ("job", "y")]
        );
    }

    #[test]
    fn empty_job_is_refused() {
        assert_eq!(key("/").unwrap_err(), KeyError::EmptyJob);
        assert_eq!(key("@base64/=").unwrap_err(), KeyError::EmptyJob);
    }

    #[test]
    fn odd_components_and_bad_names() {
        assert!(matches!(key("/x/a/b/c"), Err(KeyError::OddComponents(t)) if t == "/a/b/c"));
        assert!(matches!(key("/x/1a/b"), Err(KeyError::BadLabelName(n)) if n == "1a"));
        assert!(matches!(key("/x/__a/b"), Err(KeyError::BadLabelName(n)) if n == "__a"));
    }

    #[test]
    fn job_segment_wins_and_last_duplicate_wins() {
        assert_eq!(labels(&key("/x/job/y").unwrap()), vec![("job", "x")]);
        assert_eq!(
            labels(&key("/x/a/1/a/2").unwrap()),
            vec![("a", "2"), ("job", "x")]
        );
    }

    #[test]
    fn not_a_push_path() {
        assert!(GroupingKey::from_path("").is_none());
        assert!(GroupingKey::from_path("s/x").is_none());
    }

    #[test]
    fn canonical_keys_read_back() {
        let k = GroupingKey::new([("job", "j"), ("a", ""), ("uni", "Προμηθεύς")]);
        assert_eq!(GroupingKey::from_canonical(&k.canonical()), Some(k));
        assert_eq!(GroupingKey::from_canonical(b"job\xffj\xffa"), None);
        assert_eq!(GroupingKey::from_canonical(b"job\xff\xfe"), None);
        assert_eq!(GroupingKey::from_canonical(b""), None);
    }

    #[test]
    fn canonical_key_matches_upstream_layout() {
        let k = GroupingKey::new([("job", "j"), ("a", "1")]);
        assert_eq!(k.canonical(), b"a\xff1\xffjob\xffj".to_vec());
    }

    #[test]
    fn to_path_round_trips_awkward_values() {
        let k = GroupingKey::new([
            ("job", "nightly/backup"),
            ("path", "/var/tmp"),
            ("empty", ""),
            ("space", "a b"),
            ("plain", "web-1.example"),
            ("uni", "Προμηθεύς"),
        ]);
        let path = k.to_path();
        assert!(path.contains("/plain/web-1.example"), "{path}");
        let rest = path.strip_prefix("/metrics/job").unwrap();
        assert_eq!(key(rest).unwrap(), k);
    }

    fn utf8_key(rest: &str) -> Result<GroupingKey, KeyError> {
        GroupingKey::from_path_with(rest, true).expect("a push path")
    }

    #[test]
    fn without_utf8_names_u_names_are_literal_and_others_refused() {
        assert_eq!(
            key("/x/U__foo_2e_bar/v").unwrap().get("U__foo_2e_bar"),
            Some("v")
        );
        assert_eq!(
            key("/x/a.b/v").unwrap_err().to_string(),
            "improper label name \"a.b\""
        );
        assert_eq!(
            key("/x/é/v").unwrap_err().to_string(),
            "improper label name \"é\""
        );
    }

    #[test]
    fn utf8_names_decode_the_u_form_as_upstream() {
        assert_eq!(
            labels(&utf8_key("/x/U__foo_2e_bar@base64/YmF6").unwrap()),
            vec![("foo.bar", "baz"), ("job", "x")]
        );
        assert_eq!(utf8_key("/x/U___55_____/v").unwrap().get("U__"), Some("v"));
        // Malformed: kept as it is.
        assert_eq!(
            utf8_key("/x/U__in_xxx_valid/v")
                .unwrap()
                .get("U__in_xxx_valid"),
            Some("v")
        );
        // A raw name (percent-decoded by the caller) and legacy names.
        assert_eq!(utf8_key("/x/a.b/v").unwrap().get("a.b"), Some("v"));
        assert_eq!(utf8_key("/x/é ü/v").unwrap().get("é ü"), Some("v"));
        assert_eq!(utf8_key("/x/a:b/v").unwrap().get("a:b"), Some("v"));
        assert_eq!(
            utf8_key("/x/instance/i").unwrap().get("instance"),
            Some("i")
        );
    }

    #[test]
    fn utf8_names_keep_the_reserved_prefix_reserved() {
        assert_eq!(
            utf8_key("/x/__a/v").unwrap_err(),
            KeyError::BadLabelName("__a".into())
        );
        // Upstream lets this one through and poisons its store.
        let e = utf8_key("/x/U______foo/v").unwrap_err();
        assert_eq!(
            e.to_string(),
            "improper label name \"U______foo\": it unescapes to \"__foo\", \
             and names starting with __ are reserved"
        );
        assert_eq!(
            utf8_key("/x/U__/v").unwrap_err(),
            KeyError::BadLabelName("U__".into())
        );
    }

    #[test]
    fn to_path_writes_utf8_names_in_their_u_form() {
        let k = GroupingKey::new([("job", "j"), ("a.b", "v"), ("c:d", "w"), ("e_f", "x")]);
        let path = k.to_path();
        assert_eq!(path, "/metrics/job/j/U__a_2e_b/v/c:d/w/e_f/x");
        let rest = path.strip_prefix("/metrics/job").unwrap();
        assert_eq!(utf8_key(rest).unwrap(), k);
    }
}
