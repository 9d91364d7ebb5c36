//! Writing scrapes: the whole store merged with the server's own families,
//! one HELP and TYPE per family name, by concatenating the text (or the
//! protobuf) each family was rendered to when it was pushed, with names that
//! are not legacy-valid escaped as the scraper asked; and one group's
//! exposition for the web page.

use std::collections::btree_map;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prost::encoding::{encode_varint, encoded_len_varint};

use crate::exposition::names::{escape_name, Escaping};
use crate::exposition::proto::kind_to_pb;
use crate::exposition::render::{write_header, write_header_escaped};
use crate::exposition::MetricType;
use crate::grouping::GroupingKey;
use crate::server::store::index::{FamilyIndex, Kept, Member};
use crate::server::store::pieces::Pieces;
use crate::server::store::runs::fresh_run;
use crate::server::store::{Inner, Store, StoredFamily};

/// A family of the server's own metrics, rendered, merged into scrapes.
#[derive(Debug, Clone)]
pub struct OwnFamily {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: MetricType,
    pub(crate) text: Vec<u8>,
    /// The same series as protobuf, framed as `StoredFamily::proto` is.
    pub(crate) proto: Vec<u8>,
}

impl Store {
    /// Writes the text exposition of one group (its families sorted by name,
    /// with the synthetic ones); false if there is no such group.
    pub(crate) fn write_group_exposition(&self, key: &GroupingKey, out: &mut Vec<u8>) -> bool {
        let inner = self.inner.read();
        let Some(group) = inner.groups.get(key.canonical().as_slice()) else {
            return false;
        };
        let mut families: Vec<&Arc<StoredFamily>> = group
            .families
            .values()
            .chain([&group.push_time_family, &group.failure_time_family])
            .collect();
        families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for f in families {
            write_header(out, &f.name, f.help.as_deref(), f.kind);
            out.extend_from_slice(&f.text);
        }
        true
    }

    /// Writes the text exposition of the whole store merged with the server's
    /// own families (`own` sorted by name): families sorted by name, one HELP
    /// and TYPE each, then the series of every group in grouping-key order.
    /// Names that are not legacy-valid are written under `escaping` (quoted
    /// for `allow-utf-8`); as upstream, two names that escape alike (`a.b`
    /// and `a_b` under `underscores`) are not merged.
    pub fn write_exposition(&self, out: &mut Vec<u8>, own: &[OwnFamily], escaping: Escaping) {
        let mut pieces = Pieces::new(std::mem::take(out));
        self.exposition_pieces(&mut pieces, own, escaping);
        *out = pieces.concat();
    }

    /// [`Store::write_exposition`] in pieces: the runs of groups' text that
    /// scrapes kept are shared, not copied.
    pub(crate) fn exposition_pieces(
        &self,
        out: &mut Pieces,
        own: &[OwnFamily],
        escaping: Escaping,
    ) {
        let inner = self.inner.read();
        merged_families(&inner, own, |m| {
            let series = m.own.map_or(0, |o| o.text.len()) + m.index.map_or(0, |i| i.text_bytes);
            if series == 0 {
                return;
            }
            write_header_escaped(out.buf(), m.name, m.help, m.kind, escaping);
            if let Some(o) = m.own {
                out.buf().extend_from_slice(&o.text);
            }
            if let Some(index) = m.index {
                write_members(out, index, escaping);
            }
        });
    }

    /// Writes the same families as [`Store::write_exposition`], in the same
    /// order and with the same HELP, as a stream of varint-length-delimited
    /// `MetricFamily` messages: each family's header fields, then the
    /// protobuf series every group keeps, copied as they are. A family with
    /// names that are not legacy-valid is written with its names escaped by
    /// `escaping`, encoded again (unless that is `allow-utf-8`).
    pub fn write_protobuf(&self, out: &mut Vec<u8>, own: &[OwnFamily], escaping: Escaping) {
        let mut pieces = Pieces::new(std::mem::take(out));
        self.protobuf_pieces(&mut pieces, own, escaping);
        *out = pieces.concat();
    }

