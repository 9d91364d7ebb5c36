//! Persistence of the store to `--persistence.file`: a snapshot at that path
//! and a write-ahead log of the changes since, in segments beside it
//! (`FILE.wal.NNNNNNNNNN`). A change is on disk before its request is
//! answered; see [`journal`] for the group commit and the compaction, and
//! [`record`] for the byte layout.
//!
//! At start-up the snapshot is loaded and the log replayed. The last write
//! of a segment cut short by a crash (never acknowledged; [`record`] says
//! exactly what that can look like) is dropped with a warning. Any other
//! damage, or a file pgw did not write, stops the start-up with a message
//! naming the file, the offset and the fault, and the files are left as
//! they are; `--persistence.recover` keeps every valid record instead,
//! moves the damaged files aside and says how many records were lost.
//! (The official Pushgateway starts empty and overwrites a file it cannot
//! read at its next save.) The official server's own file is not damage:
//! it is refused even with `--persistence.recover`, with the way to import
//! it, because moving it aside would start an empty store. Segment files
//! that hold nothing (a creation cut short by a crash or a full disk) and
//! the spare segment are removed at start-up: no record was ever in them.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};

use crate::server::store::Store;

mod direct;
pub mod gob;
pub(crate) mod journal;
pub mod official;
mod presence;
pub mod record;

use crate::server::store::ChangeLog as _;
pub(crate) use journal::Journal;
use journal::{Files, Start};
use record::Change;

/// What a restore found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Restored {
    pub(crate) groups: usize,
    pub(crate) series: usize,
    /// Log records replayed.
    pub(crate) replayed: usize,
}

/// A damaged file found at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) file: PathBuf,
    pub(crate) what: String,
    /// What moving the file aside loses.
    pub(crate) lost: Lost,
}

/// What a damaged stretch held that is not in the kept records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lost {
    /// Log records (a gap in sequence numbers, or the frames of the
    /// damaged bytes), and the damaged bytes.
    Records { records: u64, bytes: u64 },
    /// Groups of the snapshot, from its header's count.
    Groups { groups: u64, bytes: u64 },
    /// Nothing tells how many: why.
    Unknown(String),
}

/// What the files held, and what is wrong with them.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) restored: Restored,
    pub(crate) problems: Vec<Problem>,
    /// Segment files that hold nothing, to remove at start-up, and whether
    /// each is a well-formed empty segment (as a clean stop leaves one).
    empty: Vec<(PathBuf, bool)>,
    /// Segments a crash left with the zeros reserved ahead of their records,
    /// and where their records end.
    zero_tails: Vec<(PathBuf, u64)>,
    /// The snapshot is the official Pushgateway's file.
    official: bool,
    last_seq: u64,
    segments: Vec<(u64, PathBuf)>,
    log_bytes: u64,
    snapshot_bytes: u64,
}

/// What the command line asks of persistence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options<'a> {
    /// `--persistence.file`; `None` keeps the store in memory only.
    pub(crate) file: Option<&'a Path>,
    pub(crate) interval: Duration,
    /// Start from damaged files, keeping every valid record.
    pub(crate) recover: bool,
    /// The official server's file to import into a store that has no files.
    pub(crate) import: Option<&'a Path>,
    /// The time to live of imported groups.
    pub(crate) expire_after: Option<Duration>,
}

