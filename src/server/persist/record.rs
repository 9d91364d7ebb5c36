//! The byte layout of pgw's persistence files, and nothing else: pure
//! encoding and decoding, no I/O.
//!
//! Both kinds of file (the snapshot and the log segments) are an 8-byte magic
//! followed by framed records. A frame is
//! `"PGWR" | u32 length | u64 sequence number | u64 xxh3 | payload`, all
//! little-endian, where the xxh3 covers the length, the sequence number and
//! the payload, and the payload is a [`Change`], plain or snappy-compressed
//! (its first byte says which). The marker lets a reader that met a damaged
//! frame look for the next good one.
//!
//! A log segment may end in zeros (the writer extends it ahead of its
//! records; a crash leaves them): a marker never starts with a zero byte, so
//! zeros from a frame position to the end of the file are its clean end.
//!
//! **Torn write or damage.** The journal writes a segment so: the magic,
//! synced; zeros, synced with the file's new size, always at least as many
//! as the next batch needs; then each batch of frames with one `write` into
//! those zeros (a direct write starts at the block the batch starts in and
//! rewrites that block's earlier bytes as they are: `direct`), synced before
//! any of it is acknowledged; at rest, the file is cut back to its last
//! record. So a crash can only leave the last batch
//! cut short: a prefix of it, ending where the kernel stopped copying or the
//! disk stopped writing (a page or sector boundary, a multiple of
//! [`SECTOR`] bytes from the start of the file), followed by the zeros it
//! was to overwrite, up to a file length that holds the whole frame. That,
//! and only that, is a torn write ([`Fault::Torn`]): it was never
//! acknowledged. Anything else after the last valid record is damage, because
//! pgw's writer cannot have left it: a whole frame whose checksum fails, a
//! frame that goes on past the end of the file (a file cut shorter than the
//! writer made it), bytes where no frame starts. A snapshot is written whole
//! and renamed into place, so any fault in it is damage.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};

use crate::exposition::MetricType;
use crate::grouping::GroupingKey;
use crate::server::store::{
    self, unix_nanos, Gauges, GroupTimes, GroupView, Mode, PreparedPush, Rejection, Store,
    StoredFamily,
};

pub const SNAPSHOT_MAGIC: &[u8; 8] = b"PGWSNAP2";
pub const LOG_MAGIC: &[u8; 8] = b"PGWLOG01";
const MARKER: &[u8; 4] = b"PGWR";
const FRAME_HEADER: usize = 4 + 4 + 8 + 8;
/// The unit in which a crash can cut a write short: a disk sector, which
/// every page and file system block is a multiple of.
pub(crate) const SECTOR: usize = 512;

/// One family as persisted: its header fields and its rendered series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FamilyRecord {
    pub(crate) name: String,
    pub(crate) kind: MetricType,
    pub(crate) help: String,
    pub(crate) pushed_at: SystemTime,
    pub(crate) text: Vec<u8>,
    /// The series as protobuf; `None` in files written before the store
    /// kept it.
    pub(crate) proto: Option<Vec<u8>>,
    /// The store's fingerprints of the series, sorted: with them a restore
    /// needs no parsing. (A change of the fingerprint function needs a new
    /// file format.)
    pub(crate) fingerprints: Vec<u64>,
}

/// One group of a snapshot, as it was.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupRecord {
    pub(crate) key: GroupingKey,
    pub(crate) times: GroupTimes,
    pub(crate) ttl: Option<Duration>,
    /// An aggregating push made it (see `store::Mode`).
    pub(crate) aggregating: bool,
    pub(crate) families: Vec<FamilyRecord>,
}

/// One push as logged: the group's key, how it was applied and when, and
/// the families as they were stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PushRecord {
    pub(crate) key: GroupingKey,
    pub(crate) mode: Mode,
    pub(crate) at: SystemTime,
    pub(crate) ttl: Option<Duration>,
    pub(crate) families: Vec<FamilyRecord>,
}

impl PushRecord {
    /// The push again, ready for `Store::replay`.
    pub(crate) fn replay(self, store: &Store) -> Result<(), Rejection> {
        store.replay(
            prepare(self.key, self.families, self.ttl),
            self.mode,
            self.at,
        )
    }
}

/// What one record says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    Push(PushRecord),
    Delete(Vec<GroupingKey>),
    Wipe,
    Failure {
        key: GroupingKey,
        at: SystemTime,
    },
    /// First record of a snapshot: the log sequence number it includes, and
    /// how many groups follow.
    SnapshotStart {
        covers: u64,
        groups: u64,
    },
    Group(GroupRecord),
    /// Last record of a snapshot: without it the snapshot is truncated.
    SnapshotEnd {
        groups: u64,
    },
}

const PUSH: u8 = 1;
const DELETE: u8 = 2;
const WIPE: u8 = 3;
const FAILURE: u8 = 4;
const SNAPSHOT_START: u8 = 5;
/// A group without the time stamp of its failure time, as the first
/// snapshots held it: read as the time stamp of its push time.
const GROUP_V1: u8 = 6;
const SNAPSHOT_END: u8 = 7;
/// A group before aggregation: read as one that does not aggregate.
const GROUP_V2: u8 = 8;
/// A group, with whether it aggregates.
const GROUP: u8 = 9;

/// Appends one frame around an already compressed payload.
pub(crate) fn frame(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    frame_with(out, seq, |out| out.extend_from_slice(payload));
}