    /// [`Store::write_protobuf`] in pieces: the runs of groups' series that
    /// scrapes kept are shared, not copied.
    pub(crate) fn protobuf_pieces(&self, out: &mut Pieces, own: &[OwnFamily], escaping: Escaping) {
        self.read_as_protobuf
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let inner = self.inner.read();
        merged_families(&inner, own, |m| {
            let own_series = m.own.map_or(&[][..], |o| &o.proto[..]);
            // Only families with UTF-8 names are encoded again, and only for
            // a scraper that did not ask for them as they are.
            let utf8 = m.index.is_some_and(|i| i.utf8_members > 0);
            let escaped = (escaping != Escaping::AllowUtf8 && utf8).then(|| {
                let mut series = Vec::new();
                for member in m.index.into_iter().flat_map(|i| i.groups.values()) {
                    member.family.write_proto(&mut series, escaping);
                }
                series
            });
            // The groups' series are gathered as runs before the header,
            // which starts with their length: a group's protobuf may be
            // made only now, from its text (see `StoredFamily::proto`).
            let mut runs = Pieces::new(Vec::new());
            if let (None, Some(index)) = (&escaped, m.index) {
                // Here the series are copied as they are, whatever the
                // scraper's escaping.
                write_runs(
                    &mut runs,
                    index,
                    Escaping::AllowUtf8,
                    |run| &run.proto,
                    |out, members| {
                        for (_, member) in members {
                            out.extend_from_slice(member.family.proto());
                        }
                    },
                );
            }
            let series = own_series.len() + escaped.as_ref().map_or(runs.len(), Vec::len);
            if series == 0 {
                return;
            }
            let name = match escaping {
                Escaping::AllowUtf8 => m.name.into(),
                _ => escape_name(m.name, escaping),
            };
            let header = proto_header_len(&name, m.help);
            let buf = out.buf();
            encode_varint((header + series) as u64, buf);
            write_proto_header(buf, &name, m.help, m.kind);
            buf.extend_from_slice(own_series);
            match &escaped {
                Some(series) => buf.extend_from_slice(series),
                None => out.append(runs),
            }
        });
    }
}

/// How many groups a scrape reads ahead of the ones it copies.
const AHEAD: usize = 16;

/// Appends the text of every group of `index`, in key order (see
/// [`write_runs`]).
fn write_members(out: &mut Pieces, index: &FamilyIndex, escaping: Escaping) {
    write_runs(
        out,
        index,
        escaping,
        |run| &run.text,
        |out, members| write_run(out, members.map(|(_, m)| m), escaping),
    );
}

/// Appends every run of `index` in key order: the bytes `kept` holds for
/// it, shared, or else what `write` writes of its groups, then kept. What
/// `write` writes of a group with names that are not legacy-valid depends
/// on the escaping it is written under (`written_under`), so a run kept
/// while the family has such groups serves only that escaping; while it
/// has none, every run serves every escaping (a run that held such a group
/// was dropped when the group went).
fn write_runs<'a>(
    out: &mut Pieces,
    index: &'a FamilyIndex,
    written_under: Escaping,
    kept: impl Fn(&Kept) -> &OnceLock<(Escaping, Bytes)>,
    mut write: impl FnMut(&mut Vec<u8>, btree_map::Range<'a, Arc<[u8]>, Member>),
) {
    let any_escaping = index.utf8_members == 0;
    let mut longest = 0;
    for (run, span) in index.runs.each(&index.groups) {
        let kept = kept(&run.kept);
        match kept.get() {
            Some((e, bytes)) if any_escaping || *e == written_under => out.share(bytes.clone()),
            _ => {
                let bytes = fresh_run(&mut longest, |buf| write(buf, span.members()));
                // Kept unless bytes for another escaping are; another
                // scrape may also have kept the same bytes meanwhile.
                let _ = kept.set((written_under, bytes.clone()));
                out.share(bytes);
            }
        }
    }
}