/// Restores `store` (empty) from the files and makes the journal its
/// change log; the store is shared from then on. Called before the server
/// listens. What is restored or imported goes into the store before it has
/// a log, so it is never logged again.
pub(crate) fn open(
    options: &Options<'_>,
    store: Store,
) -> anyhow::Result<(Arc<Store>, Option<Arc<Journal>>)> {
    let import = options.import;
    let Some(path) = options.file.map(Path::to_path_buf) else {
        // Memory only: every start begins empty, so every start imports.
        if let Some(source) = import {
            import_official(&store, source, options.expire_after)?;
        }
        return Ok((Arc::new(store), None));
    };
    if import.is_some_and(|source| same_file(source, &path)) {
        bail!(
            "--persistence.import and --persistence.file name the same file, {}: pgw writes its \
             own format, so it imports the official file into another one",
            path.display()
        );
    }
    let files = Files { snapshot: path };
    let recover = options.recover;
    check_dir(&files)?;
    // Before reading: another server may be writing, or moving files aside.
    let lock = files.lock()?;
    let loaded = load(&files, &store)?;
    // A snapshot that could not replace a file another program put at the
    // path: the store is there, and importing or recovering would lose it.
    let aside = files.aside();
    let saved = aside.exists().then(|| {
        format!(
            ". pgw's last snapshot is in {}: to go on with that store, move {} away and rename {} \
             to {}",
            aside.display(),
            files.snapshot.display(),
            aside.display(),
            files.snapshot.display()
        )
    });
    if loaded.official {
        let path = files.snapshot.display();
        bail!(
            "{path} is the official Pushgateway's persistence file, not pgw's: import it with \
             --persistence.import={path} (and a new --persistence.file for pgw's own store); \
             the file was left untouched{}",
            saved.unwrap_or_default()
        );
    }
    if !loaded.problems.is_empty() && !recover {
        let list: Vec<&str> = loaded.problems.iter().map(|p| p.what.as_str()).collect();
        if let Some(saved) = saved {
            bail!(
                "the persistence files are damaged and were left untouched: {}{saved}",
                list.join("; ")
            );
        }
        bail!(
            "{}: refusing to start (the files were left untouched); --persistence.recover keeps \
             every valid record and moves the damaged files aside, or move them aside yourself \
             to start with an empty store",
            list.join("; ")
        );
    }
    remove_empty(&loaded.empty);
    cut_zero_tails(&loaded.zero_tails);
    let r = &loaded.restored;
    if loaded.last_seq > 0 || r.groups > 0 {
        crate::info!(
            "restored the store",
            file = files.snapshot.display(),
            groups = r.groups,
            series = r.series,
            replayed = r.replayed
        );
    }
    // A store that has taken a change or holds a group is pgw's own from
    // then on: the import happens once, and the flag can stay in a service
    // file. (An empty snapshot, from a start and stop without pushes, does
    // not count.)
    let imported = match import {
        Some(source) if loaded.last_seq == 0 && loaded.restored.groups == 0 => {
            import_official(&store, source, options.expire_after)?;
            true
        }
        Some(source) => {
            crate::info!(
                "not importing: the store has taken changes of its own already",
                file = source.display(),
                store = files.snapshot.display()
            );
            false
        }
        None => false,
    };
    let mut segments = Vec::new();
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut moved = Vec::new();
    for (_, path) in &loaded.segments {
        let empty = loaded.empty.iter().any(|(e, _)| e == path);
        if !empty && !loaded.problems.iter().any(|p| &p.file == path) {
            segments.push(path.clone());
        }
    }
    let damaged: std::collections::BTreeSet<&PathBuf> =
        loaded.problems.iter().map(|p| &p.file).collect();
    for file in damaged {
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".damaged-{unix}"));
        let aside = file.with_file_name(name);
        fs::rename(file, &aside).with_context(|| {
            format!(
                "cannot move the damaged file {} aside to {}",
                file.display(),
                aside.display()
            )
        })?;
        moved.push(aside.display().to_string());
    }
    let next_segment = loaded.segments.last().map_or(1, |(n, _)| n + 1);
    let journal = Journal::start(
        files,
        Start {
            last_seq: loaded.last_seq,
            segments,
            next_segment,
            log_bytes: loaded.log_bytes,
            snapshot_bytes: loaded.snapshot_bytes,
            lock,
        },
        options.interval,
    )?;
    let store = Arc::new(store.with_log(journal.clone()));
    if imported {
        // The imported groups are in no log: a snapshot makes them pgw's.
        journal.compact(&store)?;
    }
    if !loaded.problems.is_empty() {
        // The kept records go into a new snapshot at once, so that nothing
        // depends on the files moved aside any more.
        journal.compact(&store)?;
        let message = format!(
            "recovered from damaged persistence files: kept {} groups, {}; moved aside: {} ({})",
            r.groups,
            describe_lost(&loaded.problems),
            moved.join(", "),
            loaded
                .problems
                .iter()
                .map(|p| p.what.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        crate::warn!("recovered the store", detail = message);
        eprintln!("pgw: {message}");
    }
    journal.compact_in_background(store.clone())?;
    Ok((store, Some(journal)))
}

/// Refuses a `--persistence.file` whose directory is missing, or is not a
/// directory, naming it: the lock file would be the first thing to fail, with
/// a message about a file the operator never named. pgw does not create the
/// directory, as it creates no other directory: a typo in the path should
/// not become a new, empty store.
fn check_dir(files: &Files) -> anyhow::Result<()> {
    let dir = files.dir();
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "the directory of --persistence.file {}, {}, is not a directory",
            files.snapshot.display(),
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "the directory of --persistence.file {}, {}, does not exist: create it first \
             (pgw does not create directories)",
            files.snapshot.display(),
            dir.display()
        ),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read the directory of --persistence.file {}, {}",
                files.snapshot.display(),
                dir.display()
            )
        }),
    }
}

