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
//! The log is a series of segment files beside the snapshot
//! (`FILE.wal.0000000001`, ...); a running server never appends to a segment
//! an earlier run wrote, whose end may be torn. Compaction starts a new
//! segment, takes a consistent cut of the store (its groups and the last
//! sequence number they include, read under one lock), writes it as the new
//! snapshot and deletes the segments before the new one: every record in
//! them is in the snapshot. Records of the new segment that the snapshot
//! already includes are skipped on replay by their sequence number.

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

use crate::server::persist::record;
use crate::server::store::{self, Change, ChangeLog, Store, Synced};

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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
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
        file.set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .with_context(|| format!("cannot write to the lock file {}", path.display()))?;
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
    number: u64,
    /// Where the records end: the next batch is written here.
    len: u64,
    /// Where the file ends: the bytes from `len` to here are zeros.
    allocated: u64,
}

impl Segment {
    /// Writes one batch of records after the last one and makes it durable.
    fn append(&mut self, batch: &[u8]) -> std::io::Result<()> {
        let end = self.len + batch.len() as u64;
        if end > self.allocated {
            self.extend(EXTEND_BYTES.max(batch.len() as u64))?;
        }
        // Positioned writes (`FileExt`) are Unix-only; the build targets
        // Windows too.
        self.file.seek(SeekFrom::Start(self.len))?;
        self.file.write_all(batch)?;
        self.file.sync_data()?;
        self.len = end;
        Ok(())
    }

