//! Preparing a push, outside the store's lock: grouping labels forced onto
//! every series, the checks that need no other group, each family rendered
//! once to the exposition text and once to protobuf, and its series
//! fingerprinted. Pure: nothing
//! here touches the store.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::exposition::names::{escape_name, is_legacy_name, Escaping};
use crate::exposition::proto::{decode_series, encode_series};
use crate::exposition::render::{
    has_legacy_label_names, has_quoted_names, write_series_escaped, write_series_with,
};
use crate::exposition::text;
use crate::exposition::validate::{
    check_sorted_families_but_duplicates, duplicate_series, ParseLimits,
};
use crate::exposition::{Family, Label, Metric, MetricType, Value};
use crate::grouping::GroupingKey;
pub(crate) use crate::grouping::{PUSH_FAILURE_TIME, PUSH_TIME};
use crate::server::store::Rejection;

const PUSH_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway failed.";

/// One family of one group, rendered.
#[derive(Debug, Clone)]
pub(crate) struct StoredFamily {
    pub(crate) name: Arc<str>,
    pub(crate) kind: MetricType,
    /// Shared, as the name is (see [`shared_str`]).
    pub(crate) help: Option<Arc<str>>,
    /// When the family was pushed, in nanoseconds since the Unix epoch
    /// (read through [`StoredFamily::pushed_at`]): half a `SystemTime`,
    /// so that a family with its shared counts fills two cache lines, not
    /// three.
    pushed_at: u64,
    /// The sample lines of every series, without HELP and TYPE: a range
    /// of the block that holds the text of every family of the push that
    /// brought it, or a block of its own (see [`Lines`]).
    pub(crate) text: Lines,
    /// Every series as protobuf, each framed as field 4 of a `MetricFamily`
    /// (see `proto::encode_series`): read through [`StoredFamily::proto`].
    /// This is the lossless copy: the text format cannot carry native
    /// histograms, exemplars or created timestamps, and the JSON API reads
    /// its values from here. Written with the text for a family the text
    /// cannot carry exactly (see [`text_is_exact`]) and for every family
    /// once the store is scraped in protobuf (see [`Protobuf`]); else,
    /// for nearly every family pushed, it is made from the text the first
    /// time a protobuf scrape, the JSON API or an aggregating push asks, so
    /// a push that only text scrapes read costs no protobuf.
    proto: OnceLock<Proto>,
    /// The family name and every label name are legacy-valid, so `text` is
    /// what a scrape writes under every escaping scheme. Not persisted:
    /// derived again from the name and the text on restore.
    pub(crate) legacy_names: bool,
    /// One fingerprint per series (name and full label set), sorted, for the
    /// cross-group duplicate check.
    /// Inline for a family of one or two series, most families: the
    /// check of a re-push compares them with the new ones without loading
    /// another allocation, and a push makes one allocation fewer.
    pub(super) fingerprints: Fingerprints,
}