/// Takes over the groups of the official server's file at `source`.
/// Reads a store that pgw kept in `path` (its snapshot and log, as
/// `--persistence.file` named it) into `store`, leaving the files as they
/// are: how another store backend is filled from a local one. Locked while
/// read, so a server still writing them is reported, not raced.
pub(crate) fn read_local(path: &Path, store: &Store) -> anyhow::Result<usize> {
    let files = Files {
        snapshot: path.to_path_buf(),
    };
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let _lock = files.lock()?;
    load(&files, store)?;
    Ok(store.stats().groups)
}

pub(crate) fn import_official(
    store: &Store,
    source: &Path,
    ttl: Option<Duration>,
) -> anyhow::Result<()> {
    let groups = official::import(source, store, ttl)?;
    let stats = store.stats();
    crate::info!(
        "imported the official Pushgateway's store",
        file = source.display(),
        groups = groups,
        series = stats.series
    );
    Ok(())
}

/// True when `a` and `b` are one file (or both do not exist and are spelt
/// alike).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// At shutdown, once no request is in flight: waits for the log, then
/// compacts it into the snapshot of `store`, so the next start only reads a
/// snapshot.
pub(crate) async fn shutdown(journal: &Arc<Journal>, store: &Arc<Store>) -> anyhow::Result<()> {
    journal
        .wait(journal.appended())
        .await
        .map_err(|e| anyhow!("the log could not be written: {e}"))?;
    let (journal, store) = (journal.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        // Every acknowledged change is in the synced log by now, so a
        // snapshot at exit only saves the next start its replay. For a
        // small store that is cheap and leaves tidy files; a large one
        // would hold the stop for the whole rewrite (0.6 s for 500k series),
        // where the replay it saves costs about the same at the next start.
        // Files in trouble are always rewritten from memory.
        let status = journal.status();
        let small = status.snapshot_bytes + status.log_bytes <= SNAPSHOT_AT_EXIT_MAX;
        if !small && status.error.is_none() {
            return journal.close();
        }
        // Closed even when the snapshot cannot be written: the segment then
        // holds the store's last changes, and rests without its zero tail.
        // Every change is in the log by now, so a snapshot that does not fit
        // (a full disk) costs only a longer replay at the next start.
        match journal.compact(&store) {
            Err(e) if journal::lack_of_space(&e) => crate::warn!(
                "no room for the snapshot at shutdown; the log holds every change and the next \
                 start replays it",
                err = format!("{e:#}")
            ),
            compacted => {
                let closed = journal.close();
                return compacted.and(closed);
            }
        }
        journal.close()
    })
    .await
    .context("the final compaction failed")?
}

/// The largest store (snapshot and log since, in bytes) that a shutdown
/// compacts into a new snapshot; see [`shutdown`].
const SNAPSHOT_AT_EXIT_MAX: u64 = 8 << 20;