/// Appends one frame whose payload `fill` appends, in place: the header
/// is filled in once the payload's length and checksum are known.
fn frame_with(out: &mut Vec<u8>, seq: u64, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    fill(out);
    let len = out.len() - start - FRAME_HEADER;
    let header = &mut out[start..start + FRAME_HEADER];
    header[..4].copy_from_slice(MARKER);
    header[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    header[8..16].copy_from_slice(&seq.to_le_bytes());
    let (header, payload) = out[start..].split_at_mut(FRAME_HEADER);
    let sum = checksum(&header[4..16], payload);
    header[16..].copy_from_slice(&sum.to_le_bytes());
}

fn checksum(len_and_seq: &[u8], payload: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(len_and_seq);
    h.update(payload);
    h.digest()
}

/// First byte of a payload: how the rest is stored.
const PLAIN: u8 = 0;
const SNAPPY: u8 = 1;

/// Whether push records in the log are compressed: snappy costs about as
/// much CPU as the rest of a push, and the log is short-lived (compaction
/// rewrites the store), so they are not.
const COMPRESS_PUSHES: bool = false;

fn compress(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0; 1 + snap::raw::max_compress_len(body.len())];
    out[0] = SNAPPY;
    let n = snap::raw::Encoder::new()
        .compress(body, &mut out[1..])
        .expect("snappy compresses any input below 4 GiB");
    out.truncate(1 + n);
    out
}

/// The payload of one change of the store's.
pub(crate) fn payload(change: &store::Change<'_>) -> Vec<u8> {
    match *change {
        store::Change::Push { push, mode, at } => push_payload(push, mode, at),
        store::Change::Delete(keys) => delete_payload(keys),
        store::Change::Wipe => wipe_payload(),
        store::Change::Failure { key, at } => failure_payload(key, at),
    }
}

pub(crate) fn push_payload(push: &PreparedPush, mode: Mode, at: SystemTime) -> Vec<u8> {
    let families = push.families();
    let size: usize = families
        .iter()
        .map(|f| {
            f.text.len()
                + f.proto_if_written().map_or(0, <[u8]>::len)
                + f.fingerprints().len() * 8
                + 64
        })
        .sum();
    let mut b = Vec::with_capacity(size + 64);
    b.push(PLAIN);
    b.push(PUSH);
    put_key(&mut b, &push.key);
    b.push(mode_byte(mode));
    put_u64(&mut b, unix_nanos(at));
    put_u64(&mut b, ttl_millis(push.ttl));
    put_u32(&mut b, families.len());
    for f in families {
        put_family(&mut b, f);
    }
    if COMPRESS_PUSHES {
        compress(&b[1..])
    } else {
        b
    }
}

/// How a push was applied, as its record says. Files written before
/// aggregation hold 0 and 1 only.
fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Replace => 0,
        Mode::Merge => 1,
        Mode::ReplaceAggregating => 2,
        Mode::Aggregate(gauges) => {
            3 + Gauges::ALL
                .iter()
                .position(|g| *g == gauges)
                .expect("every mode is listed") as u8
        }
    }
}

pub(crate) fn delete_payload(keys: &[&GroupingKey]) -> Vec<u8> {
    let mut b = vec![DELETE];
    put_u32(&mut b, keys.len());
    for k in keys {
        put_key(&mut b, k);
    }
    compress(&b)
}

pub(crate) fn wipe_payload() -> Vec<u8> {
    compress(&[WIPE])
}

pub(crate) fn failure_payload(key: &GroupingKey, at: SystemTime) -> Vec<u8> {
    let mut b = vec![FAILURE];
    put_key(&mut b, key);
    put_u64(&mut b, unix_nanos(at));
    compress(&b)
}

/// A whole snapshot file: the groups as of log sequence number `covers`.
#[cfg(test)]
pub(crate) fn encode_snapshot(groups: &[GroupView], covers: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_snapshot(&mut out, groups, covers).expect("writing to memory cannot fail");
    out
}

/// Writes a whole snapshot file to `w` a megabyte at a time (a snapshot is
/// the size of the store, which need not be held twice), and returns its
/// size. Its records are not compressed: snappy cost compaction two thirds
/// of its CPU, and a compaction rewrites the whole store each time the log
/// has grown past twice the snapshot (BENCHMARKS.md, "The log and snapshots
/// past the page cache"). Snapshots written compressed are read all the same.
pub(crate) fn write_snapshot(
    w: &mut impl std::io::Write,
    groups: &[GroupView],
    covers: u64,
) -> std::io::Result<u64> {
    const CHUNK: usize = 1 << 20;
    let mut out = Vec::with_capacity(2 * CHUNK);
    let mut written = 0;
    out.extend_from_slice(SNAPSHOT_MAGIC);
    frame_with(&mut out, 0, |b| {
        b.extend_from_slice(&[PLAIN, SNAPSHOT_START]);
        put_u64(b, covers);
        put_u64(b, groups.len() as u64);
    });
    for (i, g) in groups.iter().enumerate() {
        frame_with(&mut out, i as u64 + 1, |b| {
            b.push(PLAIN);
            put_group(b, g);
        });
        if out.len() >= CHUNK {
            w.write_all(&out)?;
            written += out.len() as u64;
            out.clear();
        }
    }
    frame_with(&mut out, groups.len() as u64 + 1, |b| {
        b.extend_from_slice(&[PLAIN, SNAPSHOT_END]);
        put_u64(b, groups.len() as u64);
    });
    w.write_all(&out)?;
    Ok(written + out.len() as u64)
}

/// One group as a record of its own (compressed, unframed): what a
/// networked store keeps per group.
pub(crate) fn encode_group(group: &GroupView) -> Vec<u8> {
    let mut b = Vec::new();
    put_group(&mut b, group);
    compress(&b)
}

/// A record that [`encode_group`] made, read back.
pub(crate) fn decode_group(payload: &[u8]) -> anyhow::Result<GroupRecord> {
    match decode(payload).map_err(anyhow::Error::msg)? {
        Change::Group(g) => Ok(g),
        _ => bail!("not a group record"),
    }
}

fn put_group(b: &mut Vec<u8>, g: &GroupView) {
    b.push(GROUP);
    put_key(b, &g.key);
    put_u64(b, g.push_time.to_bits());
    put_u64(b, g.failure_time.to_bits());
    put_u64(b, unix_nanos(g.synthetic[1].pushed_at()));
    put_u64(b, unix_nanos(g.synthetic[0].pushed_at()));
    put_u64(b, ttl_millis(g.ttl));
    b.push(u8::from(g.aggregating));
    put_u32(b, g.families.len());
    for f in &g.families {
        put_family(b, f);
    }
}

