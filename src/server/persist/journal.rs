//! The write-ahead log and its compaction.
//!
//! The journal is the store's [`ChangeLog`]: the store hands every change
//! to [`Journal::append`] while it holds its write lock, so sequence numbers follow the order in which the store
//! applied the changes; the send cannot block. One writer thread takes
//! everything queued, writes it with one `write`, makes it durable with one
//! `fdatasync` and then tells every waiter at once (group commit): a burst of
//! concurrent pushes costs one sync, not one each. A request is answered
//! only once it saw its change synced.
//!
//! Segments are made of written zeros ahead of need, and `append` reserves
//! room for each record in them before the store applies the change: a
//! record that fits cannot meet a full disk, and one that finds no room is
//! refused, so the store changes nothing. The spare thread makes the next
//! segment only where it leaves room for a compaction's snapshot, and
//! retries while it cannot; the log takes changes again on its own once it
//! can ([`Space`]). Where the file system allows it, segments are written
//! past the page cache ([`direct`]): a sync then only waits for the disk.
//!
//! The log is a series of segment files beside the snapshot
//! (`FILE.wal.0000000001`, ...); a running server never appends to a segment
//! an earlier run wrote, whose end may be torn. Compaction starts a new
//! segment, takes a consistent cut of the store (its groups and the last
//! sequence number they include, read under one lock), writes it as the new
//! snapshot and deletes the segments before the new one: every record in
//! them is in the snapshot. Records of the new segment that the snapshot
//! already includes are skipped on replay by their sequence number.
//!
//! Files deleted while the server runs are found (after every batch and
//! once a second, [`presence`]): changes from then on are acknowledged only
//! once a compaction has rewritten the snapshot and a new segment from
//! memory, so no acknowledged change depends on a file that is gone.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::server::persist::{direct, presence, record};
use crate::server::store::{self, Change, ChangeLog, Refused, Store, Synced};

/// The log is compacted once it is larger than this and than twice the
/// snapshot: compaction rewrites the whole store, so it should be paid for
/// by a log of at least the store's size.
const MIN_LOG_BYTES: u64 = 64 << 20;
/// Shortest time between two compactions that the interval can ask for.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// At most this much is written in one batch.
const MAX_BATCH_BYTES: usize = 64 << 20;
/// A segment is extended by at least this many zeros at a time: large enough
/// that the metadata sync it costs is rare, small enough to write in a few
/// milliseconds.
const EXTEND_BYTES: u64 = 8 << 20;

/// Where the files are.
#[derive(Debug, Clone)]
pub(crate) struct Files {
    pub(crate) snapshot: PathBuf,
}

