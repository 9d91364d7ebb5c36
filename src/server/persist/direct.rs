//! Log segments and snapshots written past the page cache (`O_DIRECT`),
//! where the system and the file system take it (Linux); elsewhere, and on a
//! file system that refuses it, they are written through the page cache.
//!
//! A buffered batch is copied into the page cache, and its `fdatasync` then
//! has the kernel find, write back and wait for those pages. A direct write
//! hands the batch to the disk at once, so the sync that follows only has
//! the disk flush its cache, and the log writer spends less CPU on each
//! batch. The zeros of a spare segment skip the copy the same way, and a
//! snapshot goes to the disk as it is written ([`Writer`]). BENCHMARKS.md,
//! "The log and snapshots past the page cache", has the figures.
//!
//! A direct write starts and ends on a block boundary and is made from
//! memory aligned the same way. So a batch is written from the start of the
//! block that holds the segment's end: that block's bytes before the end
//! first ([`Tail`] keeps them), then the batch, then zeros to the end of
//! its last block, which is what the file holds there already. What is on
//! disk is what a buffered write leaves, and a crash can cut the write
//! short only where it could cut a buffered one (`record`'s torn write):
//! the bytes rewritten before the batch are the ones already there.

use std::fs::File;
use std::io;
use std::path::Path;

/// The unit of a direct write: a page, a multiple of every disk's sector.
pub(crate) const BLOCK: u64 = 4096;
/// Zeros and snapshots are written this many bytes at a time.
const CHUNK: usize = 1 << 20;

/// Creates the file at `path` for writing, past the page cache where the
/// file system allows it. Says whether it does.
pub(crate) fn create(path: &Path) -> io::Result<(File, bool)> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let direct = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
            .open(path);
        match direct {
            Ok(file) => return Ok((file, true)),
            // The file system takes no direct I/O.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
    }
    File::create(path).map(|file| (file, false))
}

/// Writes `magic` and then zeros to a file made by [`create`] with direct
/// writes, so that it holds at least `room` bytes after the magic and ends
/// on a block boundary, and syncs it with its size. Returns the room it has.
pub(crate) fn fill(file: &File, magic: &[u8], room: u64) -> io::Result<u64> {
    let len = (magic.len() as u64 + room).div_ceil(BLOCK) * BLOCK;
    write_zeros(file, 0, len, magic)?;
    Ok(len - magic.len() as u64)
}

/// Appends `by` zeros (rounded up to whole blocks) to a direct file that
/// ends at `at`, a block boundary, and syncs it with its new size. Returns
/// how many it appended.
pub(crate) fn extend(file: &File, at: u64, by: u64) -> io::Result<u64> {
    debug_assert_eq!(at % BLOCK, 0, "a direct file ends on a block boundary");
    let by = by.div_ceil(BLOCK) * BLOCK;
    write_zeros(file, at, by, &[])?;
    Ok(by)
}

/// Writes `len` bytes at `at`, whole blocks: `first`, then zeros. Then
/// syncs the file with its size.
fn write_zeros(file: &File, at: u64, len: u64, first: &[u8]) -> io::Result<()> {
    let mut buf = Aligned::default();
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        let chunk = buf.zeroed(n);
        if done == 0 {
            chunk[..first.len()].copy_from_slice(first);
        }
        write_at(file, chunk, at + done)?;
        done += n as u64;
    }
    file.sync_all()
}

/// The bytes of a direct segment's last, partly written block, and the
/// aligned memory a batch is written from.
#[derive(Debug)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    buf: Aligned,
}

impl Tail {
    /// For a segment whose contents so far are `start` (its magic).
    pub(crate) fn new(start: &[u8]) -> Tail {
        let whole = start.len() / BLOCK as usize * BLOCK as usize;
        Tail {
            bytes: start[whole..].to_vec(),
            buf: Aligned::default(),
        }
    }

    /// Writes `batch` at `end`, where the segment's contents end, into
    /// zeros that reach at least to the end of the batch's last block.
    /// Does not sync.
    pub(crate) fn write(&mut self, file: &File, end: u64, batch: &[u8]) -> io::Result<()> {
        let head = self.bytes.len();
        debug_assert_eq!(end % BLOCK, head as u64, "the tail is the end's block");
        let from = end - head as u64;
        let len = head + batch.len();
        let padded = len.div_ceil(BLOCK as usize) * BLOCK as usize;
        let buf = self.buf.get(padded);
        buf[..head].copy_from_slice(&self.bytes);
        buf[head..len].copy_from_slice(batch);
        buf[len..].fill(0);
        write_at(file, buf, from)?;
        let last = len / BLOCK as usize * BLOCK as usize;
        self.bytes.clear();
        self.bytes.extend_from_slice(&buf[last..len]);
        // A burst can leave a large buffer behind; keep a modest one.
        self.buf.trim(8 << 20);
        Ok(())
    }
}