impl StoredFamily {
    /// When the family was pushed.
    pub(crate) fn pushed_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.pushed_at)
    }

    pub(crate) fn series_count(&self) -> usize {
        self.fingerprints.len()
    }

    pub(crate) fn fingerprints(&self) -> &[u64] {
        &self.fingerprints
    }

    /// The protobuf series (see the field), made from the text on first use.
    pub(crate) fn proto(&self) -> &[u8] {
        self.proto
            .get_or_init(|| Box::new(proto_from_text(&self.name, self.kind, &self.text).into()))
    }

    /// The protobuf series if they were written, for persistence: a family
    /// stored without them makes them from its text again after a restore.
    pub(crate) fn proto_if_written(&self) -> Option<&[u8]> {
        self.proto.get().map(|p| &p[..])
    }

    /// The family read back into the model, from its lossless copy.
    pub(crate) fn decode(&self) -> Family<'static> {
        let mut family = decode_series(&self.name, self.kind, self.proto())
            // The bytes are what `encode_series` wrote (or a checksummed copy
            // of them), so they always decode.
            .unwrap_or_else(|_| Family::new(self.name.to_string(), self.kind));
        family.help = self.help.as_deref().map(|h| Cow::Owned(h.to_string()));
        family
    }

    /// Appends the sample lines with names escaped by `escaping`: `text`
    /// itself for a family of legacy names (the scrape's fast path), else
    /// the series read back from the protobuf copy and written again under
    /// the scheme, which only families with UTF-8 names pay for.
    pub(crate) fn write_text(&self, out: &mut Vec<u8>, escaping: Escaping) {
        if written_as_is(self.legacy_names, escaping) {
            out.extend_from_slice(&self.text);
            return;
        }
        for metric in &self.decode().metrics {
            write_series_escaped(out, &self.name, self.kind, metric, escaping);
        }
    }

    /// Appends the protobuf series, names escaped by `escaping`: `proto`
    /// itself for a family of legacy names, else the series read back and
    /// encoded again with escaped label names.
    pub(crate) fn write_proto(&self, out: &mut Vec<u8>, escaping: Escaping) {
        if written_as_is(self.legacy_names, escaping) {
            out.extend_from_slice(self.proto());
            return;
        }
        for mut metric in self.decode().metrics {
            for label in &mut metric.labels {
                if let Cow::Owned(escaped) = escape_name(&label.name, escaping) {
                    label.name = Cow::Owned(escaped);
                }
            }
            encode_series(out, self.kind, &metric);
        }
    }

    /// A family as persistence stored it: `text`, `proto` and
    /// `fingerprints` are what [`prepare`] made of a push (checksummed on
    /// disk), so a restore needs no parsing. A family stored without
    /// `proto` (see [`StoredFamily::proto_if_written`]), or by a version
    /// that kept none, makes it from the text when it is first asked for.
    pub(crate) fn from_parts(
        name: &str,
        kind: MetricType,
        help: Option<&str>,
        pushed_at: SystemTime,
        text: Vec<u8>,
        proto: Option<Vec<u8>>,
        fingerprints: Vec<u64>,
    ) -> StoredFamily {
        StoredFamily {
            name: shared_str(name),
            kind,
            help: help.filter(|h| !h.is_empty()).map(shared_str),
            pushed_at: unix_nanos(pushed_at),
            legacy_names: is_legacy_name(name) && !has_quoted_names(&text),
            text: Lines::from(text),
            proto: proto.map_or_else(OnceLock::new, |p| OnceLock::from(Box::new(p.into()))),
            fingerprints: Fingerprints::from_vec(fingerprints),
        }
    }
}

/// A family's protobuf series, behind a thin pointer: a family holds them
/// in 8 bytes, not 16, and so fits two cache lines with its sample lines'
/// handle (see [`Lines`]). Read only by protobuf scrapes, the JSON API and
/// aggregating pushes, which pay the extra load.
type Proto = Box<Box<[u8]>>;

/// A family's series fingerprints (see [`StoredFamily::fingerprints`]).
pub(crate) type Fingerprints = SmallVec<[u64; 2]>;

/// Whether a family's stored text and protobuf serve a scrape under
/// `escaping` as they are: its names are all legacy-valid, or the scraper
/// takes UTF-8 names unescaped.
pub(super) fn written_as_is(legacy_names: bool, escaping: Escaping) -> bool {
    legacy_names || escaping == Escaping::AllowUtf8
}