impl Files {
    pub(crate) fn dir(&self) -> &Path {
        self.snapshot
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    fn name(&self) -> String {
        self.snapshot
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    pub(crate) fn segment(&self, number: u64) -> PathBuf {
        self.dir().join(format!("{}.wal.{number:010}", self.name()))
    }

    /// The numbers and paths of the log segments, oldest first.
    pub(crate) fn segments(&self) -> anyhow::Result<Vec<(u64, PathBuf)>> {
        let prefix = format!("{}.wal.", self.name());
        let mut found = Vec::new();
        let entries = match fs::read_dir(self.dir()) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot list {}", self.dir().display()))
            }
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok());
            if let Some(number) = number {
                found.push((number, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    fn lock_path(&self) -> PathBuf {
        self.dir().join(format!("{}.lock", self.name()))
    }

    /// Takes the exclusive lock on `FILE.lock`, held until the process
    /// exits: two servers appending to one log would interleave their
    /// sequence numbers and damage it. The file holds the owner's process
    /// id, for the message the second server gives.
    pub(crate) fn lock(&self) -> anyhow::Result<File> {
        let path = self.lock_path();
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        // On a read-only file system an earlier run's lock file is locked
        // as it is: the server then serves the store read-only.
        let (opened, writable) = match opened {
            Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                (File::open(&path), false)
            }
            other => (other, true),
        };
        let mut file =
            opened.with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let owner = fs::read_to_string(&path).unwrap_or_default();
                let owner = match owner.trim() {
                    "" => String::new(),
                    pid => format!(" (process {pid})"),
                };
                anyhow::bail!(
                    "the persistence file {} is in use by another pgw serve{owner}, which holds \
                     the lock on {}; two servers cannot share one store",
                    self.snapshot.display(),
                    path.display()
                );
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        // Only for the message above: a full disk, which the server serves
        // from read-only, is no reason to stop here.
        if !writable {
            return Ok(file);
        }
        if let Err(e) = file
            .set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        {
            crate::warn!(
                "cannot write the process id to the lock file",
                file = path.display(),
                err = e
            );
        }
        Ok(file)
    }

    /// Where the snapshot goes when the snapshot path holds a file pgw did
    /// not write (see [`write_atomically`]).
    pub(crate) fn aside(&self) -> PathBuf {
        self.dir().join(format!("{}.pgw-snapshot", self.name()))
    }

    /// The next segment, made ahead of need: a name no reader looks at.
    pub(crate) fn spare(&self) -> PathBuf {
        self.dir().join(format!("{}.wal.spare", self.name()))
    }

    pub(crate) fn sync_dir(&self) -> std::io::Result<()> {
        File::open(self.dir())?.sync_all()
    }
}

struct Segment {
    file: File,
    path: PathBuf,
    /// Where the records end: the next batch is written here.
    len: u64,
    /// Where the file ends: the bytes from `len` to here are zeros.
    allocated: u64,
    /// Set when the file is written past the page cache ([`direct`]).
    direct: Option<direct::Tail>,
}

impl Segment {
    /// Writes one batch of records after the last one and makes it durable.
    /// The batch fits in the zeros: [`Journal::append`] reserved its room.
    fn append(&mut self, batch: &[u8]) -> std::io::Result<()> {
        let end = self.len + batch.len() as u64;
        // A direct write reaches to the end of the batch's last block.
        let reach = match self.direct {
            Some(_) => end.div_ceil(direct::BLOCK) * direct::BLOCK,
            None => end,
        };
        if reach > self.allocated {
            // Not reached while the reservations add up; growing is still
            // better than losing the batch.
            self.extend(EXTEND_BYTES.max(batch.len() as u64))?;
        }
        match &mut self.direct {
            Some(tail) => tail.write(&self.file, self.len, batch)?,
            None => {
                // Positioned writes (`FileExt`) are Unix-only; the build
                // targets Windows too.
                self.file.seek(SeekFrom::Start(self.len))?;
                self.file.write_all(batch)?;
            }
        }
        self.file.sync_data()?;
        self.len = end;
        Ok(())
    }

    /// Appends `by` zeros and syncs the file with its new size. Zeros
    /// actually written, not `fallocate`: its unwritten extents would still
    /// need a metadata change on the first write into them.
    fn extend(&mut self, by: u64) -> std::io::Result<()> {
        self.allocated += match self.direct {
            Some(_) => direct::extend(&self.file, self.allocated, by)?,
            None => {
                write_zeros(&mut self.file, self.allocated, by)?;
                by
            }
        };
        Ok(())
    }

    /// Cuts the unused zeros off, so that a segment at rest holds only its
    /// records.
    fn close(&mut self) -> anyhow::Result<()> {
        if self.allocated > self.len {
            self.file
                .set_len(self.len)
                .and_then(|()| self.file.sync_all())
                .with_context(|| {
                    format!("cannot truncate the log segment {}", self.path.display())
                })?;
            self.allocated = self.len;
        }
        Ok(())
    }
}

/// A spare segment: its file, holding the magic and `room` zeros, synced.
struct Spare {
    file: File,
    room: u64,
    /// Made to be written past the page cache.
    direct: bool,
}

/// Writes `by` zeros at `at` and syncs the file with its new size.
fn write_zeros(file: &mut File, at: u64, by: u64) -> std::io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    file.seek(SeekFrom::Start(at))?;
    let mut left = by;
    while left > 0 {
        let n = left.min(ZEROS.len() as u64) as usize;
        file.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    file.sync_all()
}

/// What the writer thread is handed, in the order of the reservations.
enum Msg {
    Record(u64, Vec<u8>),
    /// Move on to the claimed spare as segment `number`; compaction waits
    /// for the segment left behind, to close it.
    Roll {
        number: u64,
        done: Option<Sender<anyhow::Result<Option<Segment>>>>,
    },
    /// The files are whole again: tell the waiters held meanwhile.
    Wake,
}

/// The room the log has, reserved record by record under one short lock,
/// so that the store learns before it applies a change whether the log can
/// take it. Segments are full of written zeros, so a record written into
/// reserved room needs no new blocks and cannot meet a full disk.
struct Space {
    /// Zeros of the current segment not promised to any record yet.
    left: u64,
    /// The number of the current segment (or of the claimed spare), or of
    /// the last one an earlier run wrote while this run has none.
    number: u64,
    /// This run has a segment to write to.
    open: bool,
    /// A spare made and synced, not claimed yet.
    ready: Option<Spare>,
    /// A spare claimed for the next segment that the writer has not renamed
    /// yet: no new spare is made under its name until then.
    claimed: Option<Spare>,
    /// The least room the next spare must have (a record that fits no
    /// spare of the usual size asked for it).
    wanted: u64,
    /// Why the last spare could not be made.
    spare_error: Option<String>,
    /// Why changes are refused now; `None` while the log takes them.
    refusing: Option<Arc<str>>,
    /// Set once a write or sync of reserved room failed: the log stops for
    /// good (a failed fsync cannot be retried safely).
    broken: Option<Arc<str>>,
    /// Why the files no longer hold everything acknowledged (one was
    /// deleted), until a compaction has written them again.
    lost: Option<Arc<str>>,
    /// How many times files were found missing: a compaction clears `lost`
    /// only when none went missing while it ran.
    losses: u64,
    /// The last change written while `lost`: its waiters are told once the
    /// files are whole again.
    held: Option<u64>,
}

/// What the writer thread, compaction and the shutdown share.
struct Shared {
    files: Files,
    /// Held, never read: dropping it would release the lock. Replaced when
    /// the lock file was deleted.
    lock: Mutex<File>,
    interval: Duration,
    tx: Sender<Msg>,
    segment: Mutex<Option<Segment>>,
    space: Mutex<Space>,
    /// Held while a spare is made: by the spare thread or a compaction.
    making: Mutex<()>,
    /// Older segments that the snapshot does not include yet.
    older: Mutex<Vec<PathBuf>>,
    /// Bytes written to the log since the last snapshot.
    log_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    last_compaction: Mutex<Instant>,
    /// No compaction before this: the last one found no room.
    compaction_put_off: Mutex<Option<Instant>>,
    compacting: AtomicBool,
    /// One compaction at a time.
    compaction: Mutex<()>,
    /// Asks the spare thread for a new spare.
    spare_wanted: Sender<()>,
    /// Set at shutdown: no more spares.
    closing: AtomicBool,
    /// Asks the compaction thread for a compaction.
    compaction_wanted: Sender<()>,
}

impl Shared {
    /// Sets why changes are refused (`None`: they are taken again), with a
    /// log line when that changes.
    fn set_refusing(&self, space: &mut Space, why: Option<Arc<str>>) {
        match (&space.refusing, &why) {
            (None, Some(why)) => crate::error!(
                "the persistence log cannot take changes; pushes are refused with 507 until it can",
                err = why
            ),
            (Some(_), None) => crate::info!(
                "the persistence log takes changes again",
                file = self.files.snapshot.display()
            ),
            _ => {}
        }
        space.refusing = why;
    }
}

pub(crate) struct Journal {
    appended: AtomicU64,
    synced: watch::Receiver<Synced>,
    shared: Arc<Shared>,
    /// The compaction requests, until [`Journal::compact_in_background`]
    /// takes them.
    compaction: Mutex<Option<Receiver<()>>>,
}

/// A compaction found no room for its new segment.
#[derive(Debug, thiserror::Error)]
#[error("no new log segment for the compaction")]
struct NoRoom;

/// True when `e` is a lack of room on the disk (full, over quota,
/// read-only) rather than damage or a foreign file.
pub(crate) fn lack_of_space(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind;
    // A context is found by `downcast_ref`, not in the chain's types.
    e.downcast_ref::<NoRoom>().is_some()
        || e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    ErrorKind::StorageFull
                        | ErrorKind::QuotaExceeded
                        | ErrorKind::ReadOnlyFilesystem
                )
            })
        })
}

