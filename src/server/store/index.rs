//! The two store-wide indexes (family name -> the groups that have it, with
//! its type; series fingerprint -> the group that exposes it) and the
//! checks of a push against the rest of the store that they make cheap:
//! time in proportion to the push, not to the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use rustc_hash::FxHashMap;

use crate::exposition::names::Escaping;
use crate::exposition::{Label, MetricType};
use crate::grouping::GroupingKey;
use crate::server::store::prepare::{fingerprint, sanitize_labels, written_as_is};
use crate::server::store::runs::Runs;
use crate::server::store::{
    Inner, PreparedPush, Rejection, Store, StoredFamily, PUSH_FAILURE_TIME, PUSH_TIME,
};

/// Fingerprints are already hashes: hashing them again is wasted work.
#[derive(Default)]
pub(super) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(super) type FingerprintMap = HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>;

/// Every group that has a family of one name, in grouping-key order.
pub(super) struct FamilyIndex {
    pub(super) kind: MetricType,
    pub(super) groups: BTreeMap<Arc<[u8]>, Member>,
    /// The length of every group's text: a scrape sizes its buffer from
    /// these, instead of visiting every family twice.
    pub(super) text_bytes: usize,
    /// How many groups hold the family with names that are not
    /// legacy-valid: a protobuf scrape that escapes names writes the family
    /// again only when some do, and a kept run serves every escaping only
    /// when none do; both learn it without visiting every group.
    pub(super) utf8_members: usize,
    /// How many groups hold the family with a HELP: a scrape takes the HELP
    /// of the first of them in key order, and when there is none it need
    /// not look at every group to learn so.
    pub(super) help_members: usize,
    /// `groups` cut into runs, each keeping a scrape's bytes for it.
    pub(super) runs: Runs<Kept>,
}

/// What a run of one family's groups keeps: their text (and protobuf)
/// written one after the other by the first scrape that wrote them (see
/// [`crate::server::store::runs`]), with the escaping they were written
/// under. They serve every escaping while no group of the family has names
/// that are not legacy-valid (`utf8_members`), and only that one while
/// some group has.
#[derive(Default)]
pub(super) struct Kept {
    pub(super) text: OnceLock<(Escaping, Bytes)>,
    pub(super) proto: OnceLock<(Escaping, Bytes)>,
}

impl FamilyIndex {
    fn new(kind: MetricType) -> FamilyIndex {
        FamilyIndex {
            kind,
            groups: BTreeMap::new(),
            text_bytes: 0,
            utf8_members: 0,
            help_members: 0,
            runs: Runs::default(),
        }
    }

    /// Counts `member` in the totals kept beside the groups.
    fn count_in(&mut self, member: &Member) {
        self.text_bytes += member.family.text.len();
        self.utf8_members += usize::from(!member.family.legacy_names);
        self.help_members += usize::from(member.family.help.is_some());
    }

    /// Takes `member`, which [`FamilyIndex::count_in`] counted, out of the
    /// totals again.
    fn count_out(&mut self, member: &Member) {
        self.text_bytes -= member.family.text.len();
        self.utf8_members -= usize::from(!member.family.legacy_names);
        self.help_members -= usize::from(member.family.help.is_some());
    }

    /// Panics unless the runs cut `groups` as they should (see
    /// [`Runs::check`]) and `utf8_members` and `help_members` count the
    /// groups they should.
    #[cfg(test)]
    pub(super) fn check_runs(&self) {
        let utf8 = self
            .groups
            .values()
            .filter(|m| !m.family.legacy_names)
            .count();
        assert_eq!(self.utf8_members, utf8, "the groups with UTF-8 names");
        let help = self
            .groups
            .values()
            .filter(|m| m.family.help.is_some())
            .count();
        assert_eq!(self.help_members, help, "the groups with a HELP");
        self.runs.check(&self.groups);
    }
}

/// One group's family in the index: the family the group holds, shared.
/// A scrape reads its text through it (the family, then its text), and
/// reads ahead so that those loads overlap (see `scrape::write_run`).
pub(super) struct Member {
    pub(super) family: Arc<StoredFamily>,
}

impl Member {
    /// Appends the sample lines, names escaped by `escaping` (see
    /// [`StoredFamily::write_text`]).
    pub(super) fn write_text(&self, out: &mut Vec<u8>, escaping: Escaping) {
        if written_as_is(self.family.legacy_names, escaping) {
            out.extend_from_slice(&self.family.text);
        } else {
            self.family.write_text(out, escaping);
        }
    }
}