/// The protobuf series of a family the store rendered as `text`: read
/// back by the cheap reader of single numbers where it can, else parsed.
fn proto_from_text(name: &str, kind: MetricType, series: &[u8]) -> Vec<u8> {
    let mut proto = Vec::with_capacity(series.len());
    if matches!(
        kind,
        MetricType::Counter | MetricType::Gauge | MetricType::Untyped
    ) {
        if let Ok(series) = std::str::from_utf8(series) {
            let read = text::read_single_series(series, |m| encode_series(&mut proto, kind, m));
            if read.is_some() {
                return proto;
            }
            proto.clear();
        }
    }
    let mut body = Vec::with_capacity(series.len() + name.len() + 32);
    crate::exposition::render::write_header(&mut body, name, None, kind);
    body.extend_from_slice(series);
    // Names that are not legacy-valid are quoted in the text.
    let utf8 = ParseLimits {
        utf8_names: true,
        ..ParseLimits::NONE
    };
    // Text the store rendered always parses; it holds this one family.
    for family in text::parse_bytes_with(&body, &utf8).unwrap_or_default() {
        if family.name == name {
            for metric in &family.metrics {
                encode_series(&mut proto, kind, metric);
            }
        }
    }
    proto
}

/// A push that passed every check that needs no other group: labels
/// sanitised, series rendered and fingerprinted.
#[derive(Debug, Clone)]
pub struct PreparedPush {
    pub(crate) key: GroupingKey,
    /// Each family made shared as it is rendered, so that the store takes
    /// it as it is: moved into a shared allocation under the lock instead,
    /// each family would be copied twice more (into the push's vector,
    /// then out of it), into memory not yet in cache.
    pub(super) families: Vec<Arc<StoredFamily>>,
    /// The group's time to live from now on (`None`: it never expires).
    pub(crate) ttl: Option<Duration>,
}

impl PreparedPush {
    /// A push rebuilt from persisted families.
    pub(crate) fn from_parts(
        key: GroupingKey,
        families: Vec<StoredFamily>,
        ttl: Option<Duration>,
    ) -> PreparedPush {
        let families = families.into_iter().map(Arc::new).collect();
        PreparedPush { key, families, ttl }
    }

    pub(crate) fn series_count(&self) -> usize {
        self.families.iter().map(|f| f.series_count()).sum()
    }

    pub(crate) fn families(&self) -> &[Arc<StoredFamily>] {
        &self.families
    }
}

/// When a family that the text carries exactly gets its protobuf series
/// (see [`StoredFamily::proto`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protobuf {
    /// Encoded with the text, when the push is prepared: the store is read
    /// in protobuf, so each push would be encoded anyway, and at push time
    /// encoding is cheaper than reading the text back later.
    AtPush,
    /// Made from the text by the first reader that needs it: a store only
    /// scraped in text never encodes.
    WhenRead,
}

/// Sanitises, checks and renders a push body for the group `key`.
///
/// As upstream: every grouping label is forced onto every series (a body label
/// of the same name is overwritten), `instance=""` is added where no instance
/// label is left, labels are sorted, and pushed `push_time_seconds` /
/// `push_failure_time_seconds` families are dropped (the store owns them).
pub fn prepare(
    key: GroupingKey,
    families: Vec<Family<'_>>,
    now: SystemTime,
) -> Result<PreparedPush, Rejection> {
    prepare_with(key, families, now, Protobuf::WhenRead, Texts::OneBlock)
}

/// Where the sample lines of a push's families are kept (see [`Lines`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Texts {
    /// In one block for the whole push: for a push that replaces every
    /// family of its group (`PUT`), so that the next such push frees the
    /// whole block.
    OneBlock,
    /// In a block per family: for a push that adds to its group (`POST`).
    /// The families it replaces come from older pushes, whose other
    /// families may stay for long: a block shared with them would keep the
    /// replaced text alive beside them, push after push.
    BlockPerFamily,
}

/// As [`prepare`], with the protobuf series encoded when `protobuf` says
/// and the texts kept as `texts` says.
pub fn prepare_with(
    key: GroupingKey,
    mut families: Vec<Family<'_>>,
    now: SystemTime,
    protobuf: Protobuf,
    texts: Texts,
) -> Result<PreparedPush, Rejection> {
    families.retain(|f| !store_owned(f));
    prepare_families(key, families, std::iter::repeat(now), protobuf, texts)
}