/// What is wrong with a stretch of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The last write of a log segment, cut short by a crash (see the
    /// module's comment): never acknowledged, so not damage.
    Torn,
    /// A whole frame whose checksum does not match its bytes.
    Checksum,
    /// A frame that goes on past the end of the file.
    Truncated,
    /// Bytes where a frame should start and none does.
    Garbage,
    /// A frame whose checksum matches but whose content pgw cannot read.
    Malformed,
}

impl Fault {
    /// The fault as the messages name it; `last` when nothing valid follows.
    pub(crate) fn describe(self, last: bool) -> &'static str {
        match self {
            Fault::Torn => "the last write was cut short",
            Fault::Checksum => "checksum mismatch",
            Fault::Truncated => "truncated",
            Fault::Garbage if last => "garbage after the last record",
            Fault::Garbage => "no record starts there",
            Fault::Malformed => "a record pgw cannot read",
        }
    }
}

/// A stretch of a file that holds no valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub offset: usize,
    /// Up to the next valid record, or to the end of the file's contents
    /// (before a log segment's zero tail).
    pub len: usize,
    pub fault: Fault,
    /// True when valid records follow it in the same file.
    pub followed: bool,
    /// How many valid records come before it in the file.
    pub(crate) after_records: usize,
    /// The sequence numbers of the frames the stretch holds, read from
    /// their headers (unchecked); `None` when the frames cannot be told
    /// apart (a header is gone).
    pub(crate) frames: Option<Vec<u64>>,
}

/// What a file holds: its valid records in order, and the damaged stretches.
#[derive(Debug, Default)]
pub struct Scan {
    pub(crate) records: Vec<(u64, Change)>,
    pub damage: Vec<Damage>,
    /// Where the file's contents end: before its zero tail, if it has one.
    pub(crate) end: usize,
}

/// True when a log segment file holds nothing pgw ever wrote a record to:
/// no bytes, a cut-short magic, only zeros, or the magic and zeros. The
/// journal leaves such files when a crash or a full disk cuts a segment's
/// creation short, and every run leaves one at a clean stop.
pub(crate) fn holds_nothing(bytes: &[u8]) -> bool {
    let magic = bytes
        .iter()
        .zip(LOG_MAGIC)
        .take_while(|(a, b)| a == b)
        .count();
    bytes[magic..].iter().all(|&b| b == 0)
}