/// A whole file written from the start, past the page cache where the file
/// system allows it: a snapshot. Its blocks go to the disk as they are
/// written, a megabyte at a time, rather than all at once when it is synced,
/// so a compaction does not hold up the log's syncs behind the store's size
/// of writeback.
#[derive(Debug)]
pub(crate) struct Writer {
    file: File,
    direct: bool,
    buf: Aligned,
    /// Bytes in `buf` not written yet.
    filled: usize,
    /// Where they go.
    at: u64,
}

impl Writer {
    pub(crate) fn create(path: &Path) -> io::Result<Writer> {
        let (file, direct) = create(path)?;
        Ok(Writer {
            file,
            direct,
            buf: Aligned::default(),
            filled: 0,
            at: 0,
        })
    }

    /// Writes what is left, cuts off the zeros that padded the last block,
    /// and returns the file, not synced.
    pub(crate) fn finish(mut self) -> io::Result<File> {
        if self.direct && self.filled > 0 {
            let padded = (self.filled as u64).div_ceil(BLOCK) as usize * BLOCK as usize;
            let buf = self.buf.get(CHUNK);
            buf[self.filled..padded].fill(0);
            write_at(&self.file, &buf[..padded], self.at)?;
            self.file.set_len(self.at + self.filled as u64)?;
        }
        Ok(self.file)
    }
}

impl io::Write for Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.direct {
            return (&self.file).write(data);
        }
        let buf = self.buf.get(CHUNK);
        let n = data.len().min(buf.len() - self.filled);
        buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
        self.filled += n;
        if self.filled == buf.len() {
            write_at(&self.file, buf, self.at)?;
            self.at += buf.len() as u64;
            self.filled = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Memory for direct writes: a slice of it starts on a block boundary.
#[derive(Debug, Default)]
struct Aligned(Vec<u8>);

impl Aligned {
    /// `len` bytes starting on a block boundary, holding whatever they held.
    fn get(&mut self, len: usize) -> &mut [u8] {
        let want = len + BLOCK as usize;
        if self.0.len() < want {
            self.0 = vec![0; want];
        }
        let at = self.0.as_ptr().align_offset(BLOCK as usize);
        &mut self.0[at..at + len]
    }

    /// `len` zeros starting on a block boundary.
    fn zeroed(&mut self, len: usize) -> &mut [u8] {
        let buf = self.get(len);
        buf.fill(0);
        buf
    }

    fn trim(&mut self, keep: usize) {
        if self.0.len() > keep {
            self.0 = Vec::new();
        }
    }
}

fn write_at(file: &File, buf: &[u8], at: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt as _;
        file.write_all_at(buf, at)
    }
    #[cfg(not(unix))]
    {
        // Never reached: only Linux makes direct files.
        let _ = (file, buf, at);
        Err(io::Error::other("direct writes need Linux"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// What a buffered writer leaves: the magic, the batches one after the
    /// other, zeros after.
    fn expected(magic: &[u8], batches: &[Vec<u8>], len: usize) -> Vec<u8> {
        let mut out = magic.to_vec();
        for b in batches {
            out.extend_from_slice(b);
        }
        out.resize(len, 0);
        out
    }

    #[test]
    fn batches_written_past_the_page_cache_leave_what_buffered_writes_leave() {
        let dir = std::env::temp_dir().join(format!("pgw-unit-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("segment");
        // Where the file system takes no direct I/O, the same writes go
        // through the page cache: the layout is checked all the same.
        let (file, _direct) = create(&path).unwrap();
        let magic = b"PGWLOG01";
        let room = fill(&file, magic, 3 * BLOCK).unwrap();
        assert_eq!(room, 3 * BLOCK + BLOCK - magic.len() as u64);
        let mut tail = Tail::new(magic);
        let mut end = magic.len() as u64;
        // Sizes that end inside a block, exactly on one, and span several.
        let batches: Vec<Vec<u8>> = [100, 3988, 1, 5000, 4096]
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![b'a' + i as u8; n])
            .collect();
        let mut written = Vec::new();
        for batch in &batches {
            tail.write(&file, end, batch).unwrap();
            end += batch.len() as u64;
            written.push(batch.clone());
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(on_disk.len() as u64, 4 * BLOCK);
            assert_eq!(on_disk, expected(magic, &written, on_disk.len()));
        }
        assert_eq!(extend(&file, 4 * BLOCK, 10).unwrap(), BLOCK);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk, expected(magic, &written, (5 * BLOCK) as usize));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_written_whole_holds_exactly_what_was_written() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join(format!("pgw-unit-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0, 1, 4096, 5000, CHUNK, 3 * CHUNK + 17] {
            let path = dir.join(format!("file-{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
            let mut w = Writer::create(&path).unwrap();
            // In pieces that straddle the writer's megabyte.
            for piece in bytes.chunks(300_001) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap().sync_all().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{len} bytes");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn aligned_memory_starts_on_a_block_boundary() {
        let mut a = Aligned::default();
        for len in [1, 4096, 10_000, 3] {
            let s = a.get(len);
            assert_eq!(s.len(), len);
            assert_eq!(s.as_ptr() as usize % BLOCK as usize, 0);
        }
        assert!(a.zeroed(5000).iter().all(|&b| b == 0));
    }
}