/// The bytes `record::frame` puts before a payload.
const FRAME_BYTES: u64 = 24;
/// The smallest spare worth making: a few node_exporter pushes.
const MIN_SPARE: u64 = 256 << 10;
/// Free space a spare always leaves beside the room for a compaction.
const MARGIN: u64 = 256 << 10;

impl ChangeLog for Journal {
    fn encode(&self, change: &Change<'_>) -> Vec<u8> {
        record::payload(change)
    }

    fn make_room(&self, bytes: usize) {
        let need = bytes as u64 + FRAME_BYTES;
        {
            let space = self.shared.space.lock();
            let fits =
                need <= space.left || space.ready.as_ref().is_some_and(|spare| spare.room >= need);
            // On a full disk the spare thread is trying already; only a
            // record no usual spare holds is worth trying for here.
            if fits || space.broken.is_some() || (space.refusing.is_some() && need <= EXTEND_BYTES)
            {
                return;
            }
        }
        if let Err(e) = make_spare(&self.shared, need) {
            self.shared.space.lock().spare_error = Some(format!("{e:#}"));
        }
    }

    fn append(&self, record: Vec<u8>) -> Result<u64, Refused> {
        let need = record.len() as u64 + FRAME_BYTES;
        let shared = &self.shared;
        let mut space = shared.space.lock();
        if let Some(why) = &space.broken {
            return Err(Refused(why.clone()));
        }
        if need > space.left {
            match space.ready.take() {
                Some(spare) if spare.room >= need && space.claimed.is_none() => {
                    space.left = spare.room;
                    space.claimed = Some(spare);
                    space.number += 1;
                    let number = space.number;
                    // Sent under the lock, so the writer sees the roll after
                    // every record reserved in the old segment.
                    let _ = shared.tx.send(Msg::Roll { number, done: None });
                }
                ready => {
                    space.ready = ready;
                    space.wanted = space.wanted.max(need);
                    let why = refusal(&shared.files, &space, need);
                    shared.set_refusing(&mut space, Some(why.clone()));
                    let _ = shared.spare_wanted.send(());
                    return Err(Refused(why));
                }
            }
        }
        space.left -= need;
        let seq = self.appended.fetch_add(1, Ordering::SeqCst) + 1;
        // The receiver lives as long as the process; if the writer thread
        // died, `wait` reports it.
        let _ = shared.tx.send(Msg::Record(seq, record));
        Ok(seq)
    }

    fn appended(&self) -> u64 {
        self.appended.load(Ordering::SeqCst)
    }

    fn synced(&self) -> watch::Receiver<Synced> {
        self.synced.clone()
    }
}

/// Why a record of `need` bytes finds no room, naming the files.
fn refusal(files: &Files, space: &Space, need: u64) -> Arc<str> {
    let current = if space.open {
        format!(
            "the log segment {} is full",
            files.segment(space.number).display()
        )
    } else {
        "no log segment could be made at start-up".to_string()
    };
    let spare = match &space.spare_error {
        Some(e) => format!("no new segment can be made: {e}"),
        None => format!(
            "the next segment {} is still being made",
            files.spare().display()
        ),
    };
    format!("{current} ({need} bytes needed) and {spare}").into()
}

/// How the persistence files stand.
#[derive(Debug, Clone)]
pub(crate) struct JournalStatus {
    /// The last change on disk.
    pub(crate) synced_seq: u64,
    /// Why the log refuses changes, if it does.
    pub(crate) error: Option<String>,
    pub(crate) log_bytes: u64,
    pub(crate) snapshot_bytes: u64,
    pub(crate) since_compaction: Duration,
}

/// Where a restored store left the files.
pub(crate) struct Start {
    /// The last sequence number in the files.
    pub(crate) last_seq: u64,
    /// Segments that still hold records.
    pub(crate) segments: Vec<PathBuf>,
    pub(crate) next_segment: u64,
    pub(crate) log_bytes: u64,
    pub(crate) snapshot_bytes: u64,
    /// The lock on the files, from [`Files::lock`].
    pub(crate) lock: File,
}