/// Reads every valid record of a file that must start with `magic`. Fails
/// only when the file is not one of pgw's (wrong or missing magic).
pub fn scan(bytes: &[u8], magic: &[u8; 8]) -> Result<Scan, String> {
    if bytes.len() < magic.len() || &bytes[..magic.len()] != magic {
        let shown: String = bytes
            .iter()
            .take(8)
            .map(|&b| {
                if b.is_ascii_graphic() {
                    (b as char).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect();
        return Err(if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            format!(
                "it does not start with {:?} but with \"{shown}\": not a file pgw wrote",
                String::from_utf8_lossy(magic)
            )
        });
    }
    let log = magic == LOG_MAGIC;
    let mut scan = Scan::default();
    let mut pos = magic.len();
    scan.end = bytes.len();
    while pos < bytes.len() {
        // Only the log is extended ahead of its records; a snapshot is
        // written whole, and anything after its last record is damage.
        if log && is_zero_tail(&bytes[pos..]) {
            scan.end = pos;
            break;
        }
        match frame_at(bytes, pos).and_then(|(seq, payload, next)| {
            decode(payload)
                .map(|change| (seq, change, next))
                .map_err(|_| Fault::Malformed)
        }) {
            Ok((seq, change, next)) => {
                scan.records.push((seq, change));
                pos = next;
            }
            Err(fault) => {
                let next = next_valid_frame(bytes, pos + 1);
                // In a log, the zeros after the last non-zero byte are the
                // tail the writer extended the segment with.
                let end = match next {
                    Some(next) => next,
                    None if log => bytes.iter().rposition(|&b| b != 0).map_or(pos, |i| i + 1),
                    None => bytes.len(),
                };
                let fault = if next.is_none() && log && torn_write(bytes, pos, end) {
                    Fault::Torn
                } else {
                    fault
                };
                scan.damage.push(Damage {
                    offset: pos,
                    len: end - pos,
                    fault,
                    followed: next.is_some(),
                    after_records: scan.records.len(),
                    frames: frames_in(bytes, pos, end),
                });
                if next.is_none() && log {
                    scan.end = end;
                }
                pos = next.unwrap_or(bytes.len());
            }
        }
    }
    Ok(scan)
}

/// Whether the bytes of a log segment from `pos` (where the last valid
/// record ends and nothing valid follows) to `end` (its last non-zero
/// byte), then zeros to the end of the file, are the last write cut short,
/// as the module's comment describes: a frame's beginning, cut at a sector
/// boundary inside the frame, in a file long enough for the whole frame.
fn torn_write(bytes: &[u8], pos: usize, end: usize) -> bool {
    // The first place the write can have stopped.
    let cut = end.div_ceil(SECTOR) * SECTOR;
    if cut >= bytes.len() {
        // The zeros the writer always leaves after its batch are missing:
        // the file was cut shorter than the writer made it.
        return false;
    }
    let marker = (cut - pos).min(MARKER.len());
    if bytes[pos..pos + marker] != MARKER[..marker] {
        return false;
    }
    if cut < pos + 8 {
        // Cut inside the header, before the length: the frame is longer
        // than the cut, and the file is longer than the cut.
        return true;
    }
    let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
    let frame_end = pos + FRAME_HEADER + len;
    cut < frame_end && frame_end <= bytes.len()
}

/// The sequence numbers in the headers of the frames from `pos` to `end`,
/// walked by their lengths; `None` when a frame there has no header.
fn frames_in(bytes: &[u8], mut pos: usize, end: usize) -> Option<Vec<u64>> {
    let mut seqs = Vec::new();
    while pos < end {
        let rest = &bytes[pos..];
        if rest.len() < FRAME_HEADER || &rest[..4] != MARKER {
            return None;
        }
        let len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")) as usize;
        seqs.push(u64::from_le_bytes(rest[8..16].try_into().expect("8 bytes")));
        pos = pos.saturating_add(FRAME_HEADER + len);
    }
    Some(seqs)
}

/// Whether `rest`, which starts at a frame position, is all zeros. The first
/// byte decides at once in the usual case, a record.
fn is_zero_tail(rest: &[u8]) -> bool {
    rest.first() == Some(&0) && rest.iter().all(|&b| b == 0)
}

fn next_valid_frame(bytes: &[u8], from: usize) -> Option<usize> {
    let finder = memchr::memmem::Finder::new(MARKER);
    let mut at = from;
    while at < bytes.len() {
        let found = at + finder.find(&bytes[at..])?;
        if frame_at(bytes, found).is_ok() {
            return Some(found);
        }
        at = found + 1;
    }
    None
}

/// The frame at `pos`: its sequence number, its payload and where the next
/// frame starts.
fn frame_at(bytes: &[u8], pos: usize) -> Result<(u64, &[u8], usize), Fault> {
    let rest = &bytes[pos..];
    let marker = rest.len().min(MARKER.len());
    if rest[..marker] != MARKER[..marker] {
        return Err(Fault::Garbage);
    }
    if rest.len() < FRAME_HEADER {
        return Err(Fault::Truncated);
    }
    let len = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")) as usize;
    let seq = u64::from_le_bytes(rest[8..16].try_into().expect("8 bytes"));
    let sum = u64::from_le_bytes(rest[16..24].try_into().expect("8 bytes"));
    if rest.len() - FRAME_HEADER < len {
        return Err(Fault::Truncated);
    }
    let payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
    if checksum(&rest[4..16], payload) != sum {
        return Err(Fault::Checksum);
    }
    Ok((seq, payload, pos + FRAME_HEADER + len))
}

fn decode(payload: &[u8]) -> Result<Change, &'static str> {
    let decoded = match payload.split_first() {
        Some((&PLAIN, body)) => decode_body(body),
        Some((&SNAPPY, compressed)) => {
            let body = snap::raw::Decoder::new()
                .decompress_vec(compressed)
                .map_err(|_| "the record does not decompress")?;
            decode_body(&body)
        }
        _ => return Err("the record's encoding is unknown"),
    };
    decoded.map_err(|_| "the record's content is malformed")
}

fn decode_body(body: &[u8]) -> anyhow::Result<Change> {
    let mut r = Reader { buf: body, pos: 1 };
    let change = match body.first().copied() {
        Some(PUSH) => {
            let key = r.key()?;
            let mode = match r.u8()? {
                0 => Mode::Replace,
                1 => Mode::Merge,
                2 => Mode::ReplaceAggregating,
                m @ 3..=6 => Mode::Aggregate(Gauges::ALL[usize::from(m - 3)]),
                m => bail!("unknown push mode {m}"),
            };
            let at = r.time()?;
            let ttl = r.ttl()?;
            let families = r.families()?;
            Change::Push(PushRecord {
                key,
                mode,
                at,
                ttl,
                families,
            })
        }
        Some(DELETE) => {
            let n = r.u32()?;
            let mut keys = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                keys.push(r.key()?);
            }
            Change::Delete(keys)
        }
        Some(WIPE) => Change::Wipe,
        Some(FAILURE) => Change::Failure {
            key: r.key()?,
            at: r.time()?,
        },
        Some(SNAPSHOT_START) => Change::SnapshotStart {
            covers: r.u64()?,
            groups: r.u64()?,
        },
        Some(kind @ (GROUP | GROUP_V2 | GROUP_V1)) => {
            let key = r.key()?;
            let push_time = f64::from_bits(r.u64()?);
            let failure_time = f64::from_bits(r.u64()?);
            let pushed_at = r.time()?;
            Change::Group(GroupRecord {
                key,
                times: GroupTimes {
                    push_time,
                    failure_time,
                    pushed_at,
                    // The first version kept one time stamp for both.
                    failed_at: if kind == GROUP_V1 {
                        pushed_at
                    } else {
                        r.time()?
                    },
                },
                ttl: r.ttl()?,
                aggregating: kind == GROUP && r.u8()? != 0,
                families: r.families()?,
            })
        }
        Some(SNAPSHOT_END) => Change::SnapshotEnd { groups: r.u64()? },
        _ => bail!("unknown record type"),
    };
    if r.pos != body.len() {
        bail!("unexpected bytes after the record");
    }
    Ok(change)
}

/// Turns persisted families back into a push the store accepts, as they
/// were pushed: same text, fingerprints and push times, no parsing.
pub(crate) fn prepare(
    key: GroupingKey,
    families: Vec<FamilyRecord>,
    ttl: Option<Duration>,
) -> PreparedPush {
    let families = families
        .into_iter()
        .map(|f| {
            StoredFamily::from_parts(
                &f.name,
                f.kind,
                Some(&f.help),
                f.pushed_at,
                f.text,
                f.proto,
                f.fingerprints,
            )
        })
        .collect();
    PreparedPush::from_parts(key, families, ttl)
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

fn put_key(out: &mut Vec<u8>, key: &GroupingKey) {
    put_u32(out, key.labels().len());
    for (n, v) in key.labels() {
        put_bytes(out, n.as_bytes());
        put_bytes(out, v.as_bytes());
    }
}

/// Set on a family's type code when its protobuf series follow its
/// fingerprints. Files written before the store kept protobuf lack it.
const WITH_PROTO: u8 = 0x80;

/// A family's protobuf series are stored only when it has them: the others
/// make them from their text again, as a fresh push would.
fn put_family(out: &mut Vec<u8>, f: &StoredFamily) {
    let proto = f.proto_if_written();
    put_bytes(out, f.name.as_bytes());
    out.push(kind_code(f.kind) | if proto.is_some() { WITH_PROTO } else { 0 });
    put_bytes(out, f.help.as_deref().unwrap_or("").as_bytes());
    put_u64(out, unix_nanos(f.pushed_at()));
    put_bytes(out, &f.text);
    put_u32(out, f.fingerprints().len());
    for fp in f.fingerprints() {
        put_u64(out, *fp);
    }
    if let Some(proto) = proto {
        put_bytes(out, proto);
    }
}

/// 0 means no time-to-live.
fn ttl_millis(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |d| (d.as_millis() as u64).max(1))
}