/// Removes the segment files that hold nothing before the journal starts:
/// no record was ever in them, and on a small or full disk their space is
/// needed. (The journal removes an earlier run's spare itself.) One that
/// cannot be removed, on a read-only disk, holds nothing either and stays
/// for a later start.
fn remove_empty(empty: &[(PathBuf, bool)]) {
    for (path, well_formed) in empty {
        if let Err(e) = fs::remove_file(path) {
            crate::warn!(
                "cannot remove a log segment without records",
                file = path.display(),
                err = e
            );
        } else if *well_formed {
            crate::debug!(
                "removed a log segment without records",
                file = path.display()
            );
        } else {
            crate::info!(
                "removed a log segment that holds nothing: its creation was cut short (by a crash \
                 or a full disk) before any record was written to it",
                file = path.display()
            );
        }
    }
}

/// Gives back the room that segments left by a crash hold in zeros after
/// their records (up to a segment's worth each): on a disk that filled up,
/// that room is what the next segment needs. The zeros are no records, and
/// a reader stops at them anyway, so a cut that fails (a read-only disk)
/// changes nothing.
fn cut_zero_tails(tails: &[(PathBuf, u64)]) {
    for (path, end) in tails {
        let cut = OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(*end).and_then(|()| f.sync_all()));
        match cut {
            Ok(()) => crate::debug!(
                "cut the zeros a crash left after the records of a log segment",
                file = path.display(),
                bytes = end
            ),
            Err(e) => crate::debug!(
                "cannot cut the zeros after the records of a log segment",
                file = path.display(),
                err = e
            ),
        }
    }
}

/// One line of the recovery report: what the damaged files held that the
/// kept records do not.
fn describe_lost(problems: &[Problem]) -> String {
    let (mut records, mut groups, mut log_bytes, mut snapshot_bytes) = (0, 0, 0, 0);
    let (mut in_log, mut in_snapshot) = (false, false);
    let mut unknown = Vec::new();
    for p in problems {
        match &p.lost {
            Lost::Records { records: r, bytes } => {
                (records, log_bytes, in_log) = (records + r, log_bytes + bytes, true);
            }
            Lost::Groups { groups: g, bytes } => {
                (groups, snapshot_bytes, in_snapshot) = (groups + g, snapshot_bytes + bytes, true);
            }
            Lost::Unknown(why) => unknown.push(why.as_str()),
        }
    }
    let plural = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut parts = Vec::new();
    if in_snapshot {
        parts.push(format!(
            "{} lost from the snapshot ({snapshot_bytes} damaged bytes)",
            plural(groups, "group")
        ));
    }
    if in_log {
        parts.push(format!(
            "{} lost from the log ({log_bytes} damaged bytes)",
            plural(records, "record")
        ));
    }
    if !unknown.is_empty() {
        parts.push(format!(
            "an unknown number of records lost ({})",
            unknown.join("; ")
        ));
    }
    parts.join(", ")
}

/// A damaged stretch of the log whose lost records are counted once the
/// next valid record shows where the gap in sequence numbers ends.
struct Gap {
    problem: usize,
    /// The stretch's own count, for when no valid record follows.
    frames: Result<Vec<u64>, String>,
    bytes: u64,
    /// The file ends inside the stretch's last frame: what came after it
    /// is gone from the file.
    cut: Option<String>,
}