impl Journal {
    /// Opens a new segment and starts the writer thread. The store given
    /// this journal logs to it from then on; compactions wait for
    /// [`Journal::compact_in_background`].
    ///
    /// A disk that is full or read-only does not stop the start: the store
    /// is served as it was loaded, every change is refused until the spare
    /// thread can make a segment, and nothing is left behind that the next
    /// start would trip over.
    pub(crate) fn start(
        files: Files,
        start: Start,
        interval: Duration,
    ) -> anyhow::Result<Arc<Journal>> {
        // A spare left by an earlier run holds no record: records are
        // written to a spare only once it is renamed into a segment.
        match fs::remove_file(files.spare()) {
            Ok(()) => crate::info!(
                "removed the spare log segment of an earlier run (a spare never holds records)",
                file = files.spare().display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => crate::warn!(
                "cannot remove the spare log segment an earlier run left",
                file = files.spare().display(),
                err = e
            ),
        }
        let (spare_wanted, spare_rx) = mpsc::channel();
        let (compaction_wanted, compaction_rx) = mpsc::channel();
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            files,
            lock: Mutex::new(start.lock),
            interval,
            tx,
            segment: Mutex::new(None),
            space: Mutex::new(Space {
                left: 0,
                number: start.next_segment - 1,
                open: false,
                ready: None,
                claimed: None,
                wanted: 0,
                spare_error: None,
                refusing: None,
                broken: None,
                lost: None,
                losses: 0,
                held: None,
            }),
            making: Mutex::new(()),
            older: Mutex::new(start.segments),
            log_bytes: AtomicU64::new(start.log_bytes),
            snapshot_bytes: AtomicU64::new(start.snapshot_bytes),
            last_compaction: Mutex::new(Instant::now()),
            compaction_put_off: Mutex::new(None),
            compacting: AtomicBool::new(false),
            compaction: Mutex::new(()),
            spare_wanted,
            closing: AtomicBool::new(false),
            compaction_wanted,
        });
        // The first segment is made as a spare and renamed, at once: a push
        // right after the start finds room, and a start that cannot write
        // leaves no empty segment.
        let first = make_spare(&shared, 0).and_then(|()| {
            let mut space = shared.space.lock();
            let spare = space.ready.take().context("no room for a log segment")?;
            space.left = spare.room;
            space.claimed = Some(spare);
            space.number += 1;
            let number = space.number;
            drop(space);
            roll(&shared, number)
        });
        match first {
            Ok(None) => {}
            Ok(Some(_)) => unreachable!("no segment before the first"),
            Err(e) => {
                let why: Arc<str> = format!("{e:#}").into();
                let mut space = shared.space.lock();
                space.spare_error = Some(why.to_string());
                space.number = start.next_segment - 1;
                space.open = false;
                space.left = 0;
                let why = refusal(&shared.files, &space, 0);
                shared.set_refusing(&mut space, Some(why));
            }
        }
        let spare_shared = shared.clone();
        std::thread::Builder::new()
            .name("pgw-log-spare".into())
            .spawn(move || spare_loop(&spare_shared, &spare_rx))
            .context("cannot start the log spare thread")?;
        let _ = shared.spare_wanted.send(());
        let (synced_tx, synced) = watch::channel(Synced {
            seq: start.last_seq,
            error: None,
        });
        let journal = Arc::new(Journal {
            appended: AtomicU64::new(start.last_seq),
            synced,
            shared: shared.clone(),
            compaction: Mutex::new(Some(compaction_rx)),
        });
        std::thread::Builder::new()
            .name("pgw-log".into())
            .spawn(move || write_loop(&shared, &rx, &synced_tx))
            .context("cannot start the log writer thread")?;
        Ok(journal)
    }

    /// Starts the thread that compacts the log into a snapshot of `store`
    /// whenever the writer finds a compaction due. Called once, with the
    /// store this journal is the log of.
    pub(crate) fn compact_in_background(self: &Arc<Self>, store: Arc<Store>) -> anyhow::Result<()> {
        let Some(wanted) = self.compaction.lock().take() else {
            return Ok(());
        };
        let journal = self.clone();
        std::thread::Builder::new()
            .name("pgw-compact".into())
            .spawn(move || {
                while wanted.recv().is_ok() {
                    let started = Instant::now();
                    match journal.compact(&store) {
                        Ok(()) => crate::debug!(
                            "compacted the log into the snapshot",
                            file = journal.shared.files.snapshot.display(),
                            ms = started.elapsed().as_millis()
                        ),
                        Err(e) => crate::error!("cannot compact the log", err = format!("{e:#}")),
                    }
                    journal.shared.compacting.store(false, Ordering::SeqCst);
                }
            })
            .context("cannot start the compaction thread")?;
        Ok(())
    }

    /// Waits until every change up to `seq` is on disk.
    pub(crate) async fn wait(&self, seq: u64) -> Result<(), Arc<str>> {
        store::wait_synced(self.synced.clone(), seq).await
    }

    /// Why the log refuses changes now, or `None` while it takes them: for
    /// `/-/ready`, the status and `pgw_persistence_healthy`.
    pub(crate) fn unhealthy(&self) -> Option<Arc<str>> {
        let space = self.shared.space.lock();
        space
            .broken
            .clone()
            .or_else(|| space.lost.clone())
            .or_else(|| space.refusing.clone())
    }

    /// How the files stand, for the status view.
    pub(crate) fn status(&self) -> JournalStatus {
        let synced = self.synced.borrow().clone();
        JournalStatus {
            synced_seq: synced.seq,
            error: self.unhealthy().map(|e| e.to_string()),
            log_bytes: self.shared.log_bytes.load(Ordering::Relaxed),
            snapshot_bytes: self.shared.snapshot_bytes.load(Ordering::Relaxed),
            since_compaction: self.shared.last_compaction.lock().elapsed(),
        }
    }

    /// Writes a snapshot of `store` and drops the log it includes.
    pub(crate) fn compact(&self, store: &Store) -> anyhow::Result<()> {
        compact(&self.shared, store)
    }

    /// At shutdown, once the log is synced: cuts the zeros off the segment
    /// being written and removes the spare.
    pub(crate) fn close(&self) -> anyhow::Result<()> {
        {
            // Under the space lock, so that the spare thread either has
            // handed its file over (removed here) or sees `closing`.
            let mut space = self.shared.space.lock();
            self.shared.closing.store(true, Ordering::SeqCst);
            space.ready.take();
            let path = self.shared.files.spare();
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    crate::warn!(
                        "cannot remove the spare log segment",
                        file = path.display(),
                        err = e
                    )
                }
                _ => {}
            }
        }
        match self.shared.segment.lock().as_mut() {
            Some(segment) => segment.close(),
            None => Ok(()),
        }
    }
}

