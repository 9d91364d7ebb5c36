//! Runs: the keys of a sorted map of groups cut into runs of up to
//! [`RUN_MAX`] neighbouring keys, each holding what a read kept of it.
//!
//! With tens of thousands of groups a large read (a scrape, the JSON API)
//! is bound by memory latency, not by the bytes it copies: each group's
//! bytes are their own allocation, made when it was pushed, so each is a
//! cache miss. A kept run is one allocation in read order, so most of such
//! a read copies (or sends) long runs of bytes. A change to any group of a
//! run drops what the run kept, and the next read writes it from its groups
//! again: a push touches few runs, so between two reads most runs of a
//! large store stay as they were. The family index cuts each family's
//! groups into runs for scrapes; the store cuts all its groups into runs
//! for the JSON API.

use std::collections::btree_map::{self, BTreeMap};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

/// A run holds at most this many groups; a fuller one is cut in two.
pub(super) const RUN_MAX: usize = 128;

/// A run's bytes written by `write` into a buffer of their own, ready to be
/// kept and shared. The buffer starts as large as the longest run written
/// before it in the same read (`longest`, updated), so that most runs are
/// written without growing it.
pub(super) fn fresh_run(longest: &mut usize, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut buf = Vec::with_capacity(*longest);
    write(&mut buf);
    *longest = (*longest).max(buf.len());
    Bytes::from(buf.into_boxed_slice())
}

/// The runs over the keys of one map, by the first key of each run; the
/// first run starts at the empty key, below every group. `K` is what a run
/// keeps; its default is "nothing kept".
pub(super) struct Runs<K> {
    by_start: BTreeMap<Arc<[u8]>, Run<K>>,
}

pub(super) struct Run<K> {
    members: usize,
    pub(super) kept: K,
}

/// Where a run's entries are in its map. Found only when asked for: a
/// read that has the run's bytes kept needs no entry, and finding them is
/// two walks down the map, a cache miss at each key compared.
pub(super) struct Span<'a, V> {
    map: &'a BTreeMap<Arc<[u8]>, V>,
    start: &'a [u8],
    /// The next run's first key.
    end: Option<&'a [u8]>,
}

impl<'a, V> Span<'a, V> {
    /// The run's entries, in key order.
    pub(super) fn members(&self) -> btree_map::Range<'a, Arc<[u8]>, V> {
        let end = self.end.map_or(Bound::Unbounded, Bound::Excluded);
        self.map
            .range::<[u8], _>((Bound::Included(self.start), end))
    }
}

impl<K: Default> Default for Runs<K> {
    fn default() -> Self {
        Runs {
            by_start: BTreeMap::from([(
                Arc::from(&[][..]),
                Run {
                    members: 0,
                    kept: K::default(),
                },
            )]),
        }
    }
}

impl<K: Default> Runs<K> {
    /// The run whose keys include `key`, with its first key.
    fn run_of(&mut self, key: &[u8]) -> (&Arc<[u8]>, &mut Run<K>) {
        self.by_start
            .range_mut::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .expect("the first run starts at the empty key")
    }

    /// Drops what the run of `key` kept: the group under `key` changed.
    pub(super) fn changed(&mut self, key: &[u8]) {
        self.run_of(key).1.kept = K::default();
    }

    /// Accounts for a group just put into `map` under `key` (`new`: it was
    /// not there before), dropping what its run kept and cutting a run that
    /// grew too long.
    pub(super) fn inserted<V>(&mut self, map: &BTreeMap<Arc<[u8]>, V>, key: &[u8], new: bool) {
        let (start, run) = self.run_of(key);
        run.kept = K::default();
        if !new {
            return;
        }
        run.members += 1;
        if run.members <= RUN_MAX {
            return;
        }
        let rest = run.members - RUN_MAX / 2;
        run.members = RUN_MAX / 2;
        let start = start.clone();
        let cut = map
            .range::<[u8], _>((Bound::Included(&*start), Bound::Unbounded))
            .nth(RUN_MAX / 2)
            .map(|(k, _)| k.clone())
            .expect("the run holds more groups than it keeps");
        self.by_start.insert(
            cut,
            Run {
                members: rest,
                kept: K::default(),
            },
        );
    }