/// Reads the snapshot and the log into `store`, keeping every valid record
/// and noting every damaged file with what it lost.
///
/// Sequence numbers run without gaps across segments and restarts, so the
/// records lost to a damaged stretch are counted exactly from the next valid
/// record, in the same segment or a later one: the gap between it and the
/// last record the store holds (the snapshot's cut counts, so a stretch of
/// records that the snapshot includes loses nothing). Valid records after a
/// damaged stretch are kept: each has its own checksum and sequence number.
/// When nothing valid follows, the frames of the stretch are counted by
/// their headers' lengths; when a header is gone, the count is unknown and
/// the report says why.
pub(crate) fn load(files: &Files, store: &Store) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    let covers = load_snapshot(files, store, &mut loaded)?;
    loaded.segments = files.segments()?;
    // `prev`: the last sequence number the store holds; `seen`: the last
    // one read from the log.
    let (mut prev, mut seen) = (covers, 0);
    let mut gaps: Vec<Gap> = Vec::new();
    for (_, path) in loaded.segments.clone() {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if record::holds_nothing(&bytes) {
            loaded
                .empty
                .push((path, bytes.starts_with(record::LOG_MAGIC)));
            continue;
        }
        let scan = match record::scan(&bytes, record::LOG_MAGIC) {
            Ok(scan) => {
                // The zeros a crash left after the records are no log.
                loaded.log_bytes += scan.end as u64;
                if scan.damage.is_empty() && scan.end < bytes.len() {
                    loaded.zero_tails.push((path.clone(), scan.end as u64));
                }
                scan
            }
            Err(why) => {
                loaded.log_bytes += bytes.len() as u64;
                let unknown = format!(
                    "{} is not a log segment pgw wrote, so nothing tells what it held",
                    path.display()
                );
                gaps.push(Gap {
                    problem: loaded.problems.len(),
                    frames: Err(unknown.clone()),
                    bytes: bytes.len() as u64,
                    cut: None,
                });
                loaded.problems.push(Problem {
                    file: path.clone(),
                    what: format!("{}: {why}", path.display()),
                    lost: Lost::Unknown(unknown),
                });
                continue;
            }
        };
        let mut damage = scan.damage.iter().peekable();
        let note = |d: &record::Damage, loaded: &mut Loaded, gaps: &mut Vec<Gap>| {
            if d.fault == record::Fault::Torn {
                crate::warn!(
                    "dropped the last write of the log: it was cut short (a crash during it); \
                     it was never acknowledged",
                    file = path.display(),
                    offset = d.offset,
                    bytes = d.len
                );
                return;
            }
            gaps.push(Gap {
                problem: loaded.problems.len(),
                frames: d.frames.clone().ok_or_else(|| {
                    format!(
                        "the damaged bytes at offset {} of {} do not start with a record's \
                         header, so the records in them cannot be told apart",
                        d.offset,
                        path.display()
                    )
                }),
                bytes: d.len as u64,
                cut: (d.fault == record::Fault::Truncated && !d.followed).then(|| {
                    format!(
                        "{} was cut inside a record at offset {}: what followed it is gone \
                         from the file, and nothing tells how many records that was",
                        path.display(),
                        d.offset
                    )
                }),
            });
            loaded.problems.push(Problem {
                file: path.clone(),
                what: format!(
                    "{} bytes at offset {} of {} are damaged ({}){}",
                    d.len,
                    d.offset,
                    path.display(),
                    d.fault.describe(!d.followed),
                    if d.followed {
                        ", followed by valid records"
                    } else {
                        ""
                    }
                ),
                lost: Lost::Records {
                    records: 0,
                    bytes: d.len as u64,
                },
            });
        };
        for (i, (seq, change)) in scan.records.into_iter().enumerate() {
            while let Some(d) = damage.next_if(|d| d.after_records == i) {
                note(d, &mut loaded, &mut gaps);
            }
            seen = seq;
            if seq <= prev {
                continue;
            }
            let missing = seq - prev - 1;
            if !gaps.is_empty() {
                // The first stretch of the gap is charged with all of it.
                for (k, gap) in gaps.drain(..).enumerate() {
                    loaded.problems[gap.problem].lost = Lost::Records {
                        records: if k == 0 { missing } else { 0 },
                        bytes: gap.bytes,
                    };
                }
            } else if missing > 0 {
                loaded.problems.push(Problem {
                    file: path.clone(),
                    what: format!(
                        "log records {} to {} are missing before {}",
                        prev + 1,
                        seq - 1,
                        path.display()
                    ),
                    lost: Lost::Records {
                        records: missing,
                        bytes: 0,
                    },
                });
            }
            prev = seq;
            if let Err(e) = apply(store, change) {
                loaded.problems.push(Problem {
                    file: path.clone(),
                    what: format!(
                        "record {seq} of {} cannot be applied: {e:#}",
                        path.display()
                    ),
                    lost: Lost::Records {
                        records: 1,
                        bytes: 0,
                    },
                });
            }
            loaded.restored.replayed += 1;
        }
        for d in damage {
            note(d, &mut loaded, &mut gaps);
        }
    }
    // Stretches that no valid record follows: their frames, less those the
    // snapshot includes (read from the frames' own headers only when the
    // log's last valid record is older than the snapshot's cut).
    for gap in gaps {
        loaded.problems[gap.problem].lost = match gap.frames {
            Ok(seqs) if gap.cut.is_some() => Lost::Unknown(format!(
                "{}; at least {}",
                gap.cut.unwrap_or_default(),
                seqs.len()
            )),
            Ok(seqs) => Lost::Records {
                records: if seen >= covers {
                    seqs.len() as u64
                } else {
                    seqs.iter().filter(|&&s| s > covers).count() as u64
                },
                bytes: gap.bytes,
            },
            Err(why) => Lost::Unknown(why),
        };
    }
    loaded.last_seq = prev;
    let stats = store.stats();
    loaded.restored.groups = stats.groups;
    loaded.restored.series = stats.series;
    Ok(loaded)
}