fn write_loop(shared: &Shared, rx: &Receiver<Msg>, synced: &watch::Sender<Synced>) {
    let mut buf = Vec::new();
    let mut pending = Vec::new();
    loop {
        // Wakes up now and then with no change, for the time-based
        // compaction.
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(msg) => {
                pending.push(msg);
                let mut bytes = 0;
                while bytes < MAX_BATCH_BYTES {
                    let Ok(msg) = rx.try_recv() else {
                        break;
                    };
                    if let Msg::Record(_, payload) = &msg {
                        bytes += payload.len();
                    }
                    pending.push(msg);
                }
                // A burst can leave a large buffer behind; keep a modest one.
                if buf.capacity() > 8 << 20 {
                    buf = Vec::new();
                }
                buf.clear();
                let mut last = None;
                for msg in pending.drain(..) {
                    match msg {
                        Msg::Record(seq, payload) => {
                            record::frame(&mut buf, seq, &payload);
                            last = Some(seq);
                        }
                        Msg::Roll { number, done } => {
                            // What was reserved in the old segment goes there.
                            write_batch(shared, &buf, last.take(), synced);
                            buf.clear();
                            let rolled = if shared.space.lock().broken.is_some() {
                                Err(anyhow::anyhow!("the log stopped"))
                            } else {
                                roll(shared, number)
                            };
                            let rolled = match rolled {
                                Ok(old) => Ok(old),
                                Err(e) => {
                                    broken(shared, synced, &e);
                                    Err(e)
                                }
                            };
                            if let Some(done) = done {
                                let _ = done.send(rolled);
                            }
                        }
                        Msg::Wake => {}
                    }
                }
                write_batch(shared, &buf, last, synced);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if shared.space.lock().broken.is_some() {
            continue;
        }
        check_presence(shared);
        release_held(shared, synced);
        if compaction_due(shared) {
            start_compaction(shared);
        }
    }
}

/// Looks for the files that hold what was acknowledged: the snapshot once
/// there is one, the segments it does not include, the current segment.
fn check_presence(shared: &Shared) {
    if shared.space.lock().lost.is_some() {
        return;
    }
    let files = &shared.files;
    let why = shared
        .segment
        .lock()
        .as_ref()
        .and_then(|s| presence::gone(&s.file, &s.path))
        .or_else(|| {
            let snapshot = shared.snapshot_bytes.load(Ordering::Relaxed) > 0;
            snapshot
                .then(|| presence::missing(&files.snapshot))
                .flatten()
        })
        .or_else(|| {
            shared
                .older
                .lock()
                .iter()
                .find_map(|p| presence::missing(p))
        });
    if let Some(why) = why {
        lose(shared, why);
    }
}

/// A file that holds acknowledged changes is gone: from now on changes
/// are acknowledged only once a compaction has written the files again.
fn lose(shared: &Shared, why: String) {
    let mut space = shared.space.lock();
    space.losses += 1;
    if space.lost.is_none() {
        crate::error!(
            "a persistence file was deleted while pgw serve ran; the snapshot and log are \
             written again from memory, and pushes are answered once that is done",
            err = why
        );
        space.lost = Some(format!("{why}; the files are being written again from memory").into());
    }
    drop(space);
    start_compaction(shared);
}

/// Tells the waiters held while files were missing, once they are whole.
fn release_held(shared: &Shared, synced: &watch::Sender<Synced>) {
    let held = {
        let mut space = shared.space.lock();
        if space.lost.is_some() {
            return;
        }
        space.held.take()
    };
    if let Some(seq) = held {
        synced.send_modify(|s| s.seq = s.seq.max(seq));
    }
}

/// Writes a batch whose room was reserved into the current segment, syncs
/// it and tells the waiters up to `last`.
fn write_batch(shared: &Shared, buf: &[u8], last: Option<u64>, synced: &watch::Sender<Synced>) {
    let Some(last) = last else {
        return;
    };
    if synced.borrow().error.is_some() {
        return;
    }
    let written = match shared.segment.lock().as_mut() {
        Some(segment) => segment
            .append(buf)
            .map(|()| presence::gone(&segment.file, &segment.path))
            .with_context(|| format!("cannot write the log {}", segment.path.display())),
        None => Err(anyhow::anyhow!("no log segment is open")),
    };
    match written {
        Ok(gone) => {
            shared
                .log_bytes
                .fetch_add(buf.len() as u64, Ordering::Relaxed);
            if let Some(why) = gone {
                lose(shared, why);
            }
            let mut space = shared.space.lock();
            if space.lost.is_some() {
                space.held = Some(last);
            } else {
                let held = space.held.take().unwrap_or(0);
                drop(space);
                synced.send_modify(|s| s.seq = last.max(held));
            }
        }
        Err(e) => broken(shared, synced, &e),
    }
}

/// A write or sync into reserved room failed (an I/O error, not a full
/// disk): a failed fsync cannot be retried safely (the kernel may have
/// dropped the dirty pages), so the log stops; the changes waiting are
/// answered with an error and every later one is refused.
fn broken(shared: &Shared, synced: &watch::Sender<Synced>, e: &anyhow::Error) {
    let msg: Arc<str> = format!("{e:#}").into();
    crate::error!(
        "the log cannot be written; changes are no longer durable and are refused until a restart",
        err = msg
    );
    shared.space.lock().broken.get_or_insert(msg.clone());
    synced.send_modify(|s| {
        s.error.get_or_insert(msg);
    });
}

/// Turns the claimed spare into segment `number`: a rename and a directory
/// sync, where growing a segment would write and sync megabytes while
/// requests wait. Returns the segment left behind.
fn roll(shared: &Shared, number: u64) -> anyhow::Result<Option<Segment>> {
    let (spare, path) = (shared.files.spare(), shared.files.segment(number));
    // Records go into the file only once its new name is durable: a spare
    // found at start-up never holds any. The spare stays claimed until the
    // rename is done, so no new spare is made under its name before.
    let renamed = fs::rename(&spare, &path)
        .and_then(|()| shared.files.sync_dir())
        .with_context(|| {
            format!(
                "cannot turn the spare log segment {} into {}",
                spare.display(),
                path.display()
            )
        });
    let claimed = shared.space.lock().claimed.take();
    let _ = shared.spare_wanted.send(());
    renamed?;
    let spare = claimed.context("no spare log segment was claimed")?;
    let len = record::LOG_MAGIC.len() as u64;
    let next = Segment {
        file: spare.file,
        path,
        len,
        allocated: len + spare.room,
        direct: spare.direct.then(|| direct::Tail::new(record::LOG_MAGIC)),
    };
    shared.space.lock().open = true;
    let old = shared.segment.lock().replace(next);
    if let Some(old) = &old {
        // The old segment keeps its zero tail, which a reader takes as its
        // end: cutting it here would cost a sync while requests wait.
        // Compaction deletes it.
        shared.older.lock().push(old.path.clone());
    }
    Ok(old)
}

/// Makes a spare segment whenever asked and none is ready; while it cannot,
/// tries again with a growing pause, so that pushes work again on their own
/// once there is room.
fn spare_loop(shared: &Shared, wanted: &Receiver<()>) {
    const FIRST: Duration = Duration::from_millis(100);
    const LAST: Duration = Duration::from_secs(5);
    let mut pause: Option<Duration> = None;
    loop {
        let asked = match pause {
            None => wanted.recv().is_ok(),
            Some(p) => !matches!(wanted.recv_timeout(p), Err(RecvTimeoutError::Disconnected)),
        };
        if !asked || shared.closing.load(Ordering::SeqCst) {
            return;
        }
        match make_spare(shared, 0) {
            Ok(()) => pause = None,
            Err(e) => {
                let e = format!("{e:#}");
                let mut space = shared.space.lock();
                if space.spare_error.as_deref() != Some(e.as_str()) {
                    crate::warn!("cannot make a spare log segment", err = e);
                }
                space.spare_error = Some(e);
                pause = Some(pause.map_or(FIRST, |p| (p * 2).min(LAST)));
            }
        }
    }
}

/// Makes the spare, unless one is ready or claimed: the magic and zeros,
/// synced. Its size is what the disk can give without taking the room a
/// compaction needs (see [`spare_room`]). A spare that cannot be finished
/// is removed.
fn make_spare(shared: &Shared, at_least: u64) -> anyhow::Result<()> {
    let _one = shared.making.lock();
    let wanted = {
        let mut space = shared.space.lock();
        if space.claimed.is_some() || space.broken.is_some() {
            return Ok(());
        }
        // Asked for once: when it cannot be had, the next spare is of the
        // usual size again, for the records that fit one.
        let wanted = std::mem::take(&mut space.wanted).max(at_least);
        match &space.ready {
            Some(spare)
                if spare.room >= wanted
                    && presence::gone(&spare.file, &shared.files.spare()).is_none() =>
            {
                return Ok(())
            }
            // Too small for the record that asked: made again, larger.
            Some(_) => space.ready = None,
            None => {}
        }
        wanted
    };
    let path = shared.files.spare();
    // Nothing is ready or claimed, so a file under the spare's name is one
    // that could not be finished or removed (a read-only disk at start-up):
    // its room is given back before the free space is judged.
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => {}
    }
    let room = spare_room(shared, wanted)?;
    let made = direct::create(&path).and_then(|(mut file, direct)| {
        let room = if direct {
            direct::fill(&file, record::LOG_MAGIC, room)?
        } else {
            file.write_all(record::LOG_MAGIC)?;
            write_zeros(&mut file, record::LOG_MAGIC.len() as u64, room)?;
            room
        };
        Ok(Spare { file, room, direct })
    });
    let spare = match made {
        Ok(spare) => spare,
        Err(e) => {
            let _ = fs::remove_file(&path);
            return Err(e).with_context(|| format!("cannot make {}", path.display()));
        }
    };
    let mut space = shared.space.lock();
    if shared.closing.load(Ordering::SeqCst) {
        drop(spare);
        let _ = fs::remove_file(&path);
        return Ok(());
    }
    space.ready = Some(spare);
    space.spare_error = None;
    if space.broken.is_none() {
        shared.set_refusing(&mut space, None);
    }
    Ok(())
}