/// As [`prepare`], each family with its own push time: a store imported
/// from the official Pushgateway keeps the times its families were pushed.
pub(crate) fn prepare_timed(
    key: GroupingKey,
    families: Vec<(Family<'_>, SystemTime)>,
) -> Result<PreparedPush, Rejection> {
    let (families, times): (Vec<Family<'_>>, Vec<SystemTime>) = families
        .into_iter()
        .filter(|(f, _)| !store_owned(f))
        .unzip();
    // An imported group is made whole, and replaced whole by a `PUT`.
    prepare_families(
        key,
        families,
        times.into_iter(),
        Protobuf::WhenRead,
        Texts::OneBlock,
    )
}

/// A pushed family the store makes itself, which a push cannot set.
fn store_owned(family: &Family<'_>) -> bool {
    family.name == PUSH_TIME || family.name == PUSH_FAILURE_TIME
}

/// The work of [`prepare`] on `families` (store-owned ones taken out),
/// each with the push time `times` gives it, in order.
fn prepare_families(
    key: GroupingKey,
    families: Vec<Family<'_>>,
    times: impl Iterator<Item = SystemTime>,
    protobuf: Protobuf,
    texts: Texts,
) -> Result<PreparedPush, Rejection> {
    // Rebound at a shorter lifetime: the grouping labels put onto each
    // series borrow from `key`.
    let mut families: Vec<Family<'_>> = families;
    for family in &mut families {
        for metric in &mut family.metrics {
            sanitize_labels(&key, &mut metric.labels);
        }
    }
    // Labels are sorted now; duplicate series are found below, from the
    // fingerprints that rendering makes of every series anyway.
    check_sorted_families_but_duplicates(&families).map_err(Rejection)?;
    let prepared: Vec<Arc<StoredFamily>> = match texts {
        Texts::OneBlock => render_push(&families, times, protobuf),
        Texts::BlockPerFamily => families
            .iter()
            .zip(times)
            .map(|(family, at)| Arc::new(render_family(family, at, protobuf)))
            .collect(),
    };
    for (family, stored) in families.iter().zip(&prepared) {
        if let Some(duplicate) = duplicate_in(family, &stored.fingerprints) {
            return Err(Rejection(duplicate));
        }
    }
    Ok(PreparedPush {
        key,
        families: prepared,
        ttl: None,
    })
}

/// The error for the first series of `family` that repeats an earlier
/// one, found among the sorted fingerprints of its series: only the series
/// behind equal fingerprints are compared, and compared for real, so that
/// two series whose fingerprints collide never reject a valid push.
fn duplicate_in(family: &Family<'_>, sorted: &[u64]) -> Option<String> {
    let twice: SmallVec<[u64; 4]> = sorted
        .windows(2)
        .filter(|p| p[0] == p[1])
        .map(|p| p[0])
        .collect();
    if twice.is_empty() {
        return None;
    }
    let mut seen: Vec<(u64, &Metric<'_>)> = Vec::new();
    for metric in &family.metrics {
        let fp = fingerprint(&family.name, &metric.labels);
        if !twice.contains(&fp) {
            continue;
        }
        // Both label sets are sorted: equal sets are equal lists.
        let repeats = seen
            .iter()
            .any(|(other, earlier)| *other == fp && earlier.labels == metric.labels);
        if repeats {
            return Some(duplicate_series(&family.name, &metric.labels));
        }
        seen.push((fp, metric));
    }
    None
}

pub(super) fn sanitize_labels<'a>(key: &'a GroupingKey, labels: &mut Vec<Label<'a>>) {
    labels.retain(|l| key.get(&l.name).is_none());
    labels.reserve(key.labels().len() + 1);
    // Bodies nearly always list labels sorted: the few added ones then go
    // straight to their places, where a sort would move every label.
    let sorted = labels.is_sorted_by(|a, b| a.name <= b.name);
    let instance = key.get("instance").is_some() || labels.iter().any(|l| l.name == "instance");
    let mut add = |label: Label<'a>| {
        if sorted {
            let at = labels.partition_point(|l| l.name < label.name);
            labels.insert(at, label);
        } else {
            labels.push(label);
        }
    };
    for (name, value) in key.labels() {
        add(Label::new(name.as_str(), value.as_str()));
    }
    if !instance {
        add(Label::new("instance", ""));
    }
    if !sorted {
        labels.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

pub(super) fn render_family(
    family: &Family<'_>,
    now: SystemTime,
    protobuf: Protobuf,
) -> StoredFamily {
    with_scratch(|text, proto| {
        let rendered = render_into(family, now, protobuf, text, proto);
        rendered.stored(Lines::from(&text[..]))
    })
}

/// Renders every family of one push, the sample lines of all of them into
/// one allocation that they share ([`Lines`]): a push of a few hundred
/// families then writes its text into one block of memory, front to back,
/// where one allocation per family would write into as many scattered ones,
/// each last touched a push of that size ago, and free as many again when
/// the next push replaces them.
pub(super) fn render_push(
    families: &[Family<'_>],
    times: impl Iterator<Item = SystemTime>,
    protobuf: Protobuf,
) -> Vec<Arc<StoredFamily>> {
    with_scratch(|text, proto| {
        let rendered: Vec<(Rendered, usize, usize)> = families
            .iter()
            .zip(times)
            .map(|(family, at)| {
                let start = text.len();
                let r = render_into(family, at, protobuf, text, proto);
                (r, start, text.len())
            })
            .collect();
        let block: Arc<[u8]> = Arc::from(&text[..]);
        rendered
            .into_iter()
            .map(|(r, start, end)| {
                // A push of more than 4 GiB of text: what does not fit the
                // handle's offsets gets a block of its own.
                let lines = Lines::part(&block, start, end)
                    .unwrap_or_else(|| Lines::from(&block[start..end]));
                Arc::new(r.stored(lines))
            })
            .collect()
    })
}

/// Runs `f` with the text and protobuf buffers the thread keeps, emptied:
/// families are rendered into them, then copied out at their exact size
/// (one allocation each, where growing a vector and shrinking it into a
/// box would reallocate several times).
fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> T) -> T {
    thread_local! {
        static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }
    SCRATCH.with_borrow_mut(|(text, proto)| {
        text.clear();
        proto.clear();
        let out = f(text, proto);
        // A huge push leaves huge buffers; keep modest ones.
        for buf in [text, proto] {
            if buf.capacity() > 4 << 20 {
                *buf = Vec::new();
            }
        }
        out
    })
}

/// A family rendered, waiting for the handle to its sample lines.
struct Rendered {
    name: Arc<str>,
    kind: MetricType,
    help: Option<Arc<str>>,
    pushed_at: u64,
    legacy_names: bool,
    proto: OnceLock<Proto>,
    fingerprints: Fingerprints,
}

impl Rendered {
    fn stored(self, text: Lines) -> StoredFamily {
        StoredFamily {
            name: self.name,
            kind: self.kind,
            help: self.help,
            pushed_at: self.pushed_at,
            text,
            proto: self.proto,
            legacy_names: self.legacy_names,
            fingerprints: self.fingerprints,
        }
    }
}

/// Appends the sample lines of `family` to `text` (and its protobuf series
/// to `proto`, emptied first, when they are to be written now).
fn render_into(
    family: &Family<'_>,
    now: SystemTime,
    protobuf: Protobuf,
    text: &mut Vec<u8>,
    proto: &mut Vec<u8>,
) -> Rendered {
    proto.clear();
    let mut fingerprints = Fingerprints::with_capacity(family.metrics.len());
    // The family's name is tested once, not again for every series.
    let legacy_name = is_legacy_name(&family.name);
    let mut legacy_names = legacy_name;
    let exact = protobuf == Protobuf::WhenRead && text_is_exact(family);
    for metric in &family.metrics {
        let legacy = legacy_name && has_legacy_label_names(&metric.labels);
        write_series_with(text, &family.name, metric, legacy);
        if !exact {
            encode_series(proto, family.kind, metric);
        }
        legacy_names &= legacy;
        fingerprints.push(fingerprint(&family.name, &metric.labels));
    }
    // Sorted, so that a re-push of the same series is recognised by
    // comparing two slices, without touching the store-wide index.
    fingerprints.sort_unstable();
    let help = family.help.as_deref().filter(|h| !h.is_empty());
    let (name, help) = shared_name_and_help(&family.name, help);
    Rendered {
        name,
        kind: family.kind,
        help,
        pushed_at: unix_nanos(now),
        legacy_names,
        proto: if exact {
            OnceLock::new()
        } else {
            OnceLock::from(Box::new(Box::from(&proto[..])))
        },
        fingerprints,
    }
}

/// A family's sample lines: a range of a block of memory shared with the
/// other families of the push that brought it (see [`render_push`]), or
/// memory of its own.
///
/// A shared block is freed with the last of its families. Its count is
/// read and written by each of them as it goes, but the `PUT` that
/// replaces them replaces them all together, so that is one cache line per
/// push, where memory of its own per family is one allocation and one free
/// per family, each in memory last touched a push ago. A family restored
/// from disk, or pushed by a `POST`, keeps memory of its own, taken over
/// from the buffer it was made in without a copy.
#[derive(Clone)]
pub(crate) enum Lines {
    Shared {
        block: Arc<[u8]>,
        start: u32,
        len: u32,
    },
    Own(Box<[u8]>),
}

impl Lines {
    /// `block[start..end]`, or `None` when the range does not fit the
    /// handle's 32-bit offsets.
    pub(super) fn part(block: &Arc<[u8]>, start: usize, end: usize) -> Option<Lines> {
        let start32 = u32::try_from(start).ok()?;
        let len = u32::try_from(end - start).ok()?;
        start32.checked_add(len)?;
        Some(Lines::Shared {
            block: block.clone(),
            start: start32,
            len,
        })
    }
}

#[cfg(test)]
impl Lines {
    /// Whether both are ranges of one block.
    pub(super) fn same_block(&self, other: &Lines) -> bool {
        match (self, other) {
            (Lines::Shared { block: a, .. }, Lines::Shared { block: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<Vec<u8>> for Lines {
    fn from(bytes: Vec<u8>) -> Lines {
        Lines::Own(bytes.into_boxed_slice())
    }
}

impl From<&[u8]> for Lines {
    fn from(bytes: &[u8]) -> Lines {
        Lines::Own(Box::from(bytes))
    }
}

impl std::ops::Deref for Lines {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Lines::Shared { block, start, len } => {
                let start = *start as usize;
                &block[start..start + *len as usize]
            }
            Lines::Own(bytes) => bytes,
        }
    }
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// The longest name or HELP text [`shared_str`] remembers.
const SHARED_MAX: usize = 256;

/// How many strings [`shared_str`] and [`shared_name_and_help`] remember
/// each. Bounded in count and size, so that pushes of ever new names
/// cannot grow them: when one is full it is emptied, and fills again with
/// the names pushed since; a long text is never kept.
const REMEMBERED: usize = 1 << 14;

/// A family's name and HELP text as shared strings (see [`shared_str`]):
/// one lookup of the name, where a family comes with the HELP it came
/// with last time, as nearly every family does push after push.
pub(super) fn shared_name_and_help(name: &str, help: Option<&str>) -> (Arc<str>, Option<Arc<str>>) {
    thread_local! {
        static LAST: RefCell<FxHashMap<Arc<str>, Option<Arc<str>>>> =
            RefCell::new(FxHashMap::default());
    }
    LAST.with_borrow_mut(|last| {
        if let Some((name, last_help)) = last.get_key_value(name) {
            if last_help.as_deref() == help {
                return (name.clone(), last_help.clone());
            }
        }
        let shared = (shared_str(name), help.map(shared_str));
        if name.len() <= SHARED_MAX && help.is_none_or(|h| h.len() <= SHARED_MAX) {
            if last.len() >= REMEMBERED {
                last.clear();
            }
            last.insert(shared.0.clone(), shared.1.clone());
        }
        shared
    })
}

/// `s` as a shared string: the same allocation as the last family name or
/// HELP text equal to it that this thread made, while it remembers that
/// one (it remembers a few thousand, none longer than [`SHARED_MAX`]). A
/// gateway sees the same names and HELP texts push after push: a copy of
/// each for each push would be two allocations per family more, each
/// written into memory not yet in cache and freed, a push later, from
/// memory no longer in cache.
pub(super) fn shared_str(s: &str) -> Arc<str> {
    if s.len() > SHARED_MAX {
        return Arc::from(s);
    }
    thread_local! {
        static SEEN: RefCell<FxHashSet<Arc<str>>> = RefCell::new(FxHashSet::default());
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(shared) = seen.get(s) {
            return shared.clone();
        }
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        let shared: Arc<str> = Arc::from(s);
        seen.insert(shared.clone());
        shared
    })
}

/// Whether the text of `family` reads back into exactly the series it was
/// written from, so that its protobuf can be made from the text later:
/// counters, gauges and untyped series with one number, no NaN (the text
/// has one NaN, protobuf keeps its bits) and nothing only protobuf carries.
/// Summaries and histograms are encoded as pushed: the text adds a `+Inf`
/// bucket where a protobuf push had none.
pub(super) fn text_is_exact(family: &Family<'_>) -> bool {
    matches!(
        family.kind,
        MetricType::Counter | MetricType::Gauge | MetricType::Untyped
    ) && family
        .metrics
        .iter()
        .all(|m| m.extras.is_none() && matches!(m.value, Value::Single(v) if !v.is_nan()))
}

/// Identifies a series by its family name and label set. 64 bits: across a
/// store of a million series the chance that two different series share one
/// is about 1 in 10^7 per push of a thousand series.
pub(super) fn fingerprint(name: &str, labels: &[Label<'_>]) -> u64 {
    // The bytes are laid out in a buffer the thread keeps and hashed in one
    // call: the same value as feeding them to a streaming hasher one by
    // one (persisted fingerprints stay valid), without setting up its state
    // for every series.
    thread_local! {
        static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    KEY.with_borrow_mut(|key| {
        key.clear();
        key.extend_from_slice(name.as_bytes());
        for l in labels {
            key.push(0xFF);
            key.extend_from_slice(l.name.as_bytes());
            key.push(0xFE);
            key.extend_from_slice(l.value.as_bytes());
        }
        let fp = xxhash_rust::xxh3::xxh3_64(key);
        if key.capacity() > 1 << 16 {
            *key = Vec::new();
        }
        fp
    })
}

/// `t` in nanoseconds since the Unix epoch (0 before it): how a family
/// keeps its push time, and how persistence writes times.
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(super) fn unix_seconds(t: SystemTime) -> f64 {
    // Upstream computes float64(UnixNano)/1e9; the same here, so that the
    // values look alike.
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as f64 / 1e9,
        Err(_) => 0.0,
    }
}

pub(super) fn synthetic_family(
    key: &GroupingKey,
    name: &'static str,
    value: f64,
    at: SystemTime,
) -> StoredFamily {
    let mut labels: Vec<Label<'_>> = Vec::new();
    sanitize_labels(key, &mut labels);
    let metric = Metric {
        labels,
        value: Value::Single(value),
        timestamp_ms: None,
        extras: None,
    };
    let help = if name == PUSH_TIME {
        PUSH_TIME_HELP
    } else {
        PUSH_FAILURE_TIME_HELP
    };
    render_family(
        &Family {
            name: Cow::Borrowed(name),
            help: Some(Cow::Borrowed(help)),
            kind: MetricType::Gauge,
            metrics: vec![metric],
        },
        at,
        // Two series, encoded again by every change of the group: read
        // back by the cheap reader when a protobuf scrape asks.
        Protobuf::WhenRead,
    )
}