impl Store {
    /// The checks that need the rest of the store.
    pub(super) fn check(
        &self,
        inner: &Inner,
        canonical: &Arc<[u8]>,
        push: &PreparedPush,
    ) -> Result<(), Rejection> {
        let existing = inner.groups.get(canonical);
        let group_id = existing.map(|g| g.id);
        // Per family of the push: whether the group holds it with the same
        // series already (looked up once, for both checks below).
        let mut unchanged = Vec::with_capacity(push.families.len());
        for family in &push.families {
            let held = existing.and_then(|g| g.families.get(&family.name));
            unchanged.push(held.is_some_and(|old| old.fingerprints == family.fingerprints));
            // The common re-push: the group holds the family with this type
            // already, so it passed the check against the gateway's own
            // metrics (a fixed set) when it came in.
            let held_as_is = held.is_some_and(|old| old.kind == family.kind);
            if !held_as_is {
                if let Some(&own) = self.own_types.get(family.name.as_ref()) {
                    if own != family.kind {
                        return Err(Rejection(format!(
                            "metric family {} has type {} but the gateway's own metric of that name is a {}",
                            family.name, family.kind, own
                        )));
                    }
                }
            }
            if let Some(index) = inner.families.get(&family.name) {
                let other = (index.kind != family.kind)
                    .then(|| index.groups.keys().find(|k| *k != canonical))
                    .flatten();
                if let Some(other) = other {
                    return Err(Rejection(format!(
                        "metric family {} is pushed as {} but group {} has it as {}",
                        family.name, family.kind, inner.groups[other].key, index.kind
                    )));
                }
            }
        }
        // A series may not be exposed twice: look every new series up among
        // the series of other groups (a new group also brings its two
        // synthetic series, which can clash: `{job="x",instance=""}` beside
        // `{job="x"}` expose the same `push_time_seconds` series).
        let synthetic = if existing.is_none() {
            Some([
                fingerprint_of_synthetic(&push.key, PUSH_TIME),
                fingerprint_of_synthetic(&push.key, PUSH_FAILURE_TIME),
            ])
        } else {
            None
        };
        // Series this group already exposes under the same family cannot
        // clash with another group: the common re-push of the same series
        // costs one slice comparison per family.
        let new_series = push
            .families
            .iter()
            .zip(unchanged)
            .filter(|(_, unchanged)| !unchanged)
            .map(|(f, _)| f)
            .flat_map(|f| f.fingerprints.iter().map(move |fp| (f.name.as_ref(), *fp)))
            .chain(synthetic.iter().flatten().map(|(n, fp)| (*n, *fp)));
        for (name, fp) in new_series {
            if let Some(&owner) = inner.series.get(&fp) {
                if Some(owner) != group_id {
                    let other = inner
                        .groups
                        .values()
                        .find(|g| g.id == owner)
                        .map(|g| g.key.to_string())
                        .unwrap_or_default();
                    return Err(Rejection(format!(
                        "a series of metric {name} has the same labels as a series of group {other}"
                    )));
                }
            }
        }
        Ok(())
    }
}

pub(super) fn fingerprint_of_synthetic(
    key: &GroupingKey,
    name: &'static str,
) -> (&'static str, u64) {
    let mut labels: Vec<Label<'_>> = Vec::new();
    sanitize_labels(key, &mut labels);
    (name, fingerprint(name, &labels))
}

/// Puts one group's family into the family index (replacing the group's
/// previous one). The index's type follows the newest push; the store's check
/// made sure no other group holds the family with another type.
pub(super) fn index_insert(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    canonical: &Arc<[u8]>,
    family: &Arc<StoredFamily>,
) {
    // Looked up by reference: the family is nearly always indexed already,
    // and an owned key for `entry` would be a reference count taken and
    // given back for nothing.
    if let Some(entry) = index.get_mut(&family.name) {
        put_member(entry, canonical, family);
        return;
    }
    let mut entry = FamilyIndex::new(family.kind);
    put_member(&mut entry, canonical, family);
    names.insert(family.name.clone());
    index.insert(family.name.clone(), entry);
}

/// Puts one group's family into its family's index entry.
fn put_member(entry: &mut FamilyIndex, canonical: &Arc<[u8]>, family: &Arc<StoredFamily>) {
    entry.kind = family.kind;
    let member = Member {
        family: family.clone(),
    };
    entry.count_in(&member);
    // A re-push (the common case) swaps the member in place: one walk down
    // the map, and the key the map holds stays, so no key is cloned and
    // dropped again.
    let new = match entry.groups.get_mut(&**canonical) {
        Some(slot) => {
            let old = std::mem::replace(slot, member);
            entry.count_out(&old);
            false
        }
        None => {
            entry.groups.insert(canonical.clone(), member);
            true
        }
    };
    entry.runs.inserted(&entry.groups, canonical, new);
}

/// Takes one group's family out of the family index, and the name out of
/// the sorted names when no group has it any more.
pub(super) fn index_remove(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    name: &str,
    canonical: &[u8],
) {
    if let Some(entry) = index.get_mut(name) {
        if let Some(old) = entry.groups.remove(canonical) {
            entry.count_out(&old);
            entry.runs.removed(canonical);
        }
        if entry.groups.is_empty() {
            index.remove(name);
            names.remove(name);
        }
    }
}