/// How many zeros the next spare holds: `EXTEND_BYTES` (or the record that
/// asked for more) where the disk has room for it, a compaction's snapshot
/// and a margin; less on a small disk, down to `MIN_SPARE`; an error naming
/// the space when not even that fits.
fn spare_room(shared: &Shared, wanted: u64) -> anyhow::Result<u64> {
    let want = EXTEND_BYTES.max(wanted);
    let dir = shared.files.dir();
    let free = match free_bytes(dir) {
        None => return Ok(want),
        Some(Ok(free)) => free,
        Some(Err(())) => anyhow::bail!("{} is on a read-only file system", dir.display()),
    };
    // The next snapshot holds what the last one did and what the log added
    // since: room for it stays free, so a compaction can always run.
    let snapshot =
        shared.snapshot_bytes.load(Ordering::Relaxed) + shared.log_bytes.load(Ordering::Relaxed);
    let keep = snapshot + MARGIN;
    let least = MIN_SPARE.max(wanted);
    let can = free.saturating_sub(keep);
    if can < least {
        anyhow::bail!(
            "{} has {} free, and a log segment of {} needs that and {} kept for the next \
             snapshot and a margin",
            dir.display(),
            size(free),
            size(least),
            size(keep)
        );
    }
    Ok(want.min(can))
}