    /// Accounts for the group under `key` just taken out of the map. An
    /// emptied run goes (but the first): the run before it then covers its
    /// keys, and what that one kept stays right, as no group has those keys.
    pub(super) fn removed(&mut self, key: &[u8]) {
        let (start, run) = self.run_of(key);
        run.kept = K::default();
        run.members -= 1;
        if run.members == 0 && !start.is_empty() {
            let start = start.clone();
            self.by_start.remove(&start);
        }
    }

    /// Every run in key order, with where its entries in `map` are.
    pub(super) fn each<'a, V>(
        &'a self,
        map: &'a BTreeMap<Arc<[u8]>, V>,
    ) -> impl Iterator<Item = (&'a Run<K>, Span<'a, V>)> + 'a {
        let mut runs = self.by_start.iter().peekable();
        std::iter::from_fn(move || {
            let (start, run) = runs.next()?;
            let end = runs.peek().map(|(next, _)| &***next);
            Some((run, Span { map, start, end }))
        })
    }

    /// Panics unless the runs cut `map` as they should: the first at the
    /// empty key, none empty but the first, none longer than `RUN_MAX`,
    /// each counting the entries between its key and the next run's.
    #[cfg(test)]
    pub(super) fn check<V>(&self, map: &BTreeMap<Arc<[u8]>, V>) {
        let first = self.by_start.keys().next().expect("there is a first run");
        assert!(first.is_empty(), "the first run starts at the empty key");
        for (i, (run, span)) in self.each(map).enumerate() {
            let held = span.members().count();
            assert_eq!(run.members, held, "run {i} counts its groups");
            assert!(held <= RUN_MAX, "run {i} holds {held} groups");
            assert!(i == 0 || held > 0, "run {i} is empty");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Arc<[u8]> {
        Arc::from(format!("g{i:05}").as_bytes())
    }

    #[test]
    fn runs_are_cut_and_joined_as_groups_come_and_go() {
        let mut map: BTreeMap<Arc<[u8]>, ()> = BTreeMap::new();
        let mut runs: Runs<Option<u8>> = Runs::default();
        for i in 0..1000 {
            map.insert(key(i), ());
            runs.inserted(&map, &key(i), true);
            runs.check(&map);
        }
        assert!(runs.by_start.len() >= 1000 / RUN_MAX, "long runs are cut");
        // A group put in again is not counted twice.
        runs.inserted(&map, &key(7), false);
        runs.check(&map);
        for i in (0..1000).rev().step_by(2) {
            map.remove(&key(i));
            runs.removed(&key(i));
            runs.check(&map);
        }
        for i in (0..1000).step_by(2) {
            map.remove(&key(i));
            runs.removed(&key(i));
            runs.check(&map);
        }
        assert_eq!(runs.by_start.len(), 1, "only the first run is left");
    }

    #[test]
    fn a_change_drops_only_its_runs_keeping() {
        let mut map: BTreeMap<Arc<[u8]>, ()> = BTreeMap::new();
        let mut runs: Runs<Option<u8>> = Runs::default();
        for i in 0..300 {
            map.insert(key(i), ());
            runs.inserted(&map, &key(i), true);
        }
        for (n, run) in runs.by_start.values_mut().enumerate() {
            run.kept = Some(n as u8);
        }
        runs.changed(&key(299));
        let kept: Vec<Option<u8>> = runs.each(&map).map(|(run, _)| run.kept).collect();
        let last = kept.len() - 1;
        assert_eq!(kept[last], None, "the last run's keeping is dropped");
        for (n, k) in kept[..last].iter().enumerate() {
            assert_eq!(*k, Some(n as u8), "run {n} keeps what it kept");
        }
    }
}