fn kind_code(k: MetricType) -> u8 {
    match k {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Summary => 2,
        MetricType::Untyped => 3,
        MetricType::Histogram => 4,
        MetricType::GaugeHistogram => 5,
    }
}

fn kind_from_code(c: u8) -> Option<MetricType> {
    Some(match c {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        2 => MetricType::Summary,
        3 => MetricType::Untyped,
        4 => MetricType::Histogram,
        5 => MetricType::GaugeHistogram,
        _ => return None,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            bail!("unexpected end of data at byte {}", self.pos);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> anyhow::Result<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn time(&mut self) -> anyhow::Result<SystemTime> {
        Ok(UNIX_EPOCH + Duration::from_nanos(self.u64()?))
    }
    fn ttl(&mut self) -> anyhow::Result<Option<Duration>> {
        let ms = self.u64()?;
        Ok((ms > 0).then(|| Duration::from_millis(ms)))
    }
    fn str(&mut self) -> anyhow::Result<&'a str> {
        let n = self.u32()?;
        Ok(std::str::from_utf8(self.take(n)?)?)
    }
    fn key(&mut self) -> anyhow::Result<GroupingKey> {
        let n = self.u32()?;
        let mut labels = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            labels.push((self.str()?.to_string(), self.str()?.to_string()));
        }
        Ok(GroupingKey::new(labels))
    }
    fn families(&mut self) -> anyhow::Result<Vec<FamilyRecord>> {
        let n = self.u32()?;
        let mut families = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let name = self.str()?.to_string();
            let code = self.u8()?;
            let kind = kind_from_code(code & !WITH_PROTO).context("unknown metric type")?;
            let help = self.str()?.to_string();
            let pushed_at = self.time()?;
            let len = self.u32()?;
            let text = self.take(len)?.to_vec();
            let n = self.u32()?;
            let mut fingerprints = Vec::with_capacity(n.min(1 << 20));
            for _ in 0..n {
                fingerprints.push(self.u64()?);
            }
            if fingerprints.windows(2).any(|w| w[0] > w[1]) {
                bail!("series fingerprints out of order");
            }
            let proto = if code & WITH_PROTO != 0 {
                let len = self.u32()?;
                Some(self.take(len)?.to_vec())
            } else {
                None
            };
            families.push(FamilyRecord {
                name,
                kind,
                help,
                pushed_at,
                text,
                proto,
                fingerprints,
            });
        }
        Ok(families)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;
    use crate::server::metrics::OWN_TYPES;
    use crate::server::store::{self, Store};

    fn prepared(job: &str, body: &str) -> PreparedPush {
        let key = GroupingKey::new([("job", job)]);
        store::prepare(key, text::parse(body).unwrap(), SystemTime::now()).unwrap()
    }

    fn log(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = LOG_MAGIC.to_vec();
        for (i, p) in payloads.iter().enumerate() {
            frame(&mut out, i as u64 + 1, p);
        }
        out
    }

    fn three_records() -> Vec<Vec<u8>> {
        let now = SystemTime::now();
        let mut p = prepared("a", "# HELP x An x.\n# TYPE x counter\nx{l=\"1\"} 3\n");
        p.ttl = Some(Duration::from_secs(90));
        vec![
            push_payload(&p, Mode::Merge, now),
            delete_payload(&[&GroupingKey::new([("job", "a")]), &p.key]),
            failure_payload(&p.key, now),
        ]
    }

    /// The journal keeps the lossless copy: a native histogram, its
    /// exemplars and created timestamps, and a counter's, read back after
    /// a replay are what was pushed.
    #[test]
    fn native_histograms_exemplars_and_created_timestamps_survive_the_log() {
        use crate::exposition::{
            Exemplar, Extras, Family, Label, Metric, MetricType, Native, Span, Timestamp, Value,
        };
        let at = |seconds| Some(Timestamp { seconds, nanos: 7 });
        let exemplar = Exemplar {
            labels: vec![Label::new("trace_id", "t1")],
            value: 0.7,
            timestamp: at(1_780_000_100),
        };
        let histogram = Metric {
            labels: vec![Label::new("method", "get")],
            value: Value::Histogram {
                sample_count: 4.0,
                sample_sum: 3.5,
                buckets: vec![(0.5, 1.0), (1.0, 3.0)],
            },
            timestamp_ms: None,
            extras: Some(Box::new(Extras {
                created: at(1_780_000_000),
                bucket_exemplars: vec![None, Some(exemplar.clone())],
                exemplars: vec![exemplar.clone()],
                native: Some(Native {
                    sample_count: Some(4),
                    schema: Some(0),
                    zero_threshold: Some(0.001),
                    zero_count: Some(1),
                    positive_spans: vec![Span {
                        offset: 0,
                        length: 2,
                    }],
                    positive_deltas: vec![2, -1],
                    ..Default::default()
                }),
                ..Default::default()
            })),
        };
        let counter = Metric {
            labels: vec![],
            value: Value::Single(7.0),
            timestamp_ms: None,
            extras: Some(Box::new(Extras {
                created: at(1_779_000_000),
                exemplar: Some(exemplar),
                ..Default::default()
            })),
        };
        let mut families = vec![
            Family::new("rpc_seconds", MetricType::Histogram),
            Family::new("requests_total", MetricType::Counter),
        ];
        families[0].metrics.push(histogram);
        families[1].metrics.push(counter);
        let key = GroupingKey::new([("job", "svc")]);
        let p = store::prepare(key, families.clone(), SystemTime::now()).unwrap();
        let bytes = log(&[push_payload(&p, Mode::Replace, SystemTime::now())]);
        let scan = scan(&bytes, LOG_MAGIC).unwrap();
        let Change::Push(record) = scan.records[0].1.clone() else {
            panic!("{:?}", scan.records[0]);
        };
        let replayed = Store::new(OWN_TYPES);
        record.replay(&replayed).unwrap();
        let group = &replayed.groups()[0];
        for want in families {
            let got = group
                .families
                .iter()
                .find(|f| *f.name == *want.name)
                .unwrap()
                .decode();
            let mut want_metric = want.metrics[0].clone();
            want_metric.labels = got.metrics[0].labels.clone();
            assert_eq!(
                got.metrics[0].labels.last().map(|l| l.name.as_ref()),
                Some(if want.name == "rpc_seconds" {
                    "method"
                } else {
                    "job"
                })
            );
            assert_eq!(got.metrics, vec![want_metric], "{}", want.name);
        }
    }

    #[test]
    fn records_round_trip() {
        let bytes = log(&three_records());
        let scan = scan(&bytes, LOG_MAGIC).unwrap();
        assert!(scan.damage.is_empty(), "{:?}", scan.damage);
        assert_eq!(scan.records.len(), 3);
        let Change::Push(PushRecord {
            key,
            mode,
            ttl,
            families,
            ..
        }) = &scan.records[0].1
        else {
            panic!("{:?}", scan.records[0]);
        };
        assert_eq!(
            (key.to_string().as_str(), *mode),
            ("{job=\"a\"}", Mode::Merge)
        );
        assert_eq!(*ttl, Some(Duration::from_secs(90)));
        assert_eq!(families[0].help, "An x.");
        assert!(matches!(&scan.records[1].1, Change::Delete(k) if k.len() == 2));
        assert_eq!(scan.records[2].0, 3);
    }

    #[test]
    fn every_push_mode_round_trips_and_aggregated_pushes_replay_to_the_same_sums() {
        let modes = [Mode::Replace, Mode::Merge, Mode::ReplaceAggregating]
            .into_iter()
            .chain(Gauges::ALL.map(Mode::Aggregate));
        for mode in modes {
            let p = prepared("a", "# TYPE c counter\nc 1\n");
            let bytes = log(&[push_payload(&p, mode, SystemTime::now())]);
            let Change::Push(r) = &scan(&bytes, LOG_MAGIC).unwrap().records[0].1 else {
                panic!("not a push")
            };
            assert_eq!(r.mode, mode);
        }
        // Two aggregated pushes of 1 and 2, logged as pushed, replay to 3.
        let sum = Mode::Aggregate(Gauges::Last);
        let now = SystemTime::now();
        let records = [
            push_payload(&prepared("a", "# TYPE c counter\nc 1\n"), sum, now),
            push_payload(&prepared("a", "# TYPE c counter\nc 2\n"), sum, now),
        ];
        let s = Store::new(OWN_TYPES);
        for (_, change) in scan(&log(&records), LOG_MAGIC).unwrap().records {
            let Change::Push(r) = change else { panic!() };
            r.replay(&s).unwrap();
        }
        let g = s.group(&GroupingKey::new([("job", "a")])).unwrap();
        assert!(g.aggregating);
        assert_eq!(&*g.families[0].text, &b"c{instance=\"\",job=\"a\"} 3\n"[..]);
    }

    #[test]
    fn snapshots_keep_the_aggregating_mark_and_older_group_records_load() {
        let s = Store::new(OWN_TYPES);
        let now = SystemTime::now();
        s.push(prepared("a", "c 1\n"), Mode::ReplaceAggregating, now)
            .unwrap();
        let bytes = encode_snapshot(&s.groups(), 1);
        let Change::Group(g) = &scan(&bytes, SNAPSHOT_MAGIC).unwrap().records[1].1 else {
            panic!()
        };
        assert!(g.aggregating);
        // The same group as the version before aggregation wrote it: type 8,
        // no flag byte.
        let mut old = vec![GROUP_V2];
        put_key(&mut old, &g.key);
        for v in [g.times.push_time.to_bits(), g.times.failure_time.to_bits()] {
            put_u64(&mut old, v);
        }
        put_u64(&mut old, unix_nanos(g.times.pushed_at));
        put_u64(&mut old, unix_nanos(g.times.failed_at));
        put_u64(&mut old, ttl_millis(g.ttl));
        put_u32(&mut old, 0);
        let Ok(Change::Group(read)) = decode_body(&old) else {
            panic!("an older group record does not load")
        };
        assert!(!read.aggregating);
        assert_eq!(read.key, g.key);
    }

    #[test]
    fn a_frame_is_marker_length_sequence_checksum_and_payload() {
        for payload in [&b""[..], b"x", &[7u8; 5000]] {
            let mut out = b"head".to_vec();
            frame(&mut out, 9, payload);
            let f = &out[4..];
            assert_eq!(&f[..4], MARKER);
            assert_eq!(&f[4..8], (payload.len() as u32).to_le_bytes());
            assert_eq!(&f[8..16], 9u64.to_le_bytes());
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(&f[4..16]);
            h.update(payload);
            assert_eq!(&f[16..24], h.digest().to_le_bytes());
            assert_eq!(&f[24..], payload);
        }
    }

    /// Records every write it is handed.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl std::io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_large_snapshot_is_written_a_megabyte_at_a_time_and_reads_back_whole() {
        let s = Store::new(OWN_TYPES);
        // 40 groups of about 60 KB: more than two megabytes in all.
        let body: String = (0..2000)
            .map(|i| format!("m{{i=\"{i:07}\"}} 1\n"))
            .collect();
        for g in 0..40 {
            s.push(
                prepared(&format!("g{g}"), &body),
                Mode::Replace,
                SystemTime::now(),
            )
            .unwrap();
        }
        let groups = s.groups();
        let mut writes = Writes::default();
        let size = write_snapshot(&mut writes, &groups, 5).unwrap();
        let whole = writes.0.concat();
        assert_eq!(size, whole.len() as u64);
        assert!(writes.0.len() >= 2, "{} writes", writes.0.len());
        assert!(writes.0.iter().all(|w| w.len() < 2 << 20));
        let scan = scan(&whole, SNAPSHOT_MAGIC).unwrap();
        assert!(scan.damage.is_empty());
        assert_eq!(scan.records.len(), 42);
        // Snapshots of earlier versions compress each group: they load too.
        let mut compressed = SNAPSHOT_MAGIC.to_vec();
        for (seq, change) in &scan.records {
            let mut b = Vec::new();
            match change {
                Change::Group(_) => put_group(&mut b, &groups[*seq as usize - 1]),
                Change::SnapshotStart { covers, groups } => {
                    b.push(SNAPSHOT_START);
                    put_u64(&mut b, *covers);
                    put_u64(&mut b, *groups);
                }
                Change::SnapshotEnd { groups } => {
                    b.push(SNAPSHOT_END);
                    put_u64(&mut b, *groups);
                }
                other => panic!("{other:?}"),
            }
            frame(&mut compressed, *seq, &compress(&b));
        }
        assert!(compressed.len() < whole.len() / 2);
        let old = super::scan(&compressed, SNAPSHOT_MAGIC).unwrap();
        assert!(old.damage.is_empty());
        assert_eq!(old.records, scan.records);
    }

    /// A log of two small records and a last one of a few sectors, in a
    /// segment extended with zeros as the journal writes it; where the last
    /// record starts and ends.
    fn segment_with_a_large_last_record() -> (Vec<u8>, usize, usize) {
        let now = SystemTime::now();
        let body: String = (0..100)
            .map(|i| format!("big{{i=\"{i}\"}} {i}\n"))
            .collect();
        let mut records = three_records();
        records.truncate(2);
        let last = push_payload(&prepared("b", &body), Mode::Replace, now);
        let start = LOG_MAGIC.len()
            + records
                .iter()
                .map(|r| FRAME_HEADER + r.len())
                .sum::<usize>();
        records.push(last);
        let mut bytes = log(&records);
        let end = bytes.len();
        assert!(end - start > 3 * SECTOR, "{}", end - start);
        bytes.resize(end + 8192, 0);
        (bytes, start, end)
    }

    #[test]
    fn a_write_cut_at_a_sector_inside_the_last_record_is_torn() {
        let (written, start, end) = segment_with_a_large_last_record();
        // Cut at each sector boundary inside the record, the header's
        // included: what follows is the zeros it was to overwrite.
        let first = start.div_ceil(SECTOR) * SECTOR;
        for cut in (first..end).step_by(SECTOR) {
            let mut bytes = written.clone();
            bytes[cut..end].fill(0);
            let scan = scan(&bytes, LOG_MAGIC).unwrap();
            assert_eq!(scan.records.len(), 2, "cut at {cut}");
            assert_eq!(scan.damage.len(), 1, "cut at {cut}");
            assert_eq!(scan.damage[0].fault, Fault::Torn, "cut at {cut}");
            assert_eq!(scan.damage[0].offset, start);
        }
    }

    #[test]
    fn anything_else_after_the_last_record_is_damage() {
        let (written, start, end) = segment_with_a_large_last_record();
        let fault = |bytes: &[u8]| {
            let scan = scan(bytes, LOG_MAGIC).unwrap();
            assert_eq!(scan.records.len(), 2);
            assert_eq!(scan.damage.len(), 1, "{:?}", scan.damage);
            assert!(!scan.damage[0].followed);
            assert_eq!(scan.damage[0].offset, start);
            scan.damage[0].fault
        };
        // One flipped bit in the last, whole record, zeros after it or not.
        for len in [written.len(), end] {
            let mut bytes = written[..len].to_vec();
            bytes[start + 100] ^= 0x08;
            assert_eq!(fault(&bytes), Fault::Checksum, "{len} bytes");
        }
        // The file cut inside the record: the writer leaves the zeros for
        // the whole batch, so something else cut it. With zeros where the
        // cut falls inside the file, too (the frame goes past its end).
        let cut = start.div_ceil(SECTOR) * SECTOR + SECTOR;
        assert_eq!(fault(&written[..cut]), Fault::Truncated);
        assert_eq!(fault(&written[..cut - 7]), Fault::Truncated);
        let mut short = written[..end - 10].to_vec();
        short[cut..].fill(0);
        assert_eq!(fault(&short), Fault::Truncated);
        // The last sector of the record is there: it was written whole.
        let mut bytes = written.clone();
        bytes[start + 30..end - 10].fill(0);
        assert_eq!(fault(&bytes), Fault::Checksum);
        // Bytes where no record starts.
        let mut bytes = written[..start].to_vec();
        bytes.extend_from_slice(b"garbage");
        bytes.resize(start + 4096, 0);
        assert_eq!(fault(&bytes), Fault::Garbage);
        assert_eq!(
            Fault::Garbage.describe(true),
            "garbage after the last record"
        );
    }

    #[test]
    fn damaged_frames_are_counted_by_their_headers() {
        let (mut bytes, start, _) = segment_with_a_large_last_record();
        bytes[start + 100] ^= 0x08;
        let scan = scan(&bytes, LOG_MAGIC).unwrap();
        assert_eq!(scan.damage[0].frames, Some(vec![3]));
        // The marker gone: where the frames begin cannot be told.
        bytes[start] = b'X';
        let scan = super::scan(&bytes, LOG_MAGIC).unwrap();
        assert_eq!(scan.damage[0].frames, None);
    }

    #[test]
    fn segments_that_hold_nothing() {
        for bytes in [
            &b""[..],
            b"PGW",
            b"PGWLO\0\0\0",
            b"\0\0\0\0",
            b"PGWLOG01",
            b"PGWLOG01\0\0",
        ] {
            assert!(holds_nothing(bytes), "{bytes:?}");
        }
        for bytes in [&b"PGWLOG01\0x"[..], b"PGX", b"\0\0x"] {
            assert!(!holds_nothing(bytes), "{bytes:?}");
        }
        assert!(!holds_nothing(&log(&three_records())));
    }

    #[test]
    fn a_zero_tail_is_the_clean_end_of_a_segment() {
        let bytes = log(&three_records());
        for zeros in [1, 23, 24, 8 << 10] {
            let mut tailed = bytes.clone();
            tailed.resize(bytes.len() + zeros, 0);
            let scan = scan(&tailed, LOG_MAGIC).unwrap();
            assert!(scan.damage.is_empty(), "{zeros} zeros: {:?}", scan.damage);
            assert_eq!(scan.records.len(), 3, "{zeros} zeros");
            assert_eq!(scan.end, bytes.len(), "{zeros} zeros");
        }
        // A segment with no record yet, extended all the same.
        let mut empty = LOG_MAGIC.to_vec();
        empty.resize(4096, 0);
        let scan = scan(&empty, LOG_MAGIC).unwrap();
        assert!(scan.records.is_empty() && scan.damage.is_empty());
        assert_eq!(scan.end, LOG_MAGIC.len());
        // Without zeros the contents end with the file.
        assert_eq!(super::scan(&bytes, LOG_MAGIC).unwrap().end, bytes.len());
        // A snapshot is never extended: zeros after it are damage.
        let mut snapshot = encode_snapshot(&[], 7);
        snapshot.resize(snapshot.len() + 100, 0);
        let scan = super::scan(&snapshot, SNAPSHOT_MAGIC).unwrap();
        assert_eq!(scan.records.len(), 2);
        assert_eq!(scan.damage.len(), 1);
    }

    #[test]
    fn a_corrupt_middle_record_before_a_zero_tail_is_still_corruption() {
        let records = three_records();
        let mut bytes = log(&records);
        let clean_len = bytes.len();
        bytes.resize(clean_len + 4096, 0);
        let second = LOG_MAGIC.len() + FRAME_HEADER + records[0].len();
        bytes[second + 30] ^= 0x40;
        let scan = scan(&bytes, LOG_MAGIC).unwrap();
        assert_eq!(scan.damage.len(), 1, "{:?}", scan.damage);
        assert!(scan.damage[0].followed);
        assert_eq!(scan.damage[0].offset, second);
        let seqs: Vec<u64> = scan.records.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!(scan.end, clean_len);
        // Zeros over a whole record in the middle are damage too: records
        // follow them.
        let mut zeroed = log(&records);
        let third = second + FRAME_HEADER + records[1].len();
        zeroed[second..third].fill(0);
        let scan = super::scan(&zeroed, LOG_MAGIC).unwrap();
        assert_eq!(scan.damage.len(), 1);
        assert!(scan.damage[0].followed);
    }

    #[test]
    fn a_corrupt_middle_record_is_damage_that_records_follow() {
        let records = three_records();
        let clean = log(&records);
        let second = LOG_MAGIC.len() + FRAME_HEADER + records[0].len();
        for flip in [second + 30, second + 5, second + 1] {
            let mut bytes = clean.clone();
            bytes[flip] ^= 0x40;
            let scan = scan(&bytes, LOG_MAGIC).unwrap();
            assert_eq!(scan.damage.len(), 1, "flip at {flip}");
            assert!(scan.damage[0].followed, "flip at {flip}");
            assert_eq!(scan.damage[0].offset, second);
            let seqs: Vec<u64> = scan.records.iter().map(|(s, _)| *s).collect();
            assert_eq!(seqs, [1, 3], "flip at {flip}");
        }
    }

    proptest::proptest! {
        /// Any cut and any flipped bit: the scan never panics, every record
        /// it returns is one that was written, and the damage is reported.
        #[test]
        fn damage_is_found_and_never_invents_records(
            cut in 0.8f64..=1.0,
            at in 0.0f64..1.0,
            bit in 0u8..8,
        ) {
            let written = log(&three_records());
            let originals = scan(&written, LOG_MAGIC).unwrap().records;
            let mut bytes = written[..(written.len() as f64 * cut) as usize].to_vec();
            if bytes.len() > LOG_MAGIC.len() {
                let i = LOG_MAGIC.len() + ((bytes.len() - LOG_MAGIC.len()) as f64 * at) as usize;
                let i = i.min(bytes.len() - 1);
                bytes[i] ^= 1 << bit;
            }
            if let Ok(found) = scan(&bytes, LOG_MAGIC) {
                proptest::prop_assert!(found.records.iter().all(|r| originals.contains(r)));
                proptest::prop_assert!(
                    found.records.len() == originals.len() || !found.damage.is_empty()
                );
            }
        }
    }

    #[test]
    fn other_formats_are_not_ours() {
        for bytes in [
            &b""[..],
            b"PGWSNAP1xxxxxxxxxxxxxxx",
            b"\x0f\xff\x81\x03\x01\x01",
        ] {
            assert!(scan(bytes, LOG_MAGIC).is_err());
            assert!(scan(bytes, SNAPSHOT_MAGIC).is_err());
        }
    }

    #[test]
    fn snapshot_round_trips_groups_with_their_times() {
        let s = Store::new(OWN_TYPES);
        let mut p = prepared(
            "a",
            "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
        );
        p.ttl = Some(Duration::from_millis(1500));
        s.push(p, Mode::Replace, SystemTime::now()).unwrap();
        s.push(prepared("b", "y 1.5\n"), Mode::Replace, SystemTime::now())
            .unwrap();
        let groups = s.groups();
        let bytes = encode_snapshot(&groups, 42);
        let scan = scan(&bytes, SNAPSHOT_MAGIC).unwrap();
        assert!(scan.damage.is_empty());
        assert_eq!(
            scan.records.first().map(|r| &r.1),
            Some(&Change::SnapshotStart {
                covers: 42,
                groups: 2
            })
        );
        assert_eq!(
            scan.records.last().map(|r| &r.1),
            Some(&Change::SnapshotEnd { groups: 2 })
        );
        let Change::Group(g) = &scan.records[1].1 else {
            panic!()
        };
        assert_eq!(g.ttl, Some(Duration::from_millis(1500)));
        assert_eq!(g.times.push_time, groups[0].push_time);
        assert_eq!(g.times.pushed_at, groups[0].synthetic[1].pushed_at());
        assert_eq!(g.times.failed_at, groups[0].synthetic[0].pushed_at());
        let again = prepare(g.key.clone(), g.families.clone(), g.ttl);
        assert_eq!(again.ttl, g.ttl);
        assert_eq!(
            again.families()[0].pushed_at(),
            groups[0].families[0].pushed_at()
        );
    }
}