/// Appends the text of `members`. Each
/// group's family and its text are allocations of their own, made when the
/// group was pushed, so each is a cache miss, and copying them one by one
/// would wait for one miss at a time. So groups are taken `AHEAD` at a
/// time: first the length of each text is read (from each family), then
/// its first and last byte, before any is copied. The loads of each step
/// do not depend on one another, so the processor has all of them in
/// flight together, and the copies that follow find the texts in cache.
fn write_run<'a>(
    out: &mut Vec<u8>,
    mut members: impl Iterator<Item = &'a Member>,
    escaping: Escaping,
) {
    let mut batch: Vec<&Member> = Vec::with_capacity(AHEAD);
    loop {
        batch.clear();
        batch.extend(members.by_ref().take(AHEAD));
        if batch.is_empty() {
            return;
        }
        let lengths = batch
            .iter()
            .fold(0usize, |acc, m| acc ^ m.family.text.len());
        std::hint::black_box(lengths);
        let touched = batch.iter().fold(0u8, |acc, m| {
            let text = &m.family.text;
            acc ^ text.first().copied().unwrap_or(0) ^ text.last().copied().unwrap_or(0)
        });
        // Keeps the loads: their values are otherwise unused.
        std::hint::black_box(touched);
        for member in &batch {
            member.write_text(out, escaping);
        }
    }
}

/// One family name of a scrape: the server's own family of that name and
/// every group's, with the HELP and type the scrape writes.
struct Merged<'a> {
    name: &'a str,
    help: Option<&'a str>,
    kind: MetricType,
    own: Option<&'a OwnFamily>,
    index: Option<&'a FamilyIndex>,
}

/// Calls `f` for every family name of the store and of `own` (sorted by
/// name), in name order: the one walk both scrape formats take, so that they
/// agree on order and HELP. Families without series are passed too; the
/// writers drop them, as upstream's gatherer does.
fn merged_families(inner: &Inner, own: &[OwnFamily], mut f: impl FnMut(Merged<'_>)) {
    let mut own = own.iter().peekable();
    let alone = |o: &'_ OwnFamily| Merged {
        name: o.name,
        help: Some(o.help),
        kind: o.kind,
        own: None,
        index: None,
    };
    for name in &inner.names {
        let index = &inner.families[name];
        while let Some(o) = own.next_if(|o| o.name < name.as_ref()) {
            f(Merged {
                own: Some(o),
                ..alone(o)
            });
        }
        let mine = own.next_if(|o| o.name == name.as_ref());
        // HELP is taken from the server's own family if there is one (as
        // upstream), else from the first group in key order that has one,
        // so that the choice does not change from scrape to scrape.
        let help = match &mine {
            Some(o) => Some(o.help),
            None if index.help_members == 0 => None,
            None => index.groups.values().find_map(|m| m.family.help.as_deref()),
        };
        f(Merged {
            name,
            help,
            kind: index.kind,
            own: mine,
            index: Some(index),
        });
    }
    for o in own {
        f(Merged {
            own: Some(o),
            ..alone(o)
        });
    }
}

/// The length of a `MetricFamily`'s name, help and type fields.
fn proto_header_len(name: &str, help: Option<&str>) -> usize {
    let string = |s: &str| 1 + encoded_len_varint(s.len() as u64) + s.len();
    // The type is an enum below 128: one tag byte and one value byte.
    string(name) + help.filter(|h| !h.is_empty()).map_or(0, string) + 2
}

/// Writes a `MetricFamily`'s name (field 1), help (field 2, left out when
/// there is none, as upstream leaves it unset) and type (field 3).
fn write_proto_header(out: &mut Vec<u8>, name: &str, help: Option<&str>, kind: MetricType) {
    let mut string = |tag: u8, s: &str| {
        out.push(tag);
        encode_varint(s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    };
    string(0x0A, name);
    if let Some(help) = help.filter(|h| !h.is_empty()) {
        string(0x12, help);
    }
    out.push(0x18);
    out.push(kind_to_pb(kind) as u8);
}