/// Loads the snapshot; returns the log sequence number it includes. A
/// damaged snapshot is one problem, with the groups its header counted and
/// the kept ones did not reach.
fn load_snapshot(files: &Files, store: &Store, loaded: &mut Loaded) -> anyhow::Result<u64> {
    let path = &files.snapshot;
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    loaded.snapshot_bytes = bytes.len() as u64;
    let shown = path.display();
    let scan = match record::scan(&bytes, record::SNAPSHOT_MAGIC) {
        Ok(scan) => scan,
        Err(why) => {
            let official = official::looks_official(&bytes);
            let what = if official {
                format!(
                    "{shown}: {why}; it is the official Pushgateway's file: to take its groups \
                     over, name it with --persistence.import and give --persistence.file a new \
                     path"
                )
            } else {
                format!("{shown}: {why}")
            };
            loaded.official = official;
            loaded.problems.push(Problem {
                file: path.clone(),
                what,
                lost: Lost::Unknown(format!(
                    "{shown} is not a snapshot pgw wrote, so nothing tells what it held"
                )),
            });
            return Ok(0);
        }
    };
    let mut faults = Vec::new();
    let (mut covers, mut expected, mut ended, mut kept) = (0, None, false, 0u64);
    for (i, (_, change)) in scan.records.into_iter().enumerate() {
        match change {
            Change::SnapshotStart { covers: c, groups } if i == 0 => {
                covers = c;
                expected = Some(groups);
            }
            Change::Group(g) => {
                let key = g.key.clone();
                let p = record::prepare(g.key, g.families, g.ttl);
                match store.restore(p, g.times, g.aggregating) {
                    Ok(()) => kept += 1,
                    Err(e) => faults.push(format!("group {key} cannot be restored: {e:#}")),
                }
            }
            Change::SnapshotEnd { .. } => ended = true,
            other => faults.push(format!("unexpected record in a snapshot: {other:?}")),
        }
    }
    let mut damaged_bytes = 0;
    for d in &scan.damage {
        damaged_bytes += d.len as u64;
        faults.push(format!(
            "{} bytes at offset {} of {shown} are damaged ({})",
            d.len,
            d.offset,
            d.fault.describe(!d.followed)
        ));
    }
    if expected.is_none() {
        faults.push(format!(
            "the first record of {shown}, the snapshot header, is missing or damaged"
        ));
    }
    if !ended {
        faults.push(format!(
            "{shown} ends before its last record: the file is truncated"
        ));
    }
    if !faults.is_empty() {
        loaded.problems.push(Problem {
            file: path.clone(),
            what: faults.join("; "),
            lost: match expected {
                Some(n) => Lost::Groups {
                    groups: n.saturating_sub(kept),
                    bytes: damaged_bytes,
                },
                None => Lost::Unknown(format!(
                    "the header of {shown}, which counts its groups, is damaged"
                )),
            },
        });
    }
    Ok(covers)
}