fn size(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// The bytes an unprivileged process may still write on the file system
/// of `dir` (an error when it is mounted read-only); `None` where that
/// cannot be read.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<Result<u64, ()>> {
    let s = rustix::fs::statvfs(dir).ok()?;
    if s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
        return Some(Err(()));
    }
    Some(Ok(s.f_bavail.saturating_mul(s.f_frsize)))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<Result<u64, ()>> {
    None
}

fn compaction_due(shared: &Shared) -> bool {
    if shared.space.lock().lost.is_some() {
        return !shared.compacting.load(Ordering::SeqCst);
    }
    if shared
        .compaction_put_off
        .lock()
        .is_some_and(|until| Instant::now() < until)
    {
        return false;
    }
    let log = shared.log_bytes.load(Ordering::Relaxed);
    let snapshot = shared.snapshot_bytes.load(Ordering::Relaxed);
    // A zero interval would compact after every write.
    let interval = shared.interval.max(MIN_INTERVAL);
    log > MIN_LOG_BYTES.max(2 * snapshot)
        || (log > 0 && shared.last_compaction.lock().elapsed() >= interval)
}

/// Asks the compaction thread for a compaction, unless one is running.
fn start_compaction(shared: &Shared) {
    if shared.compacting.swap(true, Ordering::SeqCst) {
        return;
    }
    if shared.compaction_wanted.send(()).is_err() {
        shared.compacting.store(false, Ordering::SeqCst);
    }
}

fn compact(shared: &Shared, store: &Store) -> anyhow::Result<()> {
    let _one_at_a_time = shared.compaction.lock();
    let result = compact_now(shared, store);
    // A disk too full for a new segment is tried again later, not at
    // every wake-up of the writer.
    *shared.compaction_put_off.lock() = match &result {
        Err(e) if lack_of_space(e) => Some(Instant::now() + COMPACTION_PUT_OFF),
        _ => None,
    };
    result
}

/// How long a compaction that found no room is put off.
const COMPACTION_PUT_OFF: Duration = Duration::from_secs(30);
/// How many times a compaction makes a spare that the log keeps rolling
/// onto before it, before it gives up for now.
const SPARE_TRIES: u32 = 100;

fn compact_now(shared: &Shared, store: &Store) -> anyhow::Result<()> {
    let losses = {
        let space = shared.space.lock();
        space.lost.is_some().then_some(space.losses)
    };
    if losses.is_some() {
        restore_dir(shared)?;
    }
    // Changes from here on go to a new segment, which the snapshot does not
    // replace; everything in the older ones is in the cut taken after.
    let (covered, old) = {
        let (tx, rx) = mpsc::channel();
        let mut tries = 0;
        loop {
            make_spare(shared, 0).map_err(|e| e.context(NoRoom))?;
            let mut space = shared.space.lock();
            let Some(spare) = space.ready.take() else {
                // A busy log can roll onto the spare just made (or still be
                // renaming the one it claimed): that is no lack of room, and
                // putting the compaction off for it would let the log grow.
                tries += 1;
                if space.spare_error.is_none() && tries < SPARE_TRIES {
                    drop(space);
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let why = space.spare_error.clone();
                return Err(anyhow::anyhow!(
                    "{}",
                    why.unwrap_or_else(|| "the spare was taken".into())
                )
                .context(NoRoom));
            };
            space.left = spare.room;
            space.claimed = Some(spare);
            space.number += 1;
            let number = space.number;
            // Under the lock: every record reserved in the old segment is
            // queued before the roll.
            let _ = shared.tx.send(Msg::Roll {
                number,
                done: Some(tx),
            });
            break;
        }
        let old = rx.recv().context("the log writer stopped")??;
        let covered = std::mem::take(&mut *shared.older.lock());
        (covered, old)
    };
    // Nothing writes to the old segment any more. If the snapshot fails it
    // stays, and a file at rest holds no zeros; the reader accepts them all
    // the same, so a failure here is only worth a warning.
    if let Some(mut old) = old {
        if let Err(e) = old.close() {
            crate::warn!(
                "cannot truncate a finished log segment",
                err = format!("{e:#}")
            );
        }
    }
    shared.log_bytes.store(0, Ordering::Relaxed);
    *shared.last_compaction.lock() = Instant::now();
    let result = (|| {
        let (groups, seq) = store.cut();
        let size = write_atomically(&shared.files, |f| record::write_snapshot(f, &groups, seq))?;
        shared.snapshot_bytes.store(size, Ordering::Relaxed);
        Ok(())
    })();
    if result.is_err() {
        // Still needed: the snapshot on disk does not include them.
        let mut older = shared.older.lock();
        let newer = std::mem::replace(&mut *older, covered);
        older.extend(newer);
        return result;
    }
    for path in &covered {
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => crate::warn!(
                "cannot delete a compacted log segment",
                file = path.display(),
                err = e
            ),
            _ => {}
        }
    }
    if let Some(losses) = losses {
        let mut space = shared.space.lock();
        if space.losses == losses {
            space.lost = None;
            let _ = shared.tx.send(Msg::Wake);
            crate::info!(
                "the persistence files hold the whole store again",
                file = shared.files.snapshot.display()
            );
        }
    }
    Ok(())
}