    /// Appends `by` zeros and syncs the file with its new size. Zeros
    /// actually written, not `fallocate`: its unwritten extents would still
    /// need a metadata change on the first write into them.
    fn extend(&mut self, by: u64) -> std::io::Result<()> {
        write_zeros(&mut self.file, self.allocated, by)?;
        self.allocated += by;
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

/// What the writer thread, compaction and the shutdown share.
struct Shared {
    files: Files,
    /// Held, never read: dropping it would release the lock.
    _lock: File,
    interval: Duration,
    segment: Mutex<Segment>,
    /// Older segments that the snapshot does not include yet.
    older: Mutex<Vec<PathBuf>>,
    /// Bytes written to the log since the last snapshot.
    log_bytes: AtomicU64,
    snapshot_bytes: AtomicU64,
    last_compaction: Mutex<Instant>,
    compacting: AtomicBool,
    /// One compaction at a time.
    compaction: Mutex<()>,
    /// The next segment, already written full of zeros and synced by the
    /// spare thread; see [`take_spare`].
    spare: Mutex<Option<File>>,
    /// Asks the spare thread for a new spare.
    spare_wanted: Sender<()>,
    /// Set at shutdown: no more spares.
    closing: AtomicBool,
    /// Asks the compaction thread for a compaction.
    compaction_wanted: Sender<()>,
}

pub(crate) struct Journal {
    tx: Sender<(u64, Vec<u8>)>,
    appended: AtomicU64,
    synced: watch::Receiver<Synced>,
    shared: Arc<Shared>,
    /// The compaction requests, until [`Journal::compact_in_background`]
    /// takes them.
    compaction: Mutex<Option<Receiver<()>>>,
}

impl ChangeLog for Journal {
    fn encode(&self, change: &Change<'_>) -> Vec<u8> {
        record::payload(change)
    }

    fn append(&self, record: Vec<u8>) -> u64 {
        let seq = self.appended.fetch_add(1, Ordering::SeqCst) + 1;
        // The receiver lives as long as the process; if the writer thread
        // died, `wait` reports it.
        let _ = self.tx.send((seq, record));
        seq
    }

    fn appended(&self) -> u64 {
        self.appended.load(Ordering::SeqCst)
    }

    fn synced(&self) -> watch::Receiver<Synced> {
        self.synced.clone()
    }
}

/// How the persistence files stand.
#[derive(Debug, Clone)]
pub(crate) struct JournalStatus {
    /// The last change on disk.
    pub(crate) synced_seq: u64,
    /// Why the log stopped, if it did (every change is refused from then on).
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
    pub(crate) fn start(
        files: Files,
        start: Start,
        interval: Duration,
    ) -> anyhow::Result<Arc<Journal>> {
        let segment = open_segment(&files, start.next_segment)?;
        // A spare left by an earlier run holds no record: records are
        // written to a spare only once it is renamed into a segment.
        match fs::remove_file(files.spare()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", files.spare().display()))
            }
            _ => {}
        }
        let (spare_wanted, spare_rx) = mpsc::channel();
        let (compaction_wanted, compaction_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            files,
            _lock: start.lock,
            interval,
            segment: Mutex::new(segment),
            older: Mutex::new(start.segments),
            log_bytes: AtomicU64::new(start.log_bytes),
            snapshot_bytes: AtomicU64::new(start.snapshot_bytes),
            last_compaction: Mutex::new(Instant::now()),
            compacting: AtomicBool::new(false),
            compaction: Mutex::new(()),
            spare: Mutex::new(None),
            spare_wanted,
            closing: AtomicBool::new(false),
            compaction_wanted,
        });
        let spare_shared = shared.clone();
        std::thread::Builder::new()
            .name("pgw-log-spare".into())
            .spawn(move || spare_loop(&spare_shared, &spare_rx))
            .context("cannot start the log spare thread")?;
        let _ = shared.spare_wanted.send(());
        let (tx, rx) = mpsc::channel();
        let (synced_tx, synced) = watch::channel(Synced {
            seq: start.last_seq,
            error: None,
        });
        let journal = Arc::new(Journal {
            tx,
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

    /// How the files stand, for the status view.
    pub(crate) fn status(&self) -> JournalStatus {
        let synced = self.synced.borrow().clone();
        JournalStatus {
            synced_seq: synced.seq,
            error: synced.error.map(|e| e.to_string()),
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
    /// being written. A change logged after this extends it again.
    pub(crate) fn close(&self) -> anyhow::Result<()> {
        {
            // Under the spare's lock, so that the spare thread either has
            // created its file (removed here) or sees `closing`.
            let mut spare = self.shared.spare.lock();
            self.shared.closing.store(true, Ordering::SeqCst);
            spare.take();
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
        self.shared.segment.lock().close()
    }
}

fn write_loop(shared: &Shared, rx: &Receiver<(u64, Vec<u8>)>, synced: &watch::Sender<Synced>) {
    let mut buf = Vec::new();
    loop {
        // Wakes up now and then with no change, for the time-based
        // compaction.
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok((seq, payload)) => {
                // A burst can leave a large buffer behind; keep a modest one.
                if buf.capacity() > 8 << 20 {
                    buf = Vec::new();
                }
                buf.clear();
                record::frame(&mut buf, seq, &payload);
                let mut last = seq;
                while buf.len() < MAX_BATCH_BYTES {
                    let Ok((seq, payload)) = rx.try_recv() else {
                        break;
                    };
                    record::frame(&mut buf, seq, &payload);
                    last = seq;
                }
                if synced.borrow().error.is_some() {
                    continue;
                }
                let written = {
                    let mut segment = shared.segment.lock();
                    roll_over(shared, &mut segment, buf.len()).and_then(|()| {
                        segment.append(&buf).with_context(|| {
                            format!("cannot write the log {}", segment.path.display())
                        })
                    })
                };
                match written {
                    Ok(()) => {
                        shared
                            .log_bytes
                            .fetch_add(buf.len() as u64, Ordering::Relaxed);
                        synced.send_modify(|s| s.seq = last);
                    }
                    Err(e) => {
                        // A failed fsync cannot be retried safely (the kernel
                        // may have dropped the dirty pages): stop logging, and
                        // every change from now on is answered with an error.
                        let msg = format!("{e:#}");
                        crate::error!(
                            "the log cannot be written; changes are no longer durable",
                            err = msg
                        );
                        synced.send_modify(|s| s.error = Some(msg.into()));
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if synced.borrow().error.is_none() && compaction_due(shared) {
            start_compaction(shared);
        }
    }
}

/// Moves the log to the spare segment when the batch does not fit in the
/// zeros left in the current one and a spare is ready; otherwise the current
/// segment grows (as it does when no spare is ready in time).
fn roll_over(shared: &Shared, segment: &mut Segment, batch: usize) -> anyhow::Result<()> {
    if segment.len + batch as u64 <= segment.allocated {
        return Ok(());
    }
    let Some(next) = take_spare(shared, segment.number + 1)? else {
        return Ok(());
    };
    let old = std::mem::replace(segment, next);
    shared.older.lock().push(old.path.clone());
    // The old segment keeps its zero tail, which a reader takes as its end:
    // cutting it here would cost a sync while requests wait. Compaction
    // deletes it.
    Ok(())
}

/// Turns the spare into segment `number`: a rename and a directory sync,
/// where growing a segment writes and syncs 8 MiB. `None` when no spare is
/// ready; a new one is asked for either way.
fn take_spare(shared: &Shared, number: u64) -> anyhow::Result<Option<Segment>> {
    // The lock is held until the rename is done: the spare thread creates
    // the next spare under the same name, and must not truncate this one.
    let mut ready = shared.spare.lock();
    let Some(file) = ready.take() else {
        drop(ready);
        let _ = shared.spare_wanted.send(());
        return Ok(None);
    };
    let (spare, path) = (shared.files.spare(), shared.files.segment(number));
    // Records go into the file only once its new name is durable: a spare
    // found at start-up never holds any.
    let renamed = fs::rename(&spare, &path)
        .and_then(|()| shared.files.sync_dir())
        .with_context(|| {
            format!(
                "cannot turn the spare log segment {} into {}",
                spare.display(),
                path.display()
            )
        });
    drop(ready);
    let _ = shared.spare_wanted.send(());
    renamed?;
    let len = record::LOG_MAGIC.len() as u64;
    Ok(Some(Segment {
        file,
        path,
        number,
        len,
        allocated: len + EXTEND_BYTES,
    }))
}

/// Makes a spare segment whenever asked and none is ready: the magic and
/// `EXTEND_BYTES` of zeros, synced, so that the writer can move on to a new
/// segment without writing them while requests wait.
fn spare_loop(shared: &Shared, wanted: &Receiver<()>) {
    let path = shared.files.spare();
    while wanted.recv().is_ok() {
        // Created under the lock: `take_spare` renames the previous spare
        // away under it, and `close` removes this one under it.
        let created = {
            let spare = shared.spare.lock();
            if spare.is_some() || shared.closing.load(Ordering::SeqCst) {
                continue;
            }
            File::create(&path)
        };
        let made = created.and_then(|mut file| {
            file.write_all(record::LOG_MAGIC)?;
            write_zeros(&mut file, record::LOG_MAGIC.len() as u64, EXTEND_BYTES)?;
            Ok(file)
        });
        match made {
            Ok(file) => *shared.spare.lock() = Some(file),
            // The writer grows its segment instead, as without a spare.
            Err(e) => crate::warn!(
                "cannot make a spare log segment",
                file = path.display(),
                err = e
            ),
        }
    }
}

fn compaction_due(shared: &Shared) -> bool {
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
    // Changes from here on go to a new segment, which the snapshot does not
    // replace; everything in the older ones is in the cut taken after.
    let (covered, mut old) = {
        let mut segment = shared.segment.lock();
        let number = segment.number + 1;
        let next = match take_spare(shared, number)? {
            Some(spare) => spare,
            None => open_segment(&shared.files, number)?,
        };
        let old = std::mem::replace(&mut *segment, next);
        let mut older = shared.older.lock();
        older.push(old.path.clone());
        (std::mem::take(&mut *older), old)
    };
    // Nothing writes to the old segment any more. If the snapshot fails it
    // stays, and a file at rest holds no zeros; the reader accepts them all
    // the same, so a failure here is only worth a warning.
    if let Err(e) = old.close() {
        crate::warn!(
            "cannot truncate a finished log segment",
            err = format!("{e:#}")
        );
    }
    drop(old);
    shared.log_bytes.store(0, Ordering::Relaxed);
    *shared.last_compaction.lock() = Instant::now();
    let result = (|| {
        let (groups, seq) = store.cut();
        let bytes = record::encode_snapshot(&groups, seq);
        drop(groups);
        write_atomically(&shared.files, &bytes)?;
        shared
            .snapshot_bytes
            .store(bytes.len() as u64, Ordering::Relaxed);
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
        if let Err(e) = fs::remove_file(path) {
            crate::warn!(
                "cannot delete a compacted log segment",
                file = path.display(),
                err = e
            );
        }
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
pub(crate) fn write_atomically(files: &Files, bytes: &[u8]) -> anyhow::Result<()> {
    let path = &files.snapshot;
    let Some(why) = not_pgws(path) else {
        return replace(files, path, bytes);
    };
    let aside = files.aside();
    replace(files, &aside, bytes)?;
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

/// Writes `bytes` to `FILE.tmp`, syncs it and renames it to `target`.
fn replace(files: &Files, target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut name = files
        .snapshot
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    name.push(".tmp");
    let tmp = files.snapshot.with_file_name(name);
    let result = (|| -> anyhow::Result<()> {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, target)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
        files
            .sync_dir()
            .with_context(|| format!("cannot sync {}", files.dir().display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn open_segment(files: &Files, number: u64) -> anyhow::Result<Segment> {
    let path = files.segment(number);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create the log segment {}", path.display()))?;
    file.write_all(record::LOG_MAGIC)
        .and_then(|()| file.sync_all())
        .and_then(|()| files.sync_dir())
        .with_context(|| format!("cannot write the log segment {}", path.display()))?;
    let len = record::LOG_MAGIC.len() as u64;
    Ok(Segment {
        file,
        path,
        number,
        len,
        allocated: len,
    })
}