fn apply(store: &Store, change: Change) -> anyhow::Result<()> {
    match change {
        Change::Push(push) => push.replay(store)?,
        // The store being restored has no log yet, so it refuses nothing.
        Change::Delete(keys) => {
            store.delete_groups(&keys)?;
        }
        Change::Wipe => {
            store.wipe()?;
        }
        Change::Failure { key, at } => store.record_failure(&key, at),
        other => bail!("unexpected record in a log: {other:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::names::Escaping;
    use crate::exposition::text;
    use crate::grouping::GroupingKey;
    use crate::server::metrics::OWN_TYPES;
    use crate::server::store::{self, Mode};
    use std::io::Write as _;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("pgw-unit-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn push(store: &Store, job: &str, body: &str) {
        let key = GroupingKey::new([("job", job)]);
        let p = store::prepare(key, text::parse(body).unwrap(), SystemTime::now()).unwrap();
        store.push(p, Mode::Replace, SystemTime::now()).unwrap();
    }

    fn log_file(files: &Files, number: u64, first_seq: u64, payloads: &[Vec<u8>]) {
        let mut out = record::LOG_MAGIC.to_vec();
        for (i, p) in payloads.iter().enumerate() {
            record::frame(&mut out, first_seq + i as u64, p);
        }
        fs::File::create(files.segment(number))
            .unwrap()
            .write_all(&out)
            .unwrap();
    }

    fn payload(job: &str, value: u32) -> Vec<u8> {
        let key = GroupingKey::new([("job", job)]);
        let body = format!("v {value}\n");
        let p = store::prepare(key, text::parse(&body).unwrap(), SystemTime::now()).unwrap();
        record::push_payload(&p, Mode::Replace, SystemTime::now())
    }

    fn value(store: &Store, job: &str) -> Option<String> {
        let mut out = Vec::new();
        store.write_exposition(&mut out, &[], Escaping::Underscores);
        let needle = format!("v{{instance=\"\",job=\"{job}\"}} ");
        String::from_utf8(out)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(&needle).map(str::to_string))
    }

    /// A snapshot taken at sequence 2 and a segment that holds records 2 and
    /// 3: the snapshot's cut decides which of them replay.
    #[test]
    fn replay_starts_after_the_snapshots_cut() {
        let dir = Dir::new("cut");
        let files = Files {
            snapshot: dir.0.join("store"),
        };
        let s = Store::new(OWN_TYPES);
        push(&s, "a", "v 2\n");
        journal::write_atomically(&files, |f| record::write_snapshot(f, &s.groups(), 2)).unwrap();
        log_file(&files, 7, 2, &[payload("a", 1), payload("a", 3)]);
        let again = Store::new(OWN_TYPES);
        let loaded = load(&files, &again).unwrap();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(loaded.restored.replayed, 1);
        assert_eq!(loaded.last_seq, 3);
        assert_eq!(value(&again, "a").as_deref(), Some("3"));
    }

    #[test]
    fn lost_records_are_counted_from_the_sequence_gap() {
        let dir = Dir::new("gap");
        let files = Files {
            snapshot: dir.0.join("store"),
        };
        let mut bytes = record::LOG_MAGIC.to_vec();
        for (seq, job) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
            let mut frame = Vec::new();
            record::frame(&mut frame, seq, &payload(job, 1));
            if seq == 2 || seq == 3 {
                let n = frame.len();
                frame[n - 2] ^= 0xFF;
            }
            bytes.extend_from_slice(&frame);
        }
        fs::write(files.segment(1), &bytes).unwrap();
        let store = Store::new(OWN_TYPES);
        let loaded = load(&files, &store).unwrap();
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        assert!(
            matches!(loaded.problems[0].lost, Lost::Records { records: 2, .. }),
            "{:?}",
            loaded.problems
        );
        assert_eq!(store.stats().groups, 2);
    }
}