/// Before files deleted while the server ran are written again: their
/// directory and the lock file, if those went too.
fn restore_dir(shared: &Shared) -> anyhow::Result<()> {
    let dir = shared.files.dir();
    fs::create_dir_all(dir).with_context(|| format!("cannot make {}", dir.display()))?;
    if presence::missing(&shared.files.lock_path()).is_some() {
        let mut lock = shared.lock.lock();
        *lock = shared.files.lock()?;
    }
    Ok(())
}

/// Writes the snapshot to a temporary file, syncs it, renames it over the
/// snapshot and syncs the directory: the snapshot on disk is always a whole
/// one.
///
/// Only a snapshot of pgw's own is replaced. When another program has put a
/// file of its own at the path since pgw read it (an official Pushgateway
/// pointed at the same path, a restore gone wrong), that file is left
/// untouched, the snapshot is written beside it as `FILE.pgw-snapshot`, and
/// an error names both: the caller keeps the log segments, so the store is
/// whole in the aside snapshot and the log.
pub(crate) fn write_atomically(
    files: &Files,
    write: impl FnOnce(&mut direct::Writer) -> std::io::Result<u64>,
) -> anyhow::Result<u64> {
    let path = &files.snapshot;
    let Some(why) = not_pgws(path) else {
        return replace(files, path, write);
    };
    let aside = files.aside();
    replace(files, &aside, write)?;
    anyhow::bail!(
        "{} is no longer pgw's snapshot ({why}): another program put it there after pgw \
         started, so pgw left it untouched and wrote the snapshot to {} instead, and keeps its \
         log segments; before the next start, move {} away and rename {} to {}",
        path.display(),
        aside.display(),
        path.display(),
        aside.display(),
        path.display()
    )
}

/// Why the file at `path` is not a pgw snapshot, or `None` when it is one or
/// there is none. Its magic is what counts: pgw only ever renames a whole
/// snapshot into place, so anything else was put there by someone else.
fn not_pgws(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("it cannot be read: {e}")),
    };
    let mut head = Vec::with_capacity(64);
    if let Err(e) = file.take(64).read_to_end(&mut head) {
        return Some(format!("it cannot be read: {e}"));
    }
    if head.starts_with(record::SNAPSHOT_MAGIC) {
        None
    } else if head.is_empty() {
        Some("it is empty".into())
    } else if crate::server::persist::official::looks_official(&head) {
        Some("it is the official Pushgateway's persistence file".into())
    } else {
        Some("it does not start like a pgw snapshot".into())
    }
}

/// Has `write` write `FILE.tmp`, syncs it and renames it to `target`.
/// Returns the size `write` gives.
fn replace(
    files: &Files,
    target: &Path,
    write: impl FnOnce(&mut direct::Writer) -> std::io::Result<u64>,
) -> anyhow::Result<u64> {
    let mut name = files
        .snapshot
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    name.push(".tmp");
    let tmp = files.snapshot.with_file_name(name);
    let result = (|| -> anyhow::Result<u64> {
        let mut w = direct::Writer::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let size = write(&mut w)
            .and_then(|size| w.finish()?.sync_all().map(|()| size))
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, target)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
        files
            .sync_dir()
            .with_context(|| format!("cannot sync {}", files.dir().display()))?;
        Ok(size)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compaction that meets the log rolling onto the spare (claimed by
    /// a push whose record no longer fits, not renamed by the writer yet)
    /// waits for the next spare: it is no lack of room, and putting the
    /// compaction off for it let the log grow for half a minute.
    #[test]
    fn a_compaction_waits_for_a_spare_the_log_is_rolling_onto() {
        let dir = std::env::temp_dir().join(format!("pgw-unit-roll-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let files = Files {
            snapshot: dir.join("store"),
        };
        let lock = files.lock().unwrap();
        let start = Start {
            last_seq: 0,
            segments: Vec::new(),
            next_segment: 1,
            log_bytes: 0,
            snapshot_bytes: 0,
            lock,
        };
        let journal = Journal::start(files, start, Duration::from_secs(300)).unwrap();
        let shared = journal.shared.clone();
        for _ in 0..500 {
            if shared.space.lock().ready.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        {
            let mut space = shared.space.lock();
            let spare = space.ready.take().expect("the spare thread made a spare");
            space.claimed = Some(spare);
        }
        // The roll finishes, and a spare is ready again, a little later.
        let later = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut space = shared.space.lock();
            space.ready = space.claimed.take();
        });
        let store = Store::new(crate::server::metrics::OWN_TYPES);
        journal.compact(&store).unwrap();
        later.join().unwrap();
        journal.close().unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The reservation counts the frame the writer puts around a payload;
    /// if the frame grew, records would overrun the room reserved for them.
    #[test]
    fn frame_bytes_is_the_frame_record_writes() {
        for payload in [&b""[..], b"x", &[7u8; 1000]] {
            let mut out = Vec::new();
            record::frame(&mut out, 42, payload);
            assert_eq!(out.len() as u64, payload.len() as u64 + FRAME_BYTES);
        }
    }
}
